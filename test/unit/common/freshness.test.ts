import { expect } from 'chai';
import { ACK_DELAY_BUCKETS, countAckDelays } from '../../../src/common/freshness.js';
import { addStats, emptyStats, Outcome } from '../../../src/common/protocol.js';

/** Records as the worker reads them: one Kafka timestamp (ms) each. */
const records = (timestamps: number[]) => ({ count: timestamps.length, timestamp: (r: number) => timestamps[r] as number });
const bucketOf = (seconds: number): number => ACK_DELAY_BUCKETS.findIndex((b) => seconds <= b);

describe('freshness: ack delays', () => {
  const acked = 1_800_000_000_000;

  it('counts each indexed record once in the bucket of its delay, and sums the delays in seconds', () => {
    const d = countAckDelays(records([acked - 40, acked - 700, acked - 700, acked - 4000]), Uint8Array.of(1, 1, 1, 1), acked);
    expect(d.counts).to.have.length(ACK_DELAY_BUCKETS.length + 1);
    expect(d.counts.reduce((a, b) => a + b, 0)).to.equal(4);
    expect(d.counts[bucketOf(0.04)]).to.equal(1);
    expect(d.counts[bucketOf(0.7)]).to.equal(2);
    expect(d.counts[bucketOf(4)]).to.equal(1);
    expect(d.sum).to.be.closeTo(0.04 + 0.7 + 0.7 + 4, 1e-9);
  });

  it('puts a delay on a bound in that bucket and one past the last bound in +Inf', () => {
    const last = ACK_DELAY_BUCKETS[ACK_DELAY_BUCKETS.length - 1] as number;
    const d = countAckDelays(records([acked - 1000, acked - (last + 1) * 1000]), Uint8Array.of(1, 1), acked);
    expect(d.counts[ACK_DELAY_BUCKETS.indexOf(1)]).to.equal(1);
    expect(d.counts[ACK_DELAY_BUCKETS.length]).to.equal(1);
  });

  it('skips records not indexed and records without a timestamp; a future timestamp counts as 0', () => {
    const outcomes = Uint8Array.of(Outcome.Indexed, Outcome.Skipped, Outcome.Failed, Outcome.Indexed, Outcome.Indexed, Outcome.Indexed);
    const d = countAckDelays(records([acked - 100, acked - 100, acked - 100, 0, -1, acked + 5000]), outcomes, acked);
    expect(d.counts.reduce((a, b) => a + b, 0)).to.equal(2);
    expect(d.counts[0]).to.equal(1, 'the future record, as 0');
    expect(d.sum).to.be.closeTo(0.1, 1e-9);
  });

  it('gives no counts when nothing was observed, and batch statistics add up bucket by bucket', () => {
    expect(countAckDelays(records([0, 0]), Uint8Array.of(1, 1), acked)).to.deep.equal({ counts: [], sum: 0 });
    const a = { ...emptyStats(), ackDelays: countAckDelays(records([acked - 40]), Uint8Array.of(1), acked) };
    const b = { ...emptyStats(), ackDelays: countAckDelays(records([acked - 40, acked - 3000]), Uint8Array.of(1, 1), acked) };
    const sum = addStats(addStats(emptyStats(), a), b);
    expect(sum.ackDelays.counts[0]).to.equal(2);
    expect(sum.ackDelays.counts[bucketOf(3)]).to.equal(1);
    expect(sum.ackDelays.sum).to.be.closeTo(0.04 + 0.04 + 3, 1e-9);
    expect(addStats(emptyStats(), emptyStats()).ackDelays).to.deep.equal({ counts: [], sum: 0 });
  });
});
