import type { Logger } from 'pino';
import { sleep } from '../common/backoff.js';
import { SluiceError } from '../common/errors.js';
import { Outcome, type BatchResult, type BatchStats, type PackedTask, type RecordFailure, type TaskSignal } from '../common/protocol.js';
import { tpKey, type Segment, type WatermarkTracker } from '../offsets/watermark.js';
import { BatchBuilder, packTask, rowsWithin, type FetchedRows, type KafkaRecord, type PartitionRun } from './batch.js';
import { createBisector, type RunOutcome } from './bisect.js';
import { TaskWatch } from './task-watch.js';
import type { ChunkPool } from './chunks.js';

export interface DispatchLimits {
  batchBytes: number;
  batchDocs: number;
  lingerMs: number;
  maxInFlightBulks: number;
  maxInFlightBytes: number;
}

/** Totals since start, for progress lines and metrics. */
export interface DispatchCounters {
  records: number;
  indexed: number;
  skipped: number;
  failed: number;
  /** Batches run again because their worker failed. */
  taskRetries: number;
  /** Worker threads terminated because a task ran past `pipeline.taskTimeoutMs`. */
  taskTimeouts: number;
  dropped: number;
  /** Failed records waiting for their dead-letter acknowledgement. */
  deadLetterPending: number;
}

export function createDispatchCounters(): DispatchCounters {
  return { records: 0, indexed: 0, skipped: 0, failed: 0, taskRetries: 0, taskTimeouts: 0, dropped: 0, deadLetterPending: 0 };
}

export interface DispatcherOptions {
  /** The running totals the dispatcher keeps, when others read them from the start (the record fate). */
  counters?: DispatchCounters;
  run: (task: PackedTask, transferList: ArrayBuffer[]) => Promise<BatchResult>;
  tracker: WatermarkTracker;
  limits: DispatchLimits;
  logger: Logger;
  /** The committable offset of a partition moved. */
  onCommittable: (tp: { topic: string; partition: number }, offset: number) => void;
  /**
   * A record could not be indexed. The answer decides its fate: `done` (skipped by policy),
   * `block` (its partition stops before it), or a promise that resolves once it is safely
   * elsewhere (dead-letter write acknowledged); offsets wait for that promise.
   */
  onFailed: (record: KafkaRecord, failure: RecordFailure) => 'done' | 'block' | Promise<void>;
  /** A batch completed or was retried: capacity was freed. */
  onSettled?: () => void;
  /** What the worker reported doing for a completed batch (for metrics). */
  onStats?: (stats: BatchStats) => void;
  /**
   * A completed batch indexed records of a partition this member still owns: the last of them that
   * has a Kafka timestamp (ms), once per partition and batch (for the freshness gauge).
   */
  onIndexed?: (tp: { topic: string; partition: number }, offset: number, timestamp: number) => void;
  now?: () => number;
  /** The native consumer's chunks: each batch of rows uses its chunk until it is done. */
  chunks?: ChunkPool;
  /** Runs of a batch whose worker failed before it is split to find the record that fails it. */
  maxTaskAttempts?: number;
  taskBackoffMs?: number;
  /** The wait before a failed batch runs again; `signal` aborts at close(). The shared `sleep` unless a test replaces it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Deadline of a task's CPU phase, between the worker's `started` and `encoded` signals (see
   * `signal`); past it the worker thread is terminated. Without it tasks have no deadline.
   */
  taskDeadline?: { timeoutMs: number; terminateWorker: (threadId: number) => void };
}

interface Sealed {
  runs: PartitionRun[];
  /** The chunk of its rows (native consume path). */
  chunk: SharedArrayBuffer | undefined;
  segments: Array<Segment | undefined>;
  bytes: number;
  count: number;
  attempts: number;
}

/**
 * Gathers fetched records into batches (by bytes, docs, linger and `flush`), registers each batch's
 * per-partition ranges with the watermark tracker in fetch order, and runs batches on the worker
 * pool within the in-flight limits. Completed batches move the watermarks. A batch whose worker
 * failed is run again, so a crashed worker loses nothing.
 */
