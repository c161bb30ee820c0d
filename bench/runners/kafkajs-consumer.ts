import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { send, type RunnerSpec } from './protocol.js';

/**
 * A KafkaJS consumer as a user would set one up: defaults everywhere, reading the topic from the
 * beginning under the runner's own group. Announces `ready` once it has joined, and disconnects on
 * SIGTERM (KafkaJS then finishes the batch in hand and commits what was resolved).
 */
export async function connectKafkajs(spec: RunnerSpec): Promise<{ consumer: Consumer; stopped: Promise<void> }> {
  const kafka = new Kafka({ clientId: 'bench', brokers: [spec.brokers], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: spec.groupId });
  consumer.on(consumer.events.GROUP_JOIN, () => send({ type: 'ready' }));
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGTERM', stop);
  return { consumer, stopped };
}
