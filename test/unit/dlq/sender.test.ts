import { expect } from 'chai';
import type { MessageHeader } from 'node-rdkafka';
import pino from 'pino';
import rdkafka from 'node-rdkafka';
import { createDeadLetterSender, cutToFit, messageBytes, TRUNCATED_HEADER, type DeadLetterMessage, type SenderOptions } from '../../../src/dlq/sender.js';
import { DeadLetterClosedError, KafkaError } from '../../../src/common/errors.js';
import { HealthWatch } from '../../../src/observe/health.js';

const E = rdkafka.CODES.ERRORS;
const logger = pino({ level: 'silent' });
const refused = (code: number): KafkaError => new KafkaError(`refused ${code}`, code);
const message = (value: string, key = 'k'): DeadLetterMessage => ({ key: Buffer.from(key), value: Buffer.from(value), headers: [{ 'sluice.error.stage': 'size' }], timestamp: 1 });
const header = (headers: MessageHeader[], name: string): string | undefined => {
  const h = headers.find((x) => name in x);
  return h === undefined ? undefined : String(h[name]);
};

function sender(produce: SenderOptions['produce'], over: Partial<SenderOptions> = {}) {
  const events: string[] = [];
  const s = createDeadLetterSender({
    topic: 'dlq',
    produce,
    maxMessageBytes: 1_000_000_000,
    backoffMs: 1,
    maxBackoffMs: 4,
    logger,
    onHalt: (reason) => events.push(`halt ${reason}`),
    onResume: () => events.push('resume'),
    ...over,
  });
  return { s, events };
}

