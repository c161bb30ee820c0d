import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartSvg } from './chart.js';
import { INDEX_SETTINGS, loadBenchConfig, type BenchConfig } from './config.js';
import { deleteTopics, produceDataSet, produceSteadily, type DataSet } from './dataset.js';
import { createEsAdmin, type EsAdmin } from './es-admin.js';
import { execute, type ExecuteOptions } from './execute.js';
import { figuresOf, type RunFigures, type RunPlace } from './figures.js';
import { createTopic } from './kafka-tools.js';
import { startLatencyProxy } from './latency-proxy.js';
import { describeMachine } from './machine.js';
import { startNullSink, type NullSink, type Percentiles } from './null-sink.js';
import { createProgress } from './progress.js';
import { markdownReport, markdownTable, type BenchResult, type WarmUp } from './report.js';
import { SPEC_ENV, type RunnerSpec } from './runners/protocol.js';
import { RUNNERS, type RunnerDef } from './runners/registry.js';
import { rotatedRounds } from './schedule.js';
import { summarize } from './summary.js';

/**
 * `make bench`: one data set; an unmeasured warm-up drain so that no runner meets cold servers;
 * then every selected runner in its own process on the data set, one after the other, measured from
 * outside, BENCH_REPEAT times in rotated order; the latency phase once per runner; then the report
 * (medians and spreads), its JSON and its chart in bench/results/.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = 'sluice-bench';

async function main(): Promise<void> {
  const config = loadBenchConfig(process.env);
  const started = performance.now();
  const runId = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const workDir = join(ROOT, 'bench', '.work', runId);
  mkdirSync(workDir, { recursive: true });
  const es = createEsAdmin(config.esNode);
  const machine = describeMachine(await es.version());
  const progress = createProgress();
  say(`${config.runners.length} runners × ${config.repeat} rounds on ${config.docs.toLocaleString('en-US')} records, ${config.partitions} partitions; logs in ${workDir}`);

  const topic = `sluice-bench-${runId}`;
  progress.start('producing the data set');
  const data = await produceDataSet(config.brokers, topic, config.docs, config.partitions, config.seed, (n) => progress.update(n, config.docs, undefined));
  progress.done(`${config.docs.toLocaleString('en-US')} records, ${(data.valueBytes / 1e6).toFixed(1)} MB in ${data.produceSeconds.toFixed(1)} s`);

  const nullSink = await startNullSink();
  const proxy = await startLatencyProxy(config.esNode);
  const topics = [topic];
  const order = rotatedRounds(config.runners, config.repeat);
  const runs = new Map(config.runners.map((name) => [name, [] as RunFigures[]]));
  const latencies = new Map<string, Percentiles>();
  let warmUps: WarmUp[] = [];
  try {
    const ctx: RunContext = { config, data, es, nullSink, proxy, workDir, runId, progress, topics };
    warmUps = await warmUp(ctx);
    for (const [r, round] of order.entries()) {
      for (const [i, name] of round.entries()) {
        runs.get(name)?.push(await drain(RUNNERS[name], { round: r + 1, position: i + 1 }, ctx));
      }
    }
    // Once every drain is done: one steady-rate probe per runner.
    for (const name of config.runners) {
      const def = RUNNERS[name];
      if (def.latency && config.latencyRate > 0) latencies.set(name, await latencyPhase(def, ctx));
    }
  } finally {
    await nullSink.close();
    await proxy.close();
    await es.delete(INDEX);
    await deleteTopics(config.brokers, topics);
    await es.close();
  }

  const date = new Date().toISOString().slice(0, 10);
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // A second run on the same day gets its own files instead of replacing the first's.
  let base = `${date}-${hostname()}`;
  for (let n = 2; existsSync(join(resultsDir, `${base}.json`)); n++) base = `${date}-${hostname()}-${n}`;
  const runners = config.runners.map((name) => summarize(RUNNERS[name], runs.get(name) ?? [], latencies.get(name)));
  const result: BenchResult = {
    date,
    machine,
    config: { ...config, indexSettings: INDEX_SETTINGS },
    data: { ...data, meanValueBytes: data.valueBytes / data.docs },
    warmUps,
    order,
    runners,
    wallSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${base}.svg`), chartSvg(runners, `Sluice bench ${date}, ${machine.host}: ${config.docs.toLocaleString('en-US')} docs, ${config.partitions} partitions`));
  writeFileSync(join(resultsDir, `${base}.md`), markdownReport(result, `${base}.svg`));
  process.stdout.write(`\n${markdownTable(result)}\n\n`);
  say(`report: bench/results/${base}.md (JSON and SVG chart beside it)`);
}

interface RunContext {
  config: BenchConfig;
  data: DataSet;
  es: EsAdmin;
  nullSink: NullSink;
  proxy: Awaited<ReturnType<typeof startLatencyProxy>>;
  workDir: string;
  runId: string;
  progress: ReturnType<typeof createProgress>;
  /** Topics created so far, deleted at the end. */
  topics: string[];
}

