import rdkafka, { type LibrdKafkaError, type MessageHeader } from 'node-rdkafka';

/** Kafka chores shared by the demo, the benchmarks and the test suites. */

export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'sluice-tools' });
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
  headers?: MessageHeader[];
}

/**
 * Produces every record (batched, lz4 unless told otherwise) and resolves once the broker
 * acknowledged all of them. `onAck` reports progress.
 */
export async function produce(
  brokers: string,
  topic: string,
  records: Iterable<OutRecord>,
  onAck?: (acked: number) => void,
  compression: 'lz4' | 'none' = 'lz4',
): Promise<number> {
  const producer = new rdkafka.HighLevelProducer({
    'metadata.broker.list': brokers,
    'linger.ms': 20,
    'batch.num.messages': 10_000,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 1_048_576,
    'compression.codec': compression,
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(50);
  let sent = 0;
  let acked = 0;
  try {
    const acks: Array<Promise<void>> = [];
    for (const r of records) {
      const value = r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      const key = r.key === undefined || r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key);
      acks.push(
        new Promise<void>((resolve, reject) =>
          producer.produce(topic, r.partition, value, key, r.timestamp ?? Date.now(), r.headers ?? [], (err: unknown) => {
            if (err) return reject(err);
            acked++;
            if (onAck && acked % 10_000 === 0) onAck(acked);
            resolve();
          }),
        ),
      );
      sent++;
      if (acks.length >= 50_000) await Promise.all(acks.splice(0));
    }
    await Promise.all(acks);
    onAck?.(acked);
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  return sent;
}

/** Log-end offset of each partition. */
export async function endOffsets(brokers: string, topic: string, partitions: number): Promise<number[]> {
  const consumer = new rdkafka.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': 'sluice-tools-probe' }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  try {
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) {
      out.push(await new Promise<number>((resolve, reject) => consumer.queryWatermarkOffsets(topic, p, 10_000, (err, w) => (err ? reject(err) : resolve(w.highOffset)))));
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
