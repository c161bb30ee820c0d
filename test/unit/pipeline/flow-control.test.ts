import { expect } from 'chai';
import type { TopicPartition } from 'node-rdkafka';
import pino from 'pino';
import { tpKey } from '../../../src/offsets/watermark.js';
import { FlowControl } from '../../../src/pipeline/flow-control.js';

const logger = pino({ level: 'silent' });
const tp = (partition: number): TopicPartition => ({ topic: 't', partition });
const names = (tps: TopicPartition[]): string[] => tps.map((p) => `${p.topic}[${p.partition}]`);

function setup(budgetBytes = 100) {
  const calls: string[] = [];
  let now = 0;
  const flow = new FlowControl({
    target: {
      pause: (tps) => void (tps.length > 0 && calls.push(`pause ${names(tps).join(',')}`)),
      resume: (tps) => void (tps.length > 0 && calls.push(`resume ${names(tps).join(',')}`)),
    },
    budgetBytes,
    logger,
    now: () => now,
  });
  return { flow, calls, advance: (ms: number) => (now += ms) };
}

describe('flow control', () => {
  it('over the budget pauses every partition; below half of it resumes them; in between nothing changes', () => {
    const { flow, calls } = setup(100);
    expect(flow.assign([tp(0), tp(1)])).to.deep.equal([]);
    flow.buffered(101);
    flow.buffered(120);
    flow.buffered(60);
    expect(calls).to.deep.equal(['pause t[0],t[1]']);
    flow.buffered(49);
    expect(calls).to.deep.equal(['pause t[0],t[1]', 'resume t[0],t[1]']);
    expect(flow.overBudget).to.equal(false);
  });

  it('a blocked partition stays paused through a halt and its end; others resume', () => {
    const { flow, calls } = setup();
    flow.assign([tp(0), tp(1)]);
    expect(flow.block(tp(1), 7, 'mapping')).to.equal(true);
    expect(flow.block(tp(1), 9, 'again')).to.equal(false);
    flow.workerSignal({ kind: 'halt', threadId: 1, reason: 'read-only' });
    flow.workerSignal({ kind: 'resume', threadId: 1 });
    expect(calls).to.deep.equal(['pause t[1]', 'pause t[0]', 'resume t[0]']);
    expect(flow.blockedCount).to.equal(1);
    expect([flow.isBlocked(tpKey('t', 1)), flow.isPaused(tpKey('t', 1)), flow.isPaused(tpKey('t', 0))]).to.deep.equal([true, true, false]);
  });

  it('Elasticsearch stays halted until every halted worker resumed; a worker that died is forgotten at the tick', () => {
    const { flow, calls } = setup();
    flow.assign([tp(0)]);
    flow.workerSignal({ kind: 'halt', threadId: 1, reason: 'blocked' });
    flow.workerSignal({ kind: 'halt', threadId: 2, reason: 'blocked' });
    flow.workerSignal({ kind: 'resume', threadId: 1 });
    expect(flow.haltReason()).to.equal('blocked');
    flow.tick(new Set([1, 3]), 0, undefined);
    expect(flow.haltReason()).to.equal(undefined);
    expect(calls).to.deep.equal(['pause t[0]', 'resume t[0]']);
  });

  it('names every halt cause at once, and a new assignment is paused while halted', () => {
    const { flow, calls } = setup();
    flow.workerSignal({ kind: 'halt', threadId: 1, reason: 'es says no' });
    flow.deadLetterTopic('topic missing', 'dlq');
    flow.trip('breaker tripped');
    expect(flow.haltReason()).to.equal('es says no; topic missing; breaker tripped');
    expect(flow.haltedBy()).to.deep.equal({ elasticsearch: true, dead_letter_topic: true, dead_letter_ratio: true });
    expect(names(flow.assign([tp(0)]))).to.deep.equal(['t[0]']);
    flow.deadLetterTopic(undefined, 'dlq');
    flow.workerSignal({ kind: 'resume', threadId: 1 });
    expect(flow.tripped).to.equal('breaker tripped');
    expect(calls).to.deep.equal([]);
  });

  it('a revoked partition forgets its block; assigned again it is fetched', () => {
    const { flow } = setup();
    flow.assign([tp(0)]);
    flow.block(tp(0), 3, 'bad');
    flow.revoke([tp(0)]);
    expect(flow.blockedCount).to.equal(0);
    expect(flow.assign([tp(0)])).to.deep.equal([]);
    expect(flow.isAssigned(tp(0))).to.equal(true);
  });

  it('stopping pauses everything for good, a late budget drop resumes nothing', () => {
    const { flow, calls } = setup(100);
    flow.assign([tp(0)]);
    flow.stop();
    flow.buffered(200);
    flow.buffered(0);
    expect(calls).to.deep.equal(['pause t[0]']);
    expect(flow.stopping).to.equal(true);
  });
});
