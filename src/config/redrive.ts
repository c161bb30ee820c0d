import { ConfigError, ConfigErrors } from '../common/errors.js';
import type { SluiceConfig } from './schema.js';

/** `redrive.groupId` when it is not set. */
export function defaultRedriveGroupId(groupId: string): string {
  return `${groupId}.redrive`;
}

/**
 * The configuration `sluice redrive` runs the pipeline with, derived from the run's own: it consumes
 * the dead-letter topic `errors.dlqTopic` in its own group (`redrive.groupId`), from the start when
 * that group has no offset yet, and writes records that fail again to `redrive.deadLetterTopic`:
 * every failure, whatever `errors.onMalformed` and `errors.onRejected` say, since a re-driven record
 * may only leave the dead-letter path by being indexed. Everything else (index, ids, transform,
 * pipeline limits, retries, the circuit breaker) is the run's, so that each record is indexed as
 * its original would have been now. Throws `ConfigErrors` naming each missing option.
 */
export function redriveConfig(config: SluiceConfig): SluiceConfig {
  const errors: ConfigError[] = [];
  const source = config.errors.dlqTopic;
  const target = config.redrive.deadLetterTopic;
  if (source === undefined) errors.push(new ConfigError('errors.dlqTopic', 'is required by sluice redrive: it is the dead-letter topic re-driven'));
  if (target === undefined) {
    errors.push(new ConfigError('redrive.deadLetterTopic', 'is required by sluice redrive: records that fail again go there (a topic other than errors.dlqTopic)'));
  }
  if (source === undefined || target === undefined) throw new ConfigErrors(errors);
  return {
    ...config,
    kafka: { ...config.kafka, topics: [source], groupId: config.redrive.groupId ?? defaultRedriveGroupId(config.kafka.groupId), startFrom: 'earliest' },
    errors: { ...config.errors, dlqTopic: target, onMalformed: 'dlq', onRejected: 'dlq' },
  };
}
