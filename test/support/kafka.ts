import rdkafka from 'node-rdkafka';
import * as tools from '../../bench/kafka-tools.js';
import { KAFKA_BROKERS } from './env.js';

export type { OutRecord } from '../../bench/kafka-tools.js';

export const createTopic = (topic: string, partitions: number): Promise<void> => tools.createTopic(KAFKA_BROKERS, topic, partitions);
export const produce = (topic: string, records: Iterable<tools.OutRecord>): Promise<number> => tools.produce(KAFKA_BROKERS, topic, records);
export const endOffsets = (topic: string, partitions: number): Promise<number[]> => tools.endOffsets(KAFKA_BROKERS, topic, partitions);

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
