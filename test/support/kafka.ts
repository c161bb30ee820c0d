import rdkafka, { type LibrdKafkaError } from 'node-rdkafka';
import { KAFKA_BROKERS } from './env.js';

export async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': KAFKA_BROKERS, 'client.id': 'sluice-test-admin' });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 30_000, (err: LibrdKafkaError | undefined) => (err ? reject(err) : resolve())),
    );
  } finally {
    admin.disconnect();
  }
}

export interface OutRecord {
  partition: number;
  value: Buffer | string | null;
  key?: Buffer | string | null;
  timestamp?: number;
}

/** Produces every record and resolves once the broker acknowledged all of them. */
export async function produce(topic: string, records: Iterable<OutRecord>): Promise<number> {
  const producer = new rdkafka.HighLevelProducer({
    'metadata.broker.list': KAFKA_BROKERS,
    'linger.ms': 20,
    'batch.num.messages': 10_000,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 1_048_576,
    'compression.codec': 'lz4',
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(50);
  let sent = 0;
  try {
    const acks: Array<Promise<void>> = [];
    for (const r of records) {
      const value = r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      const key = r.key === undefined || r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key);
      acks.push(
        new Promise<void>((resolve, reject) =>
          producer.produce(topic, r.partition, value, key, r.timestamp ?? Date.now(), (err: unknown) => (err ? reject(err) : resolve())),
        ),
      );
      sent++;
      if (acks.length >= 50_000) await Promise.all(acks.splice(0));
    }
    await Promise.all(acks);
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  return sent;
}

/** Log-end offset of each partition. */
export async function endOffsets(topic: string, partitions: number): Promise<number[]> {
  const consumer = new rdkafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BROKERS, 'group.id': 'sluice-test-probe' }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  try {
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) {
      out.push(
        await new Promise<number>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, p, 10_000, (err, w) => (err ? reject(err) : resolve(w.highOffset))),
        ),
      );
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Committed offset of each partition for a group (-1001 when none). */
export async function committedOffsets(groupId: string, topic: string, partitions: number): Promise<number[]> {
  const consumer = new rdkafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BROKERS, 'group.id': groupId, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  try {
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    const committed = await new Promise<Array<{ partition: number; offset?: number }>>((resolve, reject) =>
      consumer.committed(tps, 10_000, (err, res) => (err ? reject(err) : resolve(res))),
    );
    return tps.map((tp) => committed.find((c) => c.partition === tp.partition)?.offset ?? -1001);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
