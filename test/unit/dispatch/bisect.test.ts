import { expect } from 'chai';
import pino from 'pino';
import { RecordsRun, type KafkaRecord, type PartitionRun } from '../../../src/dispatch/batch.js';
import { createBisector, mergeResults, splitRuns, type BisectOptions, type RunOutcome } from '../../../src/dispatch/bisect.js';
import type { TaskFate } from '../../../src/dispatch/task-watch.js';
import { emptyStats, Outcome, type BatchResult, type BatchStats } from '../../../src/common/protocol.js';

const rec = (partition: number, offset: number): KafkaRecord => ({ topic: 't', partition, offset, value: Buffer.from('x') });
const runOf = (partition: number, offsets: number[]): PartitionRun => new RecordsRun(`t/${partition}`, 't', partition, offsets.map((o) => rec(partition, o)));
const offsetsOf = (runs: PartitionRun[]): number[] => runs.flatMap((r) => Array.from({ length: r.length }, (_, k) => r.offset(k)));
const indexed = (n: number): BatchResult => ({ outcomes: new Uint8Array(n).fill(Outcome.Indexed), failures: [], stats: { ...emptyStats(), docs: n } });

/**
 * A bisector over a pool stand-in: `fate(offsets, run)` says how the n-th run (from 0) of those
 * records fails, or undefined when they are indexed. Sleeps resolve at once and are recorded.
 */
function setup(fate: (offsets: number[], run: number) => TaskFate | undefined, over: Partial<BisectOptions> = {}) {
  const ran: number[][] = [];
  const sleeps: number[] = [];
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  let failures = 0;
  let starts = 0;
  const execute = createBisector({
    runOnce: async (runs, started): Promise<RunOutcome> => {
      started();
      const offsets = offsetsOf(runs);
      const f = fate(offsets, ran.length);
      ran.push(offsets);
      return f === undefined ? { result: indexed(offsets.length) } : { err: new Error('worker exited with code 1'), fate: f };
    },
    maxAttempts: 3,
    backoffMs: 100,
    timeoutMs: 1000,
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) }),
    onFailure: () => failures++,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0,
    ...over,
  });
  const started = (): void => void starts++;
  return { execute, started, ran, sleeps, logs, failures: () => failures, starts: () => starts };
}

