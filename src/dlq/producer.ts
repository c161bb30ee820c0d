import { isUtf8 } from 'node:buffer';
import rdkafka, { type LibrdKafkaError, type MessageHeader, type Producer } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import { DeadLetterClosedError, KafkaConnectError, KafkaError } from '../common/errors.js';
import type { TokenSource } from '../kafka/auth.js';
import { baseProperties, type RdkafkaProperties } from '../kafka/base-config.js';
import type { RecordOrigin } from '../common/batch-layout.js';
import { formatRecordAt, type TopicPartitionRef } from '../common/coordinates.js';
import { failureClass, type RecordFailure } from '../common/protocol.js';
import { classifyDeliveryError, describeCode, rdkafkaCode } from './classify.js';
import { createDeadLetterSender, TRUNCATED_HEADER, type DeadLetterMessage } from './sender.js';
import { nativeConsumeStatus, nativeConsumerProperties, type NativeConsume } from '../kafka/native-consume.js';

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
  truncated: TRUNCATED_HEADER,
  base64: 'sluice.headers.base64',
} as const;

/** Room for the original headers, the key and Sluice's headers on top of a value of `pipeline.maxDocBytes`. */
const HEADERS_HEADROOM_BYTES = 1024 * 1024;
/** librdkafka's largest `message.max.bytes`. */
const RDKAFKA_MESSAGE_MAX = 1_000_000_000;

/** What the pipeline hears from the dead-letter producer. */
export interface DeadLetterHooks {
  tokens?: TokenSource;
  /** The dead-letter topic refuses writes for a reason only an operator can fix. */
  onHalt: (reason: string) => void;
  /** It accepts writes again. */
  onResume: () => void;
}

/**
 * The producer's librdkafka properties. It takes a record as large as the consumer hands to the
 * pipeline (`pipeline.maxDocBytes` plus headers), within librdkafka's limit; a broker or topic
 * that takes less gets the value cut to fit. A failed write surfaces after 30 s rather than
 * librdkafka's 5 minutes. It never creates the topic: a misspelt `errors.dlqTopic` would
 * otherwise become a topic with the broker's defaults (retention included) that nobody reads.
 */
export function producerProperties(config: SluiceConfig): RdkafkaProperties {
  const own = {
    'enable.idempotence': true,
    dr_cb: true,
    'linger.ms': 5,
    'message.max.bytes': Math.min(RDKAFKA_MESSAGE_MAX, config.pipeline.maxDocBytes + HEADERS_HEADROOM_BYTES),
    'message.timeout.ms': 30_000,
    'allow.auto.create.topics': false,
  };
  return baseProperties(config.kafka, 'sluice-dlq', own, dlqPassthrough(config.kafka.rdkafka));
}

/**
 * Writes records that cannot be indexed to the dead-letter topic, keeping the original key, value
 * and headers. `send` resolves only once Kafka acknowledged the write (acks=all, idempotent
 * producer): until then the record is not done and offsets do not move past it. Failed writes
 * are retried, halting the pipeline through `hooks` while the topic refuses them (see
 * `createDeadLetterSender`); `close()` ends every retry.
 */
