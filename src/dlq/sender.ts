import type { MessageHeader } from 'node-rdkafka';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../common/backoff.js';
import { DeadLetterClosedError, KafkaError } from '../common/errors.js';
import { classifyDeliveryError, deliveryErrorHint } from './classify.js';

/** Header added to a dead letter whose value was cut to fit the topic: the original value's length in bytes. */
export const TRUNCATED_HEADER = 'sluice.value.truncated';

/** A Kafka broker's own default `message.max.bytes` (1048588), less room for the batch framing. */
const BROKER_DEFAULT_FIT = 1_000_000;
/** Room for the record's framing and length prefixes beyond its key, value and headers. */
const FRAMING_BYTES = 512;

export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeader[];
  timestamp: number;
}

export interface SenderOptions {
  topic: string;
  /** Writes one message; resolves on Kafka's acknowledgement, rejects with a `KafkaError` carrying librdkafka's code. */
  produce: (message: DeadLetterMessage) => Promise<void>;
  /** The producer's own `message.max.bytes`: larger records are cut before they are sent. */
  maxMessageBytes: number;
  backoffMs: number;
  maxBackoffMs: number;
  logger: Logger;
  /** The topic refuses writes for a reason only an operator can fix (called again if the reason changes). */
  onHalt: (reason: string) => void;
  /** A write went through after a halt. */
  onResume: () => void;
  random?: () => number;
}

/**
 * Sends dead letters until Kafka acknowledges them, and never silently:
 * - a record the topic refuses as too large is cut to fit, with `sluice.value.truncated`;
 * - a permanent refusal (missing topic, denied ACL, …) or a write that timed out halts: one send
 *   keeps retrying with backoff and jitter (the probe) while the others wait at the gate, and the
 *   first write that goes through lifts the halt and opens the gate;
 * - `close()` ends every wait and retry: pending sends reject with `DeadLetterClosedError`, so
 *   their records stay undone and their offsets uncommitted.
 */
export function createDeadLetterSender(options: SenderOptions) {
  const { topic, produce, logger } = options;
  const random = options.random ?? Math.random;
  /** Largest message the topic is known or assumed to take; lowered on each size refusal. */
  let fits = options.maxMessageBytes;
  let halted: string | undefined;
  let probing = false;
  let closed = false;
  /** Sends waiting for the halt to lift (opened by the probe's success); close() ends them. */
  const gate = new Set<(err?: Error) => void>();
  /** Aborted by close(): ends the sleeps between retries. */
  const closing = new AbortController();

  const closedError = (): DeadLetterClosedError => new DeadLetterClosedError(topic);

  /** Resolves when `set` is released; rejects when close() ends it. */
  function wait(set: Set<(err?: Error) => void>): Promise<void> {
    if (closed) return Promise.reject(closedError());
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        set.delete(done);
        if (err) reject(err);
        else resolve();
      };
      set.add(done);
    });
  }

  function release(set: Set<(err?: Error) => void>, err?: Error): void {
    for (const done of [...set]) done(err);
  }

  async function send(message: DeadLetterMessage, source: string): Promise<void> {
    const original = message.value;
    // A re-driven dead letter cut once already says how long the original was: a second cut keeps that.
    const cutBefore = message.headers.some((h) => TRUNCATED_HEADER in h);
    let value = original;
    let attempt = 0;
    let probe = false;
    for (;;) {
      if (closed) throw closedError();
      if (halted !== undefined && !probe) {
        // Someone else probes the halted topic; wait for the outcome (or for close()).
        if (!probing) probe = probing = true;
        else {
          await wait(gate);
          continue;
        }
      }
      const headers = value === original || cutBefore ? message.headers : [...message.headers, { [TRUNCATED_HEADER]: String(original?.length ?? 0) }];
      const size = messageBytes(message.key, value, headers);
      if (value !== null && value.length > 0 && size > fits) {
        value = cutToFit(value, value.length - (size - fits));
        continue;
      }
      try {
        await produce({ ...message, value, headers });
        if (probe) {
          probe = probing = false;
          halted = undefined;
          options.onResume();
          release(gate);
        }
        return;
      } catch (err) {
        if (closed) throw closedError();
        const code = err instanceof KafkaError ? err.rdkafkaCode : undefined;
        let cls = classifyDeliveryError(code);
        if (cls === 'too_large') {
          if (value !== null && value.length > 0) {
            // The broker's limit is unknown: assume its default first, then halve.
            fits = Math.min(fits, size > BROKER_DEFAULT_FIT ? BROKER_DEFAULT_FIT : Math.floor(size / 2));
            logger.warn({ topic, source, bytes: size, limit: fits }, 'dead-letter topic refuses the record as too large; cutting its value to fit');
            continue;
          }
          cls = 'permanent';
        }
        const reason = `dead-letter topic ${topic} ${deliveryErrorHint(code)} (${(err as Error).message})`;
        if (cls === 'permanent' || cls === 'timeout') {
          if (halted === undefined || probe) {
            probe = probing = true;
            if (reason !== halted) {
              halted = reason;
              options.onHalt(reason);
            }
          } else continue;
        }
        const delay = Math.round(backoffDelay(attempt++, options.backoffMs, options.maxBackoffMs, random));
        // While halted the pipeline reports the state; each attempt is detail.
        const fields = { topic, source, code, err: (err as Error).message, retryInMs: delay };
        if (cls === 'transient') logger.warn(fields, 'dead-letter write failed; retrying');
        else logger.debug(fields, 'dead-letter write failed; retrying');
        await sleep(delay, closing.signal);
      }
    }
  }

  return {
    send,
    /** Why the dead-letter topic refuses writes, while it does. */
    halted: (): string | undefined => halted,
    /** Ends every wait and retry; pending sends reject with `DeadLetterClosedError`. */
    close(): void {
      closed = true;
      release(gate, closedError());
      closing.abort(closedError());
    },
  };
}

export type DeadLetterSender = ReturnType<typeof createDeadLetterSender>;

/** Bytes the broker counts for a record: key, value, header names and values, and framing. */
export function messageBytes(key: Buffer | null, value: Buffer | null, headers: readonly MessageHeader[]): number {
  let n = FRAMING_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  for (const h of headers) {
    for (const [k, v] of Object.entries(h)) n += Buffer.byteLength(k) + (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v)));
  }
  return n;
}

/**
 * The first `maxBytes` bytes of `value` (none when `maxBytes` ≤ 0), stepping back so that a UTF-8
 * character is never split: a cut JSON or text value stays valid UTF-8.
 */
export function cutToFit(value: Buffer, maxBytes: number): Buffer {
  if (maxBytes >= value.length) return value;
  let end = Math.max(0, maxBytes);
  // A continuation byte (10xxxxxx) at the cut belongs to a character that starts before it.
  for (let back = 0; back < 3 && end > 0 && ((value[end] as number) & 0xc0) === 0x80; back++) end--;
  return value.subarray(0, end);
}
