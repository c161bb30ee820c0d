import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DispatchCounters } from '../dispatch/dispatcher.js';
import { ACK_DELAY_BUCKETS } from '../common/freshness.js';
import { nativeStatus } from '../common/native.js';
import { nativeConsumeStatus } from '../kafka/native-consume.js';
import type { BatchStats, RetryClass } from '../common/protocol.js';
import { tpKey } from '../offsets/watermark.js';
import { createCountedHistogram } from './counted-histogram.js';

/** One assigned partition, as the metrics see it. */
export interface PartitionView {
  topic: string;
  partition: number;
  paused: boolean;
  /** Stopped before a failed record (policy `fail`). */
  blocked: boolean;
  /** Next offset Sluice will commit: everything below it is indexed or dead-lettered. */
  watermark: number | undefined;
  /** From librdkafka statistics (absent until the first statistics arrive). */
  highWatermark: number | undefined;
  committed: number | undefined;
  lag: number | undefined;
  /** How long the batch holding the watermark back has been running, in seconds, if it has started. */
  oldestBatchSeconds: number | undefined;
  /** That batch has been running for longer than `health.stallSeconds`. */
  stuck: boolean;
}

/** What the pipeline exposes to the metrics, read at scrape time. */
export interface PipelineView {
  counters(): Readonly<DispatchCounters>;
  bufferedBytes(): number;
  budgetBytes: number;
  inFlightBytes(): number;
  inFlightBatches(): number;
  queuedBatches(): number;
  partitions(): PartitionView[];
  halted(): boolean;
  /** What halts the pipeline, by cause. */
  haltedBy(): Record<HaltCause, boolean>;
  /** Share of dead letters in the circuit breaker's window (undefined when it is off or empty). */
  deadLetterRatio(): number | undefined;
  ready(): boolean;
  workers(): readonly Worker[];
}

/** What can halt the pipeline: Elasticsearch refusing writes, the dead-letter topic refusing them, the dead-letter circuit breaker. */
export type HaltCause = 'elasticsearch' | 'dead_letter_topic' | 'dead_letter_ratio';

/** Why a record counted as skipped. */
export type SkipReason = 'tombstone' | 'transform' | 'malformed' | 'rejected';

/**
 * The Prometheus metrics of one Sluice process. Counters the dispatcher already keeps and every
 * gauge are read at scrape time (nothing on the record path); bulk statistics arrive once per
 * batch with the task result. The pipeline's view can be given later (`watch`): the parts it reads
 * are built after the parts that count events into these metrics.
 */
