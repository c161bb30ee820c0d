import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { BatchResult, BatchTask, WorkerInit, WorkerSignal } from '../src/common/protocol.js';
import type { ProbeOutcome } from '../src/common/server.js';
import { createBatchProcessor } from './processor.js';

const notify = (signal: WorkerSignal): void => parentPort?.postMessage(signal);

// Piscina entry: one processor (one Elasticsearch client, one transform) per worker thread.
const processor = await createBatchProcessor(workerData as WorkerInit, { threadId, notify });

export default function run(task: BatchTask): Promise<BatchResult> {
  // Starts the main thread's deadline for this task now, not when it was posted: until now it may
  // have waited behind another task of this thread (the processor signals the end, `encoded`).
  notify({ kind: 'started', threadId, task: task.id });
  return processor.process(task);
}

/** The start-up `GET /` (Piscina task `probe`), with this worker's client. */
export function probe(): Promise<ProbeOutcome> {
  return processor.probe();
}
