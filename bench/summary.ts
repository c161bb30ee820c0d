import type { RunFigures } from './figures.js';
import type { Percentiles } from './null-sink.js';
import type { RunnerDef } from './runners/registry.js';

/** The median of a runner's runs and their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Runs that had the figure. */
  n: number;
}

/**
 * One runner over all its runs, as the report shows it: the median of each figure with its min–max,
 * every run's own figures, and the latency phase (run once). Ratios between runners are taken from
 * these medians.
 */
export interface RunnerSummary {
  name: string;
  what: string;
  sink: RunnerDef['sink'];
  reference: RunnerDef['reference'];
  docsPerSecond: Spread | undefined;
  mbPerSecond: Spread | undefined;
  cpuSecondsPerMillionDocs: Spread | undefined;
  sentBytesPerDoc: Spread | undefined;
  peakRssMB: Spread | undefined;
  rssAtQuarterMB: Spread | undefined;
  rssAtEndMB: Spread | undefined;
  sinkCpuSecondsPerMillionDocs: Spread | undefined;
  latency: Percentiles;
  /** Runs whose count matched, of all runs. */
  correctRuns: number;
  capped: boolean;
  runs: RunFigures[];
  notes: string[];
}

/** Median (the mean of the middle two for an even count) and range of the defined values. */
export function spreadOf(values: ReadonlyArray<number | undefined>): Spread | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return undefined;
  const mid = n >> 1;
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[n - 1] as number, n };
}

export function summarize(def: RunnerDef, runs: RunFigures[], latency: Percentiles): RunnerSummary {
  const of = (figure: (r: RunFigures) => number | undefined): Spread | undefined => spreadOf(runs.map(figure));
  const several = runs.length > 1;
  return {
    name: def.name,
    what: def.what,
    sink: def.sink,
    reference: def.reference,
    docsPerSecond: of((r) => r.docsPerSecond),
    mbPerSecond: of((r) => r.mbPerSecond),
    cpuSecondsPerMillionDocs: of((r) => r.cpuSecondsPerMillionDocs),
    sentBytesPerDoc: of((r) => r.sentBytesPerDoc),
    peakRssMB: of((r) => r.peakRssMB),
    rssAtQuarterMB: of((r) => r.rssAtQuarterMB),
    rssAtEndMB: of((r) => r.rssAtEndMB),
    sinkCpuSecondsPerMillionDocs: of((r) => r.sinkCpuSecondsPerMillionDocs),
    latency,
    correctRuns: runs.filter((r) => r.correct).length,
    capped: def.capped,
    runs,
    notes: runs.flatMap((r) => r.notes.map((n) => (several ? `round ${r.round}: ${n}` : n))),
  };
}
