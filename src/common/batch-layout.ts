/**
 * How a batch crosses the thread boundary: three buffers, never message objects. The main thread
 * writes it (`packBatch` on the JS consume path; the native consumer writes `data` itself and
 * `dispatch/batch.ts` the index), a worker reads it (`BatchReader`).
 *
 *   data     ArrayBuffer   value₀ key₀ value₁ key₁ …            (raw bytes, back to back;
 *                          or the native consumer's SharedArrayBuffer chunk, other bytes between)
 *   index    Uint32Array   [valueStart, valueEnd, keyStart, keyEnd] per record, into `data`;
 *                          a start of NULL_REF marks a null value (tombstone) or a null key
 *   coords   Float64Array  [offset, timestampMs] per record
 *   slices                 records [start, end) belong to one topic-partition, in offset order
 *   origins  (optional)    only in a batch of re-driven dead letters (`sluice redrive`): each
 *                          record's original coordinates, see `OriginTable`
 */

export const NULL_REF = 0xffff_ffff;
export const INDEX_STRIDE = 4;
export const COORD_STRIDE = 2;

export interface Slice {
  topic: string;
  partition: number;
  /** First record of the slice (index into the batch). */
  start: number;
  /** One past the last record. */
  end: number;
}

/**
 * Where a re-driven dead letter came from: the topic, partition and offset of the original record,
 * read from its `sluice.source.*` headers on the main thread; or why it cannot be indexed as the
 * original would have been.
 */
export type RecordOrigin = { topic: string; partition: number; offset: number } | { problem: string };

export const ORIGIN_STRIDE = 3;

/**
 * The origins of a batch's records, per record `[topicIndex, partition, offset]` in `coords`
 * (`topicIndex` into `topics`, or -1 for a record that has no origin: `problems` says why). The
 * slices keep the dead-letter topic's coordinates, which the watermarks and commits follow.
 */
export interface OriginTable {
  topics: string[];
  coords: Float64Array;
  problems: Array<{ record: number; reason: string }>;
}

/** A packed batch: the part of a task that is the records. */
export interface PackedBatch {
  /**
   * Transferred when the main thread packed the values (JS consume path); the native consumer's
   * chunk, shared and never written again, when it wrote them (ranges then point into the chunk).
   */
  data: ArrayBuffer | SharedArrayBuffer;
  index: Uint32Array;
  coords: Float64Array;
  slices: Slice[];
  origins?: OriginTable | undefined;
}

/** What the writer reads of a record (a node-rdkafka message has these fields). */
export interface PackableRecord {
  offset: number;
  timestamp?: number | undefined;
  value: Buffer | null;
  key?: Buffer | string | null | undefined;
  /** Set on every record of a re-drive run, on none otherwise. */
  origin?: RecordOrigin | undefined;
}

/** The records of one topic-partition, in offset order: one slice of the batch. */
export interface PackableRun {
  topic: string;
  partition: number;
  records: readonly PackableRecord[];
}

/** The bytes a record takes in `data`: its value and key. */
export function recordBytes(r: PackableRecord): number {
  return (r.value?.length ?? 0) + (r.key ? (typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.length) : 0);
}

/**
 * Copies the records' values and keys into one ArrayBuffer with an offset index: the batch crosses
 * to the worker by transfer, without cloning. This is the main thread's one copy of the bytes. The
 * origin table is written only when the first record has an origin (a re-drive run, where every
 * record has one): a batch of any other run costs one check, not one per record.
 */
export function packBatch(runs: readonly PackableRun[]): { batch: PackedBatch; transferList: ArrayBuffer[] } {
  let count = 0;
  let size = 0;
  for (const run of runs) {
    count += run.records.length;
    for (const r of run.records) size += recordBytes(r);
  }
  const data = new ArrayBuffer(size);
  const bytes = Buffer.from(data);
  const index = new Uint32Array(count * INDEX_STRIDE);
  const coords = new Float64Array(count * COORD_STRIDE);
  const slices: Slice[] = [];
  let at = 0;
  let i = 0;
  for (const run of runs) {
    const start = i;
    for (const r of run.records) {
      const ix = i * INDEX_STRIDE;
      if (r.value === null) {
        index[ix] = NULL_REF;
        index[ix + 1] = NULL_REF;
      } else {
        index[ix] = at;
        at += r.value.copy(bytes, at);
        index[ix + 1] = at;
      }
      if (r.key === null || r.key === undefined) {
        index[ix + 2] = NULL_REF;
        index[ix + 3] = NULL_REF;
      } else {
        index[ix + 2] = at;
        at += typeof r.key === 'string' ? bytes.write(r.key, at) : r.key.copy(bytes, at);
        index[ix + 3] = at;
      }
      coords[i * COORD_STRIDE] = r.offset;
      coords[i * COORD_STRIDE + 1] = r.timestamp ?? 0;
      i++;
    }
    slices.push({ topic: run.topic, partition: run.partition, start, end: i });
  }
  const transferList = [data, index.buffer as ArrayBuffer, coords.buffer as ArrayBuffer];
  if (runs.find((run) => run.records.length > 0)?.records[0]?.origin === undefined) return { batch: { data, index, coords, slices }, transferList };
  const origins = packOrigins(runs, count);
  transferList.push(origins.coords.buffer as ArrayBuffer);
  return { batch: { data, index, coords, slices, origins }, transferList };
}

