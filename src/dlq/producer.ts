import rdkafka, { type MessageHeader, type Producer } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import { KafkaError } from '../errors.js';
import { securityProperties, type TokenSource } from '../kafka-auth.js';
import { failureClass, type RecordFailure } from '../protocol.js';

/** Headers Sluice adds to each dead-letter record, after the original record's own. */
export const DLQ_HEADERS = {
  topic: 'sluice.source.topic',
  partition: 'sluice.source.partition',
  offset: 'sluice.source.offset',
  errorClass: 'sluice.error.class',
  stage: 'sluice.error.stage',
  errorType: 'sluice.error.type',
  reason: 'sluice.error.reason',
  status: 'sluice.error.status',
  attempts: 'sluice.attempts',
  time: 'sluice.failed.at',
} as const;

/**
 * Writes records that cannot be indexed to the dead-letter topic, keeping the original key, value
 * and headers. `send` resolves only once Kafka acknowledged the write (acks=all, idempotent
 * producer); a failed delivery is produced again with backoff, never given up: until the ack the
 * record is not done and offsets do not move past it.
 */
export function createDeadLetterProducer(config: SluiceConfig, logger: Logger, tokens?: TokenSource) {
  const topic = config.errors.dlqTopic as string;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  const producer: Producer = new rdkafka.Producer({
    'client.id': 'sluice-dlq',
    'metadata.broker.list': config.kafka.brokers.join(','),
    'enable.idempotence': true,
    dr_cb: true,
    'linger.ms': 5,
    ...securityProperties(config.kafka),
    ...dlqPassthrough(config.kafka.rdkafka),
  });
  producer.on('delivery-report', (err, report) => {
    const id = report.opaque as number;
    const waiter = pending.get(id);
    if (!waiter) return;
    pending.delete(id);
    if (err) waiter.reject(new KafkaError(`dead-letter write failed: ${err.message}`, err.code));
    else waiter.resolve();
  });
  producer.on('event.error', (err) => logger.error({ code: err.code, message: err.message }, 'dead-letter producer error'));

  function produceOnce(record: KafkaRecord, headers: MessageHeader[]): Promise<void> {
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        const key = record.key === undefined || record.key === null ? null : Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key);
        producer.produce(topic, null, record.value, key, record.timestamp ?? Date.now(), id, headers);
      } catch (err) {
        pending.delete(id);
        reject(err as Error);
      }
    });
  }

  return {
    topic,

    async connect(): Promise<void> {
      tokens?.attach(producer);
      await new Promise<void>((resolve, reject) =>
        producer.connect({ timeout: 30_000 }, (err) => (err ? reject(new KafkaError(`dead-letter producer cannot connect: ${err.message}`, err.code)) : resolve())),
      );
      producer.setPollInterval(20);
    },

    async send(record: KafkaRecord, failure: RecordFailure): Promise<void> {
      const headers = [...(record.headers ?? []), ...dlqHeaders(record, failure)];
      for (let attempt = 0; ; attempt++) {
        try {
          await produceOnce(record, headers);
          return;
        } catch (err) {
          const delay = Math.min(30_000, 200 * 2 ** Math.min(attempt, 8));
          logger.error({ err: (err as Error).message, topic, source: `${record.topic}[${record.partition}]@${record.offset}`, retryInMs: delay }, 'dead-letter write failed; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    },

    async close(): Promise<void> {
      await new Promise<void>((resolve) => producer.flush(10_000, () => resolve()));
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
      tokens?.detach(producer);
    },
  };
}

export type DeadLetterProducer = ReturnType<typeof createDeadLetterProducer>;

export function dlqHeaders(record: KafkaRecord, failure: RecordFailure, now = new Date()): MessageHeader[] {
  const h: MessageHeader[] = [
    { [DLQ_HEADERS.topic]: record.topic },
    { [DLQ_HEADERS.partition]: String(record.partition) },
    { [DLQ_HEADERS.offset]: String(record.offset) },
    { [DLQ_HEADERS.errorClass]: failureClass(failure.stage) },
    { [DLQ_HEADERS.stage]: failure.stage },
    { [DLQ_HEADERS.reason]: failure.reason },
    { [DLQ_HEADERS.attempts]: String(failure.attempts ?? 1) },
    { [DLQ_HEADERS.time]: now.toISOString() },
  ];
  if (failure.errorType !== undefined) h.push({ [DLQ_HEADERS.errorType]: failure.errorType });
  if (failure.status !== undefined) h.push({ [DLQ_HEADERS.status]: String(failure.status) });
  return h;
}

/** Security and connection settings of the consumer apply to the producer too. */
function dlqPassthrough(rdkafkaConf: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(rdkafkaConf)) if (/^(security\.|sasl\.|ssl\.|socket\.|client\.rack)/.test(k)) out[k] = v;
  return out;
}
