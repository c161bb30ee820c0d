import { expect } from 'chai';
import pino from 'pino';
import { createDispatcher, mergeResults, splitRuns, type DispatchLimits } from '../../../src/dispatch/dispatcher.js';
import { RECORD_OVERHEAD_BYTES, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { COORD_STRIDE, emptyStats, Outcome, type BatchResult, type BatchStats, type BatchTask } from '../../../src/protocol.js';

const logger = pino({ level: 'silent' });
const rec = (partition: number, offset: number, size = 10): KafkaRecord => ({ topic: 't', partition, offset, value: Buffer.alloc(size, 0x61) });

/** A worker pool stand-in: tasks wait until the test settles them, in any order. */
function fakePool() {
  const tasks: Array<{ task: BatchTask; resolve: (r: BatchResult) => void; reject: (e: Error) => void }> = [];
  return {
    tasks,
    run: (task: BatchTask) => new Promise<BatchResult>((resolve, reject) => tasks.push({ task, resolve, reject })),
    finish(i: number, outcome: (offset: number) => number = () => Outcome.Indexed) {
      const t = tasks[i];
      if (!t) throw new Error(`no task ${i}`);
      const n = t.task.coords.length / COORD_STRIDE;
      const outcomes = new Uint8Array(n);
      const failures = [];
      for (let r = 0; r < n; r++) {
        outcomes[r] = outcome(t.task.coords[r * COORD_STRIDE] as number);
        if (outcomes[r] === Outcome.Failed) failures.push({ record: r, stage: 'index' as const, reason: 'mapper_parsing_exception', status: 400, errorType: 'mapper_parsing_exception' });
      }
      t.resolve({ outcomes, failures, stats: { ...emptyStats(), docs: n, bulkRequests: 1 } });
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setup(limits: Partial<DispatchLimits> = {}, onFailed: (r: KafkaRecord) => 'done' | 'block' | Promise<void> = () => 'block', run?: (task: BatchTask) => Promise<BatchResult>) {
  const pool = fakePool();
  const tracker = new WatermarkTracker();
  const committed = new Map<string, number>();
  const failed: KafkaRecord[] = [];
  const d = createDispatcher({
    run: run ?? pool.run,
    tracker,
    limits: { batchBytes: 1 << 20, batchDocs: 3, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30, ...limits },
    logger,
    onCommittable: (tp, offset) => committed.set(tp, offset),
    onFailed: (r) => {
      failed.push(r);
      return onFailed(r);
    },
    taskBackoffMs: 1,
  });
  return { pool, tracker, committed, failed, d };
}

describe('dispatcher', () => {
  it('batches by docs, holds at the in-flight limit, and commits only contiguous completions', async () => {
    const { pool, tracker, committed, d } = setup();
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3, 4, 5, 6, 7, 8].map((o) => rec(0, o)));
    expect(pool.tasks).to.have.length(2, 'two batches in flight, the third waits');
    expect(d.queued()).to.equal(1);
    pool.finish(1);
    await tick();
    expect(committed.size).to.equal(0, 'batch 2 done before batch 1 must not commit');
    expect(pool.tasks).to.have.length(3);
    pool.finish(0);
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(6);
    pool.finish(2);
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(9);
    expect(d.idle()).to.equal(true);
    expect(d.counters.indexed).to.equal(9);
  });

  it('sends a partial batch after the linger time', async () => {
    const { pool, tracker, d } = setup({ lingerMs: 20 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0)]);
    expect(pool.tasks).to.have.length(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(pool.tasks).to.have.length(1);
  });

  it('batches by bytes', async () => {
    // batchBytes measures record bytes; the budget also counts each record's overhead.
    const { pool, tracker, d } = setup({ batchBytes: 400, batchDocs: 1000, maxInFlightBulks: 10 });
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3, 4].map((o) => rec(0, o, 200)));
    expect(pool.tasks.map((t) => t.task.coords.length / COORD_STRIDE)).to.deep.equal([2, 2]);
    expect(d.bufferedBytes()).to.equal(5 * (200 + RECORD_OVERHEAD_BYTES));
  });

  it('stops the watermark before a failed record and reports it', async () => {
    const { pool, tracker, committed, failed, d } = setup({ batchDocs: 10 });
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3].map((o) => rec(0, o)));
    await new Promise((r) => setTimeout(r, 10));
    pool.finish(0, (offset) => (offset === 2 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(2);
    expect(failed.map((r) => r.offset)).to.deep.equal([2]);
    expect(d.counters.failed).to.equal(1);
  });

  it('holds the watermark until a failed record is safely dead-lettered; skipped records pass', async () => {
    let ack!: () => void;
    const acked = new Promise<void>((r) => (ack = r));
    const { pool, tracker, committed, d } = setup({ batchDocs: 4 }, (r) => (r.offset === 1 ? acked : 'done'));
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3].map((o) => rec(0, o)));
    pool.finish(0, (offset) => (offset === 1 || offset === 2 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    expect(committed.size).to.equal(0, 'the dead-letter write is not acknowledged yet');
    expect(d.idle()).to.equal(false);
    ack();
    await tick();
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(4);
    expect(d.idle()).to.equal(true);
  });

  it('isolates a record that fails every worker, and indexes the rest of its batch', async () => {
    const ran: number[][] = [];
    const run = async (task: BatchTask): Promise<BatchResult> => {
      const offsets = Array.from({ length: task.coords.length / COORD_STRIDE }, (_, r) => task.coords[r * COORD_STRIDE] as number);
      ran.push(offsets);
      if (offsets.includes(5)) throw new Error('worker exited with code 1');
      return { outcomes: new Uint8Array(offsets.length).fill(Outcome.Indexed), failures: [], stats: { ...emptyStats(), docs: offsets.length, bulkRequests: 1 } };
    };
    const failures: number[] = [];
    const { tracker, committed, d } = setup({ batchDocs: 8 }, (r) => (failures.push(r.offset), 'done'), run);
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3, 4, 5, 6, 7].map((o) => rec(0, o)));
    await waitUntil(() => committed.get(tpKey('t', 0)) === 8);
    expect(failures).to.deep.equal([5]);
    expect(d.counters.indexed).to.equal(7);
    expect(ran.filter((o) => o.length === 1 && o[0] === 5)).to.have.length(3, 'the lone record is tried maxTaskAttempts times');
  });

  it('runs a batch again when its worker failed, without losing it', async () => {
    const { pool, tracker, committed, d } = setup({ batchDocs: 2 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    pool.tasks[0]?.reject(new Error('worker exited'));
    await waitUntil(() => pool.tasks.length === 2);
    expect(pool.tasks).to.have.length(2);
    pool.finish(1);
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(2);
    expect(d.counters.taskRetries).to.equal(1);
  });

  it('on revoke drops undispatched records of the partition and waits for its batches in flight', async () => {
    const { pool, tracker, committed, d } = setup({ batchDocs: 2, maxInFlightBulks: 1 });
    tracker.assign(tpKey('t', 0));
    tracker.assign(tpKey('t', 1));
    d.add([rec(0, 0), rec(0, 1), rec(0, 2), rec(1, 0), rec(1, 1)]);
    expect(pool.tasks).to.have.length(1);
    let released = false;
    const waiting = d.release(new Set([tpKey('t', 0)]), 5_000).then((ok) => {
      released = ok;
    });
    await tick();
    expect(released).to.equal(false, 'a batch of partition 0 is still in flight');
    pool.finish(0);
    await waiting;
    expect(released).to.equal(true);
    expect(committed.get(tpKey('t', 0))).to.equal(2);
    await tick();
    const sent = pool.tasks.slice(1).flatMap((t) => t.task.slices.map((s) => s.partition));
    expect(sent).to.not.include(0, 'records of the revoked partition are not dispatched');
  });

  it('ignores records of partitions it does not own', () => {
    const { pool, d } = setup();
    d.add([rec(5, 0), rec(5, 1), rec(5, 2)]);
    expect(pool.tasks).to.have.length(0);
    expect(d.counters.dropped).to.equal(3);
    expect(d.bufferedBytes()).to.equal(0);
  });

  it('accounts buffered bytes from fetch to completion', async () => {
    const { pool, tracker, d } = setup({ batchDocs: 2, maxInFlightBulks: 1 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0, 100), rec(0, 1, 100), rec(0, 2, 100), rec(0, 3, 100)]);
    const full = d.bufferedBytes();
    expect(full).to.be.greaterThan(400);
    pool.finish(0);
    await tick();
    expect(d.bufferedBytes()).to.equal(full / 2);
    pool.finish(1);
    await tick();
    expect(d.bufferedBytes()).to.equal(0);
  });
});

