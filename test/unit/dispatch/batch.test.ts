import { expect } from 'chai';
import { BatchBuilder, packTask, RECORD_OVERHEAD_BYTES, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { BatchReader } from '../../../src/common/batch-layout.js';
import { tpKey } from '../../../src/offsets/watermark.js';

const rec = (partition: number, offset: number, value: string | null, key?: string | Buffer | null): KafkaRecord => ({
  topic: 't',
  partition,
  offset,
  timestamp: 1_700_000_000_000 + offset,
  value: value === null ? null : Buffer.from(value),
  key,
});

describe('batch packing', () => {
  it('groups records by partition in arrival order and packs values and keys into one buffer', () => {
    const b = new BatchBuilder();
    const records = [rec(0, 5, 'a0'), rec(1, 9, 'b1', 'k'), rec(0, 6, null, Buffer.from('kk')), rec(1, 10, 'ünï')];
    for (const r of records) b.add(tpKey(r.topic, r.partition), r, 0);
    expect(b.count).to.equal(4);
    const { task, transferList } = packTask([...b.runs.values()], 7);
    expect(task.id).to.equal(7);
    expect(transferList).to.deep.equal([task.data, task.index.buffer, task.coords.buffer]);
    expect(task.slices).to.deep.equal([
      { topic: 't', partition: 0, start: 0, end: 2 },
      { topic: 't', partition: 1, start: 2, end: 4 },
    ]);
    const batch = new BatchReader(task);
    const value = (i: number) => (batch.hasValue(i) ? batch.bytes.toString('utf8', batch.valueStart(i), batch.valueEnd(i)) : null);
    const key = (i: number) => (batch.hasKey(i) ? batch.bytes.toString('utf8', batch.keyStart(i), batch.keyEnd(i)) : null);
    expect([0, 1, 2, 3].map(value)).to.deep.equal(['a0', null, 'b1', 'ünï']);
    expect([0, 1, 2, 3].map(key)).to.deep.equal([null, 'kk', 'k', null]);
    expect([0, 1, 2, 3].map((i) => batch.offset(i))).to.deep.equal([5, 6, 9, 10]);
    expect(batch.timestamp(0)).to.equal(1_700_000_000_005);
    expect(task.data.byteLength).to.equal(2 + 2 + 2 + 1 + 'ünï'.length + 2);
  });

  it('keeps offsets above 2^32 exact', () => {
    const b = new BatchBuilder();
    const r = rec(0, 2 ** 40 + 7, 'x');
    b.add('k', r, 0);
    expect(new BatchReader(packTask([...b.runs.values()]).task).offset(0)).to.equal(2 ** 40 + 7);
  });

  it('drops the records of revoked partitions and their bytes', () => {
    const b = new BatchBuilder();
    for (const r of [rec(0, 1, 'aaaa'), rec(1, 1, 'bb'), rec(0, 2, 'cccc')]) b.add(tpKey('t', r.partition), r, 0);
    b.drop(new Set([tpKey('t', 0)]));
    expect(b.count).to.equal(1);
    expect(b.bytes).to.equal(2 + RECORD_OVERHEAD_BYTES);
    expect(b.payloadBytes).to.equal(2);
    expect([...b.runs.keys()]).to.deep.equal([tpKey('t', 1)]);
  });
});