describe('dead-letter sender', () => {
  it('cuts a value the topic refuses as too large to what fits, and says so in a header', async () => {
    const limit = 700_000;
    const written: DeadLetterMessage[] = [];
    let refusals = 0;
    const { s, events } = sender(async (m) => {
      if (messageBytes(m.key, m.value, m.headers) > limit) {
        refusals++;
        throw refused(E.ERR_MSG_SIZE_TOO_LARGE);
      }
      written.push(m);
    });
    const big = 'x'.repeat(3_000_000);
    await s.send(message(big), 't[0]@7');
    const [m] = written;
    expect(header(m?.headers ?? [], TRUNCATED_HEADER)).to.equal('3000000');
    expect(header(m?.headers ?? [], 'sluice.error.stage')).to.equal('size');
    expect(m?.value?.length).to.be.within(400_000, limit);
    expect(big.startsWith(m?.value?.toString() ?? '?')).to.equal(true);
    expect(m?.key?.toString()).to.equal('k');
    // The limit learnt is kept: the next large record is cut before it is sent.
    const before = refusals;
    await s.send(message('y'.repeat(2_000_000)), 't[0]@8');
    expect(refusals).to.equal(before);
    // A small record is sent as it is, without the header.
    await s.send(message('small'), 't[0]@9');
    expect(written[2]?.value?.toString()).to.equal('small');
    expect(header(written[2]?.headers ?? [], TRUNCATED_HEADER)).to.equal(undefined);
    expect(events).to.deep.equal([]);
  });

  it('keeps the length a value cut before had (a re-driven dead letter), with one header, when it cuts again', async () => {
    const written: DeadLetterMessage[] = [];
    const { s } = sender(async (m) => void written.push(m), { maxMessageBytes: 10_000 });
    const cut = message('z'.repeat(50_000));
    await s.send({ ...cut, headers: [...cut.headers, { [TRUNCATED_HEADER]: '900000' }] }, 't[0]@1');
    const names = (written[0]?.headers ?? []).flatMap((h) => Object.keys(h));
    expect(names.filter((n) => n === TRUNCATED_HEADER)).to.have.length(1);
    expect(header(written[0]?.headers ?? [], TRUNCATED_HEADER)).to.equal('900000');
    expect(written[0]?.value?.length).to.be.below(10_000);
  });

  it('cuts before sending a value over the producer’s own limit', async () => {
    const written: DeadLetterMessage[] = [];
    const { s } = sender(async (m) => void written.push(m), { maxMessageBytes: 10_000 });
    await s.send(message('z'.repeat(50_000)), 't[0]@1');
    expect(written).to.have.length(1);
    expect(messageBytes(written[0]?.key ?? null, written[0]?.value ?? null, written[0]?.headers ?? [])).to.be.at.most(10_000);
  });

  it('halts on a missing topic with one probe retrying, the other sends waiting, and resumes when a write goes through', async () => {
    let exists = false;
    const attempts = new Map<string, number>();
    const { s, events } = sender(async (m) => {
      const v = m.value?.toString() ?? '';
      attempts.set(v, (attempts.get(v) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
      if (!exists) throw refused(E.ERR_UNKNOWN_TOPIC_OR_PART);
    });
    const sends = ['a', 'b', 'c'].map((v) => s.send(message(v), `t[0]@${v}`));
    const deadline = Date.now() + 5_000;
    while ((attempts.get('a') ?? 0) + (attempts.get('b') ?? 0) + (attempts.get('c') ?? 0) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(s.halted()).to.match(/^dead-letter topic dlq does not exist \(Sluice never creates it\): create it/);
    const counts = ['a', 'b', 'c'].map((v) => attempts.get(v) ?? 0).sort((x, y) => x - y);
    // Each tried once; only one keeps retrying.
    expect(counts.slice(0, 2)).to.deep.equal([1, 1]);
    expect(counts[2]).to.be.at.least(28);
    exists = true;
    await Promise.all(sends);
    expect(s.halted()).to.equal(undefined);
    expect(events).to.have.length(2);
    expect(events[0]).to.match(/^halt dead-letter topic dlq does not exist/);
    expect(events[1]).to.equal('resume');
    // The halt reason is what /readyz shows.
    const r = new HealthWatch(60_000, 0).evaluate({ assigned: 1, halted: events[0]?.slice('halt '.length), blocked: 0, stopping: false, lag: 0, done: 0, stuck: [] }, 0);
    expect(r.reasons[0]).to.match(/^halted: dead-letter topic dlq does not exist/);
  });

  it('halts on a denied ACL and on a write timed out, but only retries a transient error', async () => {
    for (const [code, reason] of [
      [E.ERR_TOPIC_AUTHORIZATION_FAILED, 'is not writable with these credentials'],
      [E.ERR__MSG_TIMED_OUT, 'did not acknowledge a write within message.timeout.ms'],
    ] as const) {
      let fail = 3;
      const { s, events } = sender(async () => {
        if (fail-- > 0) throw refused(code);
      });
      await s.send(message('v'), 't[0]@1');
      expect(events).to.have.length(2);
      expect(events[0]).to.include(reason);
      expect(events[1]).to.equal('resume');
    }
    let fail = 3;
    const { s, events } = sender(async () => {
      if (fail-- > 0) throw refused(E.ERR__QUEUE_FULL);
    });
    await s.send(message('v'), 't[0]@1');
    expect(fail).to.equal(-1);
    expect(events).to.deep.equal([]);
  });

  it('waits between retries by exponential backoff with equal jitter, capped, in whole milliseconds', async () => {
    const delays: number[] = [];
    const capture = pino({ level: 'debug' }, { write: (line: string) => void delays.push((JSON.parse(line) as { retryInMs: number }).retryInMs) });
    let calls = 0;
    const { s } = sender(
      async () => {
        if (++calls <= 4) throw refused(E.ERR__QUEUE_FULL);
      },
      { logger: capture, backoffMs: 3, maxBackoffMs: 10, random: () => 0.5 },
    );
    await s.send(message('v'), 't[0]@1');
    // Steps 3, 6, 10 (capped), 10: three quarters of each at random 0.5, rounded.
    expect(delays).to.deep.equal([2, 5, 8, 8]);
  });

  it('close() ends the probe’s backoff and the sends waiting at the gate with DeadLetterClosedError', async () => {
    const { s } = sender(async () => {
      throw refused(E.ERR_UNKNOWN_TOPIC_OR_PART);
    }, { backoffMs: 60_000, maxBackoffMs: 60_000 });
    const sends = ['a', 'b', 'c'].map((v) => s.send(message(v), v).then(() => 'sent', (err: unknown) => err));
    while (s.halted() === undefined) await new Promise((r) => setImmediate(r));
    const closedAt = Date.now();
    s.close();
    const outcomes = await Promise.all(sends);
    expect(Date.now() - closedAt).to.be.below(5_000);
    for (const o of outcomes) {
      expect(o).to.be.instanceOf(DeadLetterClosedError).and.include({ topic: 'dlq', message: 'dead-letter producer closed before Kafka acknowledged the write to dlq' });
    }
    expect(await s.send(message('d'), 'd').catch((err: unknown) => err)).to.be.instanceOf(DeadLetterClosedError);
  });

  it('halts when the record does not fit even without its value', async () => {
    let calls = 0;
    const { s, events } = sender(async (m) => {
      calls++;
      if (calls > 40) return;
      if (messageBytes(m.key, m.value, m.headers) > 600) throw refused(E.ERR_MSG_SIZE_TOO_LARGE);
    });
    await s.send(message('v'.repeat(5_000), 'k'.repeat(700)), 't[0]@1');
    expect(events[0]).to.include('refuses the record even with its value cut to nothing');
  });
});

describe('cutToFit', () => {
  it('keeps the first bytes, never splitting a UTF-8 character', () => {
    const v = Buffer.from('aé€😀b');
    expect(cutToFit(v, 100)).to.equal(v);
    expect(cutToFit(v, 1).toString()).to.equal('a');
    expect(cutToFit(v, 2).toString()).to.equal('a');
    expect(cutToFit(v, 3).toString()).to.equal('aé');
    expect(cutToFit(v, 5).toString()).to.equal('aé');
    expect(cutToFit(v, 6).toString()).to.equal('aé€');
    expect(cutToFit(v, 9).toString()).to.equal('aé€');
    expect(cutToFit(v, 10).toString()).to.equal('aé€😀');
    expect(cutToFit(v, 0)).to.have.length(0);
    expect(cutToFit(v, -5)).to.have.length(0);
  });
});
