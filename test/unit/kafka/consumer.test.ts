import { expect } from 'chai';
import { assessCall, consumerProperties, type ConsumerTuning } from '../../../src/kafka/consumer.js';
import { validateConfig } from '../../../src/config/validate.js';
import { minimal } from '../config/support.js';

const tuning: ConsumerTuning = { consumeTimeoutMs: 20, gapTimeoutMs: 5, minBatch: 64, maxBatch: 4096, targetCallMs: 100, statsIntervalMs: 1000, queuedMaxKbytes: 32_768 };
const properties = (kafka: Record<string, unknown>) => consumerProperties(validateConfig({ ...minimal, kafka: { ...minimal.kafka, ...kafka } }), tuning);

describe('consumer: librdkafka properties', () => {
  it('classic: the cooperative-sticky assignor, and librdkafka left at its classic protocol', () => {
    const p = properties({});
    expect(p['partition.assignment.strategy']).to.equal('cooperative-sticky');
    expect(p).not.to.have.property('group.protocol');
  });

  // librdkafka refuses to start a consumer-protocol member with any of these set (rdkafka_conf.c).
  const refusedUnderConsumer = ['partition.assignment.strategy', 'session.timeout.ms', 'heartbeat.interval.ms', 'group.protocol.type'];

  it('consumer: group.protocol consumer and none of the client-side assignor or session settings', () => {
    const p = properties({ groupProtocol: 'consumer' });
    expect(p['group.protocol']).to.equal('consumer');
    for (const key of refusedUnderConsumer) expect(p, key).not.to.have.property(key);
  });

  it('group.protocol consumer given through kafka.rdkafka sets the same properties', () => {
    expect(properties({ rdkafka: { 'group.protocol': 'consumer' } })).to.deep.equal(properties({ groupProtocol: 'consumer' }));
  });

  it('consumer: the broker assignor named through kafka.rdkafka is passed on', () => {
    expect(properties({ groupProtocol: 'consumer', rdkafka: { 'group.remote.assignor': 'range' } })['group.remote.assignor']).to.equal('range');
  });

  it('the commit and offset-store settings Sluice relies on are the same under both protocols', () => {
    for (const groupProtocol of ['classic', 'consumer']) {
      const p = properties({ groupProtocol });
      expect({ auto: p['enable.auto.commit'], store: p['enable.auto.offset.store'] }, groupProtocol).to.deep.equal({ auto: true, store: false });
    }
  });
});

describe('consumer: what one consume(n) call says', () => {
  const call = (asked: number, got: number, tookMs: number) => assessCall({ asked, got, tookMs }, tuning);

  it('a call that came back short: librdkafka had nothing more waiting', () => {
    expect(call(64, 10, 30).drained).to.equal(true);
    expect(call(64, 0, 20).drained).to.equal(true, 'an empty call too: what earlier calls gathered can go');
    expect(call(4096, 4095, 5).drained).to.equal(true);
  });

  it('a full call: more may be waiting, so batches keep filling', () => {
    expect(call(64, 64, 5).drained).to.equal(false);
    expect(call(64, 64, 500).drained).to.equal(false);
  });

  it('grows n while calls fill quickly, up to maxBatch', () => {
    expect(call(64, 64, 5).next).to.equal(128);
    expect(call(4096, 4096, 5).next).to.equal(4096);
  });

  it('shrinks n when a call runs longer than targetCallMs, down to minBatch, full or not', () => {
    expect(call(256, 256, 150).next).to.equal(128);
    expect(call(256, 3, 150).next).to.equal(128);
    expect(call(64, 3, 150).next).to.equal(64);
  });

  it('waits consumeTimeoutMs per message while idle, gapTimeoutMs once records flow', () => {
    expect(call(64, 0, 20).timeoutMs).to.equal(20);
    expect(call(64, 1, 20).timeoutMs).to.equal(5);
    expect(call(64, 64, 2).timeoutMs).to.equal(5);
  });

  it('keeps n after a short call within targetCallMs', () => {
    expect(call(256, 3, 40).next).to.equal(256);
  });
});
