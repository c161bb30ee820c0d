import { expect } from 'chai';
import { actionLine, BufferPool, createActionLines, KafkaIdActions, NdjsonEncoder, type OpType } from '../../../../workers/bulk/encoder.js';
import { buildRequests, subsetRequest } from '../../../../workers/bulk/request-builder.js';

function lines(buf: Buffer): string[] {
  const text = buf.toString('utf8');
  expect(text.endsWith('\n')).to.equal(true);
  return text.slice(0, -1).split('\n');
}

describe('NDJSON encoder', () => {
  it('writes an action and a source line per document, each valid JSON', () => {
    const enc = new NdjsonEncoder(16);
    enc.append(actionLine('index', 'logs', 't-0-1'), JSON.stringify({ a: 1 }), 0);
    enc.append(actionLine('create', 'logs-2026.11.22', undefined), JSON.stringify({ b: 'x' }), 1);
    const out = enc.finish();
    const ls = lines(out.buffer);
    expect(ls).to.have.length(4);
    expect(JSON.parse(ls[0] as string)).to.deep.equal({ index: { _index: 'logs', _id: 't-0-1' } });
    expect(JSON.parse(ls[2] as string)).to.deep.equal({ create: { _index: 'logs-2026.11.22' } });
    expect(Array.from(out.docRecords)).to.deep.equal([0, 1]);
    expect(out.docStarts[2]).to.equal(out.buffer.length);
  });

  it('escapes quotes, backslashes, control characters and newlines inside strings', () => {
    const doc = { msg: 'line one\nline "two"\r\n\ttab \\ back \u0000 nul \u2028 sep' };
    const enc = new NdjsonEncoder();
    enc.append(actionLine('index', 'i', 'id "quoted"\n'), JSON.stringify(doc), 0);
    const ls = lines(enc.finish().buffer);
    expect(ls).to.have.length(2, 'a newline inside a string must not split the line');
    expect(JSON.parse(ls[1] as string)).to.deep.equal(doc);
    expect(JSON.parse(ls[0] as string).index._id).to.equal('id "quoted"\n');
  });

  it('encodes unicode as UTF-8, including astral characters, and grows its buffer', () => {
    const doc = { s: 'ünïcødé 日本語 🚀'.repeat(2000) };
    const enc = new NdjsonEncoder(8);
    for (let i = 0; i < 10; i++) enc.append(actionLine('index', 'i', String(i)), JSON.stringify(doc), i);
    const out = enc.finish();
    const ls = lines(out.buffer);
    expect(ls).to.have.length(20);
    expect(JSON.parse(ls[19] as string)).to.deep.equal(doc);
    for (let d = 0; d < 10; d++) {
      const slice = out.buffer.subarray(out.docStarts[d], out.docStarts[d + 1]).toString('utf8');
      expect(JSON.parse(slice.split('\n')[0] as string).index._id).to.equal(String(d));
    }
  });
});

