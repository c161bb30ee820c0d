import rdkafka, { type Message } from 'node-rdkafka';
import type { RunnerSpec } from './protocol.js';

/**
 * Reads the runner's topic from the beginning with node-rdkafka in `consume(n)` batch mode — the
 * fastest way librdkafka hands records to JavaScript — until `spec.expected` records were seen.
 * No offsets are stored or committed: readers are measurements, not consumers of record.
 */
export async function readTopic(spec: RunnerSpec, onBatch: (messages: Message[]) => void): Promise<void> {
  const consumer = new rdkafka.KafkaConsumer(
    { 'metadata.broker.list': spec.brokers, 'group.id': spec.groupId, 'enable.auto.commit': false, 'enable.auto.offset.store': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([spec.topic]);
  consumer.setDefaultConsumeTimeout(20);
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const loop = (): void =>
      consumer.consume(10_000, (err, messages) => {
        if (err) return reject(err);
        if (messages.length > 0) {
          seen += messages.length;
          onBatch(messages);
        }
        if (seen >= spec.expected) resolve();
        else setImmediate(loop);
      });
    loop();
  });
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
}
