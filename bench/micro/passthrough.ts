import pino from 'pino';
import { createApmGenerator } from '../apm-data.js';
import { BatchBuilder, packTask, recordBytes, type KafkaRecord } from '../../src/dispatch/batch.js';
import { tpKey } from '../../src/offsets/watermark.js';
import { BatchReader } from '../../src/shared/batch-layout.js';
import { loadNative, type NativeStatus } from '../../src/shared/native.js';
import type { BatchTask, WorkerInit } from '../../src/shared/protocol.js';
import type { EncodedBatch } from '../../workers/bulk/encoder.js';
import type { SinkResult } from '../../workers/bulk/sink.js';
import { createDecoder } from '../../workers/decode.js';
import { createPassthrough } from '../../workers/passthrough.js';
import { createBatchProcessor } from '../../workers/processor.js';
import { formatTable, runRounds, writeResult, type MicroCase } from './rounds.js';

/**
 * The worker's JSON passthrough (transform none, input.format json) on the JS path and on the native
 * path, through the function a worker runs on each task: `createBatchProcessor(init).process(task)`
 * with a sink that answers at once, once with the native status forced to the JS path (as
 * SLUICE_NATIVE=0 does) and once with the built addon. Cases, each JS and native:
 *   process, {topic}              kafka ids: validate, action line, copy of the text;
 *   process, {topic}-{yyyy.MM.dd} the same, routed by `@timestamp` read from each document;
 *   decode / scan only            the batch read as the processor reads it, with createDecoder('json')
 *                                 per record, or the one native scan of the batch (no routing, no NDJSON).
 * Tasks are packed once with `packTask` from the bench's APM records (bench/apm-data.ts) over 4
 * partitions, keys `k<n>`, as bench/micro/decode.ts does. CPU ns per record.
 *
 *   node dist/bench/micro/passthrough.js   MICRO_DOCS (5000) per task, MICRO_ROUNDS (7) of MICRO_SECONDS (1)
 *
 * Without the addon built (native/build/), only the JS cases run.
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

function init(indexName: string): WorkerInit {
  return {
    elasticsearch: { node: ['http://127.0.0.1:1'], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 1000, server: { product: 'elasticsearch', major: 8 } },
    index: { name: indexName, timestampField: '@timestamp', opType: 'index', idStrategy: 'kafka' },
    inputFormat: 'json',
    invalidUtf8: 'fail',
    transform: 'none',
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

async function processorCase(name: string, indexName: string, native: NativeStatus): Promise<MicroCase> {
  const processor = await createBatchProcessor(init(indexName), { sink: nullSink, logger: pino({ level: 'silent' }), native });
  // A failing record would take another path: make sure every one is indexed.
  const check = await processor.process(task);
  if (check.failures.length > 0 || check.stats.docs !== DOCS) throw new Error(`${name}: ${check.stats.docs} of ${DOCS} documents, first failure ${check.failures[0]?.reason}`);
  return { name, run: async () => (await processor.process(task)).stats.docs };
}

/** The processor's loop over the batch with the JS decode call and nothing else (bench/micro/decode.ts's case). */
function decodeOnly(): MicroCase {
  const decode = createDecoder('json', { invalidUtf8: 'fail' });
  return {
    name: 'decode only, JS',
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

/** The one native scan of the batch (workers/passthrough.ts), with the status of each record read. */
function scanOnly(native: Extract<NativeStatus, { path: 'native' }>): MicroCase {
  const passthrough = createPassthrough(native.addon, {});
  return {
    name: 'scan only, native',
    run: () => {
      const batch = new BatchReader(task);
      const scan = passthrough.scan(batch, 1 << 20);
      let ok = 0;
      for (let r = 0; r < batch.count; r++) if (scan.status(r) !== 0) ok++;
      if (ok !== DOCS) throw new Error(`scan only: ${ok} of ${DOCS} accepted`);
      return ok;
    },
  };
}

const task = buildTask(42);
const js = loadNative({ env: { SLUICE_NATIVE: '0' } });
const native = loadNative({ env: {} });
if (native.path !== 'native') process.stderr.write(`native path unavailable (${native.detail}): JS cases only\n`);

const cases: MicroCase[] = [decodeOnly(), await processorCase('process {topic}, JS', '{topic}', js), await processorCase('process {topic}-{yyyy.MM.dd}, JS', '{topic}-{yyyy.MM.dd}', js)];
if (native.path === 'native') {
  cases.push(
    scanOnly(native),
    await processorCase('process {topic}, native', '{topic}', native),
    await processorCase('process {topic}-{yyyy.MM.dd}, native', '{topic}-{yyyy.MM.dd}', native),
  );
}
const results = await runRounds(cases);
process.stdout.write(
  `${[
    `JSON passthrough (transform none): tasks of ${DOCS} APM records, ${(task.data.byteLength / DOCS).toFixed(0)} B of value and key per record; native: ${native.detail}`,
    formatTable(results, 'record'),
  ].join('\n')}\n`,
);
const file = writeResult('passthrough', { docs: DOCS, taskBytes: task.data.byteLength, native: native.detail }, results);
process.stdout.write(`written: ${file}\n`);
