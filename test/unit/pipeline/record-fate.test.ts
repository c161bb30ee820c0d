import { expect } from 'chai';
import pino from 'pino';
import type { KafkaRecord } from '../../../src/dispatch/batch.js';
import { DeadLetterWindow } from '../../../src/dlq/breaker.js';
import { FlowControl } from '../../../src/pipeline/flow-control.js';
import { createRecordFate, type RecordFateOptions } from '../../../src/pipeline/record-fate.js';
import type { SluiceError } from '../../../src/common/errors.js';
import type { RecordFailure } from '../../../src/common/protocol.js';

const logger = pino({ level: 'silent' });
const rec = (offset: number, partition = 0): KafkaRecord => ({ topic: 't', partition, offset, value: Buffer.from('{}') });
const mapping: RecordFailure = { record: 0, stage: 'index', status: 400, errorType: 'document_parsing_exception', reason: 'bad field' };
const malformed: RecordFailure = { record: 0, stage: 'decode', reason: 'not JSON' };
const nullValue: RecordFailure = { record: 0, stage: 'null', reason: 'null value' };

function setup(over: Partial<RecordFateOptions> & { finished?: () => number } = {}) {
  const events: string[] = [];
  const sent: number[] = [];
  const fatal: Array<[SluiceError, string]> = [];
  const flow = new FlowControl({ target: { pause: () => undefined, resume: () => undefined }, budgetBytes: 1 << 20, logger });
  flow.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
  const fate = createRecordFate({
    policy: { onMalformed: 'dlq', onRejected: 'dlq' },
    dlq: { topic: 'dlq', send: async (r) => void sent.push(r.offset) },
    breaker: undefined,
    finished: () => 0,
    flow,
    metrics: { failed: (c) => void events.push(`failed ${c}`), skipped: (c) => void events.push(`skipped ${c}`), deadLettered: (c) => void events.push(`dead-lettered ${c}`) },
    logger,
    onFatal: (err, reason) => void fatal.push([err, reason]),
    ...over,
  });
  return { fate, flow, events, sent, fatal };
}

describe('record fate', () => {
  it('dlq: the record goes to the dead-letter topic and counts once Kafka acknowledged it', async () => {
    const { fate, events, sent } = setup();
    const answer = fate.onFailed(rec(5), mapping);
    expect(answer).to.be.instanceOf(Promise);
    expect(fate.deadLettered()).to.equal(0);
    await answer;
    expect(sent).to.deep.equal([5]);
    expect(fate.deadLettered()).to.equal(1);
    expect(events).to.deep.equal(['failed rejected', 'dead-lettered rejected']);
  });

  it('skip: done at once, counted as skipped by class', () => {
    const { fate, events } = setup({ policy: { onMalformed: 'skip', onRejected: 'fail' } });
    expect(fate.onFailed(rec(1), malformed)).to.equal('done');
    expect(events).to.deep.equal(['failed malformed', 'skipped malformed']);
  });

  it('fail: the partition blocks before the record; the run is ended once, naming the record', () => {
    const { fate, flow, fatal } = setup({ policy: { onMalformed: 'dlq', onRejected: 'fail' } });
    expect(fate.onFailed(rec(7, 1), mapping)).to.equal('block');
    expect(fate.onFailed(rec(8, 1), mapping)).to.equal('block');
    expect(flow.blockedCount).to.equal(1);
    expect(fatal).to.have.length(1);
    expect(fatal[0]?.[0].message).to.equal('record t[1]@7 could not be indexed: bad field');
    expect(fatal[0]?.[1]).to.equal('a record could not be indexed');
  });

  it('a null value always goes to the dead-letter topic, whatever the policy, and never trips the breaker', async () => {
    const breaker = new DeadLetterWindow(4, 0.5);
    const { fate, flow, sent } = setup({ policy: { onMalformed: 'skip', onRejected: 'skip' }, breaker });
    for (let i = 0; i < 6; i++) await fate.onFailed(rec(i), nullValue);
    expect(sent).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(flow.tripped).to.equal(undefined);
  });

  it('the breaker: past errors.dlqMaxRatio of a full window the record is held, everything pauses, the run ends with the reason', async () => {
    let finished = 0;
    const breaker = new DeadLetterWindow(4, 0.5);
    const { fate, flow, sent, fatal } = setup({ breaker, finished: () => finished });
    // Two good records, then failures: the window [0 0 1 1] is at the ratio; a third would pass it.
    finished = 3;
    await fate.onFailed(rec(2), mapping);
    finished = 4;
    await fate.onFailed(rec(3), mapping);
    finished = 5;
    expect(fate.onFailed(rec(4), mapping)).to.equal('block');
    expect(sent).to.deep.equal([2, 3]);
    expect(flow.tripped).to.match(/^dead-letter circuit breaker: 3 of the last 4 finished records failed, more than errors.dlqMaxRatio 0.5/);
    expect(flow.haltedBy().dead_letter_ratio).to.equal(true);
    expect(fatal.map(([, reason]) => reason)).to.deep.equal(['the dead-letter circuit breaker tripped']);
    // Held from now on, on any partition; nothing more is sent.
    finished = 6;
    expect(fate.onFailed(rec(9, 1), mapping)).to.equal('block');
    expect(sent).to.deep.equal([2, 3]);
    expect(flow.blockedCount).to.equal(2);
    expect(fate.deadLetterRatio()).to.equal(0.5);
  });

  it('without a dead-letter topic, policy dlq fails the record like policy fail', () => {
    const { fate, flow } = setup({ dlq: undefined });
    expect(fate.onFailed(rec(3), mapping)).to.equal('block');
    expect(flow.blockedCount).to.equal(1);
  });
});
