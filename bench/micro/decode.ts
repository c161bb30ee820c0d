import { formatTable, runRounds, writeResult } from './rounds.js';
import { buildTask, decodeOnly, DOCS, processorCase, workerInit } from './worker-path.js';

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
const task = buildTask(42);
const results = await runRounds([
  decodeOnly('decode only (json)', task),
  await processorCase('process, transform none', workerInit('none', '{topic}'), task),
  await processorCase('process, transform apm-log', workerInit('apm-log', '{topic}-{yyyy.MM.dd}'), task),
]);
process.stdout.write(
  `${[`Worker record path: tasks of ${DOCS} APM records, ${(task.data.byteLength / DOCS).toFixed(0)} B of value and key per record`, formatTable(results, 'record')].join('\n')}\n`,
);
const file = writeResult('decode', { docs: DOCS, taskBytes: task.data.byteLength }, results);
process.stdout.write(`written: ${file}\n`);
