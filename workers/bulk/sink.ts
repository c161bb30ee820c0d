import type { Client } from '@elastic/elasticsearch';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { backoffDelay, sleep as sharedSleep } from '../../src/common/backoff.js';
import { InternalError } from '../../src/common/errors.js';
import type { RetryClass } from '../../src/common/protocol.js';
import { compressBody, type Compression } from './compression.js';
import type { EncodedBatch, OpType } from './encoder.js';
import { buildRequests, subsetRequest, type BulkRequest } from './request-builder.js';
import type { HaltMonitor } from './halt.js';
import { classifyItem, classifyRequestError, itemRetryClass, mayRetry, type FailureFacts } from './retry-policy.js';
import type { Semaphore } from './semaphore.js';
import { sendBulk, type ItemResult } from './service.js';

export interface DocFailure {
  status?: number;
  errorType?: string;
  reason: string;
  attempts?: number;
}

/** Final result per document of a batch: `failures[d]` is set for each document not indexed. */
export interface SinkResult {
  failures: Map<number, DocFailure>;
  bulkRequests: number;
  bulkBytes: number;
  /** Duration of each request, ms. */
  bulkMs: number[];
  retries: Partial<Record<RetryClass, number>>;
}

export interface BulkSinkOptions {
  client: Client;
  headers: Record<string, string> | undefined;
  opType: OpType;
  /** Writes carry an external version (`key`/`field:` ids): a version conflict counts as done. */
  versioned: boolean;
  bulkMaxBytes: number;
  /** Content encoding of the bodies (default none); each body is compressed once, on this thread. */
  compression?: Compression;
  retry: { maxRetries: number; backoffMs: number; maxBackoffMs: number };
  semaphore: Semaphore;
  halts: HaltMonitor;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Indexes an encoded batch: cuts it into bodies, sends them concurrently (bounded by the worker's
 * semaphore), re-sends only the items that failed with a retryable status, with backoff, and
 * returns the documents that could not be indexed. Resolves only once every document has a final
 * outcome.
 */
export function createBulkSink(options: BulkSinkOptions) {
  const { client, headers, opType, versioned, retry, semaphore, halts, logger } = options;
  const sleep = options.sleep ?? sharedSleep;
  const compression = options.compression ?? 'none';
  const sendHeaders = compression === 'none' ? headers : { ...headers, 'content-encoding': compression };

  async function index(batch: EncodedBatch): Promise<SinkResult> {
    const result: SinkResult = { failures: new Map(), bulkRequests: 0, bulkBytes: 0, bulkMs: [], retries: {} };
    await Promise.all(buildRequests(batch, options.bulkMaxBytes).map((req) => deliver(batch, req, result)));
    return result;
  }

  /**
   * Sends one request until every document in it has a final outcome. Retryable failures count
   * against `errors.maxRetries`; halting ones (auth, blocks) are retried without limit while the
   * worker reports the pipeline halted, and do not spend that budget: a 429 after an operator lifted
   * a block must get every retry it is owed. Each kind keeps its own backoff step.
   */
  async function deliver(batch: EncodedBatch, first: BulkRequest, result: SinkResult): Promise<void> {
    let request = first;
    // Compressed once per body: a whole-request retry sends these bytes again, a retried subset is a new body.
    let wire = compressBody(request.body, compression);
    let attempt = 0;
    let haltRound = 0;
    let halted = false;
    const setHalted = (on: boolean, failure?: { status?: number | undefined; errorType?: string | undefined; reason: string }): void => {
      if (on && !halted && failure) halts.enter(failure);
      if (!on && halted) halts.leave();
      halted = on;
    };
    try {
      for (;;) {
        let items: ItemResult[] | undefined;
        await semaphore.acquire();
        const sentAt = performance.now();
        try {
          result.bulkRequests++;
          result.bulkBytes += wire.length;
          items = await sendBulk(client, wire, request.docs.length, sendHeaders);
        } catch (err) {
          semaphore.release();
          result.bulkMs.push(performance.now() - sentAt);
          const decision = classifyRequestError(err);
          switch (decision.kind) {
            case 'split':
              if (request.docs.length > 1) {
                countRetry(result, decision.cls);
                const half = request.docs.length >> 1;
                setHalted(false);
                await Promise.all([
                  deliver(batch, subsetRequest(batch, request.docs.subarray(0, half)), result),
                  deliver(batch, subsetRequest(batch, request.docs.subarray(half)), result),
                ]);
                return;
              }
              // One document too large on its own: nothing smaller to send.
              rejectAll(result, request.docs, decision, attempt + 1);
              return;
            case 'reject':
              rejectAll(result, request.docs, decision, attempt + 1);
              return;
            case 'retry':
              if (!mayRetry(attempt, retry.maxRetries)) {
                rejectAll(result, request.docs, decision, attempt + 1);
                return;
              }
              break;
            case 'halt':
              setHalted(true, decision);
              break;
            default:
              return unreachable(decision);
          }
          logger.warn({ status: decision.status, errorType: decision.errorType, reason: decision.reason, attempt, docs: request.docs.length }, 'bulk request failed; retrying');
          await sleep(backoffDelay(decision.kind === 'halt' ? haltRound++ : attempt++, retry.backoffMs, retry.maxBackoffMs));
          countRetry(result, decision.cls);
          continue;
        }
        semaphore.release();
        result.bulkMs.push(performance.now() - sentAt);
        if (items === undefined) return;

        const again: number[] = [];
        let haltedBy: ItemResult | undefined;
        let retriedBy: ItemResult | undefined;
        for (let k = 0; k < items.length; k++) {
          const item = items[k] as ItemResult;
          const doc = request.docs[k] as number;
          const verdict = classifyItem(item.status, item.errorType, batch.docDeletes[doc] === 1 ? 'delete' : opType, versioned, item.reason);
          switch (verdict) {
            case 'ok':
              break;
            case 'halt':
              again.push(doc);
              haltedBy ??= item;
              break;
            case 'retry':
              if (mayRetry(attempt, retry.maxRetries)) {
                again.push(doc);
                retriedBy ??= item;
              } else result.failures.set(doc, toFailure(item, attempt + 1));
              break;
            case 'reject':
              result.failures.set(doc, toFailure(item, attempt + 1));
              break;
            default:
              unreachable(verdict);
          }
        }
        setHalted(haltedBy !== undefined, haltedBy && { status: haltedBy.status, errorType: haltedBy.errorType, reason: haltedBy.reason ?? `status ${haltedBy.status}` });
        if (again.length === 0) return;
        const cause = haltedBy ?? retriedBy;
        logger.debug({ status: cause?.status, errorType: cause?.errorType, items: again.length, attempt }, 'retrying bulk items');
        // A round re-sending any retryable item spends one retry; a round of halted items alone does not.
        await sleep(backoffDelay(retriedBy ? attempt++ : haltRound++, retry.backoffMs, retry.maxBackoffMs));
        countRetry(result, itemRetryClass(haltedBy ? 'halt' : 'retry', cause?.status ?? 0));
        request = subsetRequest(batch, Int32Array.from(again));
        wire = compressBody(request.body, compression);
      }
    } finally {
      setHalted(false);
    }
  }

  return { index };
}

function countRetry(result: SinkResult, cls: RetryClass): void {
  result.retries[cls] = (result.retries[cls] ?? 0) + 1;
}

/** Every document of a request failed as the request did. */
function rejectAll(result: SinkResult, docs: Int32Array, facts: FailureFacts, attempts: number): void {
  for (const d of docs) {
    const f: DocFailure = { reason: facts.reason, attempts };
    if (facts.status !== undefined) f.status = facts.status;
    if (facts.errorType !== undefined) f.errorType = facts.errorType;
    result.failures.set(d, f);
  }
}

/** A decision or verdict no case handled: the compiler proves this unreachable. */
function unreachable(value: never): never {
  throw new InternalError(`unhandled bulk failure decision ${JSON.stringify(value)}`);
}

function toFailure(item: ItemResult, attempts: number): DocFailure {
  const f: DocFailure = { status: item.status, reason: item.reason ?? `status ${item.status}`, attempts };
  if (item.errorType !== undefined) f.errorType = item.errorType;
  return f;
}
