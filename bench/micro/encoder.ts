import { createApmGenerator } from '../apm-data.js';
import { createActionLines, NdjsonEncoder } from '../../workers/bulk/encoder.js';
import { createApmLogTransform } from '../../src/common/transform/apm-log.js';
import { formatTable, runRounds, writeResult, type MicroCase } from './rounds.js';

/**
 * The worker's NDJSON encoding of a batch: `createActionLines` + `NdjsonEncoder.append` per document
 * and `finish` per batch, in a new encoder sized as the worker sizes it (1.25 × the batch's value and
 * key bytes). The documents are the bench's APM records (bench/apm-data.ts) through the apm-log
 * transform, serialized beforehand: decoding, transforming and JSON.stringify are not the encoder's
 * cost (decode.ts measures the whole path). Two id strategies:
 *   kafka  `<topic>-<partition>-<offset>` ids, built per document as the worker builds them;
 *   key    the record key (`k<n>`, as the bench's data set) as id and the offset as external version
 *          (the versioned action line of key and field ids).
 * CPU ns per document, and MB of NDJSON per CPU second.
 *
 *   node dist/bench/micro/encoder.js     MICRO_DOCS (5000 = pipeline.batchDocs) per batch,
 *                                        MICRO_ROUNDS (7) of MICRO_SECONDS (1) per case
 */
const DOCS = Number(process.env['MICRO_DOCS'] ?? 5000);
const TOPIC = 'logs';
const PARTITIONS = 4;
const FIRST_OFFSET = 1_000_000;

interface Doc {
  partition: number;
  offset: number;
  key: string;
  source: string;
}

function buildDocs(seed: number): { docs: Doc[]; recordBytes: number } {
  const next = createApmGenerator(seed, Date.UTC(2026, 10, 22));
  const transform = createApmLogTransform(() => '2026-11-22T10:00:00.000Z');
  const docs: Doc[] = [];
  let recordBytes = 0;
  for (let i = 0; i < DOCS; i++) {
    const value = next() as unknown as Record<string, unknown>;
    const partition = i % PARTITIONS;
    const offset = FIRST_OFFSET + Math.floor(i / PARTITIONS);
    const key = `k${i}`;
    recordBytes += Buffer.byteLength(JSON.stringify(value)) + key.length;
    const source = JSON.stringify(transform({ value, key, topic: TOPIC, partition, offset, timestamp: 0 }));
    docs.push({ partition, offset, key, source });
  }
  return { docs, recordBytes };
}

const { docs, recordBytes } = buildDocs(42);
const initialBytes = Math.max(64 * 1024, Math.ceil(recordBytes * 1.25));
const ndjsonBytes: Record<string, number> = {};

function encoderCase(name: string, ids: 'kafka' | 'key'): MicroCase {
  // One per case, as one per worker: the action prefix cache lives across batches.
  const action = createActionLines('index');
  return {
    name,
    run: () => {
      const encoder = new NdjsonEncoder(initialBytes);
      for (let i = 0; i < docs.length; i++) {
        const d = docs[i] as Doc;
        const line = ids === 'kafka' ? action(TOPIC, `${TOPIC}-${d.partition}-${d.offset}`) : action(TOPIC, d.key, d.offset);
        encoder.append(line, d.source, i);
      }
      const batch = encoder.finish();
      ndjsonBytes[name] = batch.buffer.length;
      return batch.docStarts.length - 1;
    },
  };
}

const results = await runRounds([encoderCase('ids kafka', 'kafka'), encoderCase('ids key (versioned)', 'key')]);
const mbPerCpuSecond = (name: string, nsPerDoc: number): number => (ndjsonBytes[name] ?? 0) / DOCS / nsPerDoc * 1e3;
process.stdout.write(
  `${[
    `NDJSON encoder: batches of ${DOCS} APM-log documents, ${(recordBytes / DOCS).toFixed(0)} B per record`,
    formatTable(results, 'doc', [
      { header: 'NDJSON B / doc', value: (r) => ((ndjsonBytes[r.name] ?? 0) / DOCS).toFixed(0) },
      { header: 'MB / CPU s', value: (r) => mbPerCpuSecond(r.name, r.cpuNsPerItem.median).toFixed(0) },
    ]),
  ].join('\n')}\n`,
);
const file = writeResult('encoder', { docs: DOCS, recordBytes, ndjsonBytes }, results.map((r) => ({ ...r, mbPerCpuSecond: mbPerCpuSecond(r.name, r.cpuNsPerItem.median) })));
process.stdout.write(`written: ${file}\n`);