/** The origin table of the records, in batch order; a record without an origin is a problem. */
function packOrigins(runs: readonly PackableRun[], count: number): OriginTable {
  const topics: string[] = [];
  const topicIndex = new Map<string, number>();
  const coords = new Float64Array(count * ORIGIN_STRIDE);
  const problems: OriginTable['problems'] = [];
  let i = 0;
  for (const run of runs) {
    for (const r of run.records) {
      const at = i * ORIGIN_STRIDE;
      const origin = r.origin ?? { problem: 'the record has no origin (sluice.source.* headers were not read)' };
      if ('problem' in origin) {
        coords[at] = -1;
        problems.push({ record: i, reason: origin.problem });
      } else {
        let t = topicIndex.get(origin.topic);
        if (t === undefined) {
          t = topics.push(origin.topic) - 1;
          topicIndex.set(origin.topic, t);
        }
        coords[at] = t;
        coords[at + 1] = origin.partition;
        coords[at + 2] = origin.offset;
      }
      i++;
    }
  }
  return { topics, coords, problems };
}

/** The origins of a batch of re-driven dead letters, record by record (see `OriginTable`). */
export class OriginReader {
  private readonly topics: readonly string[];
  private readonly coords: Float64Array;
  private readonly problems: ReadonlyMap<number, string>;

  constructor(table: OriginTable) {
    this.topics = table.topics;
    this.coords = table.coords;
    this.problems = new Map(table.problems.map((p) => [p.record, p.reason]));
  }

  /** Why record `r` cannot be indexed as its original would have been; undefined when it can. */
  problem(r: number): string | undefined {
    return this.coords[r * ORIGIN_STRIDE] === -1 ? this.problems.get(r) : undefined;
  }

  topic(r: number): string {
    return this.topics[this.coords[r * ORIGIN_STRIDE] as number] as string;
  }

  partition(r: number): number {
    return this.coords[r * ORIGIN_STRIDE + 1] as number;
  }

  offset(r: number): number {
    return this.coords[r * ORIGIN_STRIDE + 2] as number;
  }
}

/**
 * Record `r` of a packed batch. Values and keys are given as ranges of `bytes`, not as copies or
 * views: reading a record allocates nothing.
 */
export class BatchReader {
  /** The batch's values and keys; the ranges below index into it. */
  readonly bytes: Buffer;
  readonly count: number;
  readonly slices: readonly Slice[];
  /** The records' original coordinates in a batch of re-driven dead letters; undefined in any other. */
  readonly origins: OriginReader | undefined;
  private readonly index: Uint32Array;
  private readonly coords: Float64Array;

  constructor(batch: PackedBatch) {
    this.bytes = Buffer.from(batch.data);
    this.index = batch.index;
    this.coords = batch.coords;
    this.count = batch.coords.length / COORD_STRIDE;
    this.slices = batch.slices;
    this.origins = batch.origins && new OriginReader(batch.origins);
  }

  /** False for a null value (a tombstone). */
  hasValue(r: number): boolean {
    return this.index[r * INDEX_STRIDE] !== NULL_REF;
  }

  valueStart(r: number): number {
    return this.index[r * INDEX_STRIDE] as number;
  }

  valueEnd(r: number): number {
    return this.index[r * INDEX_STRIDE + 1] as number;
  }

  /** False for a null key. */
  hasKey(r: number): boolean {
    return this.index[r * INDEX_STRIDE + 2] !== NULL_REF;
  }

  keyStart(r: number): number {
    return this.index[r * INDEX_STRIDE + 2] as number;
  }

  keyEnd(r: number): number {
    return this.index[r * INDEX_STRIDE + 3] as number;
  }

  offset(r: number): number {
    return this.coords[r * COORD_STRIDE] as number;
  }

  /** Kafka timestamp, epoch milliseconds (0 when the record had none). */
  timestamp(r: number): number {
    return this.coords[r * COORD_STRIDE + 1] as number;
  }
}
