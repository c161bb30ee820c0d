import type { Logger } from 'pino';
import { backoffDelay } from '../common/backoff.js';
import { addStats, emptyStats, Outcome, type BatchResult } from '../common/protocol.js';
import type { PartitionRun } from './batch.js';
import type { TaskFate } from './task-watch.js';

/** How one run of records on the pool ended: their result, or how the worker failed them. */
export type RunOutcome = { result: BatchResult } | { err: unknown; fate: TaskFate };

export interface BisectOptions {
  /**
   * Runs the records on the pool once. Rejects only when nothing may run again (the stop): the
   * rejection ends the whole batch.
   */
  runOnce: (runs: PartitionRun[], started: () => void) => Promise<RunOutcome>;
  /** Runs of a batch whose worker failed before it is split. */
  maxAttempts: number;
  backoffMs: number;
  /** `pipeline.taskTimeoutMs`, named in the reason of a record that timed out. */
  timeoutMs: number | undefined;
  logger: Logger;
  /** A worker failed a run (the task retry count). */
  onFailure: () => void;
  /** The wait before a failed batch runs again; rejects to end it (the stop). */
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Longest wait before a failed batch runs again (reached only with many `maxAttempts`). */
const MAX_BACKOFF_MS = 30_000;

/**
 * Runs records on the pool until each has an outcome. A worker that fails (throws, crashes, runs
 * out of memory) gets the batch again, with backoff; after `maxAttempts` the batch is split in
 * halves, each run on its own, until the record that fails a worker every time is alone. That
 * record fails with stage `worker`, so one poison record cannot stall its partition or take the
 * rest with it.
 *
 * A batch past its deadline is split at once: a record that hangs hangs every time, and each run
 * costs a full deadline, so isolating it takes about log2(batch) deadlines. A batch that only
 * shared a terminated thread runs again without spending an attempt.
 */
export function createBisector(options: BisectOptions): (runs: PartitionRun[], started: () => void) => Promise<BatchResult> {
  const { runOnce, maxAttempts, backoffMs, logger } = options;
  const random = options.random ?? Math.random;

  return async function execute(runs: PartitionRun[], started: () => void): Promise<BatchResult> {
    for (let attempt = 1; ; ) {
      const outcome = await runOnce(runs, started);
      if ('result' in outcome) return outcome.result;
      const { err, fate } = outcome;
      options.onFailure();
      const records = runs.reduce((n, r) => n + r.length, 0);
      if (fate === 'collateral') {
        logger.warn({ records }, 'batch was on a worker thread terminated for another task; running it again');
        continue;
      }
      const timedOut = fate === 'timeout';
      if (!timedOut && attempt < maxAttempts) {
        // Jittered: batches that shared a crashed worker do not all land on the pool again at once.
        const delay = Math.round(backoffDelay(attempt - 1, backoffMs, MAX_BACKOFF_MS, random));
        logger.error({ err, attempt, records, retryInMs: delay }, 'worker failed a batch; running it again');
        await options.sleep(delay);
        attempt++;
        continue;
      }
      if (records === 1) {
        const r = (runs[0] as PartitionRun).record(0);
        const reason = timedOut
          ? `worker timed out: decode, transform and encode of this record took longer than pipeline.taskTimeoutMs (${options.timeoutMs} ms)`
          : `worker failed ${attempt} times on this record: ${err instanceof Error ? err.message : String(err)}`;
        logger.error({ err, topic: r.topic, partition: r.partition, offset: r.offset, reason }, 'record fails every worker that processes it');
        return { outcomes: Uint8Array.of(Outcome.Failed), failures: [{ record: 0, stage: 'worker', reason, attempts: attempt }], stats: emptyStats() };
      }
      logger.error({ err, records, timedOut }, 'worker keeps failing a batch; splitting it to isolate the record');
      const [left, right] = splitRuns(runs, Math.floor(records / 2));
      const a = await execute(left, started);
      const b = await execute(right, started);
      return mergeResults(a, b);
    }
  };
}

/** The first `count` records of the runs, and the rest; partition grouping and order are kept. */
export function splitRuns(runs: readonly PartitionRun[], count: number): [PartitionRun[], PartitionRun[]] {
  const left: PartitionRun[] = [];
  const right: PartitionRun[] = [];
  let seen = 0;
  for (const run of runs) {
    const take = Math.max(0, Math.min(run.length, count - seen));
    if (take > 0) left.push(take === run.length ? run : run.slice(0, take));
    if (take < run.length) right.push(take === 0 ? run : run.slice(take));
    seen += run.length;
  }
  return [left, right];
}

/** The result of two consecutive parts of a batch, as if it had run whole. */
export function mergeResults(a: BatchResult, b: BatchResult): BatchResult {
  const outcomes = new Uint8Array(a.outcomes.length + b.outcomes.length);
  outcomes.set(a.outcomes);
  outcomes.set(b.outcomes, a.outcomes.length);
  return {
    outcomes,
    failures: [...a.failures, ...b.failures.map((f) => ({ ...f, record: f.record + a.outcomes.length }))],
    stats: addStats(addStats(emptyStats(), a.stats), b.stats),
  };
}
