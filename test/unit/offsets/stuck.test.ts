import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { StuckWatch } from '../../../src/offsets/stuck.js';
import { tpKey, WatermarkTracker, type Segment } from '../../../src/offsets/watermark.js';

/** Opens a segment whose batch a worker started at `at`. */
function running(tracker: WatermarkTracker, tp: string, first: number, at: number): Segment {
  const seg = tracker.open(tp, first, first + 9) as Segment;
  seg.runningSince = at;
  return seg;
}

function setup() {
  const tracker = new WatermarkTracker();
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  const watch = new StuckWatch(tracker, 10_000, pino({ level: 'info' }, sink));
  return { tracker, watch, lines };
}

describe('stuck partitions', () => {
  const p0 = tpKey('logs', 0);
  const p1 = tpKey('logs', 1);
  const tp0 = { topic: 'logs', partition: 0 };
  const tp1 = { topic: 'logs', partition: 1 };

  it('calls a partition stuck once the batch holding it back has run for stallSeconds, while others move', () => {
    const { tracker, watch } = setup();
    tracker.assign(p0);
    tracker.assign(p1);
    running(tracker, p0, 0, 0); // never completes: an item refused with 5xx forever
    for (let i = 0; i < 5; i++) tracker.complete(p1, running(tracker, p1, i * 10, 5_000));
    tracker.open(p1, 50, 59); // waits for in-flight capacity: not stuck, however long
    expect(watch.check([tp0, tp1], 9_999)).to.deep.equal([]);
    expect(watch.check([tp0, tp1], 12_000)).to.deep.equal([{ topic: 'logs', partition: 0, ageMs: 12_000 }]);
    expect(watch.has(p0)).to.equal(true);
    expect(watch.has(p1)).to.equal(false);
  });

  it('logs each turn once: a warning naming the partitions, and when they move again', () => {
    const { tracker, watch, lines } = setup();
    tracker.assign(p0);
    tracker.assign(p1);
    const a = running(tracker, p0, 0, 0);
    for (let t = 10_000; t <= 20_000; t += 1000) watch.check([tp0, tp1], t);
    const b = running(tracker, p1, 0, 0);
    watch.check([tp0, tp1], 21_000);
    watch.check([tp0, tp1], 22_000);
    tracker.complete(p0, a);
    watch.check([tp0, tp1], 23_000);
    tracker.complete(p1, b);
    watch.check([tp0, tp1], 24_000);
    expect(lines.map((l) => [l['level'], l['msg'], l['partitions'], l['seconds']])).to.deep.equal([
      [40, 'partition(s) stuck: a batch has not completed for health.stallSeconds', ['logs[0]'], 10],
      [40, 'partition(s) stuck: a batch has not completed for health.stallSeconds', ['logs[1]'], 21],
      [30, 'stuck partition(s) moving again', ['logs[0]'], undefined],
      [30, 'stuck partition(s) moving again', ['logs[1]'], undefined],
    ]);
  });

  it('forgets a revoked partition without saying it moved', () => {
    const { tracker, watch, lines } = setup();
    tracker.assign(p0);
    running(tracker, p0, 0, 0);
    expect(watch.check([tp0], 10_000)).to.have.length(1);
    tracker.revoke(p0);
    expect(watch.check([], 11_000)).to.deep.equal([]);
    expect(lines).to.have.length(1);
  });
});
