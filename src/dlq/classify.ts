import { createRequire } from 'node:module';
import rdkafka from 'node-rdkafka';

const E = rdkafka.CODES.ERRORS;

/**
 * What a failed dead-letter write means, decided by librdkafka error code:
 * - `too_large`: the broker or topic (or the producer's own limit) refuses the record's size: cut
 *   the value to fit;
 * - `permanent`: only an operator can fix it (missing topic, denied ACL, failed authentication, a
 *   topic policy, a producer that librdkafka declared unusable): halt and keep retrying;
 * - `timeout`: librdkafka retried for `message.timeout.ms` without success: halt as well, since
 *   nothing the pipeline waits for will move until it goes through;
 * - `transient`: anything else (a full local queue, …): retry with backoff.
 */
export type DeliveryErrorClass = 'too_large' | 'permanent' | 'timeout' | 'transient';

const TOO_LARGE = new Set<number>([E.ERR_MSG_SIZE_TOO_LARGE, E.ERR_RECORD_LIST_TOO_LARGE]);
const PERMANENT = new Set<number>([
  E.ERR__UNKNOWN_TOPIC,
  E.ERR_UNKNOWN_TOPIC_OR_PART,
  E.ERR_UNKNOWN_TOPIC_ID,
  E.ERR_TOPIC_EXCEPTION,
  E.ERR_TOPIC_AUTHORIZATION_FAILED,
  E.ERR_CLUSTER_AUTHORIZATION_FAILED,
  E.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  E.ERR__AUTHENTICATION,
  E.ERR_SASL_AUTHENTICATION_FAILED,
  E.ERR_POLICY_VIOLATION,
  E.ERR_INVALID_RECORD,
  E.ERR__FATAL,
]);

export function classifyDeliveryError(code: number | undefined): DeliveryErrorClass {
  if (code === undefined) return 'transient';
  if (TOO_LARGE.has(code)) return 'too_large';
  if (PERMANENT.has(code)) return 'permanent';
  return code === E.ERR__MSG_TIMED_OUT ? 'timeout' : 'transient';
}

/** What an operator should do, for the halt reason. */
export function deliveryErrorHint(code: number | undefined): string {
  switch (code) {
    case E.ERR__UNKNOWN_TOPIC:
    case E.ERR_UNKNOWN_TOPIC_OR_PART:
    case E.ERR_UNKNOWN_TOPIC_ID:
      return 'does not exist (Sluice never creates it): create it';
    case E.ERR_TOPIC_AUTHORIZATION_FAILED:
    case E.ERR_CLUSTER_AUTHORIZATION_FAILED:
    case E.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return 'is not writable with these credentials: grant Write on the topic (and IdempotentWrite on the cluster for older brokers)';
    case E.ERR__AUTHENTICATION:
    case E.ERR_SASL_AUTHENTICATION_FAILED:
      return 'cannot be written: the brokers refuse the credentials';
    case E.ERR__FATAL:
      return 'cannot be written: the producer hit a fatal error; restart Sluice';
    case E.ERR__MSG_TIMED_OUT:
      return 'did not acknowledge a write within message.timeout.ms';
    case E.ERR_MSG_SIZE_TOO_LARGE:
    case E.ERR_RECORD_LIST_TOO_LARGE:
      return 'refuses the record even with its value cut to nothing: raise its max.message.bytes';
    default:
      return 'refuses writes';
  }
}

/**
 * node-rdkafka hands delivery reports an error built from librdkafka's message only (its numeric
 * code is lost on the way: `code` is -1): `origin` and `message` are the two halves of
 * `rd_kafka_err2str(code)`, lowercased. So the code is recovered exactly through librdkafka's own
 * table of those strings, built once from every code it knows (each string is distinct), rather
 * than by matching words in the text.
 */
const binding = createRequire(import.meta.url)('node-rdkafka/librdkafka.js') as { err2str(code: number): string };
const bySplitText = new Map<string, number>(Object.values(E).map((code) => [splitKey(binding.err2str(code)), code]));

/** librdkafka's own words for an error code (`Broker: Unknown topic or partition`). */
export function describeCode(code: number): string {
  return binding.err2str(code);
}

/** The way node-rdkafka's LibrdKafkaError splits `Origin: Message` into `origin` and `message`. */
function splitKey(text: string): string {
  const parts = text.split(': ');
  return parts.length > 1 ? `${(parts[0] as string).toLowerCase()}\0${(parts[1] as string).toLowerCase()}` : `unknown\0${text.toLowerCase()}`;
}

/** The librdkafka error code of an error from `produce()` (which keeps it) or a delivery report (which does not). */
export function rdkafkaCode(err: { code?: unknown; origin?: unknown; message?: unknown }): number | undefined {
  if (typeof err.code === 'number' && err.code !== E.ERR_UNKNOWN) return err.code;
  if (typeof err.origin === 'string' && typeof err.message === 'string') return bySplitText.get(`${err.origin}\0${err.message}`);
  return undefined;
}
