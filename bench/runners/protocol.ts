/**
 * The contract between `bench/run.ts` and the runner programs it starts (one process each): the
 * spec arrives as JSON in BENCH_RUNNER_SPEC; messages go back over the IPC channel. Sluice itself is
 * run as its own CLI and speaks neither.
 */
export interface RunnerSpec {
  brokers: string;
  topic: string;
  partitions: number;
  groupId: string;
  /** Where `_bulk` goes: Elasticsearch, the latency proxy or the null sink. */
  esNode: string;
  index: string;
  /** Records to index (or consume) before the runner stops by itself. */
  expected: number;
}

export type RunnerMessage =
  /** The consumer joined its group and owns its partitions. */
  | { type: 'ready' }
  /** Preparation is over: CPU from here on is the runner's measured cost (es-ceiling builds its bodies first). */
  | { type: 'measure-start' }
  /** Records consumed so far, for runners that write nowhere the bench can count (kafka-ceiling). */
  | { type: 'count'; count: number }
  /** Free-form findings worth a line in the report (es-ceiling's concurrency trials). */
  | { type: 'note'; note: string };

export const SPEC_ENV = 'BENCH_RUNNER_SPEC';

export function readSpec(): RunnerSpec {
  const raw = process.env[SPEC_ENV];
  if (raw === undefined) throw new Error(`${SPEC_ENV} is not set: runners are started by bench/run.ts`);
  return JSON.parse(raw) as RunnerSpec;
}

export function send(message: RunnerMessage): void {
  process.send?.(message);
}

/** Runs a runner's main, reporting a failure on stderr and in the exit status. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`runner failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
