import type { Client } from '@elastic/elasticsearch';
import { BulkResponseError } from '../../src/common/errors.js';

/** Per-item result of a `_bulk` request, in request order. */
export interface ItemResult {
  status: number;
  errorType?: string;
  reason?: string;
}

/** Only what the outcome needs: parsing the full response of a large bulk costs real CPU. */
const FILTER_PATH = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

type BulkResponse = {
  errors?: boolean;
  items?: Array<Record<string, { status?: number; error?: { type?: string; reason?: string } } | undefined>>;
};

/**
 * Sends one pre-serialized NDJSON body to `_bulk` and maps the response to per-item results.
 * Returns `undefined` when every item succeeded. Request-level failures throw the client's errors; an
 * answer whose items do not match the documents throws `BulkResponseError`.
 */
export async function sendBulk(
  client: Client,
  body: Buffer,
  expectedItems: number,
  headers: Record<string, string> | undefined,
): Promise<ItemResult[] | undefined> {
  const response = (await client.transport.request(
    { method: 'POST', path: '/_bulk', querystring: { filter_path: FILTER_PATH }, bulkBody: body },
    headers ? { headers } : {},
  )) as BulkResponse;
  if (response.errors === false) return undefined;
  const items = response.items ?? [];
  if (items.length !== expectedItems) {
    throw new BulkResponseError(items.length, expectedItems);
  }
  return items.map((item) => {
    const op = Object.values(item)[0];
    const result: ItemResult = { status: op?.status ?? 0 };
    if (op?.error?.type !== undefined) result.errorType = op.error.type;
    if (op?.error?.reason !== undefined) result.reason = op.error.reason;
    return result;
  });
}
