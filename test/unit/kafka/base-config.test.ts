import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProperties } from '../../../src/check.js';
import { validateConfig } from '../../../src/config/validate.js';
import { producerProperties } from '../../../src/dlq/producer.js';
import { consumerProperties, type ConsumerTuning } from '../../../src/kafka/consumer.js';

type Properties = object;

const tuning: ConsumerTuning = { consumeTimeoutMs: 20, gapTimeoutMs: 5, minBatch: 64, maxBatch: 4096, targetCallMs: 100, statsIntervalMs: 1000, queuedMaxKbytes: 32_768 };

const dir = mkdtempSync(join(tmpdir(), 'sluice-base-config-'));
const file = (name: string): string => {
  const path = join(dir, name);
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\n');
  return path;
};
const [ca, cert, key] = [file('ca.pem'), file('cert.pem'), file('key.pem')];

const config = (kafka: Record<string, unknown>) => validateConfig({ kafka: { brokers: 'k1:9092,k2:9092', groupId: 'g', topics: ['logs'], ...kafka }, errors: { dlqTopic: 'logs-dlq' } });

/** Each client's librdkafka properties, in the order they are set (an override's place included). */
function clients(kafka: Record<string, unknown>): { consumer: Properties; producer: Properties; check: Properties } {
  const c = config(kafka);
  return { consumer: consumerProperties(c, tuning), producer: producerProperties(c), check: checkProperties(c) };
}

const brokers = { 'metadata.broker.list': 'k1:9092,k2:9092' };
const consumerOwn = {
  'partition.assignment.strategy': 'cooperative-sticky',
  'enable.auto.commit': true,
  'auto.commit.interval.ms': 1000,
  'enable.auto.offset.store': false,
  'statistics.interval.ms': 1000,
  'queued.max.messages.kbytes': 32_768,
  'fetch.max.bytes': 32 << 20,
  'fetch.queue.backoff.ms': 50,
  'socket.keepalive.enable': true,
};
const producerOwn = {
  'enable.idempotence': true,
  dr_cb: true,
  'linger.ms': 5,
  'message.max.bytes': 17 * 1024 * 1024,
  'message.timeout.ms': 30_000,
  'allow.auto.create.topics': false,
};
const checkOwn = { 'group.id': 'g', 'enable.auto.commit': false };

/** Same properties with the same values, set in the same order. */
function expectSame(actual: Properties, expected: Properties, label: string): void {
  expect(Object.entries(actual), label).to.deep.equal(Object.entries(expected));
}

// The consumer's, the dead-letter producer's and `sluice check`'s configurations as they were
// before they shared src/kafka/base-config.ts: the shared base must not change any of them.
describe('librdkafka configurations of the three clients', () => {
  it('plain', () => {
    const security = { 'security.protocol': 'plaintext' };
    const got = clients({});
    expectSame(got.consumer, { 'client.id': 'sluice', ...brokers, 'group.id': 'g', ...consumerOwn, ...security }, 'consumer');
    expectSame(got.producer, { 'client.id': 'sluice-dlq', ...brokers, ...producerOwn, ...security }, 'producer');
    expectSame(got.check, { 'client.id': 'sluice-check', ...brokers, ...checkOwn, ...security }, 'check');
  });

  it('SASL/SCRAM over TLS with a client certificate', () => {
    const security = {
      'security.protocol': 'sasl_ssl',
      'enable.ssl.certificate.verification': false,
      'ssl.ca.location': ca,
      'ssl.certificate.location': cert,
      'ssl.key.location': key,
      'ssl.key.password': 'kp',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
    };
    const got = clients({
      tls: { enabled: true, ca, cert, key, keyPassword: 'kp', rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
    expectSame(got.consumer, { 'client.id': 'sluice', ...brokers, 'group.id': 'g', ...consumerOwn, ...security }, 'consumer');
    expectSame(got.producer, { 'client.id': 'sluice-dlq', ...brokers, ...producerOwn, ...security }, 'producer');
    expectSame(got.check, { 'client.id': 'sluice-check', ...brokers, ...checkOwn, ...security }, 'check');
  });

  it('OAUTHBEARER over TLS (the token comes from the token source, not the configuration)', () => {
    const security = { 'security.protocol': 'sasl_ssl', 'enable.ssl.certificate.verification': true, 'sasl.mechanisms': 'OAUTHBEARER' };
    const got = clients({ tls: { enabled: true }, sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint: 'https://idp/token', clientId: 'c', clientSecret: 's' } } });
    expectSame(got.consumer, { 'client.id': 'sluice', ...brokers, 'group.id': 'g', ...consumerOwn, ...security }, 'consumer');
    expectSame(got.producer, { 'client.id': 'sluice-dlq', ...brokers, ...producerOwn, ...security }, 'producer');
    expectSame(got.check, { 'client.id': 'sluice-check', ...brokers, ...checkOwn, ...security }, 'check');
  });

  it('kafka.rdkafka overrides: all of them win on the consumer and the check, only connection settings reach the producer', () => {
    const connection = { 'security.protocol': 'ssl', 'ssl.endpoint.identification.algorithm': 'none', 'socket.timeout.ms': 30_000, 'client.rack': 'az1' };
    const rdkafka = { 'client.id': 'mine', ...connection, 'fetch.wait.max.ms': 100, 'max.poll.interval.ms': 600_000 };
    const got = clients({ groupInstanceId: 'sluice-1', rdkafka });
    const { 'client.id': _, ...rest } = rdkafka;
    expectSame(got.consumer, { 'client.id': 'mine', ...brokers, 'group.id': 'g', 'group.instance.id': 'sluice-1', ...consumerOwn, ...rest }, 'consumer');
    expectSame(got.producer, { 'client.id': 'sluice-dlq', ...brokers, ...producerOwn, ...connection }, 'producer');
    expectSame(got.check, { 'client.id': 'mine', ...brokers, ...checkOwn, ...rest }, 'check');
  });

  it('the consumer group protocol', () => {
    const got = clients({ groupProtocol: 'consumer', rdkafka: { 'group.remote.assignor': 'range' } });
    const { 'partition.assignment.strategy': _, ...consumerRest } = consumerOwn;
    expectSame(got.consumer, { 'client.id': 'sluice', ...brokers, 'group.id': 'g', 'group.protocol': 'consumer', ...consumerRest, 'security.protocol': 'plaintext', 'group.remote.assignor': 'range' }, 'consumer');
    expectSame(got.producer, { 'client.id': 'sluice-dlq', ...brokers, ...producerOwn, 'security.protocol': 'plaintext' }, 'producer');
    expectSame(got.check, { 'client.id': 'sluice-check', ...brokers, ...checkOwn, 'security.protocol': 'plaintext', 'group.remote.assignor': 'range' }, 'check');
  });
});