describe('batch splitting', () => {
  it('splits runs by record count, keeping partitions and order, and merges results back', () => {
    const runs = [
      { tp: 'a', topic: 't', partition: 0, records: [rec(0, 0), rec(0, 1), rec(0, 2)] },
      { tp: 'b', topic: 't', partition: 1, records: [rec(1, 0), rec(1, 1)] },
    ];
    const [left, right] = splitRuns(runs, 4);
    expect(left.map((r) => [r.partition, r.records.map((x) => x.offset)])).to.deep.equal([[0, [0, 1, 2]], [1, [0]]]);
    expect(right.map((r) => [r.partition, r.records.map((x) => x.offset)])).to.deep.equal([[1, [1]]]);
    const stats = (): BatchStats => ({ ...emptyStats(), docs: 1, bulkRequests: 1, bulkBytes: 1, bulkMs: [5], retries: { overload: 1 } });
    const merged = mergeResults(
      { outcomes: Uint8Array.of(1, 1, 3, 1), failures: [{ record: 2, stage: 'index', reason: 'x' }], stats: stats() },
      { outcomes: Uint8Array.of(3), failures: [{ record: 0, stage: 'worker', reason: 'y' }], stats: stats() },
    );
    expect(Array.from(merged.outcomes)).to.deep.equal([1, 1, 3, 1, 3]);
    expect(merged.failures.map((f) => f.record)).to.deep.equal([2, 4]);
    expect(merged.stats).to.deep.include({ docs: 2, bulkRequests: 2, bulkBytes: 2, bulkMs: [5, 5], retries: { overload: 2 } });
  });
});
