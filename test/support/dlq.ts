import rdkafka, { type KafkaConsumer, type Message } from 'node-rdkafka';
import { KAFKA_BROKERS, waitFor } from './env.js';

export interface DeadLetter {
  key: string | null;
  value: string | null;
  /** The last value of each header name, as text. */
  headers: Record<string, string>;
  /** Every header's name, in order (a name written twice shows twice). */
  headerNames: string[];
  /** Every header, in order, with its value's bytes. */
  rawHeaders: Array<[string, Buffer]>;
  timestamp: number | undefined;
}

/**
 * Reads a dead-letter topic from the start to its end, with the headers as strings. It returns
 * only once every partition was read up to a log end that stayed the same over `quietMs`, so a
 * letter written late (a duplicate, a wrong extra one) is in the result and the caller's exact
 * count sees it. `expected` is only what to wait for before looking for the end.
 */
export async function readDeadLetters(topic: string, expected: number, quietMs = 2_000): Promise<DeadLetter[]> {
  const consumer = new rdkafka.KafkaConsumer(
    { 'metadata.broker.list': KAFKA_BROKERS, 'group.id': `dlq-reader-${Date.now()}`, 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  const seen: Message[] = [];
  /** Next offset to read, per partition (the offset after the last record read). */
  const next = new Map<number, number>();
  const read = async (): Promise<void> => {
    const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
    for (const m of batch) next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
    seen.push(...batch);
  };
  try {
    consumer.subscribe([topic]);
    await waitFor(`${expected} dead-letter records`, async () => {
      await read();
      return seen.length >= expected || undefined;
    });
    const partitions = await partitionCount(consumer, topic);
    let ends = await logEnds(consumer, topic, partitions);
    let quietSince = Date.now();
    await waitFor(`the end of ${topic} read, with no record added for ${quietMs} ms`, async () => {
      if (ends.some((end, p) => (next.get(p) ?? end.low) < end.high)) {
        await read();
        return undefined;
      }
      const now = await logEnds(consumer, topic, partitions);
      if (now.some((end, p) => end.high !== ends[p]?.high)) {
        ends = now;
        quietSince = Date.now();
        return undefined;
      }
      return Date.now() - quietSince >= quietMs || undefined;
    }, 60_000, 100);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return seen.map((m) => ({
    key: m.key ? m.key.toString() : null,
    value: m.value ? m.value.toString() : null,
    headers: Object.fromEntries((m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)]))),
    headerNames: (m.headers ?? []).flatMap((h) => Object.keys(h)),
    rawHeaders: (m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]): [string, Buffer] => [k, Buffer.isBuffer(v) ? v : Buffer.from(String(v))])),
    timestamp: m.timestamp,
  }));
}

interface LogEnd {
  low: number;
  high: number;
}

async function partitionCount(consumer: KafkaConsumer, topic: string): Promise<number> {
  const metadata = await new Promise<rdkafka.Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))));
  return metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
}

async function logEnds(consumer: KafkaConsumer, topic: string, partitions: number): Promise<LogEnd[]> {
  const out: LogEnd[] = [];
  for (let p = 0; p < partitions; p++) {
    const w = await new Promise<{ lowOffset: number; highOffset: number }>((resolve, reject) => consumer.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(err) : resolve(o))));
    out.push({ low: w.lowOffset, high: w.highOffset });
  }
  return out;
}
