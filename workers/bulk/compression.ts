import { gzipSync } from 'node:zlib';

/** `elasticsearch.compression`: how `_bulk` request bodies go on the wire. */
export type Compression = 'none' | 'gzip';

/**
 * Level 1: on the bench's APM-log NDJSON it takes about a third of level 6's CPU for a body only
 * slightly larger (bench/micro/compression.ts), and the worker pays that CPU for every document.
 */
export const GZIP_LEVEL = 1;

/**
 * The body as sent. gzip runs synchronously on the calling worker thread, on purpose: the async
 * zlib calls (and the client's own `compression` option, which uses them) run on the libuv pool,
 * which this process shares with librdkafka's consume calls, so a burst of large bodies there would
 * delay the main thread's fetches.
 */
export function compressBody(body: Buffer, compression: Compression): Buffer {
  return compression === 'gzip' ? gzipSync(body, { level: GZIP_LEVEL }) : body;
}