describe('NDJSON encoder: raw sources', () => {
  it('copies a byte range as the source line, beside text sources, and grows its buffer', () => {
    const raw = Buffer.from('xx{"n":12345678901234567890,"s":"ü 🚀"}yy');
    const enc = new NdjsonEncoder(8);
    enc.append(actionLine('index', 'i', 'a'), '{"a":1}', 0);
    enc.appendRaw(actionLine('index', 'i', 'b'), raw, 2, raw.length - 2, 1);
    const out = enc.finish();
    expect(lines(out.buffer)).to.deep.equal(['{"index":{"_index":"i","_id":"a"}}', '{"a":1}', '{"index":{"_index":"i","_id":"b"}}', '{"n":12345678901234567890,"s":"ü 🚀"}']);
    expect(Array.from(out.docRecords)).to.deep.equal([0, 1]);
    expect(Array.from(out.docStarts)).to.deep.equal([0, '{"index":{"_index":"i","_id":"a"}}\n{"a":1}\n'.length, out.buffer.length]);
    expect(raw.toString()).to.equal('xx{"n":12345678901234567890,"s":"ü 🚀"}yy', 'the source bytes are not touched');
  });

  it('with newlines, raw CR and LF become spaces in the copy only', () => {
    const raw = Buffer.from('{\r\n  "a": 1,\n  "b": "x\\ny"\r}');
    const enc = new NdjsonEncoder();
    enc.appendRaw(actionLine('create', 'i', undefined), raw, 0, raw.length, 7, true);
    const out = enc.finish();
    expect(lines(out.buffer)).to.deep.equal(['{"create":{"_index":"i"}}', '{    "a": 1,   "b": "x\\ny" }']);
    expect(raw.toString()).to.equal('{\r\n  "a": 1,\n  "b": "x\\ny"\r}');
  });

  it('a rewind takes back raw sources like the others', () => {
    const raw = Buffer.from('{"big":"' + 'x'.repeat(100) + '"}');
    const enc = new NdjsonEncoder(16);
    enc.appendRaw(actionLine('index', 'i', '1'), raw, 0, raw.length, 0);
    const mark = enc.mark();
    enc.appendRaw(actionLine('index', 'i', '2'), raw, 0, raw.length, 1);
    enc.rewind(mark);
    enc.appendRaw(actionLine('index', 'i', '3'), Buffer.from('{}'), 0, 2, 2);
    const out = enc.finish();
    expect(lines(out.buffer).filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id)).to.deep.equal(['1', '3']);
    expect(Array.from(out.docRecords)).to.deep.equal([0, 2]);
  });
});

describe('NDJSON encoder: Kafka id action lines as bytes', () => {
  it('writes the bytes of actionLine for any topic, partition, offset, index and op type, and its source', () => {
    const cases: Array<[OpType, string, string, number, number]> = [
      ['index', 'logs', 'apm', 0, 0],
      ['create', 'logs-2026.12.03', 'apm', 3, Number.MAX_SAFE_INTEGER],
      ['index', 'jö\u00fcrnal-🚀', 't"q\\b\n', 11, 42],
      ['index', 'i', 'lone\ud800', 1, 7],
      ['index', 'i', '\udc00x', 2, 1_000_000],
    ];
    const source = Buffer.from('{"a":1}');
    for (const [op, index, topic, partition, offset] of cases) {
      const e = new NdjsonEncoder(16);
      e.appendRawWithOffset(new KafkaIdActions(op).head(index, topic, partition), offset, source, 0, source.length, 0);
      const expected = `${actionLine(op, index, `${topic}-${partition}-${offset}`)}\n{"a":1}\n`;
      expect(e.finish().buffer.toString('utf8')).to.equal(expected, `${op} ${index} ${topic} ${partition} ${offset}`);
    }
  });

  it('makes a new head only when the index, topic or partition changes; raw newlines become spaces', () => {
    const actions = new KafkaIdActions('index');
    const a = actions.head('logs', 't', 0);
    expect(actions.head('logs', 't', 0)).to.equal(a);
    expect(actions.head('logs', 't', 1).toString()).to.equal('{"index":{"_index":"logs","_id":"t-1-');
    expect(actions.head('logs', 'u', 1).toString()).to.equal('{"index":{"_index":"logs","_id":"u-1-');
    expect(actions.head('other', 'u', 1).toString()).to.equal('{"index":{"_index":"other","_id":"u-1-');
    const e = new NdjsonEncoder(8);
    const value = Buffer.from('xx{\r\n"a": 1\n}yy');
    e.appendRawWithOffset(actions.head('logs', 't', 0), 5, value, 2, value.length - 2, 3, true);
    e.appendRaw(actionLine('index', 'logs', 't-0-6'), value, 2, value.length - 2, 4);
    const out = e.finish();
    expect(out.buffer.toString()).to.equal('{"index":{"_index":"logs","_id":"t-0-5"}}\n{  "a": 1 }\n{"index":{"_index":"logs","_id":"t-0-6"}}\n{\r\n"a": 1\n}\n');
    expect([...out.docStarts]).to.deep.equal([0, 54, out.buffer.length]);
    expect([...out.docRecords]).to.deep.equal([3, 4]);
  });
});

