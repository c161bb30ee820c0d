import { expect } from 'chai';
import { BatchReader, packBatch, recordBytes, type PackableRecord } from '../../../src/common/batch-layout.js';

const rec = (offset: number, value: string | Buffer | null, key?: string | Buffer | null, timestamp?: number): PackableRecord => ({
  offset,
  timestamp,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  key,
});

/** Record i as the reader gives it, with values and keys as text. */
function read(batch: BatchReader, i: number) {
  return {
    value: batch.hasValue(i) ? batch.bytes.toString('utf8', batch.valueStart(i), batch.valueEnd(i)) : null,
    key: batch.hasKey(i) ? batch.bytes.toString('utf8', batch.keyStart(i), batch.keyEnd(i)) : null,
    offset: batch.offset(i),
    timestamp: batch.timestamp(i),
  };
}

describe('batch layout', () => {
  it('the reader gives back what the writer packed: values, keys, nulls, offsets and timestamps', () => {
    const { batch, transferList } = packBatch([
      { topic: 'a', partition: 3, records: [rec(10, '{"x":1}', 'k1', 1000), rec(11, null, Buffer.from([0xff, 0x00]), 1001)] },
      { topic: 'b', partition: 0, records: [rec(2 ** 40 + 7, 'ünï', null), rec(5, '', '')] },
    ]);
    expect(transferList).to.deep.equal([batch.data, batch.index.buffer, batch.coords.buffer]);
    const reader = new BatchReader(batch);
    expect(reader.count).to.equal(4);
    expect(reader.slices).to.deep.equal([
      { topic: 'a', partition: 3, start: 0, end: 2 },
      { topic: 'b', partition: 0, start: 2, end: 4 },
    ]);
    expect([0, 2, 3].map((i) => read(reader, i))).to.deep.equal([
      { value: '{"x":1}', key: 'k1', offset: 10, timestamp: 1000 },
      // A record without a timestamp reads 0.
      { value: 'ünï', key: null, offset: 2 ** 40 + 7, timestamp: 0 },
      // Empty is not null.
      { value: '', key: '', offset: 5, timestamp: 0 },
    ]);
    expect(reader.hasValue(1)).to.equal(false);
    expect([...reader.bytes.subarray(reader.keyStart(1), reader.keyEnd(1))]).to.deep.equal([0xff, 0x00]);
  });

  it('data holds exactly the value and key bytes, back to back', () => {
    const records = [rec(0, 'ab', 'ü'), rec(1, null, 'k'), rec(2, Buffer.alloc(3), undefined)];
    const { batch } = packBatch([{ topic: 't', partition: 0, records }]);
    expect(records.map(recordBytes)).to.deep.equal([4, 1, 3]);
    expect(batch.data.byteLength).to.equal(8);
    expect(Buffer.from(batch.data).subarray(0, 5).toString('utf8')).to.equal('abük');
  });

  it('a batch of re-driven dead letters carries each record\'s origin, the slices keep the dead-letter topic', () => {
    const withOrigin = (offset: number, origin: PackableRecord['origin']): PackableRecord => ({ ...rec(offset, '{}'), origin });
    const { batch, transferList } = packBatch([
      {
        topic: 'dlq',
        partition: 0,
        records: [
          withOrigin(0, { topic: 'logs', partition: 2, offset: 2 ** 40 + 1 }),
          withOrigin(1, { problem: 'no headers' }),
          withOrigin(2, { topic: 'metrics', partition: 0, offset: 7 }),
        ],
      },
      { topic: 'dlq', partition: 1, records: [withOrigin(0, { topic: 'logs', partition: 0, offset: 3 }), rec(1, '{}')] },
    ]);
    expect(transferList).to.deep.equal([batch.data, batch.index.buffer, batch.coords.buffer, batch.origins?.coords.buffer]);
    expect(batch.origins?.topics).to.deep.equal(['logs', 'metrics']);
    const reader = new BatchReader(batch);
    expect(reader.slices.map((s) => [s.topic, s.partition])).to.deep.equal([
      ['dlq', 0],
      ['dlq', 1],
    ]);
    expect([0, 1, 2, 3].map((i) => reader.offset(i))).to.deep.equal([0, 1, 2, 0]);
    const origins = reader.origins;
    if (origins === undefined) throw new Error('no origins');
    expect([0, 2, 3].map((i) => [origins.problem(i), origins.topic(i), origins.partition(i), origins.offset(i)])).to.deep.equal([
      [undefined, 'logs', 2, 2 ** 40 + 1],
      [undefined, 'metrics', 0, 7],
      [undefined, 'logs', 0, 3],
    ]);
    expect(origins.problem(1)).to.equal('no headers');
    // A record of such a batch without an origin cannot be indexed as an original either.
    expect(origins.problem(4)).to.match(/^the record has no origin/);
    // An empty run first does not hide the origins of the records after it.
    const behindEmpty = packBatch([{ topic: 'dlq', partition: 0, records: [] }, { topic: 'dlq', partition: 1, records: [withOrigin(5, { topic: 'logs', partition: 1, offset: 9 })] }]);
    expect(behindEmpty.batch.origins?.topics).to.deep.equal(['logs']);
  });

  it('a batch whose records have no origin has no origin table', () => {
    const { batch, transferList } = packBatch([{ topic: 't', partition: 0, records: [rec(0, '{}')] }]);
    expect(batch.origins).to.equal(undefined);
    expect(transferList).to.have.length(3);
    expect(new BatchReader(batch).origins).to.equal(undefined);
  });

  it('an empty batch packs and reads', () => {
    const { batch } = packBatch([]);
    const reader = new BatchReader(batch);
    expect(reader.count).to.equal(0);
    expect(reader.slices).to.deep.equal([]);
    expect(reader.bytes.length).to.equal(0);
  });
});
