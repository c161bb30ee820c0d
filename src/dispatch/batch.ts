import type { MessageHeader } from 'node-rdkafka';
import { packBatch, recordBytes, type RecordOrigin } from '../common/batch-layout.js';
import type { BatchTask } from '../common/protocol.js';

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
 * Memory a fetched record costs beyond its bytes: node-rdkafka's message object, its value Buffer
 * (a JS object and a separate native allocation), the topic string, and the garbage collector's
 * headroom for all of them. Measured on Node 20 with ~50-byte records: ~640 bytes; with less, a
 * backlog of small records overshoots the byte budget several times over.
 */
export const RECORD_OVERHEAD_BYTES = 640;

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

/** The task of the given runs: each run one slice, the records packed by `packBatch` for transfer. */
export function packTask(runs: readonly PartitionRun[], id = 0): { task: BatchTask; transferList: ArrayBuffer[] } {
  const { batch, transferList } = packBatch(runs);
  return { task: { id, ...batch }, transferList };
}
