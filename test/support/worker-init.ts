import type { BatchTask, PackedTask, ServerKind, WorkerInit } from '../../src/common/protocol.js';

/** A worker's settings for tests that run the batch processor without a server; `over` replaces parts. */
export function testWorkerInit(over: Partial<Omit<WorkerInit, 'index'>> & { index?: Partial<WorkerInit['index']> } = {}): WorkerInit {
  return {
    elasticsearch: { node: ['http://127.0.0.1:1'], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 1000 },
    inputFormat: 'json',
    invalidUtf8: 'fail',
    transform: 'none',
    onNull: 'skip',
    maxDocBytes: 1 << 20,
    bulkMaxBytes: 1 << 20,
    compression: 'none',
    maxConcurrentBulks: 1,
    retry: { maxRetries: 0, backoffMs: 1, maxBackoffMs: 1 },
    logLevel: 'silent',
    ...over,
    index: { name: '{topic}', timestampField: '@timestamp', opType: 'index', idStrategy: 'kafka', ...over.index },
  };
}

/** The server a test's batches name: Elasticsearch 8 (the client's own media types). */
export const TEST_SERVER: ServerKind = { product: 'elasticsearch', major: 8 };

/** A packed task as the pipeline hands it to a worker: with the server. */
export function forWorker(task: PackedTask, server: ServerKind = TEST_SERVER): BatchTask {
  return { ...task, server };
}
