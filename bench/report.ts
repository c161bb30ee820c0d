import type { BenchConfig } from './config.js';
import { INDEX_SETTINGS } from './config.js';
import type { DataSet } from './dataset.js';
import type { RunnerFigures } from './figures.js';
import type { Machine } from './machine.js';

export interface BenchResult {
  date: string;
  machine: Machine;
  config: BenchConfig & { indexSettings: typeof INDEX_SETTINGS };
  data: DataSet & { meanValueBytes: number };
  runners: RunnerFigures[];
  wallSeconds: number;
}

/**
 * The Sluice run each runner is compared with: the one with the same sink and the same documents
 * (see the registry). Ratios are only ever taken within one run.
 */
function referenceFor(r: RunnerFigures, all: RunnerFigures[]): RunnerFigures | undefined {
  return all.find((x) => x.name === r.reference);
}

const n0 = (v: number | undefined): string => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
const n1 = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);

export function markdownTable(result: BenchResult): string {
  const head =
    '| runner | docs/s | MB/s | CPU s / M docs | sent B / doc | peak RSS MB | RSS at ¼ → end MB | p50 ms | p99 ms | correct | Sluice ÷ this, docs/s | Sluice ÷ this, CPU/M docs | ratios against |\n' +
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|---|';
  const rows = result.runners.map((r) => {
    const ref = referenceFor(r, result.runners);
    const name = r.capped ? `${r.name} (capped)` : r.name;
    return `| ${name} | ${n0(r.docsPerSecond)} | ${n1(r.mbPerSecond)} | ${n1(r.cpuSecondsPerMillionDocs)} | ${n0(r.sentBytesPerDoc)} | ${n0(r.peakRssMB)} | ${n0(r.rssAtQuarterMB)} → ${n0(r.rssAtEndMB)} | ${n0(r.latency?.p50)} | ${n0(r.latency?.p99)} | ${r.correct ? 'yes' : '**NO**'} | ${ratio(ref?.docsPerSecond, r.docsPerSecond)} | ${ratio(ref?.cpuSecondsPerMillionDocs, r.cpuSecondsPerMillionDocs)} | ${ref ? r.reference : '—'} |`;
  });
  return [head, ...rows].join('\n');
}

function targets(runners: RunnerFigures[]): string[] {
  const get = (name: string): RunnerFigures | undefined => runners.find((r) => r.name === name);
  const lines: string[] = [];
  const sluice = get('sluice');
  const es = get('es-ceiling');
  if (sluice?.docsPerSecond !== undefined && es?.docsPerSecond !== undefined) {
    const share = sluice.docsPerSecond / es.docsPerSecond;
    lines.push(`- sluice ≥ 90 % of es-ceiling: **${(share * 100).toFixed(0)} %** — ${share >= 0.9 ? 'met' : 'not met'}`);
  }
  const sn = get('sluice-null');
  const kn = get('kafkajs-helpers-bulk-null');
  if (sn?.docsPerSecond !== undefined && kn?.docsPerSecond !== undefined) {
    const x = sn.docsPerSecond / kn.docsPerSecond;
    lines.push(`- sluice on the null sink ≥ 3× kafkajs-helpers-bulk on the null sink: **${x.toFixed(2)}×** — ${x >= 3 ? 'met' : 'not met'}`);
  }
  for (const r of [sluice, sn]) {
    if (r?.rssAtQuarterMB === undefined || r.rssAtEndMB === undefined) continue;
    const growth = r.rssAtEndMB / r.rssAtQuarterMB - 1;
    lines.push(`- RSS flat while the backlog drains (${r.name}): ${n0(r.rssAtQuarterMB)} MB at a quarter, ${n0(r.rssAtEndMB)} MB at the end (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)} %), peak ${n0(r.peakRssMB)} MB`);
  }
  return lines;
}

/** What `elasticsearch.compression: gzip` costs and saves: each gzip runner against its plain twin. */
function compression(runners: RunnerFigures[]): string[] {
  const get = (name: string): RunnerFigures | undefined => runners.find((r) => r.name === name);
  const lines: string[] = [];
  for (const [off, on] of [
    [get('sluice'), get('sluice-gzip')],
    [get('sluice-null'), get('sluice-null-gzip')],
  ] as const) {
    if (off?.cpuSecondsPerMillionDocs === undefined || on?.cpuSecondsPerMillionDocs === undefined || off.sentBytesPerDoc === undefined || on.sentBytesPerDoc === undefined) continue;
    lines.push(
      `- elasticsearch.compression gzip (${on.name} vs ${off.name}): ${n0(on.sentBytesPerDoc)} B sent per doc instead of ${n0(off.sentBytesPerDoc)} (${((1 - on.sentBytesPerDoc / off.sentBytesPerDoc) * 100).toFixed(0)} % less), ` +
        `CPU ${n1(on.cpuSecondsPerMillionDocs)} s / M docs instead of ${n1(off.cpuSecondsPerMillionDocs)} (${on.cpuSecondsPerMillionDocs >= off.cpuSecondsPerMillionDocs ? '+' : ''}${n1(on.cpuSecondsPerMillionDocs - off.cpuSecondsPerMillionDocs)} s), docs/s ${ratio(on.docsPerSecond, off.docsPerSecond)}`,
    );
  }
  return lines;
}