export function createDeadLetterProducer(config: SluiceConfig, logger: Logger, hooks: DeadLetterHooks, native: NativeConsume | undefined = nativeProduce()) {
  const topic = config.errors.dlqTopic as string;
  const { tokens } = hooks;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  const settle = (id: number, err: { code?: unknown; origin?: unknown; message: string } | null): void => {
    const waiter = pending.get(id);
    if (!waiter) return;
    pending.delete(id);
    if (err) waiter.reject(kafkaError(err));
    else waiter.resolve();
  };
  // With the native addon the producer is registered with it, which writes header values byte for byte.
  const nativeId = native ? `sluice-dlq-${process.pid}-${++producers}` : undefined;
  const properties: RdkafkaProperties = { ...producerProperties(config), ...(native ? nativeConsumerProperties(native.pluginPath, nativeId as string) : {}) };
  const producer: Producer = new rdkafka.Producer(properties);
  // The native path's messages come back without an opaque here: their outcomes go to `attach`'s function.
  producer.on('delivery-report', (err, report) => {
    if (typeof report.opaque === 'number') settle(report.opaque, err);
  });
  producer.on('event.error', (err) => logger.error({ code: err.code, message: err.message }, 'dead-letter producer error'));

  function produceOnce(message: DeadLetterMessage): Promise<void> {
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        if (native) {
          const names = message.headers.map((h) => Object.keys(h)[0] as string);
          const values = message.headers.map((h, i) => h[names[i] as string] as Buffer | string);
          native.addon.produce(nativeId as string, topic, message.value, message.key, message.timestamp, names, values, id);
        } else {
          producer.produce(topic, null, message.value, message.key, message.timestamp, id, textHeaders(message.headers));
        }
      } catch (err) {
        pending.delete(id);
        reject(kafkaError(err as LibrdKafkaError));
      }
    });
  }

  const sender = createDeadLetterSender({
    topic,
    produce: produceOnce,
    maxMessageBytes: properties['message.max.bytes'] as number,
    backoffMs: config.errors.backoffMs,
    maxBackoffMs: config.errors.maxBackoffMs,
    logger,
    onHalt: hooks.onHalt,
    onResume: hooks.onResume,
  });

  return {
    topic,

    async connect(): Promise<void> {
      tokens?.attach(producer);
      await new Promise<void>((resolve, reject) =>
        producer.connect({ timeout: 30_000 }, (err) => (err ? reject(new KafkaConnectError('dead-letter producer', config.kafka.brokers, err.message, err.code, { cause: err })) : resolve())),
      );
      if (native) native.addon.attach(nativeId as string, (id, code, message) => settle(id, code === 0 ? null : { code, message }));
      producer.setPollInterval(20);
    },

    send(record: KafkaRecord, failure: RecordFailure): Promise<void> {
      const key = record.key === undefined || record.key === null ? null : Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key);
      const headers = record.origin === undefined ? [...(record.headers ?? []), ...dlqHeaders(record, failure)] : redriveHeaders(record, record.origin, failure);
      return sender.send({ key, value: record.value, headers, timestamp: record.timestamp ?? Date.now() }, formatRecordAt(record));
    },

    /**
     * Ends every retry and wait: sends not acknowledged yet reject with `DeadLetterClosedError`
     * (their records are read again after restart). Writes already queued in librdkafka get a
     * short flush; they would only add a duplicate dead letter.
     */
    async close(): Promise<void> {
      sender.close();
      const closed = new DeadLetterClosedError(topic);
      for (const waiter of pending.values()) waiter.reject(closed);
      pending.clear();
      await new Promise<void>((resolve) => producer.disconnect(2_000, () => resolve()));
      tokens?.detach(producer);
    },
  };
}

/**
 * A librdkafka error as a `KafkaError` with its numeric code (recovered for delivery reports).
 * Retriable when the same write may go through later (a full queue, a timeout); not when only an
 * operator or a smaller record helps. The sender retries both, halting on the latter.
 */
function kafkaError(err: { code?: unknown; origin?: unknown; message: string }): KafkaError {
  const code = rdkafkaCode(err);
  const cls = classifyDeliveryError(code);
  return new KafkaError(code === undefined ? err.message : describeCode(code), code, { cause: err, retriable: cls === 'transient' || cls === 'timeout' });
}

export type DeadLetterProducer = ReturnType<typeof createDeadLetterProducer>;

/** Dead-letter producers made so far in this process: each registers with the addon under its own id. */
let producers = 0;

/** The addon when the process runs its native Kafka path (not with `SLUICE_NATIVE=0` or without a build). */
function nativeProduce(): NativeConsume | undefined {
  const status = nativeConsumeStatus();
  return status.path === 'native' ? status.native : undefined;
}

