/**
 * Per-partition commit watermarks. Batches complete out of order; a partition's committable
 * offset moves only across a contiguous run of completed segments, so a later success never
 * carries it past an earlier record that is still pending or failed.
 *
 *   segments (offset order)   [0..99 done] [100..149 pending] [150..199 done]
 *   committable offset        100           ← stays until 100..149 completes
 *
 * Each assignment of a partition gets a new epoch. A completion that carries an older epoch
 * (the partition was revoked, and maybe assigned again, meanwhile) is ignored: it must never
 * move offsets that now belong to another member or a newer assignment.
 */
export interface Segment {
  readonly epoch: number;
  readonly first: number;
  /** One past the last offset of the segment. */
  readonly end: number;
  done: boolean;
  /**
   * When a worker first started its batch (ms), set by the dispatcher; undefined while the batch
   * waits for in-flight capacity or a worker. How long it has run says whether it is stuck.
   */
  runningSince: number | undefined;
  /** Offset of the first record of the segment that failed, when one did. */
  failedAt: number | undefined;
}

export interface Blocked {
  offset: number;
}

class PartitionWatermark {
  readonly segments: Segment[] = [];
  head = 0;
  committable: number | undefined;
  blocked: Blocked | undefined;
  constructor(readonly epoch: number) {}
}

export class WatermarkTracker {
  #partitions = new Map<string, PartitionWatermark>();
  #nextEpoch = 1;

  /** Starts tracking a newly assigned partition; returns its epoch. */
  assign(tp: string): number {
    const epoch = this.#nextEpoch++;
    this.#partitions.set(tp, new PartitionWatermark(epoch));
    return epoch;
  }

  /** Forgets a revoked partition: later completions of its segments are ignored. */
  revoke(tp: string): void {
    this.#partitions.delete(tp);
  }

  owns(tp: string): boolean {
    return this.#partitions.has(tp);
  }

  /** True while the segment belongs to the partition's current assignment. */
  isCurrent(tp: string, seg: Segment): boolean {
    return this.#partitions.get(tp)?.epoch === seg.epoch;
  }

  /** Registers the next range of a partition, in offset order; undefined when not owned. */
  open(tp: string, first: number, last: number): Segment | undefined {
    const p = this.#partitions.get(tp);
    if (!p) return undefined;
    const seg: Segment = { epoch: p.epoch, first, end: last + 1, done: false, runningSince: undefined, failedAt: undefined };
    p.segments.push(seg);
    return seg;
  }

  /**
   * Marks a segment complete (with the offset of its first failed record, if any). Returns the new
   * committable offset of the partition when it moved, otherwise undefined.
   */
  complete(tp: string, seg: Segment, failedAt?: number): number | undefined {
    const p = this.#partitions.get(tp);
    if (!p || p.epoch !== seg.epoch || seg.done) return undefined;
    seg.done = true;
    seg.failedAt = failedAt;
    const before = p.committable;
    while (p.head < p.segments.length && p.blocked === undefined) {
      const head = p.segments[p.head] as Segment;
      if (!head.done) break;
      if (head.failedAt !== undefined) {
        // Everything before the failed record is done; the record itself is not.
        p.committable = head.failedAt;
        p.blocked = { offset: head.failedAt };
        break;
      }
      p.committable = head.end;
      p.head++;
    }
    if (p.head > 1024 && p.head * 2 > p.segments.length) {
      p.segments.splice(0, p.head);
      p.head = 0;
    }
    return p.committable !== before ? p.committable : undefined;
  }

  /** Offset to commit for the partition (the next record to process), if any record completed. */
  committable(tp: string): number | undefined {
    return this.#partitions.get(tp)?.committable;
  }

  /** Where the partition is stopped by a failed record, if it is. */
  blocked(tp: string): Blocked | undefined {
    return this.#partitions.get(tp)?.blocked;
  }

  /**
   * Since when the batch holding the partition's watermark back (its first incomplete segment) has
   * been running; undefined when there is none, or it has not started yet (waiting for capacity or
   * a worker: that is waiting, not being stuck).
   */
  oldestRunningSince(tp: string): number | undefined {
    const p = this.#partitions.get(tp);
    if (!p) return undefined;
    for (let i = p.head; i < p.segments.length; i++) {
      const seg = p.segments[i] as Segment;
      if (!seg.done) return seg.runningSince;
    }
    return undefined;
  }

  /** Segments registered but not complete. */
  pending(tp: string): number {
    const p = this.#partitions.get(tp);
    if (!p) return 0;
    let n = 0;
    for (let i = p.head; i < p.segments.length; i++) if (!(p.segments[i] as Segment).done) n++;
    return n;
  }
}

/** The map key of a partition on the main thread (a NUL cannot occur in a topic name). */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
