import { errors } from '@elastic/elasticsearch';
import type { RetryClass } from '../../src/common/protocol.js';
import type { OpType } from './encoder.js';

/**
 * What to do with each failure, decided by HTTP status and `error.type`, never by message text. The
 * types are the same on Elasticsearch 7.x to 9.x and OpenSearch 2.x except where noted (a document
 * that does not fit its mapping: `mapper_parsing_exception` on 7.x and OpenSearch,
 * `document_parsing_exception` on 8.x and 9.x; both are a 400, rejected). Pure functions: the sink
 * applies them, tests call them directly.
 */

/**
 * What to do with a failed item or request, one vocabulary for both: send it again with backoff,
 * within `errors.maxRetries` (`retry`); send it in halves (`split`: a body too large for the server,
 * requests only); send it again without limit while the pipeline reports itself halted (`halt`:
 * only an operator can fix it); or give its documents up as failed (`reject`).
 */
export type FailureKind = 'retry' | 'split' | 'halt' | 'reject';

/** An item is done (`ok`) or failed; an item cannot be split. */
export type ItemVerdict = 'ok' | Exclude<FailureKind, 'split'>;

/**
 * Failures no record can cause and no retry soon cures: credentials, permissions, a blocked
 * cluster or index (read-only, flood stage), a missing index that may not be auto-created. They
 * halt the pipeline until an operator fixes them; they never drop or dead-letter a record.
 */
const HALT_TYPES = new Set(['cluster_block_exception', 'index_not_found_exception', 'security_exception', 'index_closed_exception']);

/**
 * A full write queue, by product: Elasticsearch says `es_rejected_execution_exception`, OpenSearch
 * `rejected_execution_exception`. Both answer 429; the type keeps an overload an overload when a
 * proxy or a wrapping error changed the status.
 */
const REJECTED_TYPES = new Set(['es_rejected_execution_exception', 'rejected_execution_exception']);
const isRejection = (errorType: string | undefined): boolean => errorType !== undefined && REJECTED_TYPES.has(errorType);

/**
 * An ingest pipeline that does not exist (`index.pipeline`): only an operator can create it, so it
 * halts, like a missing index without auto-create; rejecting it would dead-letter the whole stream.
 * Elasticsearch (7.x to 9.x, per item, and per item too when the pipeline is a request parameter)
 * answers 400 `illegal_argument_exception`, a type mapping and request mistakes share, with no other
 * field to tell them apart. The reason is then the narrowest signal there is: a fixed sentence of
 * its ingest service, `pipeline with id [<id>] does not exist`, read only behind that status and type.
 */
export function isMissingPipeline(status: number | undefined, errorType: string | undefined, reason: string | undefined): boolean {
  return status === 400 && errorType === 'illegal_argument_exception' && reason !== undefined && MISSING_PIPELINE.test(reason);
}
const MISSING_PIPELINE = /^pipeline with id \[.*\] does not exist$/s;

/**
 * `versioned`: the write carried an external version (the Kafka offset, for `key`/`field:` ids). Its
 * version conflict means a newer record of the partition is already there, so this one's work is done.
 */
export function classifyItem(status: number, errorType: string | undefined, opType: OpType, versioned = false, reason?: string): ItemVerdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 409 && versioned && errorType === 'version_conflict_engine_exception') return 'ok';
  // `create` of a document that is already there: a replay of a record indexed before.
  if (status === 409 && opType === 'create') return 'ok';
  // Deleting a document that is not there, or from an index that does not exist (unversioned deletes
  // never create one; with auto-create off, neither do versioned ones): the tombstone's work is done.
  // Halting here would stop every partition for nothing.
  if (status === 404 && opType === 'delete' && (errorType === undefined || errorType === 'index_not_found_exception')) return 'ok';
  if (status === 401 || status === 403 || (errorType !== undefined && HALT_TYPES.has(errorType))) return 'halt';
  if (isMissingPipeline(status, errorType, reason)) return 'halt';
  if (status === 429 || isRejection(errorType)) return 'retry';
  if (status >= 500) return 'retry';
  return 'reject';
}

/** What the server answered (no status when no answer came), for logs, halts and failed documents. */
export interface FailureFacts {
  status?: number;
  errorType?: string;
  reason: string;
}

/**
 * The decision on a failed `_bulk` request, tagged by `kind`. `cls` is the retry metrics class of
 * what is sent again; a rejected request is not.
 */
export type RequestDecision =
  | (FailureFacts & { kind: 'retry'; cls: Exclude<RetryClass, 'too_large' | 'halted'> })
  | (FailureFacts & { kind: 'split'; cls: 'too_large' })
  | (FailureFacts & { kind: 'halt'; cls: 'halted' })
  | (FailureFacts & { kind: 'reject' });

/** The cause of a retried item, for the retry metrics. */
export function itemRetryClass(verdict: ItemVerdict, status: number): RetryClass {
  if (verdict === 'halt') return 'halted';
  return status >= 500 ? 'server_error' : 'overload';
}

/**
 * A failure of the whole `_bulk` request. Overload, timeouts, lost connections and 5xx are retried
 * with backoff, bounded by `errors.maxRetries`; authentication failures and cluster blocks halt
 * (retried without limit); a body too large (413) is split; a malformed request (400) is rejected.
 */
export function classifyRequestError(err: unknown): RequestDecision {
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    const body = err.body as { error?: { type?: string; reason?: string } } | undefined;
    const errorType = body?.error?.type;
    const reason = body?.error?.reason ?? err.message;
    if (status === 413) return { kind: 'split', status, reason: 'request body too large', cls: 'too_large' };
    const facts: FailureFacts = errorType === undefined ? { status, reason } : { status, errorType, reason };
    if (status === 401 || status === 403 || (errorType !== undefined && HALT_TYPES.has(errorType)) || isMissingPipeline(status, errorType, reason)) {
      return { kind: 'halt', ...facts, cls: 'halted' };
    }
    // A malformed request: the same body would be refused again.
    if (status === 400) return { kind: 'reject', ...facts };
    return { kind: 'retry', ...facts, cls: status === 429 || isRejection(errorType) ? 'overload' : status >= 500 ? 'server_error' : 'other' };
  }
  if (err instanceof errors.TimeoutError) return { kind: 'retry', reason: 'request timed out', cls: 'timeout' };
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError) {
    return { kind: 'retry', reason: `connection failed: ${err.message}`, cls: 'connection' };
  }
  return { kind: 'retry', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err), cls: 'other' };
}

/** True while another attempt is allowed; `maxRetries` of -1 means forever. */
export function mayRetry(retriesSoFar: number, maxRetries: number): boolean {
  return maxRetries < 0 || retriesSoFar < maxRetries;
}