/** `consumePath`: the path the run consumes on, when it is not the process's (a re-drive takes the JS path). */
export function createMetrics(view?: PipelineView, options: { processMetrics?: boolean; consumePath?: 'native' | 'js' } = {}) {
  const registry = new Registry();
  // prom-client's process metrics sample the event-loop delay every 10 ms: a hundred wake-ups a
  // second of the main thread, for nothing when no one can scrape them (no metrics.port).
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  /** A counter mirroring a running total Sluice already keeps. */
  const mirror = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = read();
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };

  const failed = new Counter({
    name: 'sluice_records_failed_total',
    help: 'Records that could not be indexed, by class (malformed, rejected, null); errors.on* decides their fate.',
    labelNames: ['class'],
    registers,
  });
  const skipped = new Counter({
    name: 'sluice_records_skipped_total',
    help: 'Records completed without a document: tombstones, dropped by the transform, or failed records skipped by policy.',
    labelNames: ['reason'],
    registers,
  });
  const deadLettered = new Counter({
    name: 'sluice_records_dead_lettered_total',
    help: 'Records written to the dead-letter topic and acknowledged by Kafka, by class.',
    labelNames: ['class'],
    registers,
  });
  const documents = new Counter({ name: 'sluice_documents_total', help: 'Documents encoded for Elasticsearch.', registers });
  const bulkRequests = new Counter({ name: 'sluice_bulk_requests_total', help: '`_bulk` requests sent, retries included.', registers });
  const bulkBytes = new Counter({ name: 'sluice_bulk_request_bytes_total', help: 'Bytes of `_bulk` request bodies sent, as on the wire (compressed under elasticsearch.compression).', registers });
  const bulkSeconds = new Histogram({
    name: 'sluice_bulk_request_duration_seconds',
    help: 'Duration of `_bulk` requests, from send to parsed response.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const retries = new Counter({
    name: 'sluice_bulk_retries_total',
    help: 'Bulk requests or items sent again, by cause (overload, server_error, timeout, connection, too_large, halted, other).',
    labelNames: ['class'],
    registers,
  });
  const offsetResets = new Counter({
    name: 'sluice_offset_resets_total',
    help: 'Partitions whose offset was out of range (records deleted by retention before they were read) and moved where kafka.startFrom says (to: latest skips the records in between).',
    labelNames: ['topic', 'partition', 'to'],
    registers,
  });
  // Which JSON passthrough the workers run: the native addon or the JS path (src/common/native.ts).
  new Gauge({ name: 'sluice_native', help: '1 for the path the JSON passthrough runs on: native (the simdjson addon) or js.', labelNames: ['path'], registers }).set({ path: nativeStatus().path }, 1);
  // Which consume path the main thread runs: the librdkafka plugin or node-rdkafka's messages (src/kafka/native-consume.ts).
  new Gauge({ name: 'sluice_native_consume', help: '1 for the path records are consumed on: native (the librdkafka plugin) or js (node-rdkafka message objects).', labelNames: ['path'], registers }).set({ path: options.consumePath ?? nativeConsumeStatus().path }, 1);
  // Counted per batch by the workers (src/common/freshness.ts): no per-record work here.
  const ackDelay = createCountedHistogram({
    name: 'sluice_record_ack_delay_seconds',
    help: 'Delay from a record\'s Kafka timestamp to the _bulk answer that indexed it (records without a timestamp not observed).',
    buckets: ACK_DELAY_BUCKETS,
    registers,
  });
  /** Per partition (topic/partition key), the indexed record with the highest offset since it was assigned. */
  const lastIndexed = new Map<string, { offset: number; timestamp: number }>();
  const rebalances = new Counter({
    name: 'sluice_rebalance_events_total',
    help: 'Partition assignments and revocations received from the consumer group.',
    labelNames: ['event'],
    registers,
  });

  /** Registers what is read from the running pipeline at scrape time. */
  function watch(view: PipelineView): void {
    mirror('sluice_records_consumed_total', 'Records fetched from Kafka and handed to the pipeline.', () => view.counters().records);
    mirror('sluice_records_indexed_total', 'Records whose documents are all in Elasticsearch.', () => view.counters().indexed);
    mirror('sluice_worker_task_retries_total', 'Batches run again because their worker thread failed.', () => view.counters().taskRetries);
    mirror('sluice_worker_task_timeouts_total', 'Worker threads terminated because a task ran past pipeline.taskTimeoutMs decoding, transforming or encoding.', () => view.counters().taskTimeouts);
    gauge('sluice_buffered_bytes', 'Bytes of records fetched but not yet indexed (the byte budget in use).', () => view.bufferedBytes());
    gauge('sluice_buffered_bytes_limit', 'The byte budget, pipeline.maxBufferedBytes.', () => view.budgetBytes);
    gauge('sluice_in_flight_bytes', 'Record bytes in batches being indexed.', () => view.inFlightBytes());
    gauge('sluice_in_flight_batches', 'Batches being indexed by the workers.', () => view.inFlightBatches());
    gauge('sluice_queued_batches', 'Sealed batches waiting for in-flight capacity.', () => view.queuedBatches());
    gauge('sluice_dead_letter_pending', 'Failed records waiting for their dead-letter acknowledgement.', () => view.counters().deadLetterPending);
    gauge('sluice_halted', '1 while halted: Elasticsearch or the dead-letter topic refuses writes for a reason only an operator can fix, or the dead-letter circuit breaker tripped (every partition paused).', () => (view.halted() ? 1 : 0));
    new Gauge({
      name: 'sluice_halted_by',
      help: 'What halts the pipeline: 1 for each cause in effect (elasticsearch, dead_letter_topic, dead_letter_ratio).',
      labelNames: ['cause'],
      registers,
      collect() {
        for (const [cause, on] of Object.entries(view.haltedBy())) this.set({ cause }, on ? 1 : 0);
      },
    });
    gauge('sluice_dead_letter_ratio', 'Share of dead-lettered records among the last errors.dlqWindowRecords finished records (0 while the circuit breaker is off).', () => view.deadLetterRatio() ?? 0);
    gauge('sluice_ready', '1 when /readyz answers ready.', () => (view.ready() ? 1 : 0));

    const perPartition = (name: string, help: string, read: (p: PartitionView) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const p of view.partitions()) {
            const value = read(p);
            if (value !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, value);
          }
        },
      });
    };
    new Gauge({
      name: 'sluice_partition_last_indexed_timestamp_seconds',
      help: 'Kafka timestamp, in seconds since the epoch, of the last record (highest offset) indexed in the partition since it was assigned to this member (records without a timestamp not counted).',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of view.partitions()) {
          const last = lastIndexed.get(tpKey(p.topic, p.partition));
          if (last !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, last.timestamp / 1000);
        }
      },
    });
    gauge('sluice_partitions_assigned', 'Partitions assigned to this member.', () => view.partitions().length);
    gauge('sluice_partitions_paused', 'Assigned partitions paused (budget, halt, stop or blocked).', () => view.partitions().filter((p) => p.paused).length);
    gauge('sluice_partitions_blocked', 'Partitions stopped before a record that failed with policy fail.', () => view.partitions().filter((p) => p.blocked).length);
    gauge('sluice_partitions_stuck', 'Partitions whose watermark is held back by a batch running for longer than health.stallSeconds.', () =>
      view.partitions().filter((p) => p.stuck).length,
    );
    perPartition('sluice_partition_paused', '1 while the partition is paused.', (p) => (p.paused ? 1 : 0));
    perPartition('sluice_partition_watermark_offset', 'Next offset to commit: every record below it is indexed or dead-lettered.', (p) => p.watermark);
    perPartition('sluice_partition_committed_offset', 'Offset committed to Kafka (librdkafka statistics).', (p) => p.committed);
    perPartition('sluice_partition_high_watermark_offset', 'End of the partition in Kafka (librdkafka statistics).', (p) => p.highWatermark);
    perPartition('sluice_partition_oldest_batch_seconds', 'How long the batch holding the partition\'s watermark back has been running since a worker started it (absent when none is).', (p) => p.oldestBatchSeconds);
    perPartition('sluice_consumer_lag', 'Records in Kafka beyond the watermark of the partition (transaction markers and aborted records not counted).', (p) => p.lag);
    gauge('sluice_consumer_lag_sum', 'Sum of sluice_consumer_lag over the assigned partitions (for lag-based autoscaling).', () =>
      view.partitions().reduce((sum, p) => sum + (p.lag ?? 0), 0),
    );

    const elu = new Map<number, EventLoopUtilization>();
    new Gauge({
      name: 'sluice_worker_utilization',
      help: 'Share of time each worker thread was busy since the previous scrape (event-loop utilisation, 0..1).',
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        const seen = new Set<number>();
        for (const worker of view.workers()) {
          const now = worker.performance.eventLoopUtilization();
          const before = elu.get(worker.threadId);
          const delta = before ? worker.performance.eventLoopUtilization(now, before) : now;
          elu.set(worker.threadId, now);
          seen.add(worker.threadId);
          this.set({ worker: String(worker.threadId) }, delta.utilization);
        }
        for (const id of elu.keys()) if (!seen.has(id)) elu.delete(id);
      },
    });
  }
  if (view) watch(view);

  return {
    registry,
    watch,
    /** A batch completed: what its worker did. */
    batch(stats: BatchStats): void {
      documents.inc(stats.docs);
      bulkRequests.inc(stats.bulkRequests);
      bulkBytes.inc(stats.bulkBytes);
      for (const ms of stats.bulkMs) bulkSeconds.observe(ms / 1000);
      for (const [cls, n] of Object.entries(stats.retries) as Array<[RetryClass, number]>) retries.inc({ class: cls }, n);
      if (stats.tombstones > 0) skipped.inc({ reason: 'tombstone' }, stats.tombstones);
      if (stats.dropped > 0) skipped.inc({ reason: 'transform' }, stats.dropped);
      if (stats.ackDelays.counts.length > 0) ackDelay.add(stats.ackDelays.counts, stats.ackDelays.sum);
    },
    /** A record of a partition this member owns was indexed: its offset and Kafka timestamp (ms). Batches finish in any order; the highest offset wins. */
    indexed(tp: { topic: string; partition: number }, offset: number, timestamp: number): void {
      const key = tpKey(tp.topic, tp.partition);
      const last = lastIndexed.get(key);
      if (last === undefined || offset > last.offset) lastIndexed.set(key, { offset, timestamp });
    },
    /** Partitions (newly) assigned: what another owner indexed meanwhile is unknown, so their last indexed record is forgotten. */
    assigned(tps: ReadonlyArray<{ topic: string; partition: number }>): void {
      for (const tp of tps) lastIndexed.delete(tpKey(tp.topic, tp.partition));
    },
    failed(cls: 'malformed' | 'rejected' | 'null'): void {
      failed.inc({ class: cls });
    },
    skipped(reason: SkipReason): void {
      skipped.inc({ reason });
    },
    deadLettered(cls: 'malformed' | 'rejected' | 'null'): void {
      deadLettered.inc({ class: cls });
    },
    offsetReset(topic: string, partition: number, to: 'earliest' | 'latest'): void {
      offsetResets.inc({ topic, partition: String(partition), to });
    },
    rebalance(event: 'assign' | 'revoke'): void {
      rebalances.inc({ event });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
