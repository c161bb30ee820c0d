import type { RdkafkaPartitionStats, RdkafkaStats } from '../kafka/consumer.js';
import { tpKey } from './watermark.js';

/**
 * Lag and position of each assigned partition, from librdkafka statistics and what the pipeline
 * completed.
 *
 * A partition's log holds more than records: a transactional producer ends every transaction with
 * a control record (commit or abort marker), and under `isolation.level=read_committed` the
 * records of aborted transactions are skipped. librdkafka never hands those to the application,
 * so Sluice's watermark stops one past the last record it got, while the log end is one past the
 * marker: counted naively, lag stays at 1 or more for ever.
 *
 *   offsets     0 … 9   10      11 … 15   16     17 18 19   20      end (hi = ls = 21)
 *   log         records commit  aborted   abort  records    commit
 *   watermark                                            → 20 once 17..19 are indexed
 *   app_offset                                           → 21 once the last marker is consumed
 *
 * librdkafka's `app_offset` is one past the last message *or control record* the application
 * dequeued (records still in its prefetch queue are not counted; `next_offset` would count them).
 * When every record Sluice received from a partition is done, nothing between the watermark and
 * `app_offset` is a record, so the position is `app_offset`. Statistics can arrive before the
 * consume call that dequeued the records returns them to JavaScript (observed: app_offset 21 in
 * the statistics before records 17..19 were delivered), so an `app_offset` is only trusted once two
 * consume calls completed after the statistics arrived: one call is outstanding at a time, so the
 * second one started after the arrival and every record dequeued before the snapshot was
 * delivered by then.
 *
 * The committed offset still stops at the marker (Sluice commits its watermark); a restart
 * fetches from there and reads nothing but the marker, which moves `app_offset` past it again.
 */
export interface LagOptions {
  /** Where a partition without a commit starts (`kafka.startFrom`). */
  startFrom: 'earliest' | 'latest';
  /** `isolation.level=read_committed` (the default): the readable end is the last stable offset. */
  readCommitted: boolean;
  /** Sluice's watermark of the partition: every record below it is done. */
  watermark(key: string): number | undefined;
}

interface PartitionState {
  stats: RdkafkaPartitionStats | undefined;
  /** Offset of the first record received in this assignment. */
  first: number | undefined;
  /** One past the last record received in this assignment. */
  received: number | undefined;
  /** Every record below this offset has been received (a trusted `app_offset`), -1 if none yet. */
  delivered: number;
  /** The latest `app_offset`, with the number of completed consume calls when it arrived. */
  candidate: { offset: number; polls: number } | undefined;
  /** librdkafka reset the committed offset (out of range): it no longer says where reading resumed. */
  reset: boolean;
}

export class LagTracker {
  readonly #options: LagOptions;
  readonly #partitions = new Map<string, PartitionState>();
  #polls = 0;

  constructor(options: LagOptions) {
    this.#options = options;
  }

  assign(key: string): void {
    this.#partitions.set(key, { stats: undefined, first: undefined, received: undefined, delivered: -1, candidate: undefined, reset: false });
  }

  revoke(key: string): void {
    this.#partitions.delete(key);
  }

  /** A consume call returned, after its records (if any) were passed to `received`. */
  polled(): void {
    this.#polls++;
  }

  /** Records handed to the pipeline, in the order librdkafka delivered them. */
  received(records: ReadonlyArray<{ topic: string; partition: number; offset: number }>): void {
    // Records come in runs per partition with rising offsets: one map look-up per run.
    let topic: string | undefined;
    let partition = -1;
    let state: PartitionState | undefined;
    for (const r of records) {
      if (r.partition !== partition || r.topic !== topic) {
        topic = r.topic;
        partition = r.partition;
        state = this.#partitions.get(tpKey(topic, partition));
        if (state && state.first === undefined) state.first = r.offset;
      }
      if (state) state.received = Math.max(state.received ?? 0, r.offset + 1);
    }
  }

  /** Records `first` to `last` of a partition handed to the pipeline (a run of the native consumer). */
  receivedRange(topic: string, partition: number, first: number, last: number): void {
    const state = this.#partitions.get(tpKey(topic, partition));
    if (!state) return;
    if (state.first === undefined) state.first = first;
    state.received = Math.max(state.received ?? 0, last + 1);
  }

