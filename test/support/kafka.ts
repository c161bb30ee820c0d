import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import rdkafka from 'node-rdkafka';
import * as tools from '../../bench/kafka-tools.js';
import { KAFKA_BROKERS } from './env.js';

export type { OutRecord } from '../../bench/kafka-tools.js';

/** A record as produced by `produceExact`. */
export interface ExactRecord {
  partition: number;
  value: Buffer | null;
  key: Buffer | null;
  headers?: Record<string, Buffer | string | null | Array<Buffer | string>>;
  timestamp: number;
}

/**
 * Produces with KafkaJS, in one send (one request per partition, in order, so offsets are the order
 * of production): it writes what node-rdkafka's producer cannot, null and binary header values.
 */
export async function produceExact(topic: string, records: ExactRecord[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'sluice-test', brokers: [KAFKA_BROKERS], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({
        partition: r.partition,
        value: r.value,
        key: r.key,
        timestamp: String(r.timestamp),
        ...(r.headers ? { headers: r.headers as Record<string, Buffer | string> } : {}),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

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

/** Commits `offset` for each listed partition of the group (the group must have no active member). */
export async function commitOffsets(groupId: string, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<void> {
  const consumer = new rdkafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BROKERS, 'group.id': groupId, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  try {
    consumer.commitSync(offsets.map((o) => ({ topic, ...o })));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/**
 * Produces each transaction with a transactional producer and commits or aborts it: every
 * transaction leaves a control record (marker) after its records in each partition it wrote to.
 */
export async function produceTransactions(topic: string, transactions: Array<{ records: tools.OutRecord[]; commit: boolean }>): Promise<void> {
  const producer = new rdkafka.Producer({ 'metadata.broker.list': KAFKA_BROKERS, 'transactional.id': `sluice-test-${topic}`, dr_cb: true });
  const done = (resolve: () => void, reject: (e: unknown) => void) => (err: unknown) => (err ? reject(err) : resolve());
  await new Promise<void>((resolve, reject) => producer.connect({}, done(resolve, reject)));
  producer.setPollInterval(20);
  try {
    await new Promise<void>((resolve, reject) => producer.initTransactions(30_000, done(resolve, reject)));
    for (const txn of transactions) {
      await new Promise<void>((resolve, reject) => producer.beginTransaction(done(resolve, reject)));
      for (const r of txn.records) producer.produce(topic, r.partition, r.value === null ? null : Buffer.from(r.value), r.key === undefined || r.key === null ? null : Buffer.from(r.key));
      if (txn.commit) {
        await new Promise<void>((resolve, reject) => producer.commitTransaction(30_000, done(resolve, reject)));
      } else {
        // Written first, so the aborted records are in the log (and must be skipped by readers).
        await new Promise<void>((resolve, reject) => producer.flush(30_000, done(resolve, reject)));
        await new Promise<void>((resolve, reject) => producer.abortTransaction(30_000, done(resolve, reject)));
      }
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

/**
 * Deletes the partition's records below `offset`, as retention would (Admin deleteRecords, run by
 * test/services/kafka/KafkaDeleteRecords.java against the jars the local broker runs from).
 * Returns the new log start offset.
 */
export function deleteRecordsBefore(topic: string, partition: number, offset: number): number {
  const dir = fileURLToPath(new URL('../../../test/services/kafka/', import.meta.url));
  const out = execFileSync('java', ['-Xmx128m', '-cp', `${dir}target/lib/*`, `${dir}KafkaDeleteRecords.java`, KAFKA_BROKERS, topic, String(partition), String(offset)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return Number(out.trim());
}

/**
 * Produces one record (value "headers", null key) with the given headers, in order
 * (test/services/kafka/KafkaProduceHeaders.java): a null value is a header neither KafkaJS nor
 * node-rdkafka's producer can write. Names must not hold '='. Returns the record's offset.
 */
export function produceWithHeaders(topic: string, partition: number, headers: Array<[name: string, value: string | null]>): number {
  const dir = fileURLToPath(new URL('../../../test/services/kafka/', import.meta.url));
  const args = headers.map(([name, value]) => (value === null ? name : `${name}=${value}`));
  const out = execFileSync('java', ['-Xmx128m', '-cp', `${dir}target/lib/*`, `${dir}KafkaProduceHeaders.java`, KAFKA_BROKERS, topic, String(partition), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return Number(out.trim());
}

/** A consumer group as the broker sees it: the protocol it runs under and each member's partitions. */
export interface GroupDescription {
  type: string;
  state: string;
  members: string[][];
}

/**
 * Describes the group with the Admin API (test/services/kafka/KafkaDescribeGroup.java); asynchronous,
 * since the JVM takes seconds and members in this process must keep polling meanwhile.
 */
export async function describeGroup(groupId: string): Promise<GroupDescription> {
  const dir = fileURLToPath(new URL('../../../test/services/kafka/', import.meta.url));
  const { stdout } = await promisify(execFile)('java', ['-Xmx128m', '-cp', `${dir}target/lib/*`, `${dir}KafkaDescribeGroup.java`, KAFKA_BROKERS, groupId], { encoding: 'utf8' });
  return JSON.parse(stdout) as GroupDescription;
}
