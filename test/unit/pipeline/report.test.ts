import { expect } from 'chai';
import pino from 'pino';
import { createDispatchCounters } from '../../../src/dispatch/dispatcher.js';
import { HealthWatch } from '../../../src/observe/health.js';
import { LagTracker } from '../../../src/offsets/lag.js';
import { StuckWatch } from '../../../src/offsets/stuck.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { FlowControl } from '../../../src/pipeline/flow-control.js';
import { createReport } from '../../../src/pipeline/report.js';

const logger = pino({ level: 'silent' });

function setup() {
  let now = 1_000;
  const tracker = new WatermarkTracker();
  const lags = new LagTracker({ startFrom: 'earliest', readCommitted: true, watermark: (key) => tracker.committable(key) });
  const flow = new FlowControl({ target: { pause: () => undefined, resume: () => undefined }, budgetBytes: 100, logger });
  const counters = createDispatchCounters();
  const report = createReport({
    flow,
    tracker,
    lags,
    stuck: new StuckWatch(tracker, 30_000, logger),
    health: new HealthWatch(30_000, now),
    dispatch: { counters, inFlight: () => 2, bufferedBytes: () => 42 },
    deadLettered: () => 3,
    logger,
    now: () => now,
  });
  return { report, flow, tracker, counters, advance: (ms: number) => (now += ms) };
}

describe('pipeline report', () => {
  it('readiness: not ready without partitions, ready once assigned, not ready again while halted, naming why', () => {
    const { report, flow, tracker } = setup();
    expect(report.readiness()).to.deep.equal({ ready: false, reasons: ['starting'] });
    expect(report.checkReadiness().reasons).to.deep.equal(['no partitions assigned']);
    flow.assign([{ topic: 't', partition: 0 }]);
    tracker.assign(tpKey('t', 0));
    expect(report.checkReadiness()).to.deep.equal({ ready: true, reasons: [] });
    flow.deadLetterTopic('topic missing', 'dlq');
    expect(report.checkReadiness().reasons).to.deep.equal(['halted: topic missing']);
    expect(report.readiness().ready).to.equal(false);
  });

  it('progress: totals and the rate since the previous call', () => {
    const { report, counters, flow, advance } = setup();
    flow.assign([{ topic: 't', partition: 0 }]);
    counters.indexed = 90;
    counters.failed = 10;
    advance(2_000);
    expect(report.progress()).to.include({ done: 100, indexed: 90, failed: 10, docsPerSecond: 50, inFlightBatches: 2, bufferedBytes: 42, deadLettered: 3, assigned: 1, blocked: 0, paused: false });
    counters.indexed = 190;
    advance(1_000);
    expect(report.progress().docsPerSecond).to.equal(100);
  });

  it('one view per assigned partition: watermark, pause and block', () => {
    const { report, flow, tracker } = setup();
    flow.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    tracker.assign(tpKey('t', 0));
    tracker.assign(tpKey('t', 1));
    const seg = tracker.open(tpKey('t', 1), 0, 4);
    if (!seg) throw new Error('no segment');
    tracker.complete(tpKey('t', 1), seg);
    flow.block({ topic: 't', partition: 1 }, 5, 'bad');
    const views = report.partitions();
    expect(views.map((v) => [v.partition, v.watermark, v.paused, v.blocked, v.stuck])).to.deep.equal([
      [0, undefined, false, false, false],
      [1, 5, true, true, false],
    ]);
  });
});
