import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BatchResult, BatchTask, WorkerInit } from '../common/protocol.js';
import type { ProbeOutcome } from '../common/server.js';

/** What the pipeline needs of its worker threads. */
export interface WorkerPool {
  run(task: BatchTask, options: { transferList: ArrayBuffer[] }): Promise<BatchResult>;
  /** `GET /` from a worker, with its client (workers/worker.ts `probe`). */
  probe(): Promise<ProbeOutcome>;
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
 * started with the settings every worker needs (`WorkerInit`). Only the workers load the
 * Elasticsearch client; the start-up `GET /` is asked of one of them.
 */
export function createWorkerPool(init: WorkerInit, size: PoolSize): WorkerPool {
  const pool = new Piscina<BatchTask | undefined, BatchResult | ProbeOutcome>({
    filename: new URL('../../workers/worker.js', import.meta.url).href,
    minThreads: size.workers,
    maxThreads: size.workers,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: size.tasksPerWorker,
    // Sync atomics would freeze the keep-alive sockets and timers of an idle worker.
    atomics: 'disabled',
    workerData: init,
  });
  return {
    run: (task, options) => pool.run(task, options) as Promise<BatchResult>,
    probe: () => pool.run(undefined, { name: 'probe' }) as Promise<ProbeOutcome>,
    get threads() {
      return pool.threads;
    },
    on: (event: 'message' | 'error', listener: (arg: unknown) => void) => pool.on(event, listener),
    destroy: () => pool.destroy(),
  };
}
