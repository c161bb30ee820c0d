import { Outcome } from './protocol.js';

/**
 * How fresh the index is: the delay from a record's Kafka timestamp to the `_bulk` answer that
 * indexed it. The worker counts a batch's delays into these buckets (a few comparisons per record,
 * on its own thread) and returns the counts with the batch's statistics; the main thread only adds
 * the counts up (`sluice_record_ack_delay_seconds`).
 */

/** Upper bounds in seconds: from live ingestion (under a second) to a day-old backfill. */
export const ACK_DELAY_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400];

/** Delays counted per bucket of `ACK_DELAY_BUCKETS`, not cumulative. */
export interface AckDelays {
  /** One count per bucket and a last one for +Inf; empty when nothing was observed. */
  counts: number[];
  /** Sum of the delays, in seconds. */
  sum: number;
}

/**
 * The delays of a batch's indexed records, all acknowledged at `ackedAtMs` (when the batch's last
 * `_bulk` answer arrived). Records without a timestamp (0 or negative) are not counted; a record
 * stamped after its acknowledgement (a producer's clock ahead) counts as 0.
 */
export function countAckDelays(records: { readonly count: number; timestamp(r: number): number }, outcomes: Uint8Array, ackedAtMs: number): AckDelays {
  const bounds = ACK_DELAY_BUCKETS;
  let counts: number[] | undefined;
  let sum = 0;
  for (let r = 0; r < records.count; r++) {
    if (outcomes[r] !== Outcome.Indexed) continue;
    const ts = records.timestamp(r);
    if (!(ts > 0)) continue;
    const delay = ackedAtMs > ts ? (ackedAtMs - ts) / 1000 : 0;
    let b = 0;
    while (b < bounds.length && delay > (bounds[b] as number)) b++;
    counts ??= new Array<number>(bounds.length + 1).fill(0);
    counts[b] = (counts[b] as number) + 1;
    sum += delay;
  }
  return { counts: counts ?? [], sum };
}