export function createDispatcher(options: DispatcherOptions) {
  const { run, tracker, limits, logger } = options;
  const maxTaskAttempts = options.maxTaskAttempts ?? 3;
  const taskBackoffMs = options.taskBackoffMs ?? 200;
  const now = options.now ?? Date.now;
  let pending = new BatchBuilder();
  let linger: NodeJS.Timeout | undefined;
  /** A flush found no room to run the gathered records: a slot that frees sends them instead. */
  let flushDeferred = false;
  const queue: Sealed[] = [];
  const inFlight = new Set<Sealed>();
  const inFlightByTp = new Map<string, number>();
  let queuedBytes = 0;
  let inFlightBytes = 0;
  const settleListeners = new Set<() => void>();
  /** Resolve each pending `release`/`drain` wait with false (on close). */
  const settleAborts = new Set<(value: boolean) => void>();
  /** Bytes of batches whose failed records wait for their dead-letter acknowledgement. */
  let parkedBytes = 0;
  let closed = false;
  /** Aborted by close(): a failed batch waiting to run again is not run after the stop. */
  const closing = new AbortController();
  const counters = options.counters ?? createDispatchCounters();
  const deadline = options.taskDeadline;
  const watch =
    deadline &&
    new TaskWatch({
      timeoutMs: deadline.timeoutMs,
      terminate: deadline.terminateWorker,
      now,
      onTimeout(threadId) {
        counters.taskTimeouts++;
        logger.error({ threadId, timeoutMs: deadline.timeoutMs }, 'a task ran past pipeline.taskTimeoutMs in decode, transform or encode; terminating its worker thread (the pool starts a new one)');
      },
    });

  const full = (): boolean => pending.count >= limits.batchDocs || pending.payloadBytes >= limits.batchBytes;

  /** Records of the JS consume path (node-rdkafka message objects). */
  function add(records: readonly KafkaRecord[]): void {
    // Records came without a flush: Kafka has more, so the batch fills up as usual.
    flushDeferred = false;
    const t = now();
    for (const r of records) {
      const tp = tpKey(r.topic, r.partition);
      if (!tracker.owns(tp)) {
        // Fetched just before its partition was revoked: the new owner reads it again.
        counters.dropped++;
        continue;
      }
      pending.add(tp, r, t);
      counters.records++;
      if (full()) seal();
    }
    gathered();
  }

  /** Records of the native consume path: a consume call's rows, taken run by run, never one by one. */
  function addRows(rows: FetchedRows): void {
    flushDeferred = false;
    const t = now();
    // The rows of a task lie in one chunk: the consumer moved to a new one, so the batch ends here.
    if (pending.chunk !== undefined && pending.chunk !== rows.data) seal();
    for (const run of rows.runs) {
      const tp = tpKey(run.topic, run.partition);
      if (!tracker.owns(tp)) {
        counters.dropped += run.end - run.start;
        continue;
      }
      for (let start = run.start; start < run.end; ) {
        const end = rowsWithin(rows, start, run.end, limits.batchDocs - pending.count, limits.batchBytes - pending.payloadBytes);
        // The gathering batch uses the chunk from its first rows on; sealed, the batch keeps that use.
        if (pending.chunk === undefined) options.chunks?.retain(rows.data);
        pending.addRows(tp, run.topic, run.partition, rows, start, end, t);
        counters.records += end - start;
        start = end;
        if (full()) seal();
      }
    }
    gathered();
  }

  /** Records were added: a batch not full yet goes at `lingerMs` at the latest. */
  function gathered(): void {
    if (pending.count > 0 && linger === undefined) {
      linger = setTimeout(() => {
        linger = undefined;
        seal();
        pump();
      }, Math.max(0, limits.lingerMs - (now() - pending.startedAt)));
    }
    pump();
  }

  /**
   * Seals what is gathered when it can run at once. Otherwise sealing it would only queue a small
   * batch where the gathering one can still grow: a slot that frees before linger sends it.
   */
  function flush(): void {
    if (pending.count === 0) return;
    if (queue.length > 0 || !hasRoom(pending.bytes)) {
      flushDeferred = true;
      return;
    }
    seal();
    pump();
  }

  function seal(): void {
    flushDeferred = false;
    if (linger !== undefined) {
      clearTimeout(linger);
      linger = undefined;
    }
    if (pending.count === 0) {
      // Its rows were all dropped (revoked partitions): the chunk use ends with it.
      if (pending.chunk !== undefined) options.chunks?.release(pending.chunk);
      pending = new BatchBuilder();
      return;
    }
    const runs = [...pending.runs.values()];
    const segments = runs.map((run) => tracker.open(run.tp, run.offset(0), run.offset(run.length - 1)));
    queue.push({ runs, chunk: pending.chunk, segments, bytes: pending.bytes, count: pending.count, attempts: 0 });
    queuedBytes += pending.bytes;
    pending = new BatchBuilder();
  }

  /** Whether a batch of these bytes may start now (one batch always may, whatever its size). */
  function hasRoom(bytes: number): boolean {
    return inFlight.size < limits.maxInFlightBulks && (inFlight.size === 0 || inFlightBytes + bytes <= limits.maxInFlightBytes);
  }

  function pump(): void {
    for (;;) {
      const next = queue[0];
      if (!next || !hasRoom(next.bytes)) return;
      queue.shift();
      queuedBytes -= next.bytes;
      inFlightBytes += next.bytes;
      inFlight.add(next);
      for (const r of next.runs) inFlightByTp.set(r.tp, (inFlightByTp.get(r.tp) ?? 0) + 1);
      dispatch(next);
    }
  }

  function dispatch(batch: Sealed): void {
    const started = (): void => {
      const t = now();
      for (const seg of batch.segments) if (seg) seg.runningSince ??= t;
    };
    execute(batch.runs, started).then(
      // After close nothing may move: the consumer and the pool are going away.
      (result) => closed || complete(batch, result),
      (err: unknown) => closed || logger.fatal({ err }, 'batch execution failed unexpectedly'),
    );
  }

  /** One run of records on the pool, timed by the task watch. */
  async function runOnce(runs: PartitionRun[], started: () => void): Promise<RunOutcome> {
    const id = watch?.begin(started) ?? (started(), 0);
    try {
      const { task, transferList } = packTask(runs, id);
      const result = await run(task, transferList);
      watch?.end(id);
      return { result };
    } catch (err) {
      // The pool is being destroyed (stop): a task it rejects is not run again anywhere.
      if (closed) throw err;
      return { err, fate: watch?.end(id) ?? 'failed' };
    }
  }

  /** Runs a batch until every record has an outcome, isolating a record that fails its worker (see bisect.ts). */
  const execute = createBisector({
    runOnce,
    maxAttempts: maxTaskAttempts,
    backoffMs: taskBackoffMs,
    timeoutMs: deadline?.timeoutMs,
    logger,
    onFailure: () => counters.taskRetries++,
    sleep: (ms) => (options.sleep ?? sleep)(ms, closing.signal),
  });

  function complete(batch: Sealed, result: BatchResult): void {
    inFlight.delete(batch);
    inFlightBytes -= batch.bytes;
    options.onStats?.(result.stats);
    const failures = new Map<number, RecordFailure>();
    for (const f of result.failures) failures.set(f.record, f);

    let i = 0;
    batch.runs.forEach((run, k) => {
      const seg = batch.segments[k];
      // Revoked since it was sent (and maybe assigned again): what failed here is for the current
      // owner to decide when it reads the records again; this result must not block or dead-letter.
      const owned = seg !== undefined && tracker.isCurrent(run.tp, seg);
      let failedAt: number | undefined;
      const parked: Array<Promise<void>> = [];
      const first = i;
      for (let k = 0; k < run.length; k++, i++) {
        const outcome = result.outcomes[i];
        if (outcome === Outcome.Indexed) counters.indexed++;
        else if (outcome === Outcome.Skipped) counters.skipped++;
        else if (!owned) counters.dropped++;
        else {
          counters.failed++;
          const failure = failures.get(i) ?? { record: i, stage: 'index' as const, reason: 'no outcome reported' };
          const fate = failedAt === undefined ? options.onFailed(run.record(k), failure) : 'block';
          if (fate === 'block') failedAt ??= run.offset(k);
          else if (fate !== 'done') parked.push(fate);
        }
      }
      if (owned && options.onIndexed) {
        const k = lastIndexed(run, result.outcomes, first);
        if (k >= 0) options.onIndexed({ topic: run.topic, partition: run.partition }, run.offset(k), run.timestamp(k));
      }
      const finish = (done: boolean): void => {
        const n = (inFlightByTp.get(run.tp) ?? 1) - 1;
        if (n === 0) inFlightByTp.delete(run.tp);
        else inFlightByTp.set(run.tp, n);
        if (seg && done) {
          const moved = tracker.complete(run.tp, seg, failedAt);
          if (moved !== undefined) options.onCommittable({ topic: run.topic, partition: run.partition }, moved);
        }
        notifySettled();
      };
      if (parked.length === 0) finish(true);
      else {
        // The run's records stay in memory (and in the byte budget) until Kafka has them.
        const bytes = run.bytes;
        parkedBytes += bytes;
        counters.deadLetterPending += parked.length;
        const unpark = (): void => {
          parkedBytes -= bytes;
          counters.deadLetterPending -= parked.length;
        };
        void Promise.all(parked).then(
          () => {
            unpark();
            finish(true);
          },
          // The dead-letter producer closed first (stop): the records are not done, so the
          // partition's offsets stay before them and they are read again after restart.
          () => {
            unpark();
            finish(false);
          },
        );
      }
    });
    // Failed records were copied out above: no worker and no record reads the chunk any more.
    if (batch.chunk) options.chunks?.release(batch.chunk);
    notifySettled();
    pump();
    if (flushDeferred) flush();
  }

  function notifySettled(): void {
    for (const listener of [...settleListeners]) listener();
    options.onSettled?.();
  }

  /**
   * Drops not-yet-dispatched records of revoked partitions (uncommitted, so their next owner
   * fetches them) and resolves once no batch holding them is in flight, or at the deadline.
   * Returns whether they all settled.
   */
  async function release(tps: ReadonlySet<string>, deadlineMs: number): Promise<boolean> {
    pending.drop(tps);
    for (let q = 0; q < queue.length; q++) {
      const batch = queue[q] as Sealed;
      const keep = batch.runs.map((r) => !tps.has(r.tp));
      if (keep.every(Boolean)) continue;
      for (const r of batch.runs.filter((_, k) => !keep[k])) {
        batch.bytes -= r.bytes;
        queuedBytes -= r.bytes;
        batch.count -= r.length;
      }
      batch.segments = batch.segments.filter((_, k) => keep[k]);
      batch.runs = batch.runs.filter((_, k) => keep[k]);
      if (batch.runs.length === 0) {
        queue.splice(q--, 1);
        if (batch.chunk) options.chunks?.release(batch.chunk);
      }
    }
    return settle(() => [...tps].every((tp) => !inFlightByTp.has(tp)), deadlineMs);
  }

  /** Stop: drop what is not dispatched yet and wait (bounded) for every batch in flight. */
  async function drain(deadlineMs: number): Promise<boolean> {
    if (linger !== undefined) clearTimeout(linger);
    linger = undefined;
    for (const batch of [{ chunk: pending.chunk }, ...queue]) if (batch.chunk) options.chunks?.release(batch.chunk);
    pending = new BatchBuilder();
    queue.length = 0;
    queuedBytes = 0;
    return settle(() => inFlight.size === 0 && counters.deadLetterPending === 0, deadlineMs);
  }

  /** Resolves true once `done()` holds (checked at each completion), false at the deadline. */
  function settle(done: () => boolean, deadlineMs: number): Promise<boolean> {
    const deadline = now() + deadlineMs;
    return new Promise((resolve) => {
      const finish = (value: boolean): void => {
        clearInterval(timer);
        settleListeners.delete(check);
        settleAborts.delete(finish);
        resolve(value);
      };
      settleAborts.add(finish);
      const check = (): void => {
        if (done()) finish(true);
        else if (now() >= deadline) finish(false);
      };
      const timer = setInterval(check, Math.max(1, Math.min(200, deadlineMs)));
      settleListeners.add(check);
      check();
    });
  }

  return {
    add,
    addRows,
    /**
     * Kafka had nothing more waiting: seal the records gathered so far now rather than at
     * `lingerMs`, when a batch can start (within `maxInFlightBulks` and `maxInFlightBytes`).
     */
    flush,
    /** A worker's `started`/`encoded` signal: the deadline clock of a task's CPU phase. */
    signal: (s: TaskSignal): void => watch?.signal(s),
    release,
    drain,
    counters,
    /** Bytes held: gathering, queued, in flight and waiting for dead-letter acks (the byte budget). */
    bufferedBytes: (): number => pending.bytes + queuedBytes + inFlightBytes + parkedBytes,
    inFlight: (): number => inFlight.size,
    inFlightBytes: (): number => inFlightBytes,
    queued: (): number => queue.length,
    idle: (): boolean => pending.count === 0 && queue.length === 0 && inFlight.size === 0 && counters.deadLetterPending === 0,
    /** Stop: results that arrive later are ignored, failed tasks are not run again, waits end now. */
    close(): void {
      closed = true;
      closing.abort(new SluiceError('dispatcher closed'));
      if (linger !== undefined) clearTimeout(linger);
      linger = undefined;
      for (const finish of [...settleAborts]) finish(false);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;

/**
 * The run's last indexed record with a Kafka timestamp (its position, -1 if none), from its end
 * backwards: one step when its last record was indexed, as it usually is.
 */
function lastIndexed(run: PartitionRun, outcomes: Uint8Array, first: number): number {
  for (let k = run.length - 1; k >= 0; k--) {
    if (outcomes[first + k] === Outcome.Indexed && run.timestamp(k) > 0) return k;
  }
  return -1;
}
