import { expect } from 'chai';
import type { RdkafkaPartitionStats } from '../../../src/kafka/consumer.js';
import { LagTracker, parseOffsetReset, resetImpact, type LagOptions } from '../../../src/offsets/lag.js';
import { tpKey } from '../../../src/offsets/watermark.js';

const TOPIC = 'logs';
const key = tpKey(TOPIC, 0);
const INVALID = -1001;

/** A tracker for partition 0 of `logs`, with the watermark set by the test. */
function setup(options: Partial<LagOptions> = {}) {
  let watermark: number | undefined;
  const lags = new LagTracker({ startFrom: 'earliest', readCommitted: true, watermark: () => watermark, ...options });
  lags.assign(key);
  return {
    lags,
    done(offset: number) {
      watermark = offset;
    },
    stats(s: RdkafkaPartitionStats) {
      lags.stats({ topics: { [TOPIC]: { partitions: { '0': s, '-1': { hi_offset: 999 } } } } });
    },
    /** A consume call returned these offsets of partition 0. */
    poll(...offsets: number[]) {
      if (offsets.length > 0) lags.received(offsets.map((offset) => ({ topic: TOPIC, partition: 0, offset })));
      lags.polled();
    },
  };
}

describe('LagTracker', () => {
  it('plain topic: lag is the records beyond the watermark, 0 once the watermark reaches the end', () => {
    const t = setup();
    expect(t.lags.lag(key)).to.equal(undefined, 'no statistics yet');
    t.poll(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    t.stats({ hi_offset: 10, ls_offset: 10, lo_offset: 0, committed_offset: INVALID, app_offset: 10 });
    expect(t.lags.lag(key)).to.equal(10, 'received, none done');
    t.done(6);
    expect(t.lags.lag(key)).to.equal(4);
    t.poll();
    t.poll();
    t.done(10);
    expect(t.lags.lag(key)).to.equal(0);
    expect(t.lags.position(key)).to.equal(10);
    expect(t.lags.total([key])).to.equal(0);
  });

  it('transactional topic ending with a marker: lag reaches 0 once every record is done and the marker was consumed', () => {
    // 0..9 committed transaction, 10 commit marker, 11..15 aborted, 16 abort marker, 17..19, 20 commit marker.
    const t = setup();
    t.poll(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 18, 19);
    t.poll();
    t.stats({ hi_offset: 21, ls_offset: 21, lo_offset: 0, committed_offset: INVALID, app_offset: 21 });
    t.poll();
    t.poll();
    t.done(10);
    expect(t.lags.lag(key)).to.equal(11, 'records 17..19 are still in the pipeline');
    t.done(20);
    expect(t.lags.position(key)).to.equal(21);
    expect(t.lags.lag(key)).to.equal(0);
  });

  it('records still in the pipeline are not done: the watermark, not app_offset, counts', () => {
    const t = setup();
    t.poll(100, 101, 102, 103, 104);
    t.stats({ hi_offset: 106, ls_offset: 106, lo_offset: 0, committed_offset: 100, app_offset: 106 });
    t.poll();
    t.poll();
    expect(t.lags.lag(key)).to.equal(6, 'nothing done: counted from the first record received');
    t.done(103);
    expect(t.lags.lag(key)).to.equal(3);
    t.done(105);
    expect(t.lags.lag(key)).to.equal(0, 'only the marker at 105 is left');
  });

  it('an app_offset that arrives before its records is not trusted until two consume calls completed', () => {
    // librdkafka dequeued 17..19 and the marker at 20; the statistics arrive before the consume
    // call returns the records to JavaScript.
    const t = setup();
    t.poll(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    t.done(10);
    t.stats({ hi_offset: 21, ls_offset: 21, lo_offset: 0, committed_offset: INVALID, app_offset: 21 });
    expect(t.lags.lag(key)).to.equal(11);
    t.poll(17, 18, 19);
    expect(t.lags.lag(key)).to.equal(11, 'records 17..19 are received but not done');
    t.poll();
    t.done(20);
    expect(t.lags.lag(key)).to.equal(0);
  });

  it('prefetched records are not done: a partition with nothing delivered counts from its commit', () => {
    const t = setup();
    // librdkafka fetched up to 50 into its queue (next_offset), nothing was handed to Sluice.
    t.stats({ hi_offset: 50, ls_offset: 50, lo_offset: 0, committed_offset: 20, app_offset: INVALID, next_offset: 50, fetchq_cnt: 30 } as RdkafkaPartitionStats);
    t.poll();
    t.poll();
    expect(t.lags.lag(key)).to.equal(30);
  });

  it('a restart at the marker: nothing received, the marker consumed, lag 0', () => {
    const t = setup();
    t.stats({ hi_offset: 303, ls_offset: 303, lo_offset: 0, committed_offset: 302, app_offset: INVALID });
    expect(t.lags.lag(key)).to.equal(1, 'the marker is not consumed yet');
    t.poll();
    t.stats({ hi_offset: 303, ls_offset: 303, lo_offset: 0, committed_offset: 302, app_offset: 303 });
    t.poll();
    expect(t.lags.lag(key)).to.equal(1, 'one consume call since the statistics arrived is not enough');
    t.poll();
    expect(t.lags.lag(key)).to.equal(0);
  });

  it('read_committed counts up to the last stable offset: an open transaction is not lag', () => {
    const t = setup();
    t.stats({ hi_offset: 80, ls_offset: 60, lo_offset: 0, committed_offset: 60, app_offset: INVALID });
    expect(t.lags.lag(key)).to.equal(0);
    const u = setup({ readCommitted: false });
    u.stats({ hi_offset: 80, ls_offset: 60, lo_offset: 0, committed_offset: 60, app_offset: INVALID });
    expect(u.lags.lag(key)).to.equal(20);
  });

  it('without a commit, counts from where startFrom starts; a commit below the log start counts from the log start', () => {
    const earliest = setup();
    earliest.stats({ hi_offset: 100, ls_offset: 100, lo_offset: 30, committed_offset: INVALID, app_offset: INVALID });
    expect(earliest.lags.lag(key)).to.equal(70);
    const latest = setup({ startFrom: 'latest' });
    latest.stats({ hi_offset: 100, ls_offset: 100, lo_offset: 30, committed_offset: INVALID, app_offset: INVALID });
    expect(latest.lags.lag(key)).to.equal(0);
    const aged = setup({ startFrom: 'latest' });
    aged.stats({ hi_offset: 100, ls_offset: 100, lo_offset: 70, committed_offset: 40, app_offset: INVALID });
    expect(aged.lags.lag(key)).to.equal(30, 'before the reset is known');
  });

  it('after a reset to latest on an idle partition, the stale committed offset no longer counts', () => {
    const t = setup({ startFrom: 'latest' });
    t.stats({ hi_offset: 100, ls_offset: 100, lo_offset: 70, committed_offset: 40, app_offset: INVALID });
    t.lags.reset(key);
    expect(t.lags.lag(key)).to.equal(0);
    const e = setup();
    e.stats({ hi_offset: 100, ls_offset: 100, lo_offset: 70, committed_offset: 40, app_offset: INVALID });
    e.lags.reset(key);
    expect(e.lags.lag(key)).to.equal(30, 'earliest reads from the log start');
  });

  it('forgets a revoked partition; a re-assignment starts afresh', () => {
    const t = setup();
    t.poll(0, 1, 2);
    t.stats({ hi_offset: 3, ls_offset: 3, lo_offset: 0, committed_offset: INVALID, app_offset: 3 });
    t.lags.revoke(key);
    expect(t.lags.lag(key)).to.equal(undefined);
    expect(t.lags.total([key])).to.equal(undefined);
    t.lags.assign(key);
    t.stats({ hi_offset: 3, ls_offset: 3, lo_offset: 0, committed_offset: 3, app_offset: INVALID });
    expect(t.lags.lag(key)).to.equal(0);
    expect(t.lags.offsets(key)).to.deep.equal({ highWatermark: 3, committed: 3 });
  });
});

describe('offset reset detection', () => {
  it("reads librdkafka's out-of-range reset warning, to END and to BEGINNING", () => {
    expect(
      parseOffsetReset(
        '[thrd:main]: lag-aged-x1 [0]: offset reset (at offset 5 (leader epoch -1), broker 1) to offset END (leader epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out of range',
      ),
    ).to.deep.equal({ topic: 'lag-aged-x1', partition: 0, offset: 5, to: 'latest' });
    expect(
      parseOffsetReset(
        '[thrd:main]: my.topic_2 [12]: offset reset (at offset 40 (leader epoch 0), broker 1) to offset BEGINNING (leader epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out of range',
      ),
    ).to.deep.equal({ topic: 'my.topic_2', partition: 12, offset: 40, to: 'earliest' });
    expect(
      parseOffsetReset(
        '[thrd:main]: t [1]: offset reset (at offset 40 (leader epoch 0), broker 1) to cached BEGINNING offset offset 70 (leader epoch -1): fetch failed due to requested offset not available on the broker: Broker: Offset out of range',
      ),
    ).to.deep.equal({ topic: 't', partition: 1, offset: 40, to: 'earliest' });
  });

  it('ignores other OFFSET lines', () => {
    expect(parseOffsetReset('[thrd:main]: t [0]: offset reset (at offset INVALID (leader epoch -1), broker -1) to offset END: no previously committed offset')).to.equal(undefined);
    expect(parseOffsetReset('[thrd:main]: t [0]: Setting offset for partition: 5')).to.equal(undefined);
  });

  it('counts what a reset cost: skipped records for latest, deleted ones for both', () => {
    expect(resetImpact({ topic: 't', partition: 0, offset: 40, to: 'latest' }, 70, 100)).to.deep.equal({ resumedAt: 100, skipped: 30, deleted: 30 });
    expect(resetImpact({ topic: 't', partition: 0, offset: 40, to: 'earliest' }, 70, 100)).to.deep.equal({ resumedAt: 70, skipped: 0, deleted: 30 });
    // A commit beyond the end (the topic was recreated): nothing deleted, nothing skipped.
    expect(resetImpact({ topic: 't', partition: 0, offset: 500, to: 'latest' }, 0, 100)).to.deep.equal({ resumedAt: 100, skipped: 0, deleted: 0 });
  });
});
