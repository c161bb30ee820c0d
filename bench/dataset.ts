import rdkafka from 'node-rdkafka';
import { createApmGenerator } from './apm-data.js';
import { createTopic, produce, type OutRecord } from './kafka-tools.js';

export interface DataSet {
  topic: string;
  docs: number;
  partitions: number;
  /** Total size of the record values, for MB/s. */
  valueBytes: number;
  produceSeconds: number;
}

/**
 * The backlog every runner of a run drains: `docs` APM log records spread round-robin over
 * `partitions`, produced once. Uncompressed, because KafkaJS ships no lz4 codec and compression
 * would charge the runners unequal decompression costs.
 */
export async function produceDataSet(brokers: string, topic: string, docs: number, partitions: number, seed: number, onAck: (acked: number) => void): Promise<DataSet> {
  await createTopic(brokers, topic, partitions);
  const next = createApmGenerator(seed);
  let valueBytes = 0;
  const records = (function* (): Generator<OutRecord> {
    for (let i = 0; i < docs; i++) {
      const value = Buffer.from(JSON.stringify(next()));
      valueBytes += value.length;
      yield { partition: i % partitions, key: `k${i}`, value };
    }
  })();
  const t0 = performance.now();
  await produce(brokers, topic, records, onAck, 'none');
  return { topic, docs, partitions, valueBytes, produceSeconds: (performance.now() - t0) / 1000 };
}

/**
 * The latency probe: `rate` records per second for `seconds`, each stamped with the moment it is
 * produced — in its `timestamp` field (which the apm-log transform turns into `@timestamp`) and as
 * its Kafka timestamp. Resolves once the broker acknowledged all of them.
 */
export async function produceSteadily(brokers: string, topic: string, partitions: number, rate: number, seconds: number, seed: number): Promise<number> {
  const producer = new rdkafka.HighLevelProducer({ 'metadata.broker.list': brokers, 'linger.ms': 5, 'compression.codec': 'none' });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(20);
  const next = createApmGenerator(seed);
  const total = rate * seconds;
  const acks: Array<Promise<void>> = [];
  const t0 = Date.now();
  try {
    while (acks.length < total) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) * rate) / 1000));
      while (acks.length < due) {
        const now = Date.now();
        const value = Buffer.from(JSON.stringify({ ...next(), timestamp: new Date(now).toISOString() }));
        const partition = acks.length % partitions;
        acks.push(new Promise<void>((resolve, reject) => producer.produce(topic, partition, value, null, now, (err: unknown) => (err ? reject(err) : resolve()))));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(acks);
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  return total;
}

/** Removes the bench's topics once the run is over; they hold the whole data set on disk. */
export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'sluice-bench' });
  try {
    for (const topic of topics) await new Promise<void>((resolve) => admin.deleteTopic(topic, 30_000, () => resolve()));
  } finally {
    admin.disconnect();
  }
}
