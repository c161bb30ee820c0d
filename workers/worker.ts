import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { BatchResult, BatchTask, WorkerInit, WorkerSignal } from '../src/protocol.js';
import { createBatchProcessor } from './processor.js';

// Piscina entry: one processor (one Elasticsearch client, one transform) per worker thread.
const processor = await createBatchProcessor(workerData as WorkerInit, {
  threadId,
  notify: (signal: WorkerSignal) => parentPort?.postMessage(signal),
});

export default function run(task: BatchTask): Promise<BatchResult> {
  return processor.process(task);
}
