/** What a transform receives for each record. */
export interface TransformRecord {
  /** The decoded value: the JSON or msgpack object, or `{ message }` for text input. */
  value: Record<string, unknown>;
  /** The record key, or null: as it is when valid UTF-8 not starting with `b64:`, else `b64:` + unpadded base64url of its bytes. */
  key: string | null;
  topic: string;
  partition: number;
  offset: number;
  /** Kafka timestamp, epoch milliseconds. */
  timestamp: number;
}

export type Document = Record<string, unknown>;

/** The document(s) to index, or null to drop the record (counted as skipped). */
export type TransformResult = Document | Document[] | null | undefined;

/** A transform may be async: a returned promise is awaited, and its rejection fails the record. */
export type Transform = (record: TransformRecord) => TransformResult | PromiseLike<TransformResult>;