/**
 * The headers as node-rdkafka's `produce` can write them, for the path without the addon:
 * node-rdkafka writes each value's text (as UTF-8, up to its first NUL byte), so a value that is not
 * exactly such a text would be changed without a word. Such a value is written as its base64
 * instead, and `sluice.headers.base64` lists the positions (from 0, comma-separated) of the headers
 * written so; other headers are left as they are. Unchanged when there is none.
 */
export function textHeaders(headers: MessageHeader[]): MessageHeader[] {
  const encoded: number[] = [];
  const out = headers.map((h, i) => {
    const name = Object.keys(h)[0] as string;
    const value = h[name];
    if (!Buffer.isBuffer(value) || (!value.includes(0) && isUtf8(value))) return h;
    encoded.push(i);
    return { [name]: value.toString('base64') };
  });
  if (encoded.length === 0) return headers;
  out.push({ [DLQ_HEADERS.base64]: encoded.join(',') });
  return out;
}

/** What Sluice adds to a dead letter: where the record was read, then why it failed. */
export function dlqHeaders(record: TopicPartitionRef & { offset: number }, failure: RecordFailure, now = new Date()): MessageHeader[] {
  return [...sourceHeaders(record), ...errorHeaders(failure, now)];
}

/**
 * The headers a re-driven record loses when it fails again: its earlier dead letter's, but
 * `sluice.value.truncated` (its value is still the cut one) and `sluice.headers.base64` (its own
 * headers, which come first, are still the encoded ones).
 */
const KEPT_ON_REDRIVE: ReadonlySet<string> = new Set([DLQ_HEADERS.truncated, DLQ_HEADERS.base64]);
const REPLACED_ON_REDRIVE: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS).filter((name) => !KEPT_ON_REDRIVE.has(name)));
/** Those a re-driven record without a readable origin loses: its `sluice.source.*` stay as they were, so that it still says where it came from. */
const ERRORS_ON_REDRIVE: ReadonlySet<string> = new Set([...REPLACED_ON_REDRIVE].filter((name) => !name.startsWith('sluice.source.')));

/**
 * The headers of a re-driven record (`sluice redrive`) that failed again: the original record's own
 * headers as the dead letter kept them, `sluice.source.*` naming the original record (not the
 * dead-letter topic it was re-driven from), so that it can be re-driven again from where it lands,
 * and this failure's `sluice.error.*`, each name once. A record whose origin could not be read keeps
 * the `sluice.source.*` headers it came with.
 */
export function redriveHeaders(record: Pick<KafkaRecord, 'headers'>, origin: RecordOrigin, failure: RecordFailure, now = new Date()): MessageHeader[] {
  const dropped = 'problem' in origin ? ERRORS_ON_REDRIVE : REPLACED_ON_REDRIVE;
  const own = (record.headers ?? []).filter((h) => !Object.keys(h).some((name) => dropped.has(name)));
  return [...own, ...('problem' in origin ? [] : sourceHeaders(origin)), ...errorHeaders(failure, now)];
}

function sourceHeaders(source: TopicPartitionRef & { offset: number }): MessageHeader[] {
  return [{ [DLQ_HEADERS.topic]: source.topic }, { [DLQ_HEADERS.partition]: String(source.partition) }, { [DLQ_HEADERS.offset]: String(source.offset) }];
}

function errorHeaders(failure: RecordFailure, now: Date): MessageHeader[] {
  const h: MessageHeader[] = [
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
function dlqPassthrough(rdkafkaConf: RdkafkaProperties): RdkafkaProperties {
  const out: RdkafkaProperties = {};
  for (const [k, v] of Object.entries(rdkafkaConf)) if (/^(security\.|sasl\.|ssl\.|socket\.|client\.rack)/.test(k)) out[k] = v;
  return out;
}