describe('bisect: a batch whose worker fails', () => {
  it('returns the result of a run that succeeds, without waiting', async () => {
    const b = setup(() => undefined);
    const result = await b.execute([runOf(0, [0, 1, 2])], b.started);
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Indexed, Outcome.Indexed]);
    expect(b.ran).to.deep.equal([[0, 1, 2]]);
    expect(b.sleeps).to.deep.equal([]);
    expect(b.failures()).to.equal(0);
    expect(b.starts()).to.equal(1);
  });

  it('runs the batch again after a backoff with jitter, doubling, and returns the run that succeeds', async () => {
    const b = setup((_, run) => (run < 2 ? 'failed' : undefined));
    const result = await b.execute([runOf(0, [0, 1])], b.started);
    expect(result.failures).to.deep.equal([]);
    expect(b.ran).to.deep.equal([[0, 1], [0, 1], [0, 1]]);
    // Steps 100 and 200 ms; at random 0 half of each.
    expect(b.sleeps).to.deep.equal([50, 100]);
    expect(b.failures()).to.equal(2);
    const retries = b.logs.filter((l) => l.msg === 'worker failed a batch; running it again');
    expect(retries.map((l) => [l.attempt, l.records, l.retryInMs])).to.deep.equal([
      [1, 2, 50],
      [2, 2, 100],
    ]);
  });

  it('waits the whole step at random 1', async () => {
    const b = setup((_, run) => (run < 2 ? 'failed' : undefined), { random: () => 1 });
    await b.execute([runOf(0, [0])], b.started);
    expect(b.sleeps).to.deep.equal([100, 200]);
  });

  it('after maxAttempts splits the batch in halves until the record that fails every worker is alone, and fails only it', async () => {
    const b = setup((offsets) => (offsets.includes(5) ? 'failed' : undefined));
    const result = await b.execute([runOf(0, [0, 1, 2, 3, 4, 5, 6, 7])], b.started);
    const expected: number[] = Array(8).fill(Outcome.Indexed);
    expected[5] = Outcome.Failed;
    expect(Array.from(result.outcomes)).to.deep.equal(expected);
    expect(result.failures).to.deep.equal([{ record: 5, stage: 'worker', reason: 'worker failed 3 times on this record: worker exited with code 1', attempts: 3 }]);
    expect(b.ran.filter((o) => o.includes(5)).map((o) => o.length)).to.deep.equal([8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1]);
    expect(b.ran.filter((o) => !o.includes(5))).to.deep.equal([[0, 1, 2, 3], [4], [6, 7]]);
    expect(b.logs.filter((l) => l.msg === 'worker keeps failing a batch; splitting it to isolate the record').map((l) => l.records)).to.deep.equal([8, 4, 2]);
    const poison = b.logs.filter((l) => l.msg === 'record fails every worker that processes it');
    expect(poison.map((l) => [l.topic, l.partition, l.offset])).to.deep.equal([['t', 0, 5]]);
  });

  it('splits a batch that timed out at once, without waiting, and fails the record that hangs as timed out', async () => {
    const b = setup((offsets) => (offsets.includes(5) ? 'timeout' : undefined));
    const result = await b.execute([runOf(0, [0, 1, 2, 3, 4, 5, 6, 7])], b.started);
    expect(b.ran.filter((o) => o.includes(5)).map((o) => o.length)).to.deep.equal([8, 4, 2, 1]);
    expect(b.sleeps).to.deep.equal([]);
    expect(result.failures).to.deep.equal([
      { record: 5, stage: 'worker', reason: 'worker timed out: decode, transform and encode of this record took longer than pipeline.taskTimeoutMs (1000 ms)', attempts: 1 },
    ]);
    expect(b.logs.filter((l) => l.msg === 'worker keeps failing a batch; splitting it to isolate the record').map((l) => l.timedOut)).to.deep.equal([true, true, true]);
  });

  it('runs a batch that only shared a terminated thread again, whole, without spending an attempt or waiting', async () => {
    const b = setup((_, run) => (run < 4 ? 'collateral' : undefined));
    const result = await b.execute([runOf(0, [0, 1])], b.started);
    expect(result.failures).to.deep.equal([]);
    expect(b.ran).to.deep.equal(Array(5).fill([0, 1]));
    expect(b.sleeps).to.deep.equal([]);
    expect(b.failures()).to.equal(4, 'each is counted as a task retry');
    expect(b.logs.filter((l) => l.msg === 'batch was on a worker thread terminated for another task; running it again')).to.have.length(4);
  });

  it('splits across partition runs in record order', async () => {
    const b = setup((offsets, run) => (run < 3 && offsets.length === 4 ? 'failed' : undefined));
    const result = await b.execute([runOf(0, [0, 1, 2]), runOf(1, [10])], b.started);
    expect(b.ran.slice(3)).to.deep.equal([[0, 1], [2, 10]]);
    expect(result.outcomes).to.have.length(4);
    expect(result.failures).to.deep.equal([]);
  });

  it('ends the batch with the error of a wait that rejects (the stop), running it no more', async () => {
    const stopped = new Error('dispatcher closed');
    const b = setup(() => 'failed', {
      sleep: async () => {
        throw stopped;
      },
    });
    const outcome = await b.execute([runOf(0, [0, 1])], b.started).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    expect(outcome).to.equal(stopped);
    expect(b.ran).to.have.length(1);
  });

  it('ends the batch when a run rejects (the pool is going away)', async () => {
    const gone = new Error('pool destroyed');
    const b = setup(() => undefined, {
      runOnce: async () => {
        throw gone;
      },
    });
    expect(await b.execute([runOf(0, [0])], b.started).catch((err: unknown) => err)).to.equal(gone);
    expect(b.failures()).to.equal(0);
  });
});

describe('bisect: batch splitting', () => {
  it('splits runs by record count, keeping partitions and order, and merges results back', () => {
    const runs = [
      new RecordsRun('a', 't', 0, [rec(0, 0), rec(0, 1), rec(0, 2)]),
      new RecordsRun('b', 't', 1, [rec(1, 0), rec(1, 1)]),
    ];
    const [left, right] = splitRuns(runs, 4);
    expect(left.map((r) => [r.partition, Array.from({ length: r.length }, (_, k) => r.offset(k))])).to.deep.equal([[0, [0, 1, 2]], [1, [0]]]);
    expect(right.map((r) => [r.partition, Array.from({ length: r.length }, (_, k) => r.offset(k))])).to.deep.equal([[1, [1]]]);
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