/**
 * Warms the servers before the first measured drain: on a fresh Elasticsearch the first runner ran
 * slower than the same runner later in the run. The `sluice` runner drains BENCH_WARMUP_DOCS records
 * of a topic of their own into the bench index (and `sluice-null` into the null sink when a runner
 * uses it), unmeasured; the index is deleted afterwards.
 */
async function warmUp(ctx: RunContext): Promise<WarmUp[]> {
  const { config, es, nullSink, progress } = ctx;
  if (config.warmupDocs === 0) return [];
  const sinks = new Set(config.runners.map((name) => RUNNERS[name].sink));
  const defs = [...(sinks.has('es') || !sinks.has('null') ? [RUNNERS.sluice] : []), ...(sinks.has('null') ? [RUNNERS['sluice-null']] : [])];
  const topic = `sluice-bench-${ctx.runId}-warmup`;
  ctx.topics.push(topic);
  progress.start('warm-up data set');
  await produceDataSet(config.brokers, topic, config.warmupDocs, config.partitions, config.seed + 2, (n) => progress.update(n, config.warmupDocs, undefined));
  progress.done(`${config.warmupDocs.toLocaleString('en-US')} records in ${topic}`);
  const done: WarmUp[] = [];
  for (const def of defs) {
    if (def.sink === 'es') await es.recreate(INDEX);
    await nullSink.reset(false);
    const spec: RunnerSpec = {
      brokers: config.brokers,
      topic,
      partitions: config.partitions,
      groupId: `bench-${ctx.runId}-warmup-${def.name}`,
      esNode: def.sink === 'null' ? nullSink.url : config.esNode,
      index: INDEX,
      expected: config.warmupDocs,
    };
    progress.start(`warm-up: ${def.name}`);
    const run = await execute({
      ...launch(def, spec, ctx, true),
      expected: spec.expected,
      counter: def.sink === 'null' ? () => nullSink.docs() : () => es.indexed(INDEX),
      timeoutSeconds: config.runnerTimeoutSeconds,
      progress,
    });
    const rate = run.window ? run.window.docs / run.window.seconds : undefined;
    progress.done(`${rate === undefined ? '?' : Math.round(rate).toLocaleString('en-US')} docs/s (unmeasured)`);
    done.push({ name: def.name, docs: run.counted, docsPerSecond: rate, exitCode: run.exitCode });
    if (def.sink === 'es') await es.delete(INDEX);
  }
  return done;
}

/** One drain of the backlog by one runner, on a fresh index and under a consumer group of its own. */
async function drain(def: RunnerDef, place: RunPlace, ctx: RunContext): Promise<RunFigures> {
  const { config, data, es, nullSink, progress } = ctx;
  const sinkUrl = def.sink === 'null' ? nullSink.url : config.esNode;
  if (def.sink === 'es') await es.recreate(INDEX);
  await nullSink.reset(false);
  const spec: RunnerSpec = {
    brokers: config.brokers,
    topic: data.topic,
    partitions: data.partitions,
    groupId: `bench-${ctx.runId}-${def.name}-${place.round}`,
    esNode: sinkUrl,
    index: INDEX,
    expected: data.docs,
  };
  progress.start(config.repeat > 1 ? `${def.name} (${place.round}/${config.repeat})` : def.name);
  const sinkCpuBefore = def.sink === 'null' ? nullSink.cpuSeconds() : undefined;
  const run = await execute({
    ...launch(def, spec, ctx, true),
    expected: data.docs,
    ...(def.sink === 'es' ? { counter: () => es.indexed(INDEX) } : def.sink === 'null' ? { counter: () => nullSink.docs() } : {}),
    ...(def.capped ? { capSeconds: config.naiveCapSeconds } : {}),
    timeoutSeconds: config.runnerTimeoutSeconds,
    progress,
  });
  const sinkCpuAfter = def.sink === 'null' ? nullSink.cpuSeconds() : undefined;
  const sinkCpu = sinkCpuBefore !== undefined && sinkCpuAfter !== undefined ? sinkCpuAfter - sinkCpuBefore : undefined;
  const check = await correctness(def, run.counted, data.docs, es, def.sink === 'null' ? await nullSink.docs() : 0);
  const rate = run.window ? Math.round(run.window.docs / run.window.seconds).toLocaleString('en-US') : '?';
  const sinkNote = sinkCpu === undefined ? '' : ` (null sink ${sinkCpu.toFixed(1)})`;
  progress.done(`${rate} docs/s, ${run.cpuSeconds.toFixed(1)} CPU s${sinkNote}, peak RSS ${Math.round(run.peakRssBytes / 2 ** 20)} MB, ${check.detail}`);
  if (def.sink === 'es') await es.delete(INDEX);
  return figuresOf(def, place, data, run, check, sinkCpu);
}

