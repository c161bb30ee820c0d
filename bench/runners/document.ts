import { createApmLogTransform } from '../../src/common/transform/apm-log.js';
import type { Document } from '../../src/common/transform/types.js';

const apmLog = createApmLogTransform();

/**
 * The document Sluice indexes for a record of the bench topic: the same `apm-log` transform, so every
 * runner writes identical documents. Bench records are valid APM logs, so no error path is needed.
 */
export function apmDocument(value: Buffer, key: string | null, topic: string, partition: number, offset: number, timestamp: number): Document {
  return apmLog({ value: JSON.parse(value.toString('utf8')) as Record<string, unknown>, key, topic, partition, offset, timestamp }) as Document;
}

/** The document Sluice indexes with `transform: none`: the record value, parsed, as it is. */
export function valueDocument(value: Buffer): Document {
  return JSON.parse(value.toString('utf8')) as Document;
}

/** Sluice's default id strategy: the record's coordinates, so replays overwrite. */
export function kafkaId(topic: string, partition: number, offset: number | string): string {
  return `${topic}-${partition}-${offset}`;
}
