import type { BenchConfig } from './config.js';
import { INDEX_SETTINGS } from './config.js';
import type { DataSet } from './dataset.js';
import type { Machine } from './machine.js';
import type { Spread, RunnerSummary } from './summary.js';

/** One unmeasured warm-up drain (see run.ts). */
export interface WarmUp {
  name: string;
  docs: number;
  docsPerSecond: number | undefined;
  exitCode: number | null;
}

export interface BenchResult {
  date: string;
  machine: Machine;
  config: BenchConfig & { indexSettings: typeof INDEX_SETTINGS };
  data: DataSet & { meanValueBytes: number };
  warmUps: WarmUp[];
  /** The runners of each round, in the order they ran. */
  order: string[][];
  runners: RunnerSummary[];
  wallSeconds: number;
}

const n0 = (v: number | undefined): string => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
const n1 = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
/** A median, with the runs' range when there were several. */
const spread = (s: Spread | undefined, fmt: (v: number) => string): string => (s === undefined ? '—' : s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median));
const med = (s: Spread | undefined): number | undefined => s?.median;
/** Two figures whose run ranges overlap differ by less than the run-to-run noise. */
const overlap = (a: Spread, b: Spread): boolean => a.n > 1 && b.n > 1 && a.min <= b.max && b.min <= a.max;

export function markdownTable(result: BenchResult): string {
  const head =
    '| runner | docs/s | MB/s | CPU s / M docs | sent B / doc | peak RSS MB | RSS at ¼ → end MB | p50 ms | p99 ms | correct | Sluice ÷ this, docs/s | Sluice ÷ this, CPU/M docs | ratios against |\n' +
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|---|';
  const rows = result.runners.map((r) => {
    const ref = result.runners.find((x) => x.name === r.reference);
    const name = r.capped ? `${r.name} (capped)` : r.name;
    const correct = r.correctRuns === r.runs.length ? 'yes' : `**NO** (${r.correctRuns} of ${r.runs.length} runs)`;
    const rss = `${n0(med(r.rssAtQuarterMB))} → ${n0(med(r.rssAtEndMB))}`;
    return (
      `| ${name} | ${spread(r.docsPerSecond, n0)} | ${n1(med(r.mbPerSecond))} | ${spread(r.cpuSecondsPerMillionDocs, n1)} | ${n0(med(r.sentBytesPerDoc))} | ${n0(med(r.peakRssMB))} | ${rss} | ` +
      `${n0(r.latency?.p50)} | ${n0(r.latency?.p99)} | ${correct} | ${ratio(med(ref?.docsPerSecond), med(r.docsPerSecond))} | ${ratio(med(ref?.cpuSecondsPerMillionDocs), med(r.cpuSecondsPerMillionDocs))} | ${ref ? r.reference : '—'} |`
    );
  });
  return [head, ...rows].join('\n');
}

function targets(runners: RunnerSummary[]): string[] {
  const get = (name: string): RunnerSummary | undefined => runners.find((r) => r.name === name);
  const lines: string[] = [];
  const sluice = get('sluice');
  const es = get('es-ceiling');
  if (sluice?.docsPerSecond !== undefined && es?.docsPerSecond !== undefined) {
    const share = sluice.docsPerSecond.median / es.docsPerSecond.median;
    lines.push(`- sluice ≥ 90 % of es-ceiling (medians): **${(share * 100).toFixed(0)} %** — ${share >= 0.9 ? 'met' : 'not met'}`);
  }
  const sn = get('sluice-null');
  const kn = get('kafkajs-helpers-bulk-null');
  if (sn?.docsPerSecond !== undefined && kn?.docsPerSecond !== undefined) {
    const x = sn.docsPerSecond.median / kn.docsPerSecond.median;
    lines.push(`- sluice on the null sink ≥ 3× kafkajs-helpers-bulk on the null sink (medians): **${x.toFixed(2)}×** — ${x >= 3 ? 'met' : 'not met'}`);
  }
  for (const r of [sluice, sn]) {
    const quarter = med(r?.rssAtQuarterMB);
    const end = med(r?.rssAtEndMB);
    if (r === undefined || quarter === undefined || end === undefined) continue;
    const growth = end / quarter - 1;
    lines.push(
      `- RSS flat while the backlog drains (${r.name}, medians): ${n0(quarter)} MB at a quarter, ${n0(end)} MB at the end (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)} %), peak ${n0(med(r.peakRssMB))} MB`,
    );
  }
  return lines;
}

/**
 * What `elasticsearch.compression: gzip` costs and saves, each gzip runner against its plain twin,
 * from medians: CPU per million documents and bytes sent per document, on and off.
 */