  /** librdkafka's statistics arrived (every `statistics.interval.ms`). */
  stats(stats: RdkafkaStats): void {
    for (const [topic, t] of Object.entries(stats.topics ?? {})) {
      for (const [p, s] of Object.entries(t.partitions ?? {})) {
        if (p === '-1') continue;
        const state = this.#partitions.get(tpKey(topic, Number(p)));
        if (!state) continue;
        state.stats = s;
        this.#promote(state);
        if (s.app_offset !== undefined && s.app_offset >= 0) state.candidate = { offset: s.app_offset, polls: this.#polls };
      }
    }
  }

  /** librdkafka reset the partition's committed offset because it was out of range. */
  reset(key: string): void {
    const state = this.#partitions.get(key);
    if (state) state.reset = true;
  }

  /** Records that can be read beyond the partition's position; undefined until statistics arrive. */
  lag(key: string): number | undefined {
    const state = this.#partitions.get(key);
    const end = state?.stats ? readableEnd(state.stats, this.#options.readCommitted) : undefined;
    if (end === undefined) return undefined;
    return Math.max(0, end - this.#position(key, state as PartitionState));
  }

  /** The sum over `keys`, or undefined while any of them is unknown (or none is given). */
  total(keys: Iterable<string>): number | undefined {
    let total: number | undefined;
    for (const key of keys) {
      const l = this.lag(key);
      if (l === undefined) return undefined;
      total = (total ?? 0) + l;
    }
    return total;
  }

  /** Next offset to process, once statistics arrived. */
  position(key: string): number | undefined {
    const state = this.#partitions.get(key);
    return state?.stats ? this.#position(key, state) : undefined;
  }

  /** The high watermark and the group's committed offset, as the last statistics showed them. */
  offsets(key: string): { highWatermark: number | undefined; committed: number | undefined } {
    const s = this.#partitions.get(key)?.stats;
    return { highWatermark: known(s?.hi_offset), committed: known(s?.committed_offset) };
  }

  #promote(state: PartitionState): void {
    if (state.candidate && this.#polls >= state.candidate.polls + 2) {
      state.delivered = Math.max(state.delivered, state.candidate.offset);
      state.candidate = undefined;
    }
  }

  #position(key: string, state: PartitionState): number {
    this.#promote(state);
    const s = state.stats as RdkafkaPartitionStats;
    if (state.received !== undefined) {
      // Nothing completed yet: everything from the first record received waits.
      const done = this.#options.watermark(key) ?? (state.first as number);
      // Every record received is done: what lies below `delivered` is control records only.
      return done >= state.received && state.delivered > done ? state.delivered : done;
    }
    // Nothing received in this assignment: librdkafka handed over control records at most.
    if (state.delivered >= 0) return state.delivered;
    const lo = known(s.lo_offset);
    const committed = known(s.committed_offset);
    // Records below the log start are gone, whatever the commit says.
    if (committed !== undefined && !state.reset) return Math.max(committed, lo ?? 0);
    if (this.#options.startFrom === 'latest') return readableEnd(s, this.#options.readCommitted) ?? 0;
    return lo ?? 0;
  }
}

/** One past the last offset a consumer may read: the last stable offset under read_committed. */
function readableEnd(s: RdkafkaPartitionStats, readCommitted: boolean): number | undefined {
  const hi = known(s.hi_offset);
  const ls = known(s.ls_offset);
  return readCommitted && ls !== undefined ? ls : hi;
}

/** librdkafka reports unknown offsets as negative numbers (-1, or -1001 for INVALID). */
function known(offset: number | undefined): number | undefined {
  return offset !== undefined && offset >= 0 ? offset : undefined;
}

/** librdkafka moved a partition's position because the offset it fetched from was out of range. */
export interface OffsetReset {
  topic: string;
  partition: number;
  /** The offset it could not fetch: the committed offset, or the position it had reached. */
  offset: number;
  /** Where `auto.offset.reset` (`kafka.startFrom`) sent it. */
  to: 'earliest' | 'latest';
}

// librdkafka's warning (facility OFFSET) when a fetch error makes it apply auto.offset.reset, e.g.
// "[thrd:main]: t [0]: offset reset (at offset 5 (leader epoch -1), broker 1) to offset END (leader
// epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out
// of range". It is the only signal: the reset raises no error event, and the statistics go on
// showing the old committed offset. Topic names have no spaces or brackets.
const RESET = /^(?:\[thrd:[^\]]*\]: )?(\S+) \[(\d+)\]: offset reset \(at offset (\d+)[^)]*\)?, broker -?\d+\) to (?:cached )?(?:offset )?(BEGINNING|END)\b/;

/** Reads librdkafka's offset-reset warning; undefined for any other log line. */
export function parseOffsetReset(message: string): OffsetReset | undefined {
  const m = RESET.exec(message);
  if (!m) return undefined;
  return { topic: m[1] as string, partition: Number(m[2]), offset: Number(m[3]), to: m[4] === 'END' ? 'latest' : 'earliest' };
}

export interface ResetImpact {
  /** Where reading resumed: the log start (earliest) or its end at the reset (latest). */
  resumedAt: number;
  /** Records still in the log that will not be read (latest only). */
  skipped: number;
  /** Records deleted (by retention or delete-records) before Sluice read them. */
  deleted: number;
}

/** What a reset cost, from the offset librdkafka could not fetch and the log's range at the reset. */
export function resetImpact(reset: OffsetReset, low: number, high: number): ResetImpact {
  const resumedAt = reset.to === 'latest' ? high : low;
  const deleted = Math.max(0, low - reset.offset);
  const skipped = reset.to === 'latest' ? Math.max(0, high - Math.max(low, reset.offset)) : 0;
  return { resumedAt, skipped, deleted };
}
