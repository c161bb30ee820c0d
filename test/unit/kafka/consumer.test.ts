import { expect } from 'chai';
import { consumerProperties, type ConsumerTuning } from '../../../src/kafka/consumer.js';
import { validateConfig } from '../../../src/config/validate.js';
import { minimal } from '../config/support.js';

const tuning: ConsumerTuning = { consumeTimeoutMs: 20, minBatch: 64, maxBatch: 4096, targetCallMs: 100, statsIntervalMs: 1000, queuedMaxKbytes: 32_768 };
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
