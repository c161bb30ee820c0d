import type { SluiceConfig } from '../config/schema.js';
import { securityProperties } from './auth.js';

type KafkaSettings = SluiceConfig['kafka'];

/** librdkafka global properties, as node-rdkafka takes them. */
export type RdkafkaProperties = Record<string, string | number | boolean>;

/**
 * The librdkafka properties every Sluice client (the consumer, the dead-letter producer, `sluice
 * check`) starts from: its `client.id`, the brokers, the client's `own` settings, the
 * `kafka.tls`/`kafka.sasl` security properties, then the user's `kafka.rdkafka` overrides, last so
 * a raw librdkafka property always wins. A client that must not take every override passes the
 * ones it takes as `overrides`.
 */
export function baseProperties(kafka: KafkaSettings, clientId: string, own: RdkafkaProperties, overrides: RdkafkaProperties = kafka.rdkafka): RdkafkaProperties {
  return {
    'client.id': clientId,
    'metadata.broker.list': kafka.brokers.join(','),
    ...own,
    ...securityProperties(kafka),
    ...overrides,
  };
}
