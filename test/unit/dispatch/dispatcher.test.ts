import { expect } from 'chai';
import pino from 'pino';
import { createDispatcher, type DispatchLimits } from '../../../src/dispatch/dispatcher.js';
import { RECORD_OVERHEAD_BYTES, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { sleep } from '../../../src/common/backoff.js';
import { BatchReader } from '../../../src/common/batch-layout.js';
import { emptyStats, Outcome, type BatchResult, type PackedTask } from '../../../src/common/protocol.js';

const logger = pino({ level: 'silent' });
const rec = (partition: number, offset: number, size = 10): KafkaRecord => ({ topic: 't', partition, offset, value: Buffer.alloc(size, 0x61) });

/** A worker pool stand-in: tasks wait until the test settles them, in any order. */
function fakePool() {
  const tasks: Array<{ task: PackedTask; resolve: (r: BatchResult) => void; reject: (e: Error) => void }> = [];
  return {
    tasks,
    run: (task: PackedTask) => new Promise<BatchResult>((resolve, reject) => tasks.push({ task, resolve, reject })),
    finish(i: number, outcome: (offset: number) => number = () => Outcome.Indexed) {
      const t = tasks[i];
      if (!t) throw new Error(`no task ${i}`);
      const batch = new BatchReader(t.task);
      const n = batch.count;
      const outcomes = new Uint8Array(n);
      const failures = [];
      for (let r = 0; r < n; r++) {
        outcomes[r] = outcome(batch.offset(r));
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

function setup(limits: Partial<DispatchLimits> = {}, onFailed: (r: KafkaRecord) => 'done' | 'block' | Promise<void> = () => 'block', run?: (task: PackedTask) => Promise<BatchResult>) {
  const pool = fakePool();
  const tracker = new WatermarkTracker();
  const committed = new Map<string, number>();
  const failed: KafkaRecord[] = [];
  const d = createDispatcher({
    run: run ?? pool.run,
    tracker,
    limits: { batchBytes: 1 << 20, batchDocs: 3, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30, ...limits },
    logger,
    onCommittable: (tp, offset) => committed.set(tpKey(tp.topic, tp.partition), offset),
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

  describe('flush (the consumer found nothing more waiting in Kafka)', () => {
    const count = (t: { task: PackedTask }): number => new BatchReader(t.task).count;

    it('seals a partial batch at once, and not before', () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000 });
      tracker.assign(tpKey('t', 0));
      d.add([rec(0, 0), rec(0, 1)]);
      expect(pool.tasks).to.have.length(0, 'not full and the linger time is far off');
      d.flush();
      expect(pool.tasks.map(count)).to.deep.equal([2]);
      expect(tracker.committable(tpKey('t', 0))).to.equal(undefined, 'its segment is open');
      d.close();
    });

    it('does nothing with nothing gathered', () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000 });
      tracker.assign(tpKey('t', 0));
      d.flush();
      d.add([rec(0, 0), rec(0, 1), rec(0, 2)]);
      expect(pool.tasks).to.have.length(1, 'sealed full by batchDocs');
      d.flush();
      expect(pool.tasks).to.have.length(1);
      expect(d.queued()).to.equal(0);
      d.close();
    });

    it('without it, records added call after call fill batches up to batchDocs', () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000, batchDocs: 4, maxInFlightBulks: 10 });
      tracker.assign(tpKey('t', 0));
      for (let o = 0; o < 12; o += 2) d.add([rec(0, o), rec(0, o + 1)]);
      expect(pool.tasks.map(count)).to.deep.equal([4, 4, 4]);
      d.close();
    });

    it('at the in-flight limit leaves the records gathering; a slot that frees sends them', async () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000, batchDocs: 3, maxInFlightBulks: 1 });
      tracker.assign(tpKey('t', 0));
      d.add([rec(0, 0), rec(0, 1), rec(0, 2), rec(0, 3)]);
      d.flush();
      expect(pool.tasks).to.have.length(1);
      expect(d.queued()).to.equal(0, 'a batch that could not run now is not sealed');
      d.add([rec(0, 4)]);
      d.flush();
      expect(pool.tasks).to.have.length(1);
      pool.finish(0);
      await tick();
      expect(pool.tasks.map(count)).to.deep.equal([3, 2]);
      d.close();
    });

    it('over maxInFlightBytes leaves the records gathering too', async () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000, batchDocs: 2, maxInFlightBytes: 2 * (10 + RECORD_OVERHEAD_BYTES) });
      tracker.assign(tpKey('t', 0));
      d.add([rec(0, 0), rec(0, 1), rec(0, 2)]);
      d.flush();
      expect(pool.tasks).to.have.length(1);
      expect(d.queued()).to.equal(0);
      pool.finish(0);
      await tick();
      expect(pool.tasks.map(count)).to.deep.equal([2, 1]);
      d.close();
    });

    it('a deferred flush is dropped when more records arrive without one (Kafka had more)', async () => {
      const { pool, tracker, d } = setup({ lingerMs: 60_000, batchDocs: 3, maxInFlightBulks: 1 });
      tracker.assign(tpKey('t', 0));
      d.add([rec(0, 0), rec(0, 1), rec(0, 2), rec(0, 3)]);
      d.flush();
      d.add([rec(0, 4)]);
      pool.finish(0);
      await tick();
      expect(pool.tasks).to.have.length(1, 'the gathered records wait to fill up or for the linger time');
      d.add([rec(0, 5)]);
      expect(pool.tasks.map(count)).to.deep.equal([3, 3]);
      d.close();
    });
  });

  it('batches by bytes', async () => {
    // batchBytes measures record bytes; the budget also counts each record's overhead.
    const { pool, tracker, d } = setup({ batchBytes: 400, batchDocs: 1000, maxInFlightBulks: 10 });
    tracker.assign(tpKey('t', 0));
    d.add([0, 1, 2, 3, 4].map((o) => rec(0, o, 200)));
    expect(pool.tasks.map((t) => new BatchReader(t.task).count)).to.deep.equal([2, 2]);
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
    const run = async (task: PackedTask): Promise<BatchResult> => {
      const batch = new BatchReader(task);
      const offsets = Array.from({ length: batch.count }, (_, r) => batch.offset(r));
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

  it('keeps records waiting for their dead-letter acknowledgement inside the byte budget', async () => {
    let ack!: () => void;
    const acked = new Promise<void>((r) => (ack = r));
    const { pool, tracker, d } = setup({ batchDocs: 2 }, () => acked);
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0, 100), rec(0, 1, 100)]);
    const full = d.bufferedBytes();
    pool.finish(0, (offset) => (offset === 1 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    expect(d.bufferedBytes()).to.equal(full, 'the batch is parked, not freed');
    ack();
    await tick();
    await tick();
    expect(d.bufferedBytes()).to.equal(0);
  });

  it('late results of a revoked partition neither fail records nor move offsets', async () => {
    const { pool, tracker, committed, failed, d } = setup({ batchDocs: 2 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    expect(await d.release(new Set([tpKey('t', 0)]), 5)).to.equal(false, 'still in flight at the deadline');
    tracker.revoke(tpKey('t', 0));
    tracker.assign(tpKey('t', 0));
    pool.finish(0, () => Outcome.Failed);
    await tick();
    expect(failed).to.deep.equal([], 'the next owner decides the fate of these records');
    expect(committed.size).to.equal(0);
    expect(d.idle()).to.equal(true);
  });

  it('after close, a failed task is not run again and waits end at once', async () => {
    const { pool, tracker, committed, d } = setup({ batchDocs: 2 });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    const releasing = d.release(new Set([tpKey('t', 0)]), 60_000);
    d.close();
    expect(await releasing).to.equal(false);
    pool.tasks[0]?.reject(new Error('Terminating worker thread'));
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.tasks).to.have.length(1, 'the pool is going away: nothing is retried');
    expect(committed.size).to.equal(0);
  });

  it('after close, a batch waiting to run again after its worker failed is not run', async () => {
    const pool = fakePool();
    const tracker = new WatermarkTracker();
    const waits: AbortSignal[] = [];
    const d = createDispatcher({
      run: pool.run,
      tracker,
      limits: { batchBytes: 1 << 20, batchDocs: 2, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30 },
      logger,
      onCommittable: () => undefined,
      onFailed: () => 'block',
      sleep: (_ms, signal) => (waits.push(signal), sleep(60_000, signal)),
    });
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    pool.tasks[0]?.reject(new Error('worker exited'));
    await waitUntil(() => waits.length === 1);
    d.close();
    expect(waits[0]?.aborted).to.equal(true, 'close() ends the wait');
    await tick();
    expect(pool.tasks).to.have.length(1, 'the batch is not run again');
  });

  it('after close, a dead-letter write that is abandoned leaves offsets where they were', async () => {
    let abandon!: (e: Error) => void;
    const parked = new Promise<void>((_, reject) => (abandon = reject));
    const { pool, tracker, committed, d } = setup({ batchDocs: 2 }, () => parked);
    tracker.assign(tpKey('t', 0));
    d.add([rec(0, 0), rec(0, 1)]);
    pool.finish(0, (offset) => (offset === 0 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    d.close();
    abandon(new Error('closed'));
    await tick();
    await tick();
    expect(committed.size).to.equal(0);
    expect(d.counters.deadLetterPending).to.equal(0);
  });
});

/**
 * A pool stand-in of worker threads with a fake clock: every task starts on the current thread at
 * once; a task holding a `hangs` offset never finishes its CPU phase; a task holding a `held` offset
 * stays in bulk I/O until released. Terminating a thread fails its tasks and starts the next one.
 */
function threadedSetup(hangs: (tp: string, offset: number) => boolean, held: (tp: string, offset: number) => boolean = () => false) {
  const clock = { t: 0 };
  let thread = 1;
  const live = new Set<{ thread: number; reject: (e: Error) => void }>();
  const runs: Array<{ partition: number; offsets: number[] }> = [];
  const holding: Array<() => void> = [];
  const terminated: number[] = [];
  let hungStarts = 0;
  const tracker = new WatermarkTracker();
  const committed = new Map<string, number>();
  const failures: Array<{ partition: number; offset: number; stage: string; reason: string }> = [];
  const d = createDispatcher({
    run: (task) =>
      new Promise<BatchResult>((resolve, reject) => {
        const entry = { thread, reject };
        live.add(entry);
        const slice = task.slices[0] as PackedTask['slices'][number];
        const tp = tpKey(slice.topic, slice.partition);
        const batch = new BatchReader(task);
      const offsets = Array.from({ length: batch.count }, (_, r) => batch.offset(r));
        runs.push({ partition: slice.partition, offsets });
        const done = (): void => {
          live.delete(entry);
          resolve({ outcomes: new Uint8Array(offsets.length).fill(Outcome.Indexed), failures: [], stats: { ...emptyStats(), docs: offsets.length } });
        };
        queueMicrotask(() => {
          d.signal({ kind: 'started', threadId: entry.thread, task: task.id });
          if (offsets.some((o) => hangs(tp, o))) {
            hungStarts++;
            return;
          }
          d.signal({ kind: 'encoded', threadId: entry.thread, task: task.id });
          if (offsets.some((o) => held(tp, o))) holding.push(() => live.has(entry) && done());
          else done();
        });
      }),
    tracker,
    limits: { batchBytes: 1 << 20, batchDocs: 8, lingerMs: 5, maxInFlightBulks: 4, maxInFlightBytes: 1 << 30 },
    logger,
    now: () => clock.t,
    onCommittable: (tp, offset) => committed.set(tpKey(tp.topic, tp.partition), offset),
    onFailed: (r, f) => (failures.push({ partition: r.partition, offset: r.offset, stage: f.stage, reason: f.reason }), 'done'),
    taskBackoffMs: 1,
    taskDeadline: {
      timeoutMs: 1000,
      terminateWorker(threadId) {
        terminated.push(threadId);
        thread = threadId + 1;
        for (const e of [...live]) {
          if (e.thread !== threadId) continue;
          live.delete(e);
          queueMicrotask(() => e.reject(new Error(`worker exited with code: 1`)));
        }
      },
    },
  });
  /** Once the next hanging task has started, moves the clock past its deadline and waits for the kill. */
  async function expireNext(): Promise<void> {
    const kills = terminated.length;
    await waitUntil(() => hungStarts > kills);
    clock.t += 1000;
    await waitUntil(() => terminated.length > kills);
  }
  return { d, tracker, committed, failures, runs, terminated, holding, expireNext, hungStarts: () => hungStarts };
}

describe('dispatcher task deadlines', () => {
  it('isolates a record whose transform hangs in log2(batch) deadlines, fails it as timed out, and indexes the rest', async () => {
    const t = threadedSetup((_, offset) => offset === 5);
    const tp = tpKey('t', 0);
    t.tracker.assign(tp);
    t.d.add([0, 1, 2, 3, 4, 5, 6, 7].map((o) => rec(0, o)));
    while (t.committed.get(tp) !== 8) {
      await waitUntil(() => t.committed.get(tp) === 8 || t.hungStarts() > t.terminated.length);
      if (t.committed.get(tp) !== 8) await t.expireNext();
    }
    // [0..7] → [4..7] → [4,5] → [5]: one deadline per level, no retry of a batch that timed out.
    expect(t.terminated).to.have.length(4);
    expect(t.d.counters.taskTimeouts).to.equal(4);
    expect(t.failures).to.have.length(1);
    expect(t.failures[0]).to.deep.include({ offset: 5, stage: 'worker' });
    expect(t.failures[0]?.reason).to.match(/^worker timed out: .*pipeline\.taskTimeoutMs \(1000 ms\)$/);
    expect(t.d.counters.indexed).to.equal(7);
    expect(t.runs.filter((r) => r.offsets.includes(5)).map((r) => r.offsets.length)).to.deep.equal([8, 4, 2, 1]);
  });

  it('runs batches that only shared the terminated thread again, whole, without spending attempts', async () => {
    const p0 = tpKey('t', 0);
    const p1 = tpKey('t', 1);
    const t = threadedSetup((tp, offset) => tp === p1 && offset === 7, (tp) => tp === p0);
    t.tracker.assign(p0);
    t.tracker.assign(p1);
    // A two-record batch of partition 0 sits in bulk I/O (encoded) on the thread while partition 1's batch hangs.
    t.d.add([rec(0, 0), rec(0, 1)]);
    await waitUntil(() => t.holding.length === 1);
    t.d.add([0, 1, 2, 3, 4, 5, 6, 7].map((o) => rec(1, o)));
    while (t.failures.length === 0) {
      await waitUntil(() => t.failures.length > 0 || t.hungStarts() > t.terminated.length);
      if (t.failures.length === 0) await t.expireNext();
    }
    expect(t.terminated).to.have.length(4, '[0..7] → [4..7] → [6,7] → [7]');
    await waitUntil(() => t.runs.filter((r) => r.partition === 0).length === 5);
    // Killed with the thread four times: with attempts spent it would have been split after the third.
    expect(t.runs.filter((r) => r.partition === 0).map((r) => r.offsets)).to.deep.equal(Array(5).fill([0, 1]));
    t.holding.at(-1)?.();
    await waitUntil(() => t.committed.get(p0) === 2 && t.committed.get(p1) === 8);
    expect(t.failures).to.deep.equal([{ partition: 1, offset: 7, stage: 'worker', reason: t.failures[0]?.reason }]);
    expect(t.failures[0]?.reason).to.match(/timed out/);
    expect(t.d.counters.indexed).to.equal(9);
    expect(t.d.idle()).to.equal(true);
  });
});

describe('dispatcher: how long a batch has run', () => {
  it('dates a batch from when a worker starts it, not from when it waits for one', async () => {
    let now = 100;
    const pool = fakePool();
    const tracker = new WatermarkTracker();
    const d = createDispatcher({
      run: pool.run,
      tracker,
      limits: { batchBytes: 1 << 20, batchDocs: 2, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30 },
      logger,
      now: () => now,
      onCommittable: () => undefined,
      onFailed: () => 'done',
      taskDeadline: { timeoutMs: 60_000, terminateWorker: () => undefined },
    });
    const tp = tpKey('t', 0);
    tracker.assign(tp);
    d.add([rec(0, 0), rec(0, 1)]);
    expect(pool.tasks).to.have.length(1);
    now = 5000; // the worker comes up only now
    expect(tracker.oldestRunningSince(tp)).to.equal(undefined);
    d.signal({ kind: 'started', threadId: 1, task: (pool.tasks[0] as { task: PackedTask }).task.id });
    expect(tracker.oldestRunningSince(tp)).to.equal(5000);
    pool.finish(0);
    await tick();
    expect(tracker.oldestRunningSince(tp)).to.equal(undefined);
  });
});

describe('dispatcher: the last record indexed per partition', () => {
  it('reports, per owned partition of a completed batch, its last indexed record with a timestamp', async () => {
    const pool = fakePool();
    const tracker = new WatermarkTracker();
    const indexed: Array<[string, number, number]> = [];
    const d = createDispatcher({
      run: pool.run,
      tracker,
      limits: { batchBytes: 1 << 20, batchDocs: 7, lingerMs: 5, maxInFlightBulks: 2, maxInFlightBytes: 1 << 30 },
      logger,
      onCommittable: () => undefined,
      onFailed: () => 'done',
      onIndexed: (tp, offset, timestamp) => indexed.push([`${tp.topic}/${tp.partition}`, offset, timestamp]),
    });
    for (const p of [0, 1, 2]) tracker.assign(tpKey('t', p));
    const at = (partition: number, offset: number, timestamp: number | undefined): KafkaRecord => ({ ...rec(partition, offset), timestamp });
    // Partition 0: its last record failed, the one before it is the last indexed. Partition 1: its
    // last indexed record has no timestamp (-1), the one before has. Partition 2: revoked meanwhile.
    d.add([at(0, 10, 1000), at(0, 11, 2000), at(0, 12, 3000), at(1, 5, 500), at(1, 6, -1), at(2, 0, 7000), at(2, 1, 8000)]);
    expect(pool.tasks).to.have.length(1);
    tracker.revoke(tpKey('t', 2));
    pool.finish(0, (offset) => (offset === 12 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    expect(indexed).to.deep.equal([
      ['t/0', 11, 2000],
      ['t/1', 5, 500],
    ]);
  });
});