describe('request builder', () => {
  function batch(n: number, size: number) {
    const enc = new NdjsonEncoder();
    for (let i = 0; i < n; i++) enc.append(actionLine('index', 'i', String(i).padStart(3, '0')), JSON.stringify({ pad: 'x'.repeat(size) }), i);
    return enc.finish();
  }

  it('cuts bodies at the byte limit without splitting a document, and covers every document once', () => {
    const b = batch(100, 200);
    const docBytes = (b.docStarts[1] as number) - (b.docStarts[0] as number);
    const reqs = buildRequests(b, docBytes * 7 + 3);
    expect(reqs.map((r) => r.docs.length)).to.deep.equal([...Array(14).fill(7), 2]);
    const all = reqs.flatMap((r) => Array.from(r.docs));
    expect(all).to.deep.equal([...Array(100).keys()]);
    for (const r of reqs) expect(r.body.length).to.be.at.most(docBytes * 7 + 3);
    expect(Buffer.concat(reqs.map((r) => r.body)).equals(b.buffer)).to.equal(true);
  });

  it('sends a document larger than the limit alone', () => {
    const b = batch(3, 5000);
    const reqs = buildRequests(b, 100);
    expect(reqs.map((r) => Array.from(r.docs))).to.deep.equal([[0], [1], [2]]);
  });

  it('builds a retry body from selected documents only', () => {
    const b = batch(5, 10);
    const r = subsetRequest(b, Int32Array.from([1, 3]));
    const ls = lines(r.body);
    expect(ls.map((l) => JSON.parse(l).index?._id).filter(Boolean)).to.deep.equal(['001', '003']);
    expect(Array.from(r.docs)).to.deep.equal([1, 3]);
  });

  it('builds the same action lines with a cached index prefix', () => {
    for (const op of ['index', 'create'] as const) {
      const action = createActionLines(op);
      const cases: Array<[string, string | undefined]> = [
        ['logs', 't-0-1'],
        ['logs', 't-0-2'],
        ['logs', undefined],
        ['logs-2026.11.22', 'id "quoted"\n'],
        ['logs', 'ü-1'],
        ['logs', 't-0-3'],
      ];
      for (const [index, id] of cases) expect(action(index, id)).to.equal(actionLine(op, index, id));
    }
  });

  it('appends an external version (the Kafka offset) after the id, also with a cached prefix', () => {
    expect(JSON.parse(actionLine('index', 'logs', 'user-1', 42))).to.deep.equal({ index: { _index: 'logs', _id: 'user-1', version: 42, version_type: 'external' } });
    expect(JSON.parse(actionLine('delete', 'logs', 'user-1', 0))).to.deep.equal({ delete: { _index: 'logs', _id: 'user-1', version: 0, version_type: 'external' } });
    expect(JSON.parse(actionLine('index', 'logs', 'k', 2 ** 53 - 1)).index.version).to.equal(2 ** 53 - 1);
    const action = createActionLines('index');
    const cases: Array<[string, string, number | undefined]> = [
      ['logs', 'a', 7],
      ['logs', 'a', undefined],
      ['logs', 'b', 8],
      ['other', 'a', 9],
    ];
    for (const [index, id, version] of cases) expect(action(index, id, version)).to.equal(actionLine('index', index, id, version));
    expect(action('logs', 'a')).to.equal('{"index":{"_index":"logs","_id":"a"}}', 'no version, no version fields');
  });

  it('puts the pipeline and routing extras after the id and before the version, also on deletes', () => {
    const extras = ',"pipeline":"p","routing":"r"';
    expect(JSON.parse(actionLine('index', 'logs', 'a', 7, extras))).to.deep.equal({
      index: { _index: 'logs', _id: 'a', pipeline: 'p', routing: 'r', version: 7, version_type: 'external' },
    });
    expect(JSON.parse(actionLine('delete', 'logs', 'a', undefined, ',"routing":"r"'))).to.deep.equal({ delete: { _index: 'logs', _id: 'a', routing: 'r' } });
    expect(JSON.parse(actionLine('create', 'logs', undefined, undefined, ',"pipeline":"p"'))).to.deep.equal({ create: { _index: 'logs', pipeline: 'p' } });
    const action = createActionLines('index');
    expect(action('logs', 'a', 7, extras)).to.equal(actionLine('index', 'logs', 'a', 7, extras));
    expect(action('logs', 'a')).to.equal('{"index":{"_index":"logs","_id":"a"}}', 'no extras, the line as before');
  });
});

