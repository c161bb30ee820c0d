import type { MessageHeader } from 'node-rdkafka';
import { COORD_STRIDE, INDEX_STRIDE, NULL_REF, packBatch, recordBytes, type RecordOrigin, type Slice } from '../common/batch-layout.js';
import type { PackedTask } from '../common/protocol.js';
import { readHeaders } from '../kafka/native-consume.js';

export { recordBytes };

/** The fields of a node-rdkafka message that Sluice reads. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number | undefined;
  value: Buffer | null;
  key?: Buffer | string | null | undefined;
  headers?: MessageHeader[] | undefined;
  /**
   * Only in `sluice redrive`: the original record this dead letter stands for, read from its
   * `sluice.source.*` headers once when it arrives (or why it has none); the worker indexes it
   * with these coordinates, the dead-letter producer names them again.
   */
  origin?: RecordOrigin | undefined;
}

/**
 * Memory a fetched record costs beyond its bytes on the JS consume path: node-rdkafka's message
 * object, its value Buffer (a JS object and a separate native allocation), the topic string, and
 * the garbage collector's headroom for all of them. Measured on Node 20 with ~50-byte records:
 * ~640 bytes; with less, a backlog of small records overshoots the byte budget several times over.
 */
export const RECORD_OVERHEAD_BYTES = 640;

/**
 * The same on the native consume path, where a record is a row of typed arrays: its index (16
 * bytes), coordinates (16) and header range (8), held once as fetched and once more while a task
 * of it is packed.
 */
export const ROW_OVERHEAD_BYTES = 80;

/**
 * Records taken from librdkafka by the native consumer in one call, columnar: their bytes in a
 * shared chunk that consecutive calls fill, and per record a row of typed arrays. No JS object
 * or Buffer exists per record; one is built only for a record that fails (`PartitionRun.record`).
 */
export interface FetchedRows {
  /** The chunk: values, keys and serialized headers, back to back. Shared with the workers, never written again. */
  data: SharedArrayBuffer;
  /** [valueStart, valueEnd, keyStart, keyEnd] per row, into `data`; NULL_REF for a null value or key. */
  index: Uint32Array;
  /** [offset, timestamp] per row. */
  coords: Float64Array;
  /** [start, end) of the row's serialized headers in `data`, NULL_REF when it has none. */
  headers: Uint32Array;
  /** Rows [start, end) are one topic-partition, in offset order. */
  runs: ReadonlyArray<{ topic: string; partition: number; start: number; end: number }>;
}

/** The records of one partition within a batch, in offset order: one slice of a task. */
export interface PartitionRun {
  readonly tp: string;
  readonly topic: string;
  readonly partition: number;
  /** How many records. */
  readonly length: number;
  /** Memory the run holds, as the byte budget counts it (bytes plus per-record overhead). */
  readonly bytes: number;
  /** Value and key bytes: what `pipeline.batchBytes` measures. */
  readonly payloadBytes: number;
  offset(k: number): number;
  /** Kafka timestamp (ms); 0 or negative when the record has none. */
  timestamp(k: number): number;
  /** Record `k` as an object, for what handles one record (a failure, a log line). */
  record(k: number): KafkaRecord;
  /** Records [from, to) as a run of their own. */
  slice(from: number, to?: number): PartitionRun;
}

/** A run of node-rdkafka message objects (the JS consume path). */
export class RecordsRun implements PartitionRun {
  bytes = 0;
  payloadBytes = 0;

  constructor(
    readonly tp: string,
    readonly topic: string,
    readonly partition: number,
    readonly records: KafkaRecord[] = [],
  ) {
    for (const r of records) this.#count(r);
  }

  get length(): number {
    return this.records.length;
  }

  push(record: KafkaRecord): void {
    this.records.push(record);
    this.#count(record);
  }

  offset(k: number): number {
    return (this.records[k] as KafkaRecord).offset;
  }

  timestamp(k: number): number {
    return (this.records[k] as KafkaRecord).timestamp ?? 0;
  }

  record(k: number): KafkaRecord {
    return this.records[k] as KafkaRecord;
  }

  slice(from: number, to?: number): RecordsRun {
    return new RecordsRun(this.tp, this.topic, this.partition, this.records.slice(from, to));
  }

  #count(r: KafkaRecord): void {
    const payload = recordBytes(r);
    this.payloadBytes += payload;
    this.bytes += payload + RECORD_OVERHEAD_BYTES;
  }
}

