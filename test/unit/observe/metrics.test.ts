import { expect } from 'chai';
import { createMetrics, type PartitionView, type PipelineView } from '../../../src/observe/metrics.js';
import { ACK_DELAY_BUCKETS } from '../../../src/common/freshness.js';
import { emptyStats } from '../../../src/common/protocol.js';

function fakeView(over: Partial<PipelineView> = {}) {
  const counters = { records: 0, indexed: 0, skipped: 0, failed: 0, taskRetries: 0, taskTimeouts: 0, dropped: 0, deadLetterPending: 0 };
  const parts: PartitionView[] = [];
  const view: PipelineView = {
    counters: () => counters,
    budgetBytes: 1024,
    bufferedBytes: () => 512,
    inFlightBytes: () => 256,
    inFlightBatches: () => 2,
    queuedBatches: () => 1,
    partitions: () => parts,
    halted: () => false,
    haltedBy: () => ({ elasticsearch: false, dead_letter_topic: false, dead_letter_ratio: false }),
    deadLetterRatio: () => undefined,
    ready: () => true,
    workers: () => [],
    ...over,
  };
  return { view, counters, parts };
}

/** The value of one sample line of the text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('mirrors the running totals as counters that only grow', async () => {
    const { view, counters } = fakeView();
    const m = createMetrics(view);
    counters.records = 10;
    counters.indexed = 7;
    let text = await m.registry.metrics();
    expect(sample(text, 'sluice_records_consumed_total')).to.equal(10);
    expect(sample(text, 'sluice_records_indexed_total')).to.equal(7);
    counters.indexed = 9;
    text = await m.registry.metrics();
    expect(sample(text, 'sluice_records_indexed_total')).to.equal(9);
  });

  it('turns batch statistics and record fates into labelled counters and a latency histogram', async () => {
    const m = createMetrics(fakeView().view);
    m.batch({ ...emptyStats(), docs: 5, bulkRequests: 2, bulkBytes: 900, bulkMs: [3, 700], retries: { overload: 2, timeout: 1 }, tombstones: 1, dropped: 2 });
    m.failed('rejected');
    m.skipped('rejected');
    m.failed('malformed');
    m.deadLettered('malformed');
    const text = await m.registry.metrics();
    expect(sample(text, 'sluice_documents_total')).to.equal(5);
    expect(sample(text, 'sluice_bulk_requests_total')).to.equal(2);
    expect(sample(text, 'sluice_bulk_request_bytes_total')).to.equal(900);
    expect(sample(text, 'sluice_bulk_request_duration_seconds_count')).to.equal(2);
    expect(sample(text, 'sluice_bulk_request_duration_seconds_bucket{le="0.005"}')).to.equal(1);
    expect(sample(text, 'sluice_bulk_request_duration_seconds_bucket{le="1"}')).to.equal(2);
    expect(sample(text, 'sluice_bulk_retries_total{class="overload"}')).to.equal(2);
    expect(sample(text, 'sluice_bulk_retries_total{class="timeout"}')).to.equal(1);
    expect(sample(text, 'sluice_records_skipped_total{reason="tombstone"}')).to.equal(1);
    expect(sample(text, 'sluice_records_skipped_total{reason="transform"}')).to.equal(2);
    expect(sample(text, 'sluice_records_skipped_total{reason="rejected"}')).to.equal(1);
    expect(sample(text, 'sluice_records_failed_total{class="malformed"}')).to.equal(1);
    expect(sample(text, 'sluice_records_dead_lettered_total{class="malformed"}')).to.equal(1);
  });

  it('reports per-partition offsets and lag for the assigned partitions only', async () => {
    const { view, parts } = fakeView({ halted: () => true, ready: () => false });
    const m = createMetrics(view);
    parts.push({ topic: 'logs', partition: 0, paused: true, blocked: false, watermark: 40, highWatermark: 100, committed: 38, lag: 60, oldestBatchSeconds: undefined, stuck: false });
    parts.push({ topic: 'logs', partition: 1, paused: false, blocked: true, watermark: undefined, highWatermark: undefined, committed: undefined, lag: undefined, oldestBatchSeconds: undefined, stuck: false });
    let text = await m.registry.metrics();
    expect(sample(text, 'sluice_consumer_lag{topic="logs",partition="0"}')).to.equal(60);
    expect(sample(text, 'sluice_consumer_lag{topic="logs",partition="1"}')).to.equal(undefined);
    expect(sample(text, 'sluice_consumer_lag_sum')).to.equal(60);
    expect(sample(text, 'sluice_partition_watermark_offset{topic="logs",partition="0"}')).to.equal(40);
    expect(sample(text, 'sluice_partition_committed_offset{topic="logs",partition="0"}')).to.equal(38);
    expect(sample(text, 'sluice_partition_high_watermark_offset{topic="logs",partition="0"}')).to.equal(100);
    expect(sample(text, 'sluice_partition_paused{topic="logs",partition="0"}')).to.equal(1);
    expect(sample(text, 'sluice_partitions_assigned')).to.equal(2);
    expect(sample(text, 'sluice_partitions_paused')).to.equal(1);
    expect(sample(text, 'sluice_partitions_blocked')).to.equal(1);
    expect(sample(text, 'sluice_halted')).to.equal(1);
    expect(sample(text, 'sluice_ready')).to.equal(0);
    expect(sample(text, 'sluice_buffered_bytes')).to.equal(512);
    expect(sample(text, 'sluice_buffered_bytes_limit')).to.equal(1024);
    parts.shift();
    text = await m.registry.metrics();
    expect(sample(text, 'sluice_consumer_lag{topic="logs",partition="0"}')).to.equal(undefined);
  });

  it('counts stuck partitions and gives each partition how long the batch holding it back has run', async () => {
    const { view, parts, counters } = fakeView();
    const m = createMetrics(view);
    const part = { paused: false, blocked: false, watermark: 10, highWatermark: 50, committed: 10, lag: 40 };
    parts.push({ topic: 'logs', partition: 0, ...part, oldestBatchSeconds: 125.5, stuck: true });
    parts.push({ topic: 'logs', partition: 1, ...part, oldestBatchSeconds: 0.2, stuck: false });
    parts.push({ topic: 'logs', partition: 2, ...part, oldestBatchSeconds: undefined, stuck: false });
    counters.taskTimeouts = 3;
    const text = await m.registry.metrics();
    expect(sample(text, 'sluice_partitions_stuck')).to.equal(1);
    expect(sample(text, 'sluice_partition_oldest_batch_seconds{topic="logs",partition="0"}')).to.equal(125.5);
    expect(sample(text, 'sluice_partition_oldest_batch_seconds{topic="logs",partition="1"}')).to.equal(0.2);
    expect(sample(text, 'sluice_partition_oldest_batch_seconds{topic="logs",partition="2"}')).to.equal(undefined);
    expect(sample(text, 'sluice_worker_task_timeouts_total')).to.equal(3);
  });

  it('adds up the workers\' ack-delay counts into a histogram', async () => {
    const m = createMetrics(fakeView().view);
    const counts = new Array<number>(ACK_DELAY_BUCKETS.length + 1).fill(0);
    counts[0] = 2; // <= 0.05 s
    counts[ACK_DELAY_BUCKETS.indexOf(1)] = 1;
    counts[ACK_DELAY_BUCKETS.length] = 1; // +Inf
    m.batch({ ...emptyStats(), ackDelays: { counts, sum: 100_000.75 } });
    m.batch({ ...emptyStats(), ackDelays: { counts: [1], sum: 0.01 } });
    m.batch(emptyStats());
    const text = await m.registry.metrics();
    expect(text).to.include('# TYPE sluice_record_ack_delay_seconds histogram');
    expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="0.05"}')).to.equal(3);
    expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="0.5"}')).to.equal(3);
    expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="1"}')).to.equal(4);
    expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="86400"}')).to.equal(4);
    expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="+Inf"}')).to.equal(5);
    expect(sample(text, 'sluice_record_ack_delay_seconds_count')).to.equal(5);
    expect(sample(text, 'sluice_record_ack_delay_seconds_sum')).to.be.closeTo(100_000.76, 1e-6);
  });

  it('gives each assigned partition the timestamp of its highest indexed offset, forgotten when assigned again', async () => {
    const { view, parts } = fakeView();
    const m = createMetrics(view);
    const part = (partition: number): PartitionView => ({ topic: 't', partition, paused: false, blocked: false, watermark: undefined, highWatermark: undefined, committed: undefined, lag: undefined, oldestBatchSeconds: undefined, stuck: false });
    parts.push(part(0), part(1));
    m.indexed({ topic: 't', partition: 0 }, 20, 1_700_000_002_000);
    m.indexed({ topic: 't', partition: 0 }, 10, 1_700_000_001_000); // an earlier batch finishing later
    m.indexed({ topic: 't', partition: 7 }, 1, 1_700_000_000_000); // not assigned
    let text = await m.registry.metrics();
    expect(sample(text, 'sluice_partition_last_indexed_timestamp_seconds{topic="t",partition="0"}')).to.equal(1_700_000_002);
    expect(sample(text, 'sluice_partition_last_indexed_timestamp_seconds{topic="t",partition="1"}')).to.equal(undefined);
    expect(text).to.not.include('partition="7"');
    m.assigned([{ topic: 't', partition: 0 }]);
    m.indexed({ topic: 't', partition: 0 }, 15, 1_700_000_001_500);
    text = await m.registry.metrics();
    expect(sample(text, 'sluice_partition_last_indexed_timestamp_seconds{topic="t",partition="0"}')).to.equal(1_700_000_001.5);
  });

  it('says what halts the pipeline, by cause, and the dead-letter share of the breaker window', async () => {
    const { view } = fakeView({
      halted: () => true,
      haltedBy: () => ({ elasticsearch: false, dead_letter_topic: true, dead_letter_ratio: false }),
      deadLetterRatio: () => 0.25,
    });
    const text = await createMetrics(view).registry.metrics();
    expect(sample(text, 'sluice_halted')).to.equal(1);
    expect(sample(text, 'sluice_halted_by{cause="elasticsearch"}')).to.equal(0);
    expect(sample(text, 'sluice_halted_by{cause="dead_letter_topic"}')).to.equal(1);
    expect(sample(text, 'sluice_halted_by{cause="dead_letter_ratio"}')).to.equal(0);
    expect(sample(text, 'sluice_dead_letter_ratio')).to.equal(0.25);
  });

  it('process metrics (event-loop delay sampled every 10 ms) only when someone can scrape them', async () => {
    const served = await createMetrics(fakeView().view).registry.metrics();
    expect(served).to.include('nodejs_eventloop_lag_seconds');
    const quiet = await createMetrics(fakeView().view, { processMetrics: false }).registry.metrics();
    expect(quiet).to.not.include('nodejs_eventloop_lag_seconds');
    expect(quiet).to.include('sluice_buffered_bytes');
  });

  it('sluice_native_consume names the path the run consumes on, when the run chose it', async () => {
    const text = await createMetrics(fakeView().view, { processMetrics: false, consumePath: 'js' }).registry.metrics();
    expect(sample(text, 'sluice_native_consume{path="js"}')).to.equal(1);
    expect(text).to.not.include('sluice_native_consume{path="native"}');
  });
});
