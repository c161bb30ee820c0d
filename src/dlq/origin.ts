import type { MessageHeader } from 'node-rdkafka';
import type { RecordOrigin } from '../common/batch-layout.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import { DLQ_HEADERS } from './producer.js';

/** A Kafka partition number is an int32; anything else in the header is not one Sluice wrote. */
const MAX_PARTITION = 2 ** 31 - 1;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * The original record a dead letter stands for (`sluice redrive`), from the `sluice.source.*`
 * headers the dead-letter producer wrote, or why it cannot be indexed as that record would have
 * been: a tombstone (there is no value to index), a value cut to fit the dead-letter topic (the
 * original bytes are gone), or headers missing or not as Sluice writes them. Sluice appends its
 * headers after the original record's own, so the last header of a name is the one it wrote.
 * Runs on the main thread once per record as it arrives; it never reads the value's bytes.
 */
export function readOrigin(record: Pick<KafkaRecord, 'value' | 'headers'>): RecordOrigin {
  if (record.value === null) return { problem: 'the dead letter is a tombstone (null value): there is no record to index' };
  let topic: string | undefined;
  let partition: string | undefined;
  let offset: string | undefined;
  let truncated: string | undefined;
  for (const header of record.headers ?? []) {
    for (const name in header) {
      switch (name) {
        case DLQ_HEADERS.topic:
          topic = text(header, name);
          break;
        case DLQ_HEADERS.partition:
          partition = text(header, name);
          break;
        case DLQ_HEADERS.offset:
          offset = text(header, name);
          break;
        case DLQ_HEADERS.truncated:
          truncated = text(header, name);
          break;
      }
    }
  }
  if (truncated !== undefined) {
    return { problem: `the dead letter's value was cut to fit the dead-letter topic (${DLQ_HEADERS.truncated}: ${truncated} bytes originally): the original record cannot be indexed from it` };
  }
  const missing: string[] = [];
  if (topic === undefined) missing.push(DLQ_HEADERS.topic);
  if (partition === undefined) missing.push(DLQ_HEADERS.partition);
  if (offset === undefined) missing.push(DLQ_HEADERS.offset);
  if (missing.length > 0) return { problem: `the dead letter has no ${missing.join(', ')} header: the original record is unknown` };
  if (topic === '') return { problem: `the dead letter's ${DLQ_HEADERS.topic} header is empty` };
  const p = number(partition as string, MAX_PARTITION);
  if (p === undefined) return { problem: `the dead letter's ${DLQ_HEADERS.partition} header is not a partition number (got ${JSON.stringify(partition)})` };
  const o = number(offset as string, Number.MAX_SAFE_INTEGER);
  if (o === undefined) return { problem: `the dead letter's ${DLQ_HEADERS.offset} header is not an offset (got ${JSON.stringify(offset)})` };
  return { topic: topic as string, partition: p, offset: o };
}

function text(header: MessageHeader, name: string): string {
  const v = header[name];
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** A decimal whole number from 0 to `max` as Sluice writes one, or undefined. */
function number(value: string, max: number): number | undefined {
  if (!DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}