/** Value, key and header bytes of rows [from, to). */
function rowsPayload(index: Uint32Array, headers: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let r = from; r < to; r++) {
    const ix = r * INDEX_STRIDE;
    if (index[ix] !== NULL_REF) n += (index[ix + 1] as number) - (index[ix] as number);
    if (index[ix + 2] !== NULL_REF) n += (index[ix + 3] as number) - (index[ix + 2] as number);
    if (headers[2 * r] !== NULL_REF) n += (headers[2 * r + 1] as number) - (headers[2 * r] as number);
  }
  return n;
}

/**
 * Where rows [start, end) must stop so that at most `maxRows` rows and, beyond the first, at most
 * `maxBytes` of values and keys are taken: the end of the longest prefix within both (at least one row).
 */
export function rowsWithin(rows: FetchedRows, start: number, end: number, maxRows: number, maxBytes: number): number {
  const { index } = rows;
  const last = Math.min(end, start + Math.max(1, maxRows));
  let bytes = 0;
  for (let r = start; r < last; r++) {
    const ix = r * INDEX_STRIDE;
    if (index[ix] !== NULL_REF) bytes += (index[ix + 1] as number) - (index[ix] as number);
    if (index[ix + 2] !== NULL_REF) bytes += (index[ix + 3] as number) - (index[ix + 2] as number);
    if (bytes > maxBytes && r > start) return r;
  }
  return last;
}

interface RowsPiece {
  rows: FetchedRows;
  start: number;
  end: number;
}

/**
 * A run of rows taken by the native consumer: pieces of the calls that fetched them while the
 * batch gathered, made one set of arrays the first time a record is read (at seal). Every piece
 * lies in the same chunk.
 */
export class RowsRun implements PartitionRun {
  bytes = 0;
  payloadBytes = 0;
  #length = 0;
  #pieces: RowsPiece[] = [];
  #flat: { index: Uint32Array; coords: Float64Array; headers: Uint32Array } | undefined;

  constructor(
    readonly tp: string,
    readonly topic: string,
    readonly partition: number,
    readonly data: SharedArrayBuffer,
  ) {}

  get length(): number {
    return this.#length;
  }

  /** Rows [start, end) of a consume call; they follow the rows already in the run. */
  push(rows: FetchedRows, start: number, end: number): void {
    if (rows.data !== this.data) throw new Error('a run holds the rows of one chunk only');
    this.#flat = undefined;
    this.#pieces.push({ rows, start, end });
    this.#length += end - start;
    const payload = rowsPayload(rows.index, rows.headers, start, end);
    this.payloadBytes += payload;
    this.bytes += payload + (end - start) * ROW_OVERHEAD_BYTES;
  }

