import pino from 'pino';
import { createApmGenerator } from '../apm-data.js';
import { BatchBuilder, packTask, type KafkaRecord } from '../../src/dispatch/batch.js';
import { tpKey } from '../../src/offsets/watermark.js';
import { BatchReader } from '../../src/common/batch-layout.js';
import type { NativeStatus } from '../../src/common/native.js';
import type { BatchTask, WorkerInit } from '../../src/common/protocol.js';
import type { EncodedBatch } from '../../workers/bulk/encoder.js';
import type { SinkResult } from '../../workers/bulk/sink.js';
import { createDecoder } from '../../workers/decode.js';
import { createBatchProcessor } from '../../workers/processor.js';
import type { MicroCase } from './rounds.js';

/**
 * What the worker-path micro-benchmarks (decode.ts, passthrough.ts) share: a task packed once with
 * `packTask` from the bench's APM records (bench/apm-data.ts) over 4 partitions, keys `k<n>`; the
 * worker's settings; a sink that answers at once without sending (no Elasticsearch client is made);
 * and the cases that run `createBatchProcessor(init).process(task)` or the JS decode alone.
 */
export const DOCS = Number(process.env['MICRO_DOCS'] ?? 5000);
const PARTITIONS = 4;

export function buildTask(seed: number): BatchTask {
  const next = createApmGenerator(seed, Date.UTC(2026, 10, 22));
  const builder = new BatchBuilder();
  for (let i = 0; i < DOCS; i++) {
    const partition = i % PARTITIONS;
    const r: KafkaRecord = {
      topic: 'logs',
      partition,
      offset: 1_000_000 + Math.floor(i / PARTITIONS),
      timestamp: Date.UTC(2026, 10, 22) + i,
      value: Buffer.from(JSON.stringify(next())),
      key: Buffer.from(`k${i}`),
    };
    builder.add(tpKey(r.topic, partition), r, 0);
  }
  // The pipeline adds the server the start-up probe found; these batches name Elasticsearch 8.
  return { ...packTask([...builder.runs.values()]).task, server: { product: 'elasticsearch', major: 8 } };
}

export function workerInit(transform: string, indexName: string): WorkerInit {
  return {
    elasticsearch: { node: ['http://127.0.0.1:1'], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 1000 },
    index: { name: indexName, timestampField: '@timestamp', opType: 'index', idStrategy: 'kafka' },
    inputFormat: 'json',
    invalidUtf8: 'fail',
    transform,
    onNull: 'skip',
    maxDocBytes: 1 << 20,
    bulkMaxBytes: 5 << 20,
    compression: 'none',
    maxConcurrentBulks: 1,
    retry: { maxRetries: 0, backoffMs: 1, maxBackoffMs: 1 },
    logLevel: 'silent',
  };
}

const answeringSink = {
  async index(batch: EncodedBatch): Promise<SinkResult> {
    return { failures: new Map(), bulkRequests: 1, bulkBytes: batch.buffer.length, bulkMs: [0], retries: {} };
  },
};

/** `process(task)` as a worker runs it; `native` forces a path (the process's own status when absent). */
export async function processorCase(name: string, init: WorkerInit, task: BatchTask, native?: NativeStatus): Promise<MicroCase> {
  const processor = await createBatchProcessor(init, { sink: answeringSink, logger: pino({ level: 'silent' }), ...(native ? { native } : {}) });
  // A failing record would take another path: make sure every one is indexed.
  const check = await processor.process(task);
  if (check.failures.length > 0 || check.stats.docs !== DOCS) throw new Error(`${name}: ${check.stats.docs} of ${DOCS} documents, first failure ${check.failures[0]?.reason}`);
  return { name, run: async () => (await processor.process(task)).stats.docs };
}

/** The processor's loop over the batch, reading it as the processor does, with the JS decode call and nothing else. */
export function decodeOnly(name: string, task: BatchTask): MicroCase {
  const decode = createDecoder('json', { invalidUtf8: 'fail' });
  return {
    name,
    run: () => {
      const batch = new BatchReader(task);
      let ok = 0;
      for (const { start, end } of batch.slices) {
        for (let r = start; r < end; r++) {
          if (!batch.hasValue(r)) continue;
          if (decode(batch.bytes, batch.valueStart(r), batch.valueEnd(r)).ok && batch.offset(r) >= 0) ok++;
        }
      }
      if (ok !== DOCS) throw new Error(`decode only: ${ok} of ${DOCS} decoded`);
      return ok;
    },
  };
}
