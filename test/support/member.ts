import rdkafka, { type ConsumerGlobalConfig, type KafkaConsumer, type TopicPartition } from 'node-rdkafka';
import { KAFKA_BROKERS, waitFor } from './env.js';

/**
 * A second member of a consumer group that takes partitions and does nothing with them: it never
 * fetches (its partitions stay paused) and never commits. Joining makes the group move some
 * partitions to it (cooperative-sticky, like Sluice, or the broker's assignor under the `consumer`
 * protocol: give the group's protocol); leaving gives them back. Tests use it to revoke and
 * re-assign a Sluice member's partitions at a moment they choose.
 */
export interface IdleMember {
  /** Partitions currently assigned to it. */
  assigned(): TopicPartition[];
  leave(): Promise<void>;
}

export async function joinIdleMember(groupId: string, topic: string, groupProtocol: 'classic' | 'consumer' = 'classic'): Promise<IdleMember> {
  let assignment: TopicPartition[] = [];
  // The consumer protocol refuses the client-side assignor and session settings: the broker owns them.
  const protocol: ConsumerGlobalConfig =
    groupProtocol === 'consumer'
      ? { 'group.protocol': 'consumer' }
      : { 'partition.assignment.strategy': 'cooperative-sticky', 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 1_000 };
  const consumer: KafkaConsumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': KAFKA_BROKERS,
      'group.id': groupId,
      ...protocol,
      'enable.auto.commit': false,
      rebalance_cb(this: KafkaConsumer, err: { code: number }, tps: TopicPartition[]) {
        if (err.code === rdkafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
          this.incrementalAssign(tps);
          this.pause(tps);
          assignment = [...assignment, ...tps];
        } else {
          this.incrementalUnassign(tps);
          assignment = assignment.filter((a) => !tps.some((t) => t.topic === a.topic && t.partition === a.partition));
        }
      },
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  // Polling serves the rebalance callbacks; the partitions are paused, so nothing is fetched.
  let polling = true;
  const poll = (): void => {
    if (!polling) return;
    consumer.consume(100, () => setTimeout(poll, 50));
  };
  poll();
  await waitFor('the idle member gets partitions', () => assignment.length > 0 || undefined, 60_000);
  return {
    assigned: () => assignment,
    async leave() {
      polling = false;
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    },
  };
}
