import { expect } from 'chai';
import rdkafka, { type Client, type GlobalConfig, type LibrdKafkaError, type Message, type Metadata } from 'node-rdkafka';
import { KAFKA_CA_FILE, KAFKA_SASL_BROKERS, KAFKA_SSL_BROKERS, KAFKA_TEST_PASSWORD, KAFKA_TEST_USER, unique, waitFor } from '../support/env.js';
import { createTopic, endOffsets } from '../support/kafka.js';

// Proof that the local broker's SASL_PLAINTEXT and SSL listeners really authenticate and encrypt:
// each SASL mechanism lets the test user produce with the right secret and is refused with an
// authentication error otherwise; the SSL listener is trusted only through the test CA.
//
// A refused client never gets past connect(): librdkafka retries the handshake until the metadata
// deadline and then reports a transport failure, so the reason is read from its FAIL log line (an
// error event would need a poll that a client which never connected does not run).

/** Metadata deadline of a connection that is meant to fail; the broker refuses the first attempt. */
const REFUSAL_WINDOW_MS = 5_000;

const sasl = (mechanism: string, password = KAFKA_TEST_PASSWORD): GlobalConfig => ({
  'metadata.broker.list': KAFKA_SASL_BROKERS,
  'security.protocol': 'sasl_plaintext',
  'sasl.mechanisms': mechanism,
  'sasl.username': KAFKA_TEST_USER,
  'sasl.password': password,
});
const oauthbearer: GlobalConfig = { 'metadata.broker.list': KAFKA_SASL_BROKERS, 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'OAUTHBEARER' };
const ssl = (extra: GlobalConfig = {}): GlobalConfig => ({ 'metadata.broker.list': KAFKA_SSL_BROKERS, 'security.protocol': 'ssl', ...extra });

/** An unsigned JWT (`alg: none`), what Kafka's default OAUTHBEARER validator accepts; `sub` is the principal. */
function unsignedJwt(claims: { sub?: string; iat: number; exp: number }): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function connect(client: Client<string>, timeout: number): Promise<Metadata> {
  return new Promise((resolve, reject) => client.connect({ timeout }, (err, md) => (err ? reject(err) : resolve(md))));
}
function disconnect(client: Client<string>): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()));
}

/**
 * Connects through `config` (with an OAUTHBEARER `token` set before connect when given), produces
 * one record to a new topic and returns the brokers the metadata listed (`id@host:port`, the
 * addresses advertised for the listener the client used) and the offset the broker acknowledged.
 */
async function produceOne(config: GlobalConfig, token?: string): Promise<{ topic: string; brokers: string[]; offset: number }> {
  const topic = unique('security');
  await createTopic(topic, 1);
  const producer = new rdkafka.HighLevelProducer({ ...config, 'client.id': 'sluice-security-test' });
  if (token !== undefined) producer.setOauthBearerToken(token);
  const md = await connect(producer, 30_000);
  try {
    producer.setPollInterval(20);
    const offset = await new Promise<number>((resolve, reject) =>
      producer.produce(topic, 0, Buffer.from('{"secure":true}'), null, Date.now(), (err: unknown, off?: number | null) => (err ? reject(err) : resolve(off ?? -1))),
    );
    return { topic, brokers: md.brokers.map((b) => `${b.id}@${b.host}:${b.port}`), offset };
  } finally {
    await disconnect(producer);
  }
}

/** Connects through `config`, which must fail; returns the connect error and librdkafka's FAIL log lines. */
async function refused(config: GlobalConfig, token?: string): Promise<{ code: number; failures: string[] }> {
  const producer = new rdkafka.Producer({ ...config, 'client.id': 'sluice-security-test' });
  const failures: string[] = [];
  producer.on('event.log', (log: { fac: string; message: string }) => {
    if (log.fac === 'FAIL') failures.push(log.message);
  });
  if (token !== undefined) producer.setOauthBearerToken(token);
  try {
    await connect(producer, REFUSAL_WINDOW_MS);
  } catch (err) {
    // A failed connect() has already disconnected the client.
    return { code: (err as LibrdKafkaError).code, failures };
  }
  await disconnect(producer);
  throw new Error(`expected ${String(config['security.protocol'])} ${String(config['sasl.mechanisms'] ?? '')} to be refused, but it connected`);
}