function compression(runners: RunnerSummary[]): string[] {
  const get = (name: string): RunnerSummary | undefined => runners.find((r) => r.name === name);
  const lines: string[] = [];
  for (const [off, on] of [
    [get('sluice'), get('sluice-gzip')],
    [get('sluice-null'), get('sluice-null-gzip')],
  ] as const) {
    const cpuOff = off?.cpuSecondsPerMillionDocs;
    const cpuOn = on?.cpuSecondsPerMillionDocs;
    const sentOff = off?.sentBytesPerDoc;
    const sentOn = on?.sentBytesPerDoc;
    if (off === undefined || on === undefined || cpuOff === undefined || cpuOn === undefined || sentOff === undefined || sentOn === undefined) continue;
    const cost = cpuOn.median - cpuOff.median;
    const noise = overlap(cpuOn, cpuOff) ? ' — within the runs\' spread, so not measurable in this run' : '';
    const sink = on.sinkCpuSecondsPerMillionDocs && off.sinkCpuSecondsPerMillionDocs ? `; the null sink's gunzip: ${n1(on.sinkCpuSecondsPerMillionDocs.median)} CPU s / M docs instead of ${n1(off.sinkCpuSecondsPerMillionDocs.median)}` : '';
    lines.push(
      `- **${on.name} vs ${off.name}**: saves ${(100 * (1 - sentOn.median / sentOff.median)).toFixed(0)} % of the bytes sent — ${n0(sentOn.median)} B per doc instead of ${n0(sentOff.median)}; ` +
        `costs ${cost >= 0 ? '+' : ''}${n1(cost)} CPU s / M docs — ${spread(cpuOn, n1)} instead of ${spread(cpuOff, n1)}${noise}; ` +
        `docs/s ${ratio(med(on.docsPerSecond), med(off.docsPerSecond))} of ${off.name}'s${sink}`,
    );
  }
  return lines;
}

/** The null sink's CPU next to the CPU of the runner it measured: it must be the smaller by far. */
function nullSinkCost(runners: RunnerSummary[]): string[] {
  return runners.flatMap((r) => {
    const sink = r.sinkCpuSecondsPerMillionDocs;
    const own = r.cpuSecondsPerMillionDocs;
    if (sink === undefined || own === undefined) return [];
    return [`- ${r.name}: null sink ${spread(sink, n1)} CPU s / M docs, runner ${spread(own, n1)} (sink ÷ runner ${(100 * (sink.median / own.median)).toFixed(0)} %)`];
  });
}

function ordering(result: BenchResult): string[] {
  const warm = result.warmUps.map((w) => `${w.name} drained ${w.docs.toLocaleString('en-US')} records${w.docsPerSecond === undefined ? '' : ` at ${n0(w.docsPerSecond)} docs/s`}${w.exitCode === 0 ? '' : ` (exited with status ${w.exitCode})`}`);
  return [
    warm.length > 0 ? `- warm-up (unmeasured, a topic of its own): ${warm.join('; ')}` : '- no warm-up (BENCH_WARMUP_DOCS=0)',
    ...result.order.map((round, i) => `- round ${i + 1}: ${round.join(', ')}`),
  ];
}

function everyRun(runners: RunnerSummary[]): string {
  const runs = runners.flatMap((r) => r.runs).sort((a, b) => a.round - b.round || a.position - b.position);
  return [
    '| round | # | runner | docs/s | CPU s / M docs | sent B / doc | null sink CPU s / M docs | correct |',
    '|--:|--:|---|--:|--:|--:|--:|---|',
    ...runs.map((f) => `| ${f.round} | ${f.position} | ${f.name} | ${n0(f.docsPerSecond)} | ${n1(f.cpuSecondsPerMillionDocs)} | ${n0(f.sentBytesPerDoc)} | ${n1(f.sinkCpuSecondsPerMillionDocs)} | ${f.correct ? 'yes' : `**NO**: ${f.check}`} |`),
  ].join('\n');
}

