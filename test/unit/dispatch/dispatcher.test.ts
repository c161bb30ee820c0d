import { expect } from 'chai';
import pino from 'pino';
import { createDispatcher, type DispatchLimits } from '../../../src/dispatch/dispatcher.js';
import type { KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { COORD_STRIDE, Outcome, type BatchResult, type BatchTask } from '../../../src/protocol.js';

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
      t.resolve({ outcomes, failures, stats: { docs: n, bulkRequests: 1, bulkBytes: 0, retries: 0 } });
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(limits: Partial<DispatchLimits> = {}) {
  const pool = fakePool();
  const tracker = new WatermarkTracker();
  const committed = new Map<string, number>();
  const failed: KafkaRecord[] = [];
  const d = createDispatcher({
    run: pool.run,
    tracker,
    limits: { batchBytes: 1 << 20, batchDocs: 3, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30, ...limits },
    logger,
    onCommittable: (tp, offset) => committed.set(tp, offset),
    onFailed: (r) => failed.push(r),
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
    // Each record counts its bytes plus a fixed per-record overhead (its JS object).
    const { pool, tracker, d } = setup({ batchBytes: 700, batchDocs: 1000, maxInFlightBulks: 10 });
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3, 4].map((o) => rec(0, o, 200)));
    expect(pool.tasks.map((t) => t.task.coords.length / COORD_STRIDE)).to.deep.equal([2, 2]);
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

  it('runs a batch again when its worker failed, without losing it', async () => {
    const { pool, tracker, committed, d } = setup({ batchDocs: 2 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    pool.tasks[0]?.reject(new Error('worker exited'));
    await new Promise((r) => setTimeout(r, 300));
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