/** The null sink's CPU next to the CPU of the runner it measured: it must be the smaller by far. */
function nullSinkCost(runners: RunnerFigures[]): string[] {
  return runners.flatMap((r) => {
    const sink = r.sinkCpuSecondsPerMillionDocs;
    const own = r.cpuSecondsPerMillionDocs;
    if (sink === undefined || own === undefined) return [];
    return [`- ${r.name}: null sink ${n1(sink)} CPU s / M docs, runner ${n1(own)} (sink ÷ runner ${(100 * (sink / own)).toFixed(0)} %)`];
  });
}

export function markdownReport(result: BenchResult, chartFile: string): string {
  const { machine: m, config: c, data: d } = result;
  const notes = result.runners.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`));
  const sink = nullSinkCost(result.runners);
  return `# Sluice benchmark — ${result.date}, ${m.host}

${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node.js ${m.node}; librdkafka ${m.librdkafka};
Kafka ${m.kafka} and Elasticsearch ${m.elasticsearch} on the same machine; Sluice ${m.sluiceCommit}.

${d.docs.toLocaleString('en-US')} APM log records (mean value ${Math.round(d.meanValueBytes)} B, ${(d.valueBytes / 1e6).toFixed(1)} MB, uncompressed)
in one topic of ${d.partitions} partitions, produced once and drained by every runner under a fresh
consumer group. Before each runner the index is deleted and created again with
\`${JSON.stringify(c.indexSettings)}\` (dynamic mappings; the bench refreshes once at the end to count).
Every runner indexes the same documents: the \`apm-log\` transform, ids \`<topic>-<partition>-<offset>\`
(sluice-autoid: Elasticsearch ids; the passthrough runners index each record value as it is). Whole run: ${(result.wallSeconds / 60).toFixed(1)} min.

${markdownTable(result)}

![docs/s and CPU per million docs](${chartFile})

## Targets

${targets(result.runners).join('\n') || '- (not every runner needed for the targets was run)'}
${compression(result.runners).length > 0 ? `\n## Compression\n\n${compression(result.runners).join('\n')}\n` : ''}${sink.length > 0 ? `\n## The null sink's own cost\n\nCPU of the null sink's process (its own, apart from the bench's) while each runner drained into it, per million documents, beside the runner's:\n\n${sink.join('\n')}\n` : ''}
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
- **Sluice ÷ this**: the figure of the Sluice runner named under "ratios against" (same sink and same
  documents) divided by this runner's: above 1× Sluice is faster, or uses more CPU per document.
- **sent B / doc**: bytes the runner process wrote (\`wchar\` of /proc/<pid>/io: write() and writev(),
  which carry its HTTP requests — \`_bulk\` bodies as sent, compressed or not — and its log output;
  librdkafka's sendmsg() to Kafka is not in it), per document counted.
- **peak RSS**: VmHWM of the runner process. **RSS at ¼ → end**: RSS when a quarter of the documents
  were acknowledged, and at the last sample before exit; equal numbers mean memory stays flat while
  the backlog drains.
- **p50 / p99 latency**: not from the backlog drain (there every record waits in the backlog, so
  latency only measures the queue). After the drain, each runner that can keep up is started again on
  an empty topic and fed ${c.latencyRate.toLocaleString('en-US')} records/s for ${c.latencySeconds} s, each stamped with the time it
  was produced. Latency = \`_bulk\` acknowledgement − that timestamp, taken per document by a
  pass-through proxy in front of Elasticsearch (or by the null sink itself), so Sluice is measured
  unchanged. It includes producer linger (≤ 5 ms) and Kafka fetch waits.
- **correct**: Elasticsearch \`_count\` after a refresh equals the records consumed (the null sink's
  count, or kafka-ceiling's count), i.e. ${d.docs.toLocaleString('en-US')} for every runner that drains the backlog.
- **null sink**: answers each \`_bulk\` as a successful Elasticsearch would (one item per action, cut to the
  request's \`filter_path\`), finding the actions by their newlines without parsing them, and gunzips
  compressed bodies.
- **capped**: naive-await runs for ${c.naiveCapSeconds} s and is stopped; its figures are for what it indexed
  in that time.

## Runners

${result.runners.map((r) => `- **${r.name}**: ${r.what}`).join('\n')}

## Notes

${notes.join('\n') || '- none'}

Reproduce: \`make bench\` (\`BENCH_DOCS=${c.docs} BENCH_PARTITIONS=${c.partitions} BENCH_RUNNERS=${c.runners.join(',')}\`).
`;
}