export function markdownReport(result: BenchResult, chartFile: string): string {
  const { machine: m, config: c, data: d } = result;
  const notes = result.runners.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`));
  const comp = compression(result.runners);
  const sink = nullSinkCost(result.runners);
  return `# Sluice benchmark — ${result.date}, ${m.host}

${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node.js ${m.node}; librdkafka ${m.librdkafka};
Kafka ${m.kafka} and Elasticsearch ${m.elasticsearch} on the same machine; Sluice ${m.sluiceCommit}.

${d.docs.toLocaleString('en-US')} APM log records (mean value ${Math.round(d.meanValueBytes)} B, ${(d.valueBytes / 1e6).toFixed(1)} MB, uncompressed)
in one topic of ${d.partitions} partitions, produced once and drained ${c.repeat} ${c.repeat === 1 ? 'time' : 'times'} by every runner, each time under a fresh
consumer group, in rotated order after an unmeasured warm-up. Before each drain the index is deleted and created again with
\`${JSON.stringify(c.indexSettings)}\` (dynamic mappings; the bench refreshes once at the end to count).
Every runner indexes the same documents: the \`apm-log\` transform, ids \`<topic>-<partition>-<offset>\`
(sluice-autoid: Elasticsearch ids; the passthrough runners index each record value as it is).
Figures are medians of the ${c.repeat} runs${c.repeat > 1 ? ', with their range (min–max) for docs/s and CPU' : ''}; ratios are taken from medians.
Whole run: ${(result.wallSeconds / 60).toFixed(1)} min.

${markdownTable(result)}

![docs/s and CPU per million docs](${chartFile})

## Targets

${targets(result.runners).join('\n') || '- (not every runner needed for the targets was run)'}
${comp.length > 0 ? `\n## Compression\n\nWhat \`elasticsearch.compression: gzip\` costs (runner CPU) and saves (bytes sent), from medians:\n\n${comp.join('\n')}\n` : ''}${sink.length > 0 ? `\n## The null sink's own cost\n\nCPU of the null sink's process (its own, apart from the bench's) while each runner drained into it, per million documents, beside the runner's:\n\n${sink.join('\n')}\n` : ''}
## Order of the runs

${ordering(result).join('\n')}

## What each figure is

- **docs/s**: documents acknowledged, counted from outside every 50 ms — Elasticsearch's
  \`index_total\` of the primary shard, the null sink's own count, or kafka-ceiling's count — between
  the first sample that saw documents and the sample that saw the last one. Start-up and group join
  are not in it (they are in the JSON as \`startupSeconds\`). **MB/s** is the same rate in Kafka record
  value bytes.
- **CPU s / M docs**: user + system CPU of the runner's process, every thread (Sluice's workers
  included), from process start to exit — start-up and shutdown included — per million documents.
  es-ceiling counts from after its bodies were built. Elasticsearch's and Kafka's CPU are not in it,
  nor the null sink's, which runs in a process of its own and is measured the same way.
- **median (min–max)**: each runner drains the backlog ${c.repeat} ${c.repeat === 1 ? 'time' : 'times'}, in rounds whose order rotates
  (round 1: A B C, round 2: B C A, …) after a warm-up drain that is not measured, so that no runner
  always meets the coldest servers or the same neighbour. Every run's own figures are below and in the JSON.
- **Sluice ÷ this**: the median of the Sluice runner named under "ratios against" (same sink and same
  documents) divided by this runner's median: above 1× Sluice is faster, or uses more CPU per document.
- **sent B / doc**: bytes the runner process wrote (\`wchar\` of /proc/<pid>/io: write() and writev(),
  which carry its HTTP requests — \`_bulk\` bodies as sent, compressed or not — and its log output;
  librdkafka's sendmsg() to Kafka is not in it), per document counted.
- **peak RSS**: VmHWM of the runner process. **RSS at ¼ → end**: RSS when a quarter of the documents
  were acknowledged, and at the last sample before exit; equal numbers mean memory stays flat while
  the backlog drains.
- **p50 / p99 latency**: not from the backlog drains (there every record waits in the backlog, so
  latency only measures the queue). Once every drain is done, each runner that can keep up is started
  once more on an empty topic and fed ${c.latencyRate.toLocaleString('en-US')} records/s for ${c.latencySeconds} s, each stamped with the time it
  was produced. Latency = \`_bulk\` acknowledgement − that timestamp, taken per document by a
  pass-through proxy in front of Elasticsearch (or by the null sink itself), so Sluice is measured
  unchanged. It includes producer linger (≤ 5 ms) and Kafka fetch waits. One run per runner.
- **correct**: in every run, Elasticsearch \`_count\` after a refresh equals the records consumed (the null sink's
  count, or kafka-ceiling's count), i.e. ${d.docs.toLocaleString('en-US')} for every runner that drains the backlog.
- **capped**: naive-await runs for ${c.naiveCapSeconds} s and is stopped; its figures are for what it indexed
  in that time.
- **null sink**: answers each \`_bulk\` as a successful Elasticsearch would (one item per action, cut to the
  request's \`filter_path\`), finding the actions by their newlines without parsing them, and gunzips
  compressed bodies.

## Runners

${result.runners.map((r) => `- **${r.name}**: ${r.what}`).join('\n')}

## Every run

${everyRun(result.runners)}

## Notes

${notes.join('\n') || '- none'}

Reproduce: \`make bench\` (\`BENCH_DOCS=${c.docs} BENCH_PARTITIONS=${c.partitions} BENCH_REPEAT=${c.repeat} BENCH_WARMUP_DOCS=${c.warmupDocs} BENCH_RUNNERS=${c.runners.join(',')}\`).
`;
}
