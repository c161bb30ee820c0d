import pino from 'pino';
import { createApmGenerator } from '../apm-data.js';
import { BatchBuilder, packTask, recordBytes, type KafkaRecord } from '../../src/dispatch/batch.js';
import { tpKey } from '../../src/offsets/watermark.js';
import { BatchReader } from '../../src/shared/batch-layout.js';
import type { BatchTask, WorkerInit } from '../../src/shared/protocol.js';
import type { EncodedBatch } from '../../workers/bulk/encoder.js';
import type { SinkResult } from '../../workers/bulk/sink.js';
import { createDecoder } from '../../workers/decode.js';
import { createBatchProcessor } from '../../workers/processor.js';
import { formatTable, runRounds, writeResult, type MicroCase } from './rounds.js';

/**
 * The worker's per-record path without network, through the function a worker thread runs on each
 * task: `createBatchProcessor(init).process(task)` reads the packed batch layout, decodes each record
 * (workers/decode.ts), transforms, routes, makes the id and encodes the NDJSON. Its sink is injected
 * (as in its unit tests) with one that answers at once without sending, so no Elasticsearch client is
 * made and no `_bulk` is built. Cases:
 *   decode only         the batch read as the processor reads it (BatchReader; inline index
 *                       arithmetic before the refactor) and `createDecoder('json')` per record;
 *   transform none      index `{topic}`, kafka ids: each document sent as the text it arrived in;
 *   transform apm-log   index `{topic}-{yyyy.MM.dd}` from `@timestamp`, kafka ids, JSON.stringify.
 * Tasks are packed once with `packTask` from the bench's APM records (bench/apm-data.ts) over 4
 * partitions, keys `k<n>`; a task is never transferred here, so the same one is processed again.
 * CPU ns per record.
 *
 *   node dist/bench/micro/decode.js     MICRO_DOCS (5000 = pipeline.batchDocs) per task,
 *                                       MICRO_ROUNDS (7) of MICRO_SECONDS (1) per case
 */
const DOCS = Number(process.env['MICRO_DOCS'] ?? 5000);
const PARTITIONS = 4;

function buildTask(seed: number): BatchTask {
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
    builder.add(tpKey(r.topic, partition), r, recordBytes(r), recordBytes(r), 0);
  }
  return packTask([...builder.runs.values()]).task;
}

function init(transform: string, indexName: string): WorkerInit {
  return {
    elasticsearch: { node: ['http://127.0.0.1:1'], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 1000, server: { product: 'elasticsearch', major: 8 } },
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

const nullSink = {
  async index(batch: EncodedBatch): Promise<SinkResult> {
    return { failures: new Map(), bulkRequests: 1, bulkBytes: batch.buffer.length, bulkMs: [0], retries: {} };
  },
};

async function processorCase(name: string, transform: string, indexName: string): Promise<MicroCase> {
  const processor = await createBatchProcessor(init(transform, indexName), { sink: nullSink, logger: pino({ level: 'silent' }) });
  // A failing record would take another path: make sure every one is indexed.
  const check = await processor.process(task);
  if (check.failures.length > 0 || check.stats.docs !== DOCS) throw new Error(`${name}: ${check.stats.docs} of ${DOCS} documents, first failure ${check.failures[0]?.reason}`);
  return { name, run: async () => (await processor.process(task)).stats.docs };
}

/** The processor's loop over the batch, reading it as the processor does, with the decode call and nothing else. */
function decodeOnly(): MicroCase {
  const decode = createDecoder('json', { invalidUtf8: 'fail' });
  return {
    name: 'decode only (json)',
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

const task = buildTask(42);
const results = await runRounds([
  decodeOnly(),
  await processorCase('process, transform none', 'none', '{topic}'),
  await processorCase('process, transform apm-log', 'apm-log', '{topic}-{yyyy.MM.dd}'),
]);
process.stdout.write(
  `${[`Worker record path: tasks of ${DOCS} APM records, ${(task.data.byteLength / DOCS).toFixed(0)} B of value and key per record`, formatTable(results, 'record')].join('\n')}\n`,
);
const file = writeResult('decode', { docs: DOCS, taskBytes: task.data.byteLength }, results);
process.stdout.write(`written: ${file}\n`);
