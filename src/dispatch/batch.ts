import type { MessageHeader } from 'node-rdkafka';
import { COORD_STRIDE, INDEX_STRIDE, NULL_REF, type BatchTask, type Slice } from '../shared/protocol.js';

/** The fields of a node-rdkafka message that Sluice reads. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number | undefined;
  value: Buffer | null;
  key?: Buffer | string | null | undefined;
  headers?: MessageHeader[] | undefined;
}

/**
 * Memory a fetched record costs beyond its bytes: node-rdkafka's message object, its value Buffer
 * (a JS object and a separate native allocation), the topic string, and the garbage collector's
 * headroom for all of them. Measured on Node 20 with ~50-byte records: ~640 bytes; with less, a
 * backlog of small records overshoots the byte budget several times over.
 */
export const RECORD_OVERHEAD_BYTES = 640;

export function recordBytes(r: KafkaRecord): number {
  return (r.value?.length ?? 0) + (r.key ? (typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.length) : 0);
}

/** The records of one partition within a batch, in offset order. */
export interface PartitionRun {
  tp: string;
  topic: string;
  partition: number;
  records: KafkaRecord[];
}

/**
 * Records gathered for one task, grouped by partition as they arrive so that each partition is
 * one contiguous slice of the task.
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

  add(tp: string, record: KafkaRecord, size: number, payload: number, now: number): void {
    let run = this.runs.get(tp);
    if (!run) {
      run = { tp, topic: record.topic, partition: record.partition, records: [] };
      this.runs.set(tp, run);
    }
    if (this.count === 0) this.startedAt = now;
    run.records.push(record);
    this.count++;
    this.bytes += size;
    this.payloadBytes += payload;
  }

  /** Drops the records of the given partitions (revoked: their new owner will fetch them). */
  drop(tps: ReadonlySet<string>, sizeOf: (r: KafkaRecord) => number): void {
    for (const tp of tps) {
      const run = this.runs.get(tp);
      if (!run) continue;
      this.runs.delete(tp);
      this.count -= run.records.length;
      for (const r of run.records) {
        this.bytes -= sizeOf(r);
        this.payloadBytes -= recordBytes(r);
      }
    }
  }
}

/**
 * Copies the records' values and keys into one ArrayBuffer with an offset index: the task crosses
 * to the worker by transfer, without cloning. This is the main thread's one copy of the bytes.
 */
export function packTask(runs: readonly PartitionRun[], id = 0): { task: BatchTask; transferList: ArrayBuffer[] } {
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
  return { task: { id, data, index, coords, slices }, transferList: [data, index.buffer as ArrayBuffer, coords.buffer as ArrayBuffer] };
}
