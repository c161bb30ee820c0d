import type { Logger } from 'pino';
import { formatTp, type TopicPartitionRef } from '../common/coordinates.js';
import { tpKey, type WatermarkTracker } from './watermark.js';

export interface StuckPartition {
  topic: string;
  partition: number;
  /** How long the batch holding its watermark back has been running, in ms. */
  ageMs: number;
}

/**
 * Which partitions are stuck: the batch holding the watermark back (the oldest incomplete one) has
 * been running for longer than the stall limit since a worker started it. Time queued for
 * in-flight capacity or a worker does not count: under a backlog, or while workers start, that is
 * waiting, not being stuck. A batch that never completes — an item refused with 5xx forever
 * under unlimited retries, a dead letter never acknowledged — stops only its own partition while
 * the others move, so the member-wide progress check cannot see it; this per-partition age can.
 * Turns are logged once each: a warning naming the partitions that became stuck, and a line when
 * one moves again.
 */
export class StuckWatch {
  #stuck = new Map<string, StuckPartition>();

  constructor(
    private readonly tracker: WatermarkTracker,
    private readonly stallMs: number,
    private readonly logger: Logger,
  ) {}

  /** Re-evaluates the assigned partitions at `now`; returns the stuck ones. */
  check(assigned: Iterable<TopicPartitionRef>, now: number = Date.now()): StuckPartition[] {
    const next = new Map<string, StuckPartition>();
    for (const { topic, partition } of assigned) {
      const key = tpKey(topic, partition);
      const since = this.tracker.oldestRunningSince(key);
      if (since !== undefined && now - since >= this.stallMs) next.set(key, { topic, partition, ageMs: now - since });
    }
    const turned = [...next].filter(([key]) => !this.#stuck.has(key)).map(([, p]) => p);
    if (turned.length > 0) {
      const seconds = Math.round(Math.max(...turned.map((p) => p.ageMs)) / 1000);
      this.logger.warn({ partitions: turned.map(formatTp), seconds }, 'partition(s) stuck: a batch has not completed for health.stallSeconds');
    }
    const moved = [...this.#stuck].filter(([key]) => !next.has(key) && this.tracker.owns(key)).map(([, p]) => formatTp(p));
    if (moved.length > 0) this.logger.info({ partitions: moved }, 'stuck partition(s) moving again');
    this.#stuck = next;
    return [...next.values()];
  }

  /** Whether the partition was stuck at the last check. */
  has(key: string): boolean {
    return this.#stuck.has(key);
  }
}
