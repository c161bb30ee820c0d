import rdkafka, { type Message } from 'node-rdkafka';
import { KAFKA_BROKERS, waitFor } from './env.js';

/** Reads `expected` records of a dead-letter topic from the start, with their headers as strings. */
export async function readDeadLetters(topic: string, expected: number): Promise<Array<{ key: string | null; value: string | null; headers: Record<string, string> }>> {
  const consumer = new rdkafka.KafkaConsumer(
    { 'metadata.broker.list': KAFKA_BROKERS, 'group.id': `dlq-reader-${Date.now()}`, 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  const seen: Message[] = [];
  try {
    consumer.subscribe([topic]);
    await waitFor(`${expected} dead-letter records`, async () => {
      const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
      seen.push(...batch);
      return seen.length >= expected || undefined;
    });
    // Anything beyond `expected` would be a wrong dead letter: give it a moment to show up.
    const extra = await new Promise<Message[]>((resolve, reject) => consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
    seen.push(...extra);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return seen.map((m) => ({
    key: m.key ? m.key.toString() : null,
    value: m.value ? m.value.toString() : null,
    headers: Object.fromEntries((m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)]))),
  }));
}
