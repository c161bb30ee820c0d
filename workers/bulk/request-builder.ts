import type { EncodedBatch } from './encoder.js';

/** One `_bulk` body and the batch documents it carries, in body order. */
export interface BulkRequest {
  body: Buffer;
  docs: Int32Array;
}

/**
 * Cuts an encoded batch into bodies of at most `maxBytes` (a single larger document goes alone).
 * Bodies are views of the batch buffer: nothing is copied.
 */
export function buildRequests(batch: EncodedBatch, maxBytes: number): BulkRequest[] {
  const { buffer, docStarts } = batch;
  const docCount = docStarts.length - 1;
  const requests: BulkRequest[] = [];
  let first = 0;
  while (first < docCount) {
    const begin = docStarts[first] as number;
    let last = first + 1;
    while (last < docCount && (docStarts[last + 1] as number) - begin <= maxBytes) last++;
    const docs = new Int32Array(last - first);
    for (let i = 0; i < docs.length; i++) docs[i] = first + i;
    requests.push({ body: buffer.subarray(begin, docStarts[last] as number), docs });
    first = last;
  }
  return requests;
}

/** A new body holding only `docs` (batch document indices), for retrying some items of a request. */
export function subsetRequest(batch: EncodedBatch, docs: Int32Array): BulkRequest {
  const { buffer, docStarts } = batch;
  let size = 0;
  for (const d of docs) size += (docStarts[d + 1] as number) - (docStarts[d] as number);
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const d of docs) at += buffer.copy(body, at, docStarts[d] as number, docStarts[d + 1] as number);
  return { body, docs };
}