describe('Kafka security listeners (SASL_PLAINTEXT, SSL)', function () {
  this.timeout(120_000);
  before(function () {
    // These listeners, the test user and the CA exist only on the broker test/services starts.
    if (process.env['SLUICE_TEST_KAFKA'] !== undefined) this.skip();
  });

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    it(`SASL ${mechanism}: the test user produces; a wrong password is refused as an authentication failure`, async () => {
      const [ok, bad] = await Promise.all([produceOne(sasl(mechanism)), refused(sasl(mechanism, 'not-the-password'))]);
      expect(ok.brokers).to.deep.equal([`1@${KAFKA_SASL_BROKERS}`]);
      expect(ok.offset).to.equal(0);
      expect(await endOffsets(ok.topic, 1)).to.deep.equal([1]);

      expect(bad.code).to.equal(rdkafka.CODES.ERRORS.ERR__TRANSPORT);
      const reason =
        mechanism === 'PLAIN' ? 'Authentication failed: Invalid username or password' : `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
      expect(bad.failures.some((f) => f.includes(`SASL authentication error: ${reason}`)), bad.failures.join('\n')).to.equal(true);
    });
  }

  // node-rdkafka 3.6.1 hands the token to rd_kafka_oauthbearer_set_token with an empty principal
  // name, no extensions and a lifetime near the end of time; librdkafka accepts that (the
  // principal name only labels the token locally; the broker takes the principal from `sub`).
  it('SASL OAUTHBEARER: an unsigned JWT set before connect lets a producer and a consumer in; an expired one is refused', async () => {
    const now = nowSeconds();
    const token = unsignedJwt({ sub: KAFKA_TEST_USER, iat: now, exp: now + 3600 });
    const expired = unsignedJwt({ sub: KAFKA_TEST_USER, iat: now - 7200, exp: now - 3600 });
    const [ok, bad] = await Promise.all([produceOne(oauthbearer, token), refused(oauthbearer, expired)]);
    expect(ok.brokers).to.deep.equal([`1@${KAFKA_SASL_BROKERS}`]);
    expect(ok.offset).to.equal(0);

    // The consumer is a different native class with its own copy of the set-token code.
    const consumer = new rdkafka.KafkaConsumer({ ...oauthbearer, 'group.id': unique('security-group'), 'enable.auto.commit': false }, {});
    consumer.setOauthBearerToken(token);
    await connect(consumer, 30_000);
    let got: Message[] = [];
    try {
      consumer.assign([{ topic: ok.topic, partition: 0, offset: 0 }]);
      got = await waitFor('the record read back over OAUTHBEARER', async () => {
        const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(10, (err, m) => (err ? reject(err) : resolve(m))));
        return batch.length > 0 ? batch : undefined;
      });
    } finally {
      await disconnect(consumer);
    }
    expect(got.map((m) => [m.offset, m.value?.toString()])).to.deep.equal([[0, '{"secure":true}']]);

    expect(bad.code).to.equal(rdkafka.CODES.ERRORS.ERR__TRANSPORT);
    expect(bad.failures.some((f) => f.includes('SASL authentication error: {"status":"invalid_token"}')), bad.failures.join('\n')).to.equal(true);
  });

  it('SSL: trusted through the test CA; without it the broker certificate fails verification', async () => {
    const [ok, bad] = await Promise.all([produceOne(ssl({ 'ssl.ca.location': KAFKA_CA_FILE })), refused(ssl({ 'enable.ssl.certificate.verification': true }))]);
    expect(ok.brokers).to.deep.equal([`1@${KAFKA_SSL_BROKERS}`]);
    expect(ok.offset).to.equal(0);
    expect(await endOffsets(ok.topic, 1)).to.deep.equal([1]);

    expect(bad.code).to.equal(rdkafka.CODES.ERRORS.ERR__TRANSPORT);
    expect(bad.failures.some((f) => f.includes('SSL handshake failed') && f.includes('certificate verify failed')), bad.failures.join('\n')).to.equal(true);
  });
});
