import type { MessageHeader } from 'node-rdkafka';
import { createApmGenerator } from '../apm-data.js';
import { BatchBuilder, packTask, type KafkaRecord } from '../../src/dispatch/batch.js';
import { tpKey } from '../../src/offsets/watermark.js';
import { formatTable, runRounds, writeResult } from './rounds.js';

/**
 * The main thread's per-record cost between the consumer and the worker pool: for each record as
 * node-rdkafka delivers it (a message object with its own value Buffer, a key Buffer, two headers),
 * what the dispatcher's `add` does — `tpKey`, `BatchBuilder.add` (which sizes the record), a batch sealed at
 * pipeline.batchDocs or pipeline.batchBytes (defaults 5000, 4 MiB) — and `packTask` of each sealed
 * batch (the copy into one transferable buffer). Left out: the partition ownership check (a lookup
 * in the watermark tracker), the queue and the post to the pool. Values are the bench's APM records
 * as JSON (bench/apm-data.ts, ~900 B on average), delivered in runs of 100 per partition over 4
 * partitions. The records are made once; their allocation is the consumer's cost, not Sluice's.
 * CPU ns per record.
 *
 *   node dist/bench/micro/batch-pack.js     MICRO_RECORDS (20000) per operation,
 *                                           MICRO_ROUNDS (7) of MICRO_SECONDS (1)
 */
const RECORDS = Number(process.env['MICRO_RECORDS'] ?? 20_000);
const BATCH_DOCS = 5000;
const BATCH_BYTES = 4 * 1024 * 1024;
const PARTITIONS = 4;
const RUN = 100;

/** node-rdkafka's message shape (it also carries `size`), so the objects have the consumer's layout. */
type DeliveredRecord = KafkaRecord & { size: number; headers: MessageHeader[] };

function buildRecords(seed: number): DeliveredRecord[] {
  const next = createApmGenerator(seed, Date.UTC(2026, 10, 22));
  const offsets = new Array<number>(PARTITIONS).fill(1_000_000);
  const records: DeliveredRecord[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const apm = next();
    const partition = Math.floor(i / RUN) % PARTITIONS;
    const value = Buffer.from(JSON.stringify(apm));
    const offset = offsets[partition] as number;
    offsets[partition] = offset + 1;
    records.push({
      topic: 'logs',
      partition,
      offset,
      timestamp: Date.UTC(2026, 10, 22) + i,
      value,
      key: Buffer.from(`k${i}`),
      headers: [{ 'content-type': Buffer.from('application/json') }, { traceparent: Buffer.from(`00-${apm.trace_id}-${apm.span_id}-01`) }],
      size: value.length,
    });
  }
  return records;
}

const records = buildRecords(42);
const valueBytes = records.reduce((sum, r) => sum + (r.value?.length ?? 0), 0);
let batches = 0;

function packAll(): number {
  let pending = new BatchBuilder();
  const seal = (): void => {
    packTask([...pending.runs.values()], batches++);
    pending = new BatchBuilder();
  };
  for (const r of records) {
    const tp = tpKey(r.topic, r.partition);
    pending.add(tp, r, 0);
    if (pending.count >= BATCH_DOCS || pending.payloadBytes >= BATCH_BYTES) seal();
  }
  if (pending.count > 0) seal();
  return records.length;
}

const perOperation = ((): number => {
  const before = batches;
  packAll();
  return batches - before;
})();
const results = await runRounds([{ name: 'add + seal + packTask', run: packAll }]);
process.stdout.write(
  `${[
    `Batch packing: ${RECORDS} records of ${(valueBytes / RECORDS).toFixed(0)} B values on average, ${perOperation} batches per operation`,
    formatTable(results, 'record'),
  ].join('\n')}\n`,
);
const file = writeResult('batch-pack', { records: RECORDS, valueBytes, batchDocs: BATCH_DOCS, batchBytes: BATCH_BYTES, batchesPerOperation: perOperation }, results);
process.stdout.write(`written: ${file}\n`);
