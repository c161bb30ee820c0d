/** What a transform receives for each record. */
export interface TransformRecord {
  /** The decoded value: the JSON or msgpack object, or `{ message }` for text input. */
  value: Record<string, unknown>;
  /** The record key as a UTF-8 string, or null. */
  key: string | null;
  topic: string;
  partition: number;
  offset: number;
  /** Kafka timestamp, epoch milliseconds. */
  timestamp: number;
}

export type Document = Record<string, unknown>;

/** Returns the document(s) to index, or null to drop the record (counted as skipped). */
export type Transform = (record: TransformRecord) => Document | Document[] | null | undefined;
