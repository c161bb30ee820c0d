import { expect } from 'chai';
import rdkafka, { type Producer } from 'node-rdkafka';
import { KAFKA_BROKERS, unique, waitFor } from '../support/env.js';
import { createTopic } from '../support/kafka.js';
import { readDeadLetters } from '../support/dlq.js';
import { loadNativeConsumer, nativeConsumerProperties, type NativeConsumerAddon } from '../../src/kafka/native-consume.js';

// The addon's produce path against the local broker: a node-rdkafka producer created with the
// plugin properties, messages written through produce() and their outcomes through attach().

const loaded = loadNativeConsumer();
const native = (): { addon: NativeConsumerAddon; pluginPath: string } => {
  if ('reason' in loaded) throw new Error(`the native Kafka addon is not available: ${loaded.reason}`);
  return loaded;
};
const { ERRORS } = rdkafka.CODES;

interface Outcome {
  token: number;
  code: number;
  message: string;
}

async function connectedProducer(id: string, extra: Record<string, string | number | boolean> = {}): Promise<Producer> {
  const producer = new rdkafka.Producer({
    'metadata.broker.list': KAFKA_BROKERS,
    'enable.idempotence': true,
    dr_cb: true,
    'allow.auto.create.topics': false,
    ...extra,
    ...nativeConsumerProperties(native().pluginPath, id),
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(20);
  return producer;
}

const disconnect = (producer: Producer): Promise<void> => new Promise((resolve) => producer.disconnect(5_000, () => resolve()));

describe('native produce (librdkafka plugin in node-rdkafka’s producer)', function () {
  this.timeout(120_000);

  it('writes values, keys, timestamps and header bytes exactly; each outcome comes once, with its token', async () => {
    const topic = unique('np-exact');
    await createTopic(topic, 1);
    const id = unique('np');
    const producer = await connectedProducer(id);
    const outcomes: Outcome[] = [];
    const reports: unknown[] = [];
    producer.on('delivery-report', (_err, report) => reports.push(report.opaque));
    try {
      native().addon.attach(id, (token, code, message) => outcomes.push({ token, code, message }));
      const at = Date.UTC(2026, 11, 3);
      native().addon.produce(id, topic, Buffer.from('{"a":1}'), Buffer.from([0, 0xff]), at, ['bin', 'text', 'bin'], [Buffer.from([0xff, 0, 1]), 'ü', Buffer.alloc(0)], 7);
      native().addon.produce(id, topic, null, null, at + 1, [], [], 8);
      await waitFor('both outcomes', () => outcomes.length >= 2 || undefined);
      await new Promise((resolve) => setTimeout(resolve, 500)); // a second outcome for a token would come meanwhile
      expect(outcomes.sort((a, b) => a.token - b.token)).to.deep.equal([
        { token: 7, code: 0, message: '' },
        { token: 8, code: 0, message: '' },
      ]);
      expect(reports, 'node-rdkafka reports them without an opaque').to.deep.equal([undefined, undefined]);
    } finally {
      await disconnect(producer);
    }
    const [first, second] = await readDeadLetters(topic, 2);
    expect(first?.rawHeaders.map(([n, v]) => [n, v.toString('hex')])).to.deep.equal([
      ['bin', 'ff0001'],
      ['text', Buffer.from('ü').toString('hex')],
      ['bin', ''],
    ]);
    expect([first?.value, first?.timestamp, second?.value, second?.key, second?.timestamp]).to.deep.equal(['{"a":1}', Date.UTC(2026, 11, 3), null, null, Date.UTC(2026, 11, 3) + 1]);
  });

  it('a message librdkafka refuses at once throws its code and has no outcome; one it cannot deliver comes back with its error', async () => {
    const id = unique('np');
    // librdkafka gives up on a topic it has not seen after topic.metadata.propagation.max.ms.
    const producer = await connectedProducer(id, { 'message.max.bytes': 10_000, 'topic.metadata.propagation.max.ms': 2_000 });
    const outcomes: Outcome[] = [];
    try {
      native().addon.attach(id, (token, code, message) => outcomes.push({ token, code, message }));
      let thrown: (Error & { code?: number }) | undefined;
      try {
        native().addon.produce(id, unique('np-any'), Buffer.alloc(20_000), null, 0, [], [], 1);
      } catch (err) {
        thrown = err as Error & { code?: number };
      }
      expect(thrown?.code).to.equal(ERRORS.ERR_MSG_SIZE_TOO_LARGE);
      expect(thrown?.message).to.match(/^produce: .*too large/i);
      // A topic that does not exist (and is never created): the message fails for good.
      native().addon.produce(id, unique('np-missing'), Buffer.from('{}'), null, 0, [], [], 2);
      await waitFor('the missing topic’s outcome', () => outcomes.length >= 1 || undefined, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(outcomes).to.have.length(1);
      expect(outcomes[0]?.token).to.equal(2);
      expect(outcomes[0]).to.deep.equal({ token: 2, code: ERRORS.ERR_UNKNOWN_TOPIC_OR_PART, message: 'Broker: Unknown topic or partition' });
    } finally {
      await disconnect(producer);
    }
  });

  it('refuses produce before attach, a second attach, an unknown id, a consumer, and bad arguments', async () => {
    const id = unique('np');
    const producer = await connectedProducer(id);
    const consumerId = unique('nc');
    const consumer = new rdkafka.KafkaConsumer(
      { 'metadata.broker.list': KAFKA_BROKERS, 'group.id': unique('g'), ...nativeConsumerProperties(native().pluginPath, consumerId) },
      {},
    );
    await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
    try {
      const { addon } = native();
      expect(() => addon.produce(id, 't', null, null, 0, [], [], 1)).to.throw(/no producer with a delivery function is registered as/);
      expect(() => addon.attach(unique('nobody'), () => undefined)).to.throw(/no producer is registered as/);
      expect(() => addon.attach(consumerId, () => undefined)).to.throw(/no producer is registered as/);
      addon.attach(id, () => undefined);
      expect(() => addon.attach(id, () => undefined)).to.throw(/already has its delivery function/);
      const call = addon.produce as unknown as (...args: unknown[]) => void;
      expect(() => call(id, 't', 5, null, 0, [], [], 1)).to.throw(TypeError, /value must be/);
      expect(() => call(id, 't', null, null, -1, [], [], 1)).to.throw(RangeError, /timestamp/);
      expect(() => call(id, 't', null, null, 0, ['a'], [], 1)).to.throw(RangeError, /as long as each other/);
      expect(() => call(id, 't', null, null, 0, ['a'], [null], 1)).to.throw(TypeError, /header 0/);
    } finally {
      await disconnect(producer);
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
    // Destroyed: the id is free again, and produce is refused.
    expect(() => native().addon.produce(id, 't', null, null, 0, [], [], 1)).to.throw(/no producer/);
  });

  it('disconnecting with a message not yet acknowledged neither crashes nor hangs', async () => {
    const id = unique('np');
    const producer = await connectedProducer(id, { 'linger.ms': 1_000 });
    native().addon.attach(id, () => undefined);
    native().addon.produce(id, unique('np-missing'), Buffer.from('{}'), null, 0, [], [], 1);
    await disconnect(producer);
  });
});
