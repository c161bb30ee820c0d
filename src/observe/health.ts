import type { StuckPartition } from '../offsets/stuck.js';

/** What readiness is decided from, sampled by the pipeline. */
export interface HealthState {
  /** Partitions assigned to this member. */
  assigned: number;
  /** Why writes are halted, when they are. */
  halted: string | undefined;
  /** Partitions stopped before a record that failed with policy `fail`. */
  blocked: number;
  stopping: boolean;
  /** Records in Kafka beyond the watermarks; undefined until librdkafka statistics arrive. */
  lag: number | undefined;
  /** Records completed since start (indexed, skipped or dead-lettered). */
  done: number;
  /** Partitions whose watermark is held back by a batch running for longer than the stall limit. */
  stuck: readonly StuckPartition[];
}

export interface Readiness {
  ready: boolean;
  /** Why not, in words an operator can act on; empty when ready. */
  reasons: string[];
}

/**
 * Decides `/readyz`: partitions assigned, not halted, no partition blocked or stuck, not stopping,
 * and making progress whenever there is lag. Progress means the completed count moved; a member with
 * no lag is never stalled, however long it idles.
 */
export class HealthWatch {
  #lastDone = -1;
  #progressAt: number;

  constructor(
    private readonly stallMs: number,
    now: number = Date.now(),
  ) {
    this.#progressAt = now;
  }

  evaluate(state: HealthState, now: number = Date.now()): Readiness {
    if (state.done !== this.#lastDone || !(state.lag !== undefined && state.lag > 0)) {
      this.#lastDone = state.done;
      this.#progressAt = now;
    }
    const reasons: string[] = [];
    if (state.stopping) reasons.push('stopping');
    if (state.assigned === 0) reasons.push('no partitions assigned');
    if (state.halted !== undefined) reasons.push(`halted: ${state.halted}`);
    if (state.blocked > 0) reasons.push(`${state.blocked} partition(s) stopped before a record that could not be indexed`);
    if (state.stuck.length > 0) {
      const seconds = Math.round(Math.max(...state.stuck.map((p) => p.ageMs)) / 1000);
      reasons.push(`${state.stuck.length} partition(s) stuck: a batch has not completed for ${seconds} s`);
    }
    const idle = now - this.#progressAt;
    if (idle >= this.stallMs) reasons.push(`stalled: no record completed for ${Math.round(idle / 1000)} s while ${state.lag} records wait in Kafka`);
    return { ready: reasons.length === 0, reasons };
  }
}