  /** The rows as one [index, coords, headers] set, views of the fetched arrays when a single piece. */
  get rows(): { index: Uint32Array; coords: Float64Array; headers: Uint32Array } {
    if (this.#flat) return this.#flat;
    if (this.#pieces.length === 1) {
      const { rows, start, end } = this.#pieces[0] as RowsPiece;
      this.#flat = {
        index: rows.index.subarray(start * INDEX_STRIDE, end * INDEX_STRIDE),
        coords: rows.coords.subarray(start * COORD_STRIDE, end * COORD_STRIDE),
        headers: rows.headers.subarray(start * 2, end * 2),
      };
    } else {
      const index = new Uint32Array(this.#length * INDEX_STRIDE);
      const coords = new Float64Array(this.#length * COORD_STRIDE);
      const headers = new Uint32Array(this.#length * 2);
      let at = 0;
      for (const { rows, start, end } of this.#pieces) {
        index.set(rows.index.subarray(start * INDEX_STRIDE, end * INDEX_STRIDE), at * INDEX_STRIDE);
        coords.set(rows.coords.subarray(start * COORD_STRIDE, end * COORD_STRIDE), at * COORD_STRIDE);
        headers.set(rows.headers.subarray(start * 2, end * 2), at * 2);
        at += end - start;
      }
      this.#flat = { index, coords, headers };
      // One piece from now on: a later slice or push starts from the consolidated rows.
      this.#pieces = [{ rows: { data: this.data, index, coords, headers, runs: [] }, start: 0, end: this.#length }];
    }
    return this.#flat;
  }

  offset(k: number): number {
    return this.rows.coords[k * COORD_STRIDE] as number;
  }

  timestamp(k: number): number {
    return this.rows.coords[k * COORD_STRIDE + 1] as number;
  }

  record(k: number): KafkaRecord {
    const { index, coords, headers } = this.rows;
    const bytes = Buffer.from(this.data);
    const ix = k * INDEX_STRIDE;
    // Copies: the record outlives the batch (a dead-letter write) and must not pin the chunk.
    const copy = (start: number, end: number): Buffer | null => (start === NULL_REF ? null : Buffer.from(bytes.subarray(start, end)));
    return {
      topic: this.topic,
      partition: this.partition,
      offset: coords[k * COORD_STRIDE] as number,
      timestamp: coords[k * COORD_STRIDE + 1] as number,
      value: copy(index[ix] as number, index[ix + 1] as number),
      key: copy(index[ix + 2] as number, index[ix + 3] as number),
      headers: headers[2 * k] === NULL_REF ? undefined : readHeaders(bytes, headers[2 * k] as number, headers[2 * k + 1] as number),
    };
  }

  slice(from: number, to = this.#length): RowsRun {
    const { index, coords, headers } = this.rows;
    const run = new RowsRun(this.tp, this.topic, this.partition, this.data);
    run.push({ data: this.data, index, coords, headers, runs: [] }, from, Math.min(to, this.#length));
    return run;
  }
}

/**
 * Records gathered for one task, grouped by partition as they arrive so that each partition is
 * one contiguous slice of the task. Native rows of a batch all lie in one chunk: the dispatcher
 * seals the batch when the consumer moves to a new one.
 */
export class BatchBuilder {
  readonly runs = new Map<string, PartitionRun>();
  count = 0;
  /** Memory held, as the byte budget counts it (bytes plus per-record overhead). */
  bytes = 0;
  /** Value and key bytes: what `pipeline.batchBytes` measures. */
  payloadBytes = 0;
  /** Time the first record arrived (for linger). */
  startedAt = 0;
  /** The chunk of the native rows gathered, if any. */
  chunk: SharedArrayBuffer | undefined;

  add(tp: string, record: KafkaRecord, now: number): void {
    let run = this.runs.get(tp) as RecordsRun | undefined;
    if (!run) {
      run = new RecordsRun(tp, record.topic, record.partition);
      this.runs.set(tp, run);
    }
    if (this.count === 0) this.startedAt = now;
    const before = run.bytes;
    const payloadBefore = run.payloadBytes;
    run.push(record);
    this.count++;
    this.bytes += run.bytes - before;
    this.payloadBytes += run.payloadBytes - payloadBefore;
  }

  addRows(tp: string, topic: string, partition: number, rows: FetchedRows, start: number, end: number, now: number): void {
    let run = this.runs.get(tp) as RowsRun | undefined;
    if (!run) {
      run = new RowsRun(tp, topic, partition, rows.data);
      this.runs.set(tp, run);
    }
    if (this.count === 0) this.startedAt = now;
    this.chunk = rows.data;
    const before = run.bytes;
    const payloadBefore = run.payloadBytes;
    run.push(rows, start, end);
    this.count += end - start;
    this.bytes += run.bytes - before;
    this.payloadBytes += run.payloadBytes - payloadBefore;
  }

  /** Drops the records of the given partitions (revoked: their new owner will fetch them). */
  drop(tps: ReadonlySet<string>): void {
    for (const tp of tps) {
      const run = this.runs.get(tp);
      if (!run) continue;
      this.runs.delete(tp);
      this.count -= run.length;
      this.bytes -= run.bytes;
      this.payloadBytes -= run.payloadBytes;
    }
  }
}

/** The task of the given runs: each run one slice. */
export function packTask(runs: readonly PartitionRun[], id = 0): { task: PackedTask; transferList: ArrayBuffer[] } {
  if (runs[0] instanceof RowsRun) return packRows(runs as RowsRun[], id);
  const { batch, transferList } = packBatch(runs as RecordsRun[]);
  return { task: { id, ...batch }, transferList };
}

/**
 * A task of native rows: the chunk goes to the worker as it is (shared, not copied), with an
 * index and coordinates of the task's own, transferred. Byte positions stay those of the chunk.
 */
function packRows(runs: readonly RowsRun[], id: number): { task: PackedTask; transferList: ArrayBuffer[] } {
  const data = (runs[0] as RowsRun).data;
  const count = runs.reduce((n, r) => n + r.length, 0);
  const index = new Uint32Array(count * INDEX_STRIDE);
  const coords = new Float64Array(count * COORD_STRIDE);
  const slices: Slice[] = [];
  let at = 0;
  for (const run of runs) {
    if (run.data !== data) throw new Error('the runs of a task lie in one chunk');
    const rows = run.rows;
    index.set(rows.index, at * INDEX_STRIDE);
    coords.set(rows.coords, at * COORD_STRIDE);
    slices.push({ topic: run.topic, partition: run.partition, start: at, end: at + run.length });
    at += run.length;
  }
  return { task: { id, data, index, coords, slices }, transferList: [index.buffer as ArrayBuffer, coords.buffer as ArrayBuffer] };
}
