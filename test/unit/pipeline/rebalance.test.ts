import { expect } from 'chai';
import type { TopicPartitionOffset } from 'node-rdkafka';
import pino from 'pino';
import { LagTracker } from '../../../src/offsets/lag.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { FlowControl } from '../../../src/pipeline/flow-control.js';
import { createRebalance } from '../../../src/pipeline/rebalance.js';

const logger = pino({ level: 'silent' });

function setup(settled = true) {
  const tracker = new WatermarkTracker();
  const lags = new LagTracker({ startFrom: 'earliest', readCommitted: true, watermark: (key) => tracker.committable(key) });
  const flow = new FlowControl({ target: { pause: () => undefined, resume: () => undefined }, budgetBytes: 100, logger });
  const stored: TopicPartitionOffset[][] = [];
  const committed: TopicPartitionOffset[][] = [];
  const released: Array<[string[], number]> = [];
  const events: string[] = [];
  const rebalance = createRebalance({
    tracker,
    lags,
    flow,
    release: async (keys, deadlineMs) => {
      released.push([[...keys], deadlineMs]);
      return settled;
    },
    offsets: { store: (o) => void stored.push(o), commitSync: (o) => void committed.push(o) },
    revokeTimeoutMs: 10_000,
    logger,
    onEvent: (e) => void events.push(e),
  });
  return { tracker, flow, rebalance, stored, committed, released, events };
}

describe('rebalance', () => {
  it('assign opens an epoch per partition and pauses it at once while over the budget', () => {
    const { tracker, flow, rebalance, events } = setup();
    flow.buffered(1000);
    expect(rebalance.onAssign([{ topic: 't', partition: 0 }])).to.deep.equal([{ topic: 't', partition: 0 }]);
    expect(tracker.owns(tpKey('t', 0))).to.equal(true);
    expect(events).to.deep.equal(['assign']);
  });

  it('revoke waits kafka.revokeTimeoutMs for the batches, commits the committable offsets, then forgets the partitions', async () => {
    const { tracker, flow, rebalance, stored, committed, released } = setup();
    rebalance.onAssign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    const key = tpKey('t', 0);
    const seg = tracker.open(key, 0, 9);
    if (!seg) throw new Error('no segment');
    tracker.complete(key, seg);
    await rebalance.onRevoke([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    expect(released).to.deep.equal([[[key, tpKey('t', 1)], 10_000]]);
    expect(stored).to.deep.equal([[{ topic: 't', partition: 0, offset: 10 }]]);
    expect(committed).to.deep.equal(stored);
    expect(tracker.owns(key)).to.equal(false);
    expect(flow.assignedCount).to.equal(0);
  });

  it('a revoke during the stop hands the partitions over at once and commits nothing itself (the stop did)', async () => {
    const { flow, rebalance, committed, released } = setup(false);
    rebalance.onAssign([{ topic: 't', partition: 0 }]);
    flow.stop();
    await rebalance.onRevoke([{ topic: 't', partition: 0 }]);
    expect(released[0]?.[1]).to.equal(0);
    expect(committed).to.deep.equal([]);
  });
});
