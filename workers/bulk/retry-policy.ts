import { errors } from '@elastic/elasticsearch';
import type { OpType } from './encoder.js';

/**
 * What to do with each failure, decided by HTTP status and Elasticsearch `error.type`, never by
 * message text. Pure functions: the sink applies them, tests call them directly.
 */
export type ItemVerdict = 'ok' | 'retry' | 'reject';

export function classifyItem(status: number, errorType: string | undefined, opType: OpType): ItemVerdict {
  if (status >= 200 && status < 300) return 'ok';
  // `create` of a document that is already there: a replay of a record indexed before.
  if (status === 409 && opType === 'create') return 'ok';
  if (status === 429 || errorType === 'es_rejected_execution_exception') return 'retry';
  if (status >= 500) return 'retry';
  return 'reject';
}

export interface RequestFailure {
  /** Retrying the same request can succeed (overload, outage, timeout). */
  retry: boolean;
  /** The body is too large for the server: send it in halves. */
  split: boolean;
  status?: number;
  errorType?: string;
  reason: string;
}

/**
 * A failure of the whole `_bulk` request. Nothing is dropped here: overload, timeouts, lost
 * connections, 5xx and also authentication failures and cluster blocks are retried with backoff
 * (they need an operator, not a new record), bounded only by `errors.maxRetries`.
 */
export function classifyRequestError(err: unknown): RequestFailure {
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    const body = err.body as { error?: { type?: string; reason?: string } } | undefined;
    const errorType = body?.error?.type;
    const reason = body?.error?.reason ?? err.message;
    if (status === 413) return { retry: true, split: true, status, reason: 'request body too large' };
    const out: RequestFailure = { retry: status !== 400, split: false, status, reason };
    if (errorType !== undefined) out.errorType = errorType;
    return out;
  }
  if (err instanceof errors.TimeoutError) return { retry: true, split: false, reason: 'request timed out' };
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError) {
    return { retry: true, split: false, reason: `connection failed: ${err.message}` };
  }
  return { retry: true, split: false, reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

/** Exponential backoff with equal jitter: half the step fixed, half random, capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}

/** True while another attempt is allowed; `maxRetries` of -1 means forever. */
export function mayRetry(retriesSoFar: number, maxRetries: number): boolean {
  return maxRetries < 0 || retriesSoFar < maxRetries;
}
