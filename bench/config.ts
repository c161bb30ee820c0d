/**
 * What one `make bench` run measures, read once from the environment. Every runner of a run sees
 * the same data set, the same index settings and the same latency probe.
 */
export const RUNNER_NAMES = [
  'sluice',
  'sluice-autoid',
  'sluice-gzip',
  'sluice-passthrough',
  'sluice-js',
  'kafkajs-helpers-bulk',
  'kafkajs-helpers-bulk-passthrough',
  'naive-await',
  'es-ceiling',
  'kafka-ceiling',
  'sluice-null',
  'sluice-null-gzip',
  'kafkajs-helpers-bulk-null',
] as const;

export type RunnerName = (typeof RUNNER_NAMES)[number];

/**
 * Settings of the target index, created afresh before every runner: one shard and no replica (a
 * single-node cluster stays green) and no periodic refresh, as for any bulk load. The bench refreshes
 * once after each run, before counting.
 */
export const INDEX_SETTINGS = Object.freeze({ number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' });

export interface BenchConfig {
  docs: number;
  partitions: number;
  runners: RunnerName[];
  /** Drains of the backlog per runner, in rounds of rotated order; the report gives their medians. */
  repeat: number;
  /** Records of the unmeasured warm-up drain that runs before the first measured runner; 0 skips it. */
  warmupDocs: number;
  /** naive-await cannot drain the backlog in any reasonable time: it runs this long and its rate is reported. */
  naiveCapSeconds: number;
  /** Steady-rate latency phase: records per second, and for how long. */
  latencyRate: number;
  latencySeconds: number;
  /** A runner still going after this long is stopped and reported as timed out. */
  runnerTimeoutSeconds: number;
  brokers: string;
  esNode: string;
  seed: number;
}

export function loadBenchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const errors: string[] = [];
  const int = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min) errors.push(`${name} must be an integer ≥ ${min} (got "${raw}")`);
    return value;
  };
  const config: BenchConfig = {
    docs: int('BENCH_DOCS', 200_000, 1000),
    partitions: int('BENCH_PARTITIONS', 4, 1),
    runners: parseRunners(env['BENCH_RUNNERS'], errors),
    repeat: int('BENCH_REPEAT', 3, 1),
    warmupDocs: int('BENCH_WARMUP_DOCS', 50_000, 0),
    naiveCapSeconds: int('BENCH_NAIVE_CAP_SECONDS', 60, 5),
    latencyRate: int('BENCH_LATENCY_RATE', 1000, 0),
    latencySeconds: int('BENCH_LATENCY_SECONDS', 10, 1),
    runnerTimeoutSeconds: int('BENCH_RUNNER_TIMEOUT_SECONDS', 300, 10),
    brokers: `127.0.0.1:${env['SLUICE_KAFKA_PORT'] ?? '9092'}`,
    esNode: `http://127.0.0.1:${env['SLUICE_ES_PORT'] ?? '9200'}`,
    seed: int('BENCH_SEED', 42, 0),
  };
  if (errors.length > 0) throw new Error(`invalid bench settings:\n  - ${errors.join('\n  - ')}`);
  return config;
}

function parseRunners(raw: string | undefined, errors: string[]): RunnerName[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...RUNNER_NAMES];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) {
    if (!(RUNNER_NAMES as readonly string[]).includes(name)) errors.push(`BENCH_RUNNERS: unknown runner "${name}" (known: ${RUNNER_NAMES.join(', ')})`);
  }
  // Medians, spreads and ratios are per runner name: a second entry would be mixed into the first.
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) {
    errors.push(`BENCH_RUNNERS: "${name}" is named more than once; to run each runner several times set BENCH_REPEAT`);
  }
  return names as RunnerName[];
}
