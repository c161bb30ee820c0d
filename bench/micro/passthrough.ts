import { BatchReader } from '../../src/common/batch-layout.js';
import { loadNative, type NativeStatus } from '../../src/common/native.js';
import { createPassthrough } from '../../workers/passthrough.js';
import { formatTable, runRounds, writeResult, type MicroCase } from './rounds.js';
import { buildTask, decodeOnly, DOCS, processorCase, workerInit } from './worker-path.js';

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

const cases: MicroCase[] = [
  decodeOnly('decode only, JS', task),
  await processorCase('process {topic}, JS', workerInit('none', '{topic}'), task, js),
  await processorCase('process {topic}-{yyyy.MM.dd}, JS', workerInit('none', '{topic}-{yyyy.MM.dd}'), task, js),
];
if (native.path === 'native') {
  cases.push(
    scanOnly(native),
    await processorCase('process {topic}, native', workerInit('none', '{topic}'), task, native),
    await processorCase('process {topic}-{yyyy.MM.dd}, native', workerInit('none', '{topic}-{yyyy.MM.dd}'), task, native),
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
