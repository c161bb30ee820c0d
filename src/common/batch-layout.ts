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
}

/** What the writer reads of a record (a node-rdkafka message has these fields). */
export interface PackableRecord {
  offset: number;
  timestamp?: number | undefined;
  value: Buffer | null;
  key?: Buffer | string | null | undefined;
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
 * to the worker by transfer, without cloning. This is the main thread's one copy of the bytes.
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
  return { batch: { data, index, coords, slices }, transferList: [data, index.buffer as ArrayBuffer, coords.buffer as ArrayBuffer] };
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
  private readonly index: Uint32Array;
  private readonly coords: Float64Array;

  constructor(batch: PackedBatch) {
    this.bytes = Buffer.from(batch.data);
    this.index = batch.index;
    this.coords = batch.coords;
    this.count = batch.coords.length / COORD_STRIDE;
    this.slices = batch.slices;
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
