import type { DataSet } from './dataset.js';
import type { Execution } from './execute.js';
import type { RunnerDef } from './runners/registry.js';

/** Every figure of one drain of the backlog by one runner. */
export interface RunFigures {
  name: string;
  /** Round of the run (1-based) and the runner's place in that round's order (1-based). */
  round: number;
  position: number;
  docsPerSecond: number | undefined;
  /** Megabytes (10^6 bytes) of Kafka record values per second. */
  mbPerSecond: number | undefined;
  cpuSecondsPerMillionDocs: number | undefined;
  cpuSeconds: number;
  peakRssMB: number;
  rssAtQuarterMB: number | undefined;
  rssAtEndMB: number | undefined;
  /** Bytes the runner wrote (its `_bulk` bodies as sent, plus logs) per document counted. */
  sentBytesPerDoc: number | undefined;
  sentMB: number;
  /** CPU of the null sink's process over the run, per million documents (null-sink runners only). */
  sinkCpuSecondsPerMillionDocs: number | undefined;
  sinkCpuSeconds: number | undefined;
  correct: boolean;
  check: string;
  counted: number;
  windowSeconds: number | undefined;
  startupSeconds: number | undefined;
  exitCode: number | null;
  capped: boolean;
  timedOut: boolean;
  notes: string[];
}

const MB = 1e6;

export interface RunPlace {
  round: number;
  position: number;
}

export function figuresOf(def: RunnerDef, place: RunPlace, data: DataSet, run: Execution, check: { correct: boolean; detail: string }, sinkCpuSeconds: number | undefined): RunFigures {
  const rate = run.window && run.window.seconds > 0 ? run.window.docs / run.window.seconds : undefined;
  const notes = [...run.notes];
  if (run.timedOut) notes.push(`${def.name} timed out and was stopped`);
  if (run.exitCode !== 0 && !run.capped) notes.push(`${def.name} exited with status ${run.exitCode}`);
  const perMillion = (seconds: number | undefined): number | undefined => (seconds !== undefined && run.counted > 0 ? (seconds / run.counted) * 1e6 : undefined);
  return {
    name: def.name,
    round: place.round,
    position: place.position,
    docsPerSecond: rate,
    mbPerSecond: rate === undefined ? undefined : (rate * data.valueBytes) / data.docs / MB,
    cpuSecondsPerMillionDocs: perMillion(run.cpuSeconds),
    cpuSeconds: run.cpuSeconds,
    peakRssMB: run.peakRssBytes / 2 ** 20,
    rssAtQuarterMB: run.rssAtQuarterBytes === undefined ? undefined : run.rssAtQuarterBytes / 2 ** 20,
    rssAtEndMB: run.rssAtEndBytes === undefined ? undefined : run.rssAtEndBytes / 2 ** 20,
    sentBytesPerDoc: run.counted > 0 && run.writtenBytes > 0 ? run.writtenBytes / run.counted : undefined,
    sentMB: run.writtenBytes / MB,
    sinkCpuSecondsPerMillionDocs: perMillion(sinkCpuSeconds),
    sinkCpuSeconds,
    correct: check.correct,
    check: check.detail,
    counted: run.counted,
    windowSeconds: run.window?.seconds,
    startupSeconds: run.startupSeconds,
    exitCode: run.exitCode,
    capped: run.capped,
    timedOut: run.timedOut,
    notes,
  };
}