describe('NDJSON encoder mark and rewind', () => {
  it('drops everything appended after the mark, deletes included', () => {
    const enc = new NdjsonEncoder(16);
    enc.append(actionLine('index', 'i', 'a'), '{"n":1}', 0);
    const mark = enc.mark();
    enc.append(actionLine('index', 'i', 'b'), '{"n":2}', 1);
    enc.appendDelete(actionLine('delete', 'i', 'c'), 1);
    enc.rewind(mark);
    expect(enc.docs).to.equal(1);
    enc.appendDelete(actionLine('delete', 'i', 'd'), 2);
    const rewoundAtEnd = enc.mark();
    enc.rewind(rewoundAtEnd);
    const out = enc.finish();
    expect(lines(out.buffer)).to.deep.equal(['{"index":{"_index":"i","_id":"a"}}', '{"n":1}', '{"delete":{"_index":"i","_id":"d"}}']);
    expect(Array.from(out.docRecords)).to.deep.equal([0, 2]);
    expect(Array.from(out.docDeletes)).to.deep.equal([0, 1]);
    expect(Array.from(out.docStarts)).to.deep.equal([0, '{"index":{"_index":"i","_id":"a"}}\n{"n":1}\n'.length, out.buffer.length]);
  });
});

describe('NDJSON buffer pool', () => {
  it('gives the smallest free buffer that is big enough, else a new one', () => {
    const pool = new BufferPool(3, 1 << 20);
    const small = Buffer.alloc(100);
    const big = Buffer.alloc(1000);
    pool.release(big);
    pool.release(small);
    expect(pool.acquire(50)).to.equal(small);
    expect(pool.acquire(50)).to.equal(big);
    const fresh = pool.acquire(50);
    expect(fresh).to.not.equal(small).and.not.equal(big);
    expect(fresh.length).to.equal(50);
    expect(pool.free).to.equal(0);
  });

  it('never gives out a buffer twice before it comes back', () => {
    const pool = new BufferPool(2, 1 << 20);
    pool.release(Buffer.alloc(64));
    const a = pool.acquire(10);
    const b = pool.acquire(10);
    expect(a).to.not.equal(b);
  });

  it('keeps the larger buffers when full', () => {
    const pool = new BufferPool(2, 1 << 20);
    const [b10, b20, b30, b5] = [10, 20, 30, 5].map((n) => Buffer.alloc(n)) as [Buffer, Buffer, Buffer, Buffer];
    pool.release(b10);
    pool.release(b20);
    pool.release(b30);
    pool.release(b5);
    expect(pool.free).to.equal(2);
    expect(pool.acquire(1)).to.equal(b20);
    expect(pool.acquire(1)).to.equal(b30);
  });

  it('lets go of a buffer larger than maxKeptBytes (grown for an outsized batch)', () => {
    const pool = new BufferPool(2, 1000);
    const kept = Buffer.alloc(1000);
    pool.release(Buffer.alloc(1001));
    pool.release(kept);
    expect(pool.free).to.equal(1);
    expect(pool.acquire(10)).to.equal(kept);
  });

  it('an encoder takes its buffer from the pool, gives back the one it outgrew, and the last on release', () => {
    const pool = new BufferPool(4, 1 << 20);
    const enc = new NdjsonEncoder(8, pool);
    expect(pool.free).to.equal(0);
    enc.append(actionLine('index', 'i', 'a'), JSON.stringify({ s: 'x'.repeat(100) }), 0);
    expect(pool.free).to.equal(1, 'the outgrown 8-byte buffer');
    const out = enc.finish();
    expect(lines(out.buffer)[1]).to.equal(JSON.stringify({ s: 'x'.repeat(100) }));
    enc.release();
    expect(pool.free).to.equal(2);
    const next = new NdjsonEncoder(out.buffer.length, pool);
    next.append(actionLine('index', 'i', 'b'), '{}', 0);
    expect(next.finish().buffer.buffer).to.equal(out.buffer.buffer, 'the released buffer serves the next batch');
  });
});
