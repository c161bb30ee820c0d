import type { PackedBatch } from './batch-layout.js';
import type { AckDelays } from './freshness.js';

/**
 * The contract between the main thread and the worker threads: what a task, its result, a worker's
 * signals and its start-up data are. Both sides import src/common/ and nothing else of each other.
 * A task's records cross as the buffers of `batch-layout.ts`.
 */

export type { WorkerInit } from './worker-init.js';

export interface BatchTask extends PackedTask {
  /** The search engine that answered `GET /` at start-up: picks the media types (`compatHeaders`). */
  server: ServerKind;
}

/** A task as the dispatcher packs it; the pipeline adds the server. */
export interface PackedTask extends PackedBatch {
  /** Names the task in the worker's `started`/`encoded` signals; a new one for each run of a batch. */
  id: number;
}

/** Final outcome of one record, as a byte in `BatchResult.outcomes`. */
export const Outcome = {
  /** Every document it produced is in Elasticsearch (2xx, or 409 on `create`). */
  Indexed: 1,
  /** It produced no document: a null value or a transform that returned null. Counted, never silent. */
  Skipped: 2,
  /** It could not be indexed; `BatchResult.failures` says why. Offsets never move past it. */
  Failed: 3,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/**
 * Where a record failed. decode, transform, route and worker make it *malformed*, and so does
 * redrive (a dead letter that cannot be indexed as its original record, `sluice redrive`); index
 * (refused by Elasticsearch) and size make it *rejected*; null is a tombstone under `errors.onNull: dlq`.
 */
export type FailureStage = 'decode' | 'transform' | 'route' | 'worker' | 'redrive' | 'index' | 'size' | 'null';

export function failureClass(stage: FailureStage): 'malformed' | 'rejected' | 'null' {
  if (stage === 'index' || stage === 'size') return 'rejected';
  return stage === 'null' ? 'null' : 'malformed';
}

/** Why a record failed: the stage, and for Elasticsearch the HTTP status and `error.type`. */
export interface RecordFailure {
  /** Index of the record in the batch. */
  record: number;
  stage: FailureStage;
  reason: string;
  /** Attempts made to index it (1 when it was never retried). */
  attempts?: number;
  status?: number;
  errorType?: string;
}

/** Why a `_bulk` request or item was sent again. */
export const RETRY_CLASSES = ['overload', 'server_error', 'timeout', 'connection', 'too_large', 'halted', 'other'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number];

/** What a worker did for one batch; the main thread turns it into metrics. */
export interface BatchStats {
  /** Documents encoded (a transform may make several of one record, or none). */
  docs: number;
  bulkRequests: number;
  bulkBytes: number;
  /** Duration of each `_bulk` request, in milliseconds. */
  bulkMs: number[];
  retries: Partial<Record<RetryClass, number>>;
  /** Records skipped because their value was null (`errors.onNull: skip`). */
  tombstones: number;
  /** Records the transform dropped (it returned null or no document). */
  dropped: number;
  /** Delays from the Kafka timestamps of the indexed records to their `_bulk` answer (`freshness.ts`). */
  ackDelays: AckDelays;
}

export function emptyStats(): BatchStats {
  return { docs: 0, bulkRequests: 0, bulkBytes: 0, bulkMs: [], retries: {}, tombstones: 0, dropped: 0, ackDelays: { counts: [], sum: 0 } };
}

/** Adds `from` into `into`. */
export function addStats(into: BatchStats, from: BatchStats): BatchStats {
  into.docs += from.docs;
  into.bulkRequests += from.bulkRequests;
  into.bulkBytes += from.bulkBytes;
  for (const ms of from.bulkMs) into.bulkMs.push(ms);
  for (const [cls, n] of Object.entries(from.retries) as Array<[RetryClass, number]>) into.retries[cls] = (into.retries[cls] ?? 0) + n;
  into.tombstones += from.tombstones;
  into.dropped += from.dropped;
  const delays = from.ackDelays.counts;
  if (delays.length > 0) {
    if (into.ackDelays.counts.length === 0) into.ackDelays.counts = new Array<number>(delays.length).fill(0);
    for (let b = 0; b < delays.length; b++) into.ackDelays.counts[b] = (into.ackDelays.counts[b] as number) + (delays[b] as number);
    into.ackDelays.sum += from.ackDelays.sum;
  }
  return into;
}

export interface BatchResult {
  outcomes: Uint8Array;
  failures: RecordFailure[];
  stats: BatchStats;
}

/** Product and major version of the search engine; `unknown` when `GET /` was not allowed (403). */
export interface ServerKind {
  product: 'elasticsearch' | 'opensearch' | 'unknown';
  major: number;
}

/**
 * Sent by a worker (Piscina `'message'`).
 *
 * `halt`/`resume`: Elasticsearch refuses writes for a reason only an operator can fix
 * (authentication, a cluster or index block, a missing index without auto-create). The main
 * thread pauses every partition until each worker reports `resume`.
 *
 * `started`/`encoded`: a task began on this thread, and its CPU phase (decode, transform, encode)
 * ended. The main thread's task deadline runs between the two, so neither the wait behind other
 * tasks of the thread nor the `_bulk` I/O that follows counts against it.
 */
export type WorkerSignal =
  | { kind: 'halt'; threadId: number; status?: number; errorType?: string; reason: string }
  | { kind: 'resume'; threadId: number }
  | TaskSignal;

export type TaskSignal = { kind: 'started' | 'encoded'; threadId: number; task: number };
