import type { WorkerSignal } from '../../src/common/protocol.js';

/**
 * Counts this worker's requests that are stuck on a halting failure and tells the main thread
 * when the first one starts (`halt`) and when the last one clears (`resume`). Two messages per
 * incident, never one per retry.
 */
export class HaltMonitor {
  #active = 0;

  constructor(
    private readonly threadId: number,
    private readonly notify: (signal: WorkerSignal) => void,
  ) {}

  enter(failure: { status?: number | undefined; errorType?: string | undefined; reason: string }): void {
    if (this.#active++ > 0) return;
    const signal: WorkerSignal = { kind: 'halt', threadId: this.threadId, reason: failure.reason };
    if (failure.status !== undefined) signal.status = failure.status;
    if (failure.errorType !== undefined) signal.errorType = failure.errorType;
    this.notify(signal);
  }

  leave(): void {
    if (--this.#active === 0) this.notify({ kind: 'resume', threadId: this.threadId });
  }
}
