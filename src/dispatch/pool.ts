import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BatchResult, BatchTask, WorkerInit } from '../common/protocol.js';

/** What the pipeline needs of its worker threads. */
export interface WorkerPool {
  run(task: BatchTask, options: { transferList: ArrayBuffer[] }): Promise<BatchResult>;
  readonly threads: readonly Worker[];
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  destroy(): Promise<void>;
}

export interface PoolSize {
  workers: number;
  /** Tasks one worker runs at once: their `_bulk` requests overlap. */
  tasksPerWorker: number;
}

/**
 * The worker threads: a fixed-size Piscina pool whose workers each run several tasks at once,
 * started with the settings every worker needs (`WorkerInit`).
 */
export function createWorkerPool(init: WorkerInit, size: PoolSize): WorkerPool {
  return new Piscina<BatchTask, BatchResult>({
    filename: new URL('../../workers/worker.js', import.meta.url).href,
    minThreads: size.workers,
    maxThreads: size.workers,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: size.tasksPerWorker,
    // Sync atomics would freeze the keep-alive sockets and timers of an idle worker.
    atomics: 'disabled',
    workerData: init,
  });
}
