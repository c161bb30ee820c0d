import { expect } from 'chai';
import pino from 'pino';
import { createDispatcher, type DispatchLimits } from '../../../src/dispatch/dispatcher.js';
import { ROW_OVERHEAD_BYTES, RowsRun, rowsWithin, type FetchedRows, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { splitRuns } from '../../../src/dispatch/bisect.js';
import { ChunkPool } from '../../../src/dispatch/chunks.js';
import { readHeaders } from '../../../src/kafka/native-consume.js';
import { tpKey, WatermarkTracker } from '../../../src/offsets/watermark.js';
import { BatchReader, NULL_REF } from '../../../src/common/batch-layout.js';
import { emptyStats, Outcome, type BatchResult, type PackedTask } from '../../../src/common/protocol.js';

const logger = pino({ level: 'silent' });

interface Row {
  topic?: string;
  partition: number;
  offset: number;
  value: string | null;
  key?: string | null;
  headers?: Array<[string, string | null]>;
  timestamp?: number;
}

/**
 * Writes rows as the native consumer does (native/kafka/): bytes appended to `chunk` from `at`,
 * rows grouped by partition in the order given (the caller lists each partition's rows together).
 */
function fetched(chunk: SharedArrayBuffer, at: number, rows: Row[]): { rows: FetchedRows; end: number } {
  const bytes = Buffer.from(chunk);
  const index = new Uint32Array(rows.length * 4);
  const coords = new Float64Array(rows.length * 2);
  const headers = new Uint32Array(rows.length * 2);
  const runs: Array<{ topic: string; partition: number; start: number; end: number }> = [];
  const put = (s: string | null | undefined, r: number, slot: number): void => {
    if (s === null || s === undefined) {
      index[4 * r + slot] = NULL_REF;
      index[4 * r + slot + 1] = NULL_REF;
      return;
    }
    index[4 * r + slot] = at;
    at += bytes.write(s, at);
    index[4 * r + slot + 1] = at;
  };
  rows.forEach((row, r) => {
    put(row.value, r, 0);
    put(row.key, r, 2);
    if (!row.headers) {
      headers[2 * r] = NULL_REF;
      headers[2 * r + 1] = NULL_REF;
    } else {
      headers[2 * r] = at;
      for (const [name, value] of row.headers) {
        at = bytes.writeUInt32LE(Buffer.byteLength(name), at);
        at += bytes.write(name, at);
        if (value === null) at = bytes.writeUInt32LE(NULL_REF, at);
        else {
          at = bytes.writeUInt32LE(Buffer.byteLength(value), at);
          at += bytes.write(value, at);
        }
      }
      headers[2 * r + 1] = at;
    }
    coords[2 * r] = row.offset;
    coords[2 * r + 1] = row.timestamp ?? 1_700_000_000_000 + row.offset;
    const topic = row.topic ?? 't';
    const last = runs[runs.length - 1];
    if (last && last.topic === topic && last.partition === row.partition) last.end = r + 1;
    else runs.push({ topic, partition: row.partition, start: r, end: r + 1 });
  });
  return { rows: { data: chunk, index, coords, headers, runs }, end: at };
}

function setup(limits: Partial<DispatchLimits> = {}, chunks?: ChunkPool) {
  const tasks: Array<{ task: PackedTask; transferList: ArrayBuffer[]; resolve: (r: BatchResult) => void }> = [];
  const tracker = new WatermarkTracker();
  const committed = new Map<string, number>();
  const failed: KafkaRecord[] = [];
  const d = createDispatcher({
    run: (task, transferList) => new Promise<BatchResult>((resolve) => tasks.push({ task, transferList, resolve })),
    tracker,
    limits: { batchBytes: 1 << 20, batchDocs: 3, lingerMs: 60_000, maxInFlightBulks: 10, maxInFlightBytes: 1 << 30, ...limits },
    logger,
    ...(chunks ? { chunks } : {}),
    onCommittable: (tp, offset) => committed.set(tpKey(tp.topic, tp.partition), offset),
    onFailed: (r) => {
      failed.push(r);
      return 'done';
    },
  });
  const finish = (i: number, outcome: (offset: number) => number = () => Outcome.Indexed): void => {
    const t = tasks[i] as (typeof tasks)[number];
    const batch = new BatchReader(t.task);
    const outcomes = new Uint8Array(batch.count);
    const failures = [];
    for (let r = 0; r < batch.count; r++) {
      outcomes[r] = outcome(batch.offset(r));
      if (outcomes[r] === Outcome.Failed) failures.push({ record: r, stage: 'index' as const, reason: 'mapper_parsing_exception', status: 400 });
    }
    t.resolve({ outcomes, failures, stats: emptyStats() });
  };
  return { tasks, tracker, committed, failed, d, finish };
}

const read = (task: PackedTask) => {
  const b = new BatchReader(task);
  return Array.from({ length: b.count }, (_, r) => ({
    offset: b.offset(r),
    value: b.hasValue(r) ? b.bytes.toString('utf8', b.valueStart(r), b.valueEnd(r)) : null,
    key: b.hasKey(r) ? b.bytes.toString('utf8', b.keyStart(r), b.keyEnd(r)) : null,
  }));
};

const tick = () => new Promise((r) => setImmediate(r));

describe('dispatcher: rows of the native consumer', () => {
  it('packs a task over the shared chunk, partition by partition, with only its index and coordinates transferred', () => {
    const { tasks, tracker, d } = setup({ batchDocs: 10 });
    tracker.assign(tpKey('t', 0));
    tracker.assign(tpKey('t', 1));
    const chunk = new SharedArrayBuffer(4096);
    const a = fetched(chunk, 0, [
      { partition: 1, offset: 7, value: '{"b":7}', key: 'k7' },
      { partition: 0, offset: 3, value: '{"a":3}' },
      { partition: 0, offset: 4, value: null, key: 'gone' },
    ]);
    d.addRows(a.rows);
    const b = fetched(chunk, a.end, [{ partition: 1, offset: 8, value: '{"b":8}', key: '' }]);
    d.addRows(b.rows);
    d.flush();
    expect(tasks).to.have.length(1);
    const { task, transferList } = tasks[0] as (typeof tasks)[number];
    expect(task.data).to.equal(chunk, 'the chunk is shared, not copied');
    expect(transferList).to.deep.equal([task.index.buffer, task.coords.buffer]);
    expect(task.slices).to.deep.equal([
      { topic: 't', partition: 1, start: 0, end: 2 },
      { topic: 't', partition: 0, start: 2, end: 4 },
    ]);
    expect(read(task)).to.deep.equal([
      { offset: 7, value: '{"b":7}', key: 'k7' },
      { offset: 8, value: '{"b":8}', key: '' },
      { offset: 3, value: '{"a":3}', key: null },
      { offset: 4, value: null, key: 'gone' },
    ]);
  });

  it('splits a call at batchDocs and batchBytes, and ends a batch where its chunk ends', () => {
    const { tasks, tracker, d } = setup({ batchDocs: 3, batchBytes: 1 << 20 });
    tracker.assign(tpKey('t', 0));
    const first = new SharedArrayBuffer(4096);
    d.addRows(fetched(first, 0, [0, 1, 2, 3, 4].map((o) => ({ partition: 0, offset: o, value: `{"o":${o}}` }))).rows);
    expect(tasks).to.have.length(1, 'three rows make a batch, two gather');
    d.addRows(fetched(new SharedArrayBuffer(4096), 0, [{ partition: 0, offset: 5, value: '{"o":5}' }]).rows);
    expect(tasks).to.have.length(2, 'the new chunk sealed the two rows of the old one');
    expect(tasks[1]?.task.data).to.equal(first);
    expect(read((tasks[1] as (typeof tasks)[number]).task).map((r) => r.offset)).to.deep.equal([3, 4]);

    const bySize = setup({ batchDocs: 100, batchBytes: 25 });
    bySize.tracker.assign(tpKey('t', 0));
    bySize.d.addRows(fetched(new SharedArrayBuffer(4096), 0, [0, 1, 2, 3, 4].map((o) => ({ partition: 0, offset: o, value: `{"value":${o}}` }))).rows);
    bySize.d.flush();
    // As on the JS path, the record that reaches batchBytes is the batch's last.
    expect(bySize.tasks.map((t) => read(t.task).map((r) => r.offset))).to.deep.equal([[0, 1, 2], [3, 4]]);
  });

  it('commits the watermark, drops rows of partitions it does not own, and builds a record only for a failure', async () => {
    const { tasks, tracker, committed, failed, d, finish } = setup({ batchDocs: 10 });
    tracker.assign(tpKey('t', 0));
    const chunk = new SharedArrayBuffer(4096);
    const { rows } = fetched(chunk, 0, [
      { partition: 0, offset: 10, value: '{"ok":1}' },
      { partition: 0, offset: 11, value: '{"bad":1}', key: 'k', headers: [['trace', 'abc'], ['empty', null]], timestamp: 1_234 },
      { partition: 3, offset: 1, value: '{"not":"mine"}' },
    ]);
    d.addRows(rows);
    d.flush();
    expect(d.counters.dropped).to.equal(1);
    expect(d.counters.records).to.equal(2);
    finish(0, (offset) => (offset === 11 ? Outcome.Failed : Outcome.Indexed));
    await tick();
    expect(committed.get(tpKey('t', 0))).to.equal(12);
    expect(failed).to.have.length(1);
    const r = failed[0] as KafkaRecord;
    expect({ ...r, value: r.value?.toString(), key: r.key?.toString() }).to.deep.include({ topic: 't', partition: 0, offset: 11, timestamp: 1_234, value: '{"bad":1}', key: 'k' });
    expect(r.headers).to.deep.equal([{ trace: Buffer.from('abc') }, { empty: Buffer.alloc(0) }]);
    expect(Buffer.from(chunk).includes(Buffer.from('{"bad":1}'))).to.equal(true);
    expect(r.value?.buffer).to.not.equal(chunk, 'a failed record is a copy: it must not pin the chunk');
    expect(tasks).to.have.length(1);
  });

  it('counts rows in the byte budget with their payload and row overhead, and frees them on release', async () => {
    const { tracker, d } = setup({ batchDocs: 10 });
    tracker.assign(tpKey('t', 0));
    tracker.assign(tpKey('t', 1));
    d.addRows(fetched(new SharedArrayBuffer(4096), 0, [
      { partition: 0, offset: 0, value: 'aaaa', key: 'kk' },
      { partition: 1, offset: 0, value: 'bbbbbbbb' },
    ]).rows);
    expect(d.bufferedBytes()).to.equal(6 + 8 + 2 * ROW_OVERHEAD_BYTES);
    tracker.revoke(tpKey('t', 0));
    expect(await d.release(new Set([tpKey('t', 0)]), 100)).to.equal(true);
    expect(d.bufferedBytes()).to.equal(8 + ROW_OVERHEAD_BYTES);
  });
});

describe('chunk reuse', () => {
  it('a chunk is reused only once the consumer moved on and every batch of its rows is done', async () => {
    const pool = new ChunkPool(4096, 2);
    const { tasks, tracker, d, finish } = setup({ batchDocs: 2 }, pool);
    tracker.assign(tpKey('t', 0));
    const chunk = pool.acquire();
    d.addRows(fetched(chunk, 0, [0, 1, 2].map((o) => ({ partition: 0, offset: o, value: `{"o":${o}}` }))).rows);
    d.flush();
    expect(tasks).to.have.length(2);
    pool.release(chunk); // the consumer moved to another chunk
    expect(pool.size).to.deep.equal({ used: 1, free: 0 });
    finish(0);
    await tick();
    expect(pool.size).to.deep.equal({ used: 1, free: 0 }, 'the second batch still reads it');
    expect(pool.acquire()).to.not.equal(chunk);
    finish(1);
    await tick();
    expect(pool.size).to.deep.equal({ used: 1, free: 1 });
    expect(pool.acquire()).to.equal(chunk);
  });

  it('rows dropped before they were sent, and a stop, give their chunk back too', async () => {
    const pool = new ChunkPool(4096, 2);
    const { tracker, d } = setup({ batchDocs: 10 }, pool);
    tracker.assign(tpKey('t', 0));
    const first = pool.acquire();
    d.addRows(fetched(first, 0, [{ partition: 0, offset: 0, value: '{}' }]).rows);
    pool.release(first);
    tracker.revoke(tpKey('t', 0));
    await d.release(new Set([tpKey('t', 0)]), 100);
    tracker.assign(tpKey('t', 0));
    const second = pool.acquire();
    d.addRows(fetched(second, 0, [{ partition: 0, offset: 5, value: '{}' }]).rows);
    expect(pool.size.free).to.equal(1, 'the first chunk: its gathering batch ended empty when the second chunk came');
    pool.release(second);
    expect(await d.drain(100)).to.equal(true);
    expect(pool.size).to.deep.equal({ used: 0, free: 2 });
  });

  it("a run's pool fills its budget a second time with the chunks of the first: no new memory at a resume", () => {
    const MiB = 1 << 20;
    const pool = ChunkPool.forBudget(32 * MiB, 2 * MiB);
    expect(pool.chunkBytes).to.equal(4 * MiB);
    const fill = (): SharedArrayBuffer[] => Array.from({ length: 32 / 4 + 1 }, () => pool.acquire());
    const first = fill();
    for (const c of first) pool.release(c);
    const second = fill();
    expect(second.filter((c) => first.includes(c))).to.have.length(first.length);
    expect(ChunkPool.forBudget(32 * MiB, 256).chunkBytes).to.equal(MiB, 'a chunk holds at least 1 MiB');
  });

  it('keeps at most maxFree chunks, and only of the usual size', () => {
    const pool = new ChunkPool(1024, 1);
    const [a, b, big] = [pool.acquire(), pool.acquire(), pool.acquire(5000)];
    expect(big.byteLength).to.equal(5000);
    for (const c of [a, b, big]) pool.release(c);
    expect(pool.size).to.deep.equal({ used: 0, free: 1 });
  });
});

describe('rows: runs, splits and headers', () => {
  it('a run gathered from several calls reads as one, and splits keep offsets and bytes', () => {
    const chunk = new SharedArrayBuffer(4096);
    const a = fetched(chunk, 0, [0, 1].map((o) => ({ partition: 0, offset: o, value: `v${o}` })));
    const b = fetched(chunk, a.end, [2, 3, 4].map((o) => ({ partition: 0, offset: o, value: `v${o}` })));
    const run = new RowsRun('t/0', 't', 0, chunk);
    run.push(a.rows, 0, 2);
    run.push(b.rows, 0, 3);
    expect(run.length).to.equal(5);
    expect(Array.from({ length: 5 }, (_, k) => run.offset(k))).to.deep.equal([0, 1, 2, 3, 4]);
    expect(run.payloadBytes).to.equal(10);
    const [left, right] = splitRuns([run], 2);
    expect(left.map((r) => [r.length, r.offset(0), r.payloadBytes])).to.deep.equal([[2, 0, 4]]);
    expect(right.map((r) => [r.length, r.offset(0), r.record(2).value?.toString()])).to.deep.equal([[3, 2, 'v4']]);
    expect(() => run.push(fetched(new SharedArrayBuffer(64), 0, [{ partition: 0, offset: 5, value: 'x' }]).rows, 0, 1)).to.throw(/one chunk/);
  });

  it('rowsWithin takes at least one row, then stops before the row that passes the byte limit', () => {
    const { rows } = fetched(new SharedArrayBuffer(4096), 0, [10, 10, 10].map((n, o) => ({ partition: 0, offset: o, value: 'x'.repeat(n) })));
    expect(rowsWithin(rows, 0, 3, 10, 5)).to.equal(1);
    expect(rowsWithin(rows, 0, 3, 10, 20)).to.equal(2);
    expect(rowsWithin(rows, 0, 3, 2, 1000)).to.equal(2);
    expect(rowsWithin(rows, 1, 3, 0, 0)).to.equal(2);
  });

  it('reads serialized headers as node-rdkafka gives them, in order, duplicates kept', () => {
    const { rows } = fetched(new SharedArrayBuffer(256), 0, [{ partition: 0, offset: 0, value: 'v', headers: [['a', '1'], ['ü', ''], ['a', null]] }]);
    const bytes = Buffer.from(rows.data);
    expect(readHeaders(bytes, rows.headers[0] as number, rows.headers[1] as number)).to.deep.equal([{ a: Buffer.from('1') }, { ü: Buffer.alloc(0) }, { a: Buffer.alloc(0) }]);
  });
});
