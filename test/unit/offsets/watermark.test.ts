import { expect } from 'chai';
import { tpKey, WatermarkTracker, type Segment } from '../../../src/offsets/watermark.js';

describe('WatermarkTracker', () => {
  const tp = tpKey('logs', 3);

  it('moves only across a contiguous run of completed segments', () => {
    const t = new WatermarkTracker();
    t.assign(tp);
    const a = t.open(tp, 0, 99) as Segment;
    const b = t.open(tp, 100, 149) as Segment;
    const c = t.open(tp, 150, 199) as Segment;
    expect(t.complete(tp, c)).to.equal(undefined);
    expect(t.committable(tp)).to.equal(undefined);
    expect(t.complete(tp, a)).to.equal(100);
    expect(t.pending(tp)).to.equal(1);
    expect(t.complete(tp, b)).to.equal(200);
    expect(t.committable(tp)).to.equal(200);
    expect(t.pending(tp)).to.equal(0);
  });

  it('treats offset gaps (compaction, transaction markers) as contiguous segments', () => {
    const t = new WatermarkTracker();
    t.assign(tp);
    const a = t.open(tp, 10, 20) as Segment;
    const b = t.open(tp, 35, 40) as Segment;
    t.complete(tp, b);
    expect(t.complete(tp, a)).to.equal(41);
  });

  it('stops at the first failed record and never passes it, whatever completes later', () => {
    const t = new WatermarkTracker();
    t.assign(tp);
    const a = t.open(tp, 0, 9) as Segment;
    const b = t.open(tp, 10, 19) as Segment;
    const c = t.open(tp, 20, 29) as Segment;
    expect(t.complete(tp, b, 13)).to.equal(undefined);
    expect(t.complete(tp, a)).to.equal(13);
    expect(t.blocked(tp)).to.deep.equal({ offset: 13 });
    expect(t.complete(tp, c)).to.equal(undefined);
    expect(t.committable(tp)).to.equal(13);
  });

  it('ignores completions from an earlier assignment epoch', () => {
    const t = new WatermarkTracker();
    const first = t.assign(tp);
    const old = t.open(tp, 0, 99) as Segment;
    expect(old.epoch).to.equal(first);
    t.revoke(tp);
    expect(t.owns(tp)).to.equal(false);
    expect(t.complete(tp, old)).to.equal(undefined);
    expect(t.open(tp, 0, 1)).to.equal(undefined);

    const second = t.assign(tp);
    expect(second).to.be.greaterThan(first);
    const fresh = t.open(tp, 100, 199) as Segment;
    expect(t.complete(tp, old)).to.equal(undefined, 'a stale segment must not move the new epoch');
    expect(t.committable(tp)).to.equal(undefined);
    expect(t.complete(tp, fresh)).to.equal(200);
  });

  it('keeps partitions independent', () => {
    const t = new WatermarkTracker();
    const other = tpKey('logs', 4);
    t.assign(tp);
    t.assign(other);
    const a = t.open(tp, 0, 9) as Segment;
    const b = t.open(other, 0, 4) as Segment;
    expect(t.complete(tp, a)).to.equal(10);
    expect(t.committable(other)).to.equal(undefined);
    expect(t.complete(other, b)).to.equal(5);
  });

  it('stays correct across many segments (compaction of the queue)', () => {
    const t = new WatermarkTracker();
    t.assign(tp);
    const segs: Segment[] = [];
    for (let i = 0; i < 5000; i++) segs.push(t.open(tp, i * 10, i * 10 + 9) as Segment);
    for (let i = segs.length - 1; i >= 1; i--) t.complete(tp, segs[i] as Segment);
    expect(t.committable(tp)).to.equal(undefined);
    expect(t.complete(tp, segs[0] as Segment)).to.equal(50_000);
    const next = t.open(tp, 50_000, 50_009) as Segment;
    expect(t.complete(tp, next)).to.equal(50_010);
  });

  it('dates the batch holding the watermark back from when a worker started it', () => {
    const t = new WatermarkTracker();
    t.assign(tp);
    expect(t.oldestRunningSince(tp)).to.equal(undefined);
    const a = t.open(tp, 0, 9) as Segment;
    const b = t.open(tp, 10, 19) as Segment;
    const c = t.open(tp, 20, 29) as Segment;
    expect(t.oldestRunningSince(tp)).to.equal(undefined, 'waiting for capacity is not being stuck');
    a.runningSince = 1000;
    b.runningSince = 2000;
    t.complete(tp, b);
    expect(t.oldestRunningSince(tp)).to.equal(1000);
    t.complete(tp, a);
    expect(t.oldestRunningSince(tp)).to.equal(undefined, 'c is next and still queued');
    c.runningSince = 3000;
    expect(t.oldestRunningSince(tp)).to.equal(3000);
    t.complete(tp, c);
    expect(t.oldestRunningSince(tp)).to.equal(undefined);
    expect(t.oldestRunningSince(tpKey('logs', 9))).to.equal(undefined);
  });

  it('partition keys never collide, whatever the topic holds (dots, dashes, digits)', () => {
    expect(tpKey('a-1', 2)).to.not.equal(tpKey('a', 12));
    expect(tpKey('a.b-c', 12)).to.not.equal(tpKey('a.b-c1', 2));
  });
});