async function latencyPhase(def: RunnerDef, ctx: RunContext): Promise<Percentiles> {
  const { config, es, nullSink, proxy, progress } = ctx;
  const topic = `sluice-bench-${ctx.runId}-latency-${def.name}`;
  await createTopic(config.brokers, topic, config.partitions);
  ctx.topics.push(topic);
  if (def.sink === 'es') await es.recreate(INDEX);
  const observer: Pick<NullSink, 'reset' | 'docs' | 'percentiles'> =
    def.sink === 'null'
      ? nullSink
      : { reset: async (latency) => proxy.observer.reset(latency), docs: async () => proxy.observer.docs, percentiles: async () => proxy.observer.percentiles() };
  await observer.reset(true);
  const expected = config.latencyRate * config.latencySeconds;
  const spec: RunnerSpec = {
    brokers: config.brokers,
    topic,
    partitions: config.partitions,
    groupId: `bench-${ctx.runId}-${def.name}-latency`,
    esNode: def.sink === 'null' ? nullSink.url : proxy.url,
    index: INDEX,
    expected,
  };
  progress.start(`${def.name} latency`);
  const run = await execute({
    ...launch(def, spec, ctx, false),
    expected,
    counter: () => observer.docs(),
    onReady: async () => {
      await produceSteadily(config.brokers, topic, config.partitions, config.latencyRate, config.latencySeconds, config.seed + 1);
    },
    timeoutSeconds: config.latencySeconds + 90,
    progress,
  });
  const p = await observer.percentiles();
  progress.done(p ? `p50 ${Math.round(p.p50)} ms, p99 ${Math.round(p.p99)} ms over ${p.samples.toLocaleString('en-US')} docs` : `no latency samples (${run.counted} docs)`);
  await observer.reset(false);
  if (def.sink === 'es') await es.delete(INDEX);
  return p;
}

function launch(def: RunnerDef, spec: RunnerSpec, ctx: RunContext, untilDone: boolean): Pick<ExecuteOptions, 'label' | 'args' | 'env' | 'ipc' | 'readyLine' | 'logFile'> {
  const cmd = def.command(spec, ctx.workDir, untilDone);
  return {
    label: def.name,
    args: cmd.args,
    ipc: cmd.ipc,
    ...(cmd.readyLine ? { readyLine: cmd.readyLine } : {}),
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? '16', ...cmd.env, [SPEC_ENV]: JSON.stringify(spec) },
    logFile: join(ctx.workDir, `${spec.groupId}.log`),
  };
}

/**
 * Every record consumed is indexed exactly once: Elasticsearch's count, or the sink's. A capped
 * runner is stopped at its cap: `counted` is the last sample before the stop, and a flush in flight
 * may still land after it, so its count may exceed that sample (never the backlog).
 */
async function correctness(def: RunnerDef, counted: number, docs: number, es: EsAdmin, nullDocs: number): Promise<{ correct: boolean; detail: string }> {
  const expected = def.capped ? counted : docs;
  const got = def.sink === 'es' ? await es.count(INDEX) : def.sink === 'null' ? nullDocs : counted;
  const where = def.sink === 'es' ? 'Elasticsearch count' : def.sink === 'null' ? 'null sink count' : 'records read';
  const correct = def.capped ? got >= expected && got <= docs : got === expected;
  return { correct, detail: `${where} ${got.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')}${def.capped ? ' indexed within the cap (a flush in flight at the stop may add some)' : ''}` };
}

function say(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
