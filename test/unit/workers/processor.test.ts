import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { pack } from 'msgpackr';
import { BatchBuilder, packTask, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey } from '../../../src/offsets/watermark.js';
import { Outcome } from '../../../src/common/protocol.js';
import { loadNative } from '../../../src/common/native.js';
import type { EncodedBatch } from '../../../workers/bulk/encoder.js';
import type { DocFailure, SinkResult } from '../../../workers/bulk/sink.js';
import { createBatchProcessor } from '../../../workers/processor.js';
import { forWorker, testWorkerInit } from '../../support/worker-init.js';

const logger = pino({ level: 'silent' });
const init = testWorkerInit;


/** Captures what would be sent; fails the documents the test names. */
function captureSink(failDoc?: (doc: number, lines: string[]) => DocFailure | undefined) {
  const sent: Array<{ action: Record<string, { _index: string; _id?: string }>; source: string }> = [];
  return {
    sent,
    sink: {
      async index(batch: EncodedBatch): Promise<SinkResult> {
        const failures = new Map<number, DocFailure>();
        for (let d = 0; d + 1 < batch.docStarts.length; d++) {
          const lines = batch.buffer.subarray(batch.docStarts[d], batch.docStarts[d + 1]).toString('utf8').split('\n');
          sent.push({ action: JSON.parse(lines[0] as string), source: lines[1] as string });
          const f = failDoc?.(d, lines);
          if (f) failures.set(d, f);
        }
        return { failures, bulkRequests: 1, bulkBytes: batch.buffer.length, bulkMs: [1], retries: {} };
      },
    },
  };
}

function task(records: KafkaRecord[]) {
  const b = new BatchBuilder();
  for (const r of records) b.add(tpKey(r.topic, r.partition), r, 0);
  return forWorker(packTask([...b.runs.values()]).task);
}

const rec = (offset: number, value: string | Buffer | null, key: string | null = null, partition = 0, topic = 'logs'): KafkaRecord => ({
  topic,
  partition,
  offset,
  timestamp: Date.UTC(2026, 10, 22, 12),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
  key: key === null ? null : Buffer.from(key),
});

describe('batch processor (worker record path)', () => {
  it('reuses an NDJSON buffer only once its batch is indexed: batches in flight at once never share one', async () => {
    const held: Array<{ batch: EncodedBatch; text: string; done: (r: SinkResult) => void }> = [];
    const sink = {
      index: (batch: EncodedBatch) =>
        new Promise<SinkResult>((resolve) => held.push({ batch, text: batch.buffer.toString('utf8'), done: resolve })),
    };
    const p = await createBatchProcessor(init(), { sink, logger });
    const ok = (n: number): SinkResult => ({ failures: new Map(), bulkRequests: 1, bulkBytes: n, bulkMs: [1], retries: {} });
    const first = p.process(task([rec(1, '{"a":"first"}')]));
    const second = p.process(task([rec(2, '{"b":"second"}')]));
    await new Promise((r) => setImmediate(r));
    expect(held).to.have.length(2);
    const [h1, h2] = held as [(typeof held)[0], (typeof held)[0]];
    expect(h1.batch.buffer.buffer).to.not.equal(h2.batch.buffer.buffer);
    h2.done(ok(1));
    await second;
    // The second batch's buffer is free again; the first is still being indexed and must not change.
    const third = p.process(task([rec(3, '{"c":"third, and longer than the others"}')]));
    await new Promise((r) => setImmediate(r));
    const h3 = held[2] as (typeof held)[0];
    expect(h3.batch.buffer.buffer).to.equal(h2.batch.buffer.buffer, 'the released buffer is used again');
    expect(h1.batch.buffer.toString('utf8')).to.equal(h1.text);
    expect(h1.text).to.contain('"first"');
    h1.done(ok(1));
    h3.done(ok(1));
    await Promise.all([first, third]);
  });

  it('indexes JSON as it arrived, with kafka ids, and skips tombstones', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    const result = await p.process(task([rec(7, '{"a":1}'), rec(8, null), rec(3, '{"b":"ü"}', null, 1)]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Skipped, Outcome.Indexed]);
    expect(sent.map((s) => s.action)).to.deep.equal([{ index: { _index: 'logs', _id: 'logs-0-7' } }, { index: { _index: 'logs', _id: 'logs-1-3' } }]);
    expect(sent[0]?.source).to.equal('{"a":1}');
    expect(result.stats).to.deep.include({ docs: 2, tombstones: 1, dropped: 0, bulkRequests: 1 });
  });

  it('keeps pretty-printed JSON one line per document: raw CR and LF become spaces, nothing else changes', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    await p.process(task([rec(0, '{\n  "a": 1\n}'), rec(1, '{\r\n"n": 12345678901234567890,\r\n"d": 1, "d": 2,\n"s": "x\\ny"}')]));
    expect(sent.map((s) => s.source)).to.deep.equal(['{   "a": 1 }', '{  "n": 12345678901234567890,  "d": 1, "d": 2, "s": "x\\ny"}']);
  });

  it('reports decode failures with their reason and keeps going', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    const result = await p.process(task([rec(0, '{"ok":1}'), rec(1, 'not json'), rec(2, '[1]')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Failed]);
    expect(result.failures.map((f) => [f.record, f.stage])).to.deep.equal([
      [1, 'decode'],
      [2, 'decode'],
    ]);
    expect(sent).to.have.length(1);
  });

  it('maps item failures from Elasticsearch back to their records', async () => {
    const { sink } = captureSink((d) => (d === 1 ? { status: 400, errorType: 'document_parsing_exception', reason: 'failed to parse field [n]' } : undefined));
    const p = await createBatchProcessor(init(), { sink, logger });
    const result = await p.process(task([rec(0, '{"n":1}'), rec(1, '{"n":"x"}'), rec(2, '{"n":2}')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Indexed]);
    expect(result.failures).to.deep.equal([{ record: 1, stage: 'index', reason: 'failed to parse field [n]', status: 400, errorType: 'document_parsing_exception' }]);
  });

  it('id strategies: key, field and none', async () => {
    for (const [idStrategy, expected] of [
      ['key', ['k1', undefined]],
      ['field:user.id', ['u-9', undefined]],
      ['none', [undefined, undefined]],
    ] as const) {
      const { sink, sent } = captureSink();
      const p = await createBatchProcessor(init({ index: { idStrategy } }), { sink, logger });
      const result = await p.process(task([rec(0, '{"user":{"id":"u-9"}}', 'k1'), rec(1, '{"user":{}}', null)]));
      expect(sent.map((s) => Object.values(s.action)[0]?._id)).to.deep.equal(expected.filter((_, i) => i === 0 || idStrategy === 'none'));
      if (idStrategy !== 'none') {
        expect(result.outcomes[1]).to.equal(Outcome.Failed);
        expect(result.failures[0]?.stage).to.equal('route');
      }
    }
  });

  it('routes by the document timestamp, falling back to the Kafka timestamp', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ index: { name: 'logs-{yyyy.MM.dd}', opType: 'create' } }), { sink, logger });
    await p.process(task([rec(0, '{"@timestamp":"2026-01-05T10:00:00Z"}'), rec(1, '{"@timestamp":"junk"}'), rec(2, '{}')]));
    expect(sent.map((s) => s.action)).to.deep.equal([
      { create: { _index: 'logs-2026.01.05', _id: 'logs-0-0' } },
      { create: { _index: 'logs-2026.11.22', _id: 'logs-0-1' } },
      { create: { _index: 'logs-2026.11.22', _id: 'logs-0-2' } },
    ]);
  });

  it('runs a user transform: documents, arrays (suffixed ids), null (skipped) and throws (failed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-transform-'));
    const file = join(dir, 't.mjs');
    writeFileSync(
      file,
      `export function transform(r) {
         if (r.value.drop) return null;
         if (r.value.boom) throw new Error('bad record');
         if (r.value.split) return r.value.split.map((x) => ({ x, key: r.key }));
         return { ...r.value, topic: r.topic, offset: r.offset };
       }\n`,
    );
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file }), { sink, logger });
    const result = await p.process(task([rec(0, '{"a":1}'), rec(1, '{"drop":true}'), rec(2, '{"boom":true}'), rec(3, '{"split":[1,2]}', 'k')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Skipped, Outcome.Failed, Outcome.Indexed]);
    expect(result.failures).to.deep.equal([{ record: 2, stage: 'transform', reason: 'transform threw: bad record' }]);
    expect(result.stats).to.deep.include({ tombstones: 0, dropped: 1 });
    expect(sent.map((s) => [Object.values(s.action)[0]?._id, JSON.parse(s.source)])).to.deep.equal([
      ['logs-0-0', { a: 1, topic: 'logs', offset: 0 }],
      ['logs-0-3-0', { x: 1, key: 'k' }],
      ['logs-0-3-1', { x: 2, key: 'k' }],
    ]);
  });

  it('fails records over maxDocBytes without sending them', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ maxDocBytes: 20 }), { sink, logger });
    const result = await p.process(task([rec(0, '{"a":1}'), rec(1, JSON.stringify({ big: 'x'.repeat(50) }))]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed]);
    expect(result.failures[0]).to.deep.include({ record: 1, stage: 'size' });
    expect(sent).to.have.length(1);
  });

  it('tombstones: delete by key, or a failure for the dead-letter topic', async () => {
    const del = captureSink();
    const pd = await createBatchProcessor(init({ onNull: 'delete', index: { idStrategy: 'key' } }), { sink: del.sink, logger });
    const r1 = await pd.process(task([rec(0, null, 'user-1'), rec(1, null, null)]));
    expect(del.sent.map((s) => s.action)).to.deep.equal([{ delete: { _index: 'logs', _id: 'user-1', version: 0, version_type: 'external' } }]);
    expect(Array.from(r1.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed]);
    expect(r1.failures[0]).to.deep.include({ record: 1, stage: 'route' });

    const dl = captureSink();
    const pq = await createBatchProcessor(init({ onNull: 'dlq' }), { sink: dl.sink, logger });
    const r2 = await pq.process(task([rec(0, null, 'k')]));
    expect(r2.failures).to.deep.equal([{ record: 0, stage: 'null', reason: 'null value (tombstone)' }]);
  });

  it('reads msgpack and text input', async () => {
    const mp = captureSink();
    const pm = await createBatchProcessor(init({ inputFormat: 'msgpack' }), { sink: mp.sink, logger });
    await pm.process(task([rec(0, pack({ level: 'info', n: 3 }))]));
    expect(JSON.parse(mp.sent[0]?.source ?? '')).to.deep.equal({ level: 'info', n: 3 });

    const tx = captureSink();
    const pt = await createBatchProcessor(init({ inputFormat: 'text' }), { sink: tx.sink, logger });
    await pt.process(task([rec(0, 'plain "line"\nwith newline')]));
    expect(JSON.parse(tx.sent[0]?.source ?? '')).to.deep.equal({ message: 'plain "line"\nwith newline' });
  });

  it('applies the apm-log transform', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: 'apm-log' }), { sink, logger });
    await p.process(task([rec(0, JSON.stringify({ timestamp: '2026-11-01T00:00:00Z', service_name: 's', labels: { a: { b: 1 } } }))]));
    const doc = JSON.parse(sent[0]?.source ?? '');
    expect(doc).to.deep.include({ '@timestamp': '2026-11-01T00:00:00.000Z', service_name: 's', type: 'log', labels: { 'a.b': '1' } });
    expect(doc).to.have.property('ingestedAt');
    expect(doc).to.not.have.property('timestamp');
  });
});

describe('batch processor: index.pipeline and index.routing', () => {
  it('puts a fixed pipeline on index lines, never on deletes; routes by key, deletes included', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ onNull: 'delete', index: { idStrategy: 'key', pipeline: 'enrich', routing: 'key' } }), { sink, logger });
    const result = await p.process(task([rec(1, '{"a":1}', 'u-1'), rec(2, null, 'u-1')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Indexed]);
    expect(sent.map((s) => s.action)).to.deep.equal([
      { index: { _index: 'logs', _id: 'u-1', pipeline: 'enrich', routing: 'u-1', version: 1, version_type: 'external' } },
      { delete: { _index: 'logs', _id: 'u-1', routing: 'u-1', version: 2, version_type: 'external' } },
    ]);
  });

  it('reads both from fields; a record without them fails (route) unless a default is set', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ index: { pipeline: 'field:meta.pipeline', routing: 'field:tenant' } }), { sink, logger });
    const result = await p.process(task([rec(1, '{"meta":{"pipeline":"p1"},"tenant":7}'), rec(2, '{"tenant":"t"}'), rec(3, '{"meta":{"pipeline":"p1"}}')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Failed]);
    expect(sent.map((s) => s.action)).to.deep.equal([{ index: { _index: 'logs', _id: 'logs-0-1', pipeline: 'p1', routing: '7' } }]);
    expect(result.failures).to.deep.equal([
      { record: 1, stage: 'route', reason: 'document has no non-empty string at meta.pipeline for index.pipeline (set index.pipelineDefault for such documents)' },
      {
        record: 2,
        stage: 'route',
        reason: 'document has no non-empty string or whole number within ±(2^53 − 1) at tenant for index.routing (set index.routingDefault for such documents)',
      },
    ]);
    const defaults = captureSink();
    const q = await createBatchProcessor(init({ index: { pipeline: 'field:meta.pipeline', pipelineDefault: 'plain', routing: 'field:tenant', routingDefault: 'shared' } }), {
      sink: defaults.sink,
      logger,
    });
    const ok = await q.process(task([rec(2, '{"tenant":"t"}'), rec(3, '{"meta":{"pipeline":"p1"}}')]));
    expect(Array.from(ok.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Indexed]);
    expect(defaults.sent.map((s) => s.action)).to.deep.equal([
      { index: { _index: 'logs', _id: 'logs-0-2', pipeline: 'plain', routing: 't' } },
      { index: { _index: 'logs', _id: 'logs-0-3', pipeline: 'p1', routing: 'shared' } },
    ]);
  });

  it('a tombstone with a field routing fails with the reason, unless a default routes it', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ onNull: 'delete', index: { idStrategy: 'key', routing: 'field:tenant' } }), { sink, logger });
    const result = await p.process(task([rec(1, null, 'u-1')]));
    expect(result.failures).to.deep.equal([{ record: 0, stage: 'route', reason: 'tombstone has no document to read index.routing field:tenant from (set index.routingDefault, or index.routing key)' }]);
    expect(sent).to.deep.equal([]);
    const routed = captureSink();
    const q = await createBatchProcessor(init({ onNull: 'delete', index: { idStrategy: 'key', routing: 'field:tenant', routingDefault: 'r0' } }), { sink: routed.sink, logger });
    await q.process(task([rec(1, null, 'u-1')]));
    expect(routed.sent.map((s) => s.action)).to.deep.equal([{ delete: { _index: 'logs', _id: 'u-1', routing: 'r0', version: 1, version_type: 'external' } }]);
  });
});

describe('batch processor: record fidelity', () => {
  const long = (n: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    return b;
  };
  const keyed = (offset: number, value: string | Buffer | null, key: Buffer): KafkaRecord => ({ ...rec(offset, value), key });
  const idOf = (s: { action: Record<string, { _id?: string }> }): string | undefined => Object.values(s.action)[0]?._id;

  function transformFile(body: string): string {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-transform-')), 't.mjs');
    writeFileSync(file, body);
    return file;
  }

  it('binary keys get collision-free ids: UTF-8 keys as they are, others b64: + base64url', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ index: { idStrategy: 'key' } }), { sink, logger });
    const result = await p.process(
      task([
        keyed(0, '{}', long(0x80n)),
        keyed(1, '{}', long(0x81n)),
        keyed(2, '{}', Buffer.from('user-ü')),
        keyed(3, '{}', Buffer.from('b64:AAAAAAAAAIA')), // valid UTF-8 that looks like an encoded key
        keyed(4, '{}', Buffer.from('real \ufffd')), // valid UTF-8 holding U+FFFD itself
      ]),
    );
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Indexed, Outcome.Indexed, Outcome.Indexed, Outcome.Indexed]);
    expect(sent.map(idOf)).to.deep.equal(['b64:AAAAAAAAAIA', 'b64:AAAAAAAAAIE', 'user-ü', `b64:${Buffer.from('b64:AAAAAAAAAIA').toString('base64url')}`, 'real \ufffd']);
  });

  it('a transform and a tombstone delete see the same key encoding', async () => {
    const file = transformFile('export function transform(r) { return { k: r.key }; }\n');
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file, onNull: 'delete', index: { idStrategy: 'key' } }), { sink, logger });
    await p.process(task([keyed(0, '{}', long(0x80n)), keyed(1, null, long(0x80n))]));
    expect(sent.map((s) => [Object.keys(s.action)[0], idOf(s), s.source])).to.deep.equal([
      ['index', 'b64:AAAAAAAAAIA', '{"k":"b64:AAAAAAAAAIA"}'],
      ['delete', 'b64:AAAAAAAAAIA', ''],
    ]);
  });

  it('field: ids from numbers must be exact: safe integers and BigInts pass, others fail the record', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ index: { idStrategy: 'field:order.id' } }), { sink, logger });
    const result = await p.process(
      task([
        rec(0, '{"order":{"id":42}}'),
        rec(1, '{"order":{"id":9007199254740993}}'),
        rec(2, '{"order":{"id":1.5}}'),
        rec(3, '{"order":{"id":"9007199254740993"}}'),
      ]),
    );
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Failed, Outcome.Indexed]);
    expect(sent.map(idOf)).to.deep.equal(['42', '9007199254740993']);
    const reason = 'the number at order.id cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string';
    expect(result.failures).to.deep.equal([
      { record: 1, stage: 'route', reason },
      { record: 2, stage: 'route', reason },
    ]);

    const mp = captureSink();
    const pm = await createBatchProcessor(init({ inputFormat: 'msgpack', index: { idStrategy: 'field:id' } }), { sink: mp.sink, logger });
    await pm.process(task([rec(0, pack({ id: 2n ** 63n - 1n }))]));
    expect(mp.sent.map(idOf)).to.deep.equal(['9223372036854775807']);
  });

  it('awaits a transform that returns a promise; a rejection fails only its record', async () => {
    const file = transformFile(
      `export async function transform(r) {
         await new Promise((resolve) => setTimeout(resolve, 1));
         if (r.value.bad) throw new Error('lookup failed');
         return { ...r.value, seen: true };
       }\n`,
    );
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file }), { sink, logger });
    const result = await p.process(task([rec(0, '{"a":1}'), rec(1, '{"bad":true}'), rec(2, '{"a":2}')]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Indexed]);
    expect(result.failures).to.deep.equal([{ record: 1, stage: 'transform', reason: 'transform rejected: lookup failed' }]);
    expect(sent.map((s) => JSON.parse(s.source))).to.deep.equal([
      { a: 1, seen: true },
      { a: 2, seen: true },
    ]);
  });

  it('a record whose transform returns one bad element indexes none of its documents', async () => {
    const file = transformFile(
      `export function transform(r) {
         const out = r.value.items.map((x) => ({ x }));
         if (r.value.bad) out.push(r.value.bad === 'circular' ? (() => { const c = {}; c.c = c; return c; })() : 'not an object');
         return out;
       }\n`,
    );
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file }), { sink, logger });
    const result = await p.process(
      task([rec(0, '{"items":[1,2]}'), rec(1, '{"items":[3,4],"bad":"string"}'), rec(2, '{"items":[5],"bad":"circular"}'), rec(3, '{"items":[6]}')]),
    );
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Failed, Outcome.Indexed]);
    expect(result.failures.map((f) => [f.record, f.stage])).to.deep.equal([
      [1, 'transform'],
      [2, 'transform'],
    ]);
    expect(sent.map((s) => [idOf(s), JSON.parse(s.source)])).to.deep.equal([
      ['logs-0-0-0', { x: 1 }],
      ['logs-0-0-1', { x: 2 }],
      ['logs-0-3-0', { x: 6 }],
    ]);
    expect(result.stats.docs).to.equal(3);
  });

  it('msgpack int64: safe integers as JSON numbers, larger ones as exact JSON numbers', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ inputFormat: 'msgpack' }), { sink, logger });
    const result = await p.process(task([rec(0, pack({ small: 5n, big: 2n ** 63n - 1n, neg: -(2n ** 62n) - 3n, list: [2n ** 60n], n: 1.5 }))]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed]);
    expect(sent[0]?.source).to.equal('{"small":5,"big":9223372036854775807,"neg":-4611686018427387907,"list":[1152921504606846976],"n":1.5}');
  });

  it('invalid UTF-8 inside a JSON value fails the record; a leading BOM is skipped', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    const bad = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"ü"}')]);
    const result = await p.process(task([rec(0, bad), rec(1, bom)]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Failed, Outcome.Indexed]);
    expect(result.failures).to.deep.equal([{ record: 0, stage: 'decode', reason: 'invalid UTF-8 in JSON value' }]);
    expect(sent.map((s) => s.source)).to.deep.equal(['{"a":"ü"}']);

    const rp = captureSink();
    const pr = await createBatchProcessor(init({ invalidUtf8: 'replace' }), { sink: rp.sink, logger });
    await pr.process(task([rec(0, bad)]));
    expect(JSON.parse(rp.sent[0]?.source ?? '')).to.deep.equal({ name: 'caf\ufffd' });
  });

  it('a timestamp outside the Date range routes by the Kafka timestamp; a routing error fails only its record', async () => {
    const file = transformFile(
      `export function transform(r) {
         if (!r.value.trap) return r.value;
         return { get '@timestamp'() { throw new Error('no time here'); } };
       }\n`,
    );
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file, index: { name: 'logs-{yyyy.MM.dd}' } }), { sink, logger });
    const result = await p.process(
      task([rec(0, '{"@timestamp":1767225600000000000}'), rec(1, '{"@timestamp":1767225600000000}'), rec(2, '{"trap":true}'), rec(3, '{"@timestamp":"2026-01-01T00:00:00Z"}')]),
    );
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Indexed, Outcome.Failed, Outcome.Indexed]);
    expect(result.failures).to.deep.equal([{ record: 2, stage: 'route', reason: 'routing failed: no time here' }]);
    expect(sent.map((s) => Object.values(s.action)[0]?._index)).to.deep.equal(['logs-2026.11.22', 'logs-2026.11.22', 'logs-2026.01.01']);
  });
});

describe('batch processor: last write wins', () => {
  it('key and field ids carry the record offset as external version; kafka and none ids carry none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-transform-'));
    const file = join(dir, 't.mjs');
    writeFileSync(file, `export function transform(r) { return r.value.split ? [{ ...r.value, n: 0 }, { ...r.value, n: 1 }] : r.value; }\n`);
    const versionsOf = (sent: ReturnType<typeof captureSink>['sent']) =>
      sent.map((s) => {
        const [op, a] = Object.entries(s.action)[0] as [string, { _id?: string; version?: number; version_type?: string }];
        return [op, a._id, a.version, a.version_type];
      });
    const records = () => [rec(41, '{"id":"u-1"}', 'k1'), rec(42, '{"id":"u-1","split":true}', 'k1'), rec(43, null, 'k1'), rec(9, '{"id":"u-2"}', 'k2', 1)];

    const keyed = captureSink();
    const pk = await createBatchProcessor(init({ transform: file, onNull: 'delete', index: { idStrategy: 'key' } }), { sink: keyed.sink, logger });
    await pk.process(task(records()));
    expect(versionsOf(keyed.sent)).to.deep.equal([
      ['index', 'k1', 41, 'external'],
      ['index', 'k1-0', 42, 'external'],
      ['index', 'k1-1', 42, 'external'],
      ['delete', 'k1', 43, 'external'],
      ['index', 'k2', 9, 'external'],
    ]);

    const field = captureSink();
    const pf = await createBatchProcessor(init({ index: { idStrategy: 'field:id' } }), { sink: field.sink, logger });
    await pf.process(task(records()));
    expect(versionsOf(field.sent)).to.deep.equal([
      ['index', 'u-1', 41, 'external'],
      ['index', 'u-1', 42, 'external'],
      ['index', 'u-2', 9, 'external'],
    ]);

    for (const idStrategy of ['kafka', 'none']) {
      const plain = captureSink();
      const pp = await createBatchProcessor(init({ index: { idStrategy } }), { sink: plain.sink, logger });
      await pp.process(task(records()));
      expect(versionsOf(plain.sent).map(([, , v, t]) => [v, t])).to.deep.equal([[undefined, undefined], [undefined, undefined], [undefined, undefined]], idStrategy);
    }
  });
});

describe('batch processor: re-driven dead letters', () => {
  /** Dead letters of `logs-dlq` partition 0 at offsets 0, 1, …, each standing for the original its origin names. */
  const deadLetters = (records: Array<[value: string | null, origin: KafkaRecord['origin'], key?: string]>) =>
    task(records.map(([value, origin, key], i) => ({ ...rec(i, value, key ?? null, 0, 'logs-dlq'), timestamp: Date.UTC(2026, 10, 20, 9), origin })));
  const actions = (sent: ReturnType<typeof captureSink>['sent']) => sent.map((s) => s.action);

  for (const [path, native] of [
    ['JS', loadNative({ env: { SLUICE_NATIVE: '0' } })],
    ['native', loadNative({ env: {} })],
  ] as const) {
    it(`are indexed with the original record's topic, partition and offset: _id, index name tokens, version (${path} path)`, async function () {
      if (path === 'native' && native.path !== 'native') this.skip();
      const letters = () =>
        deadLetters([
          ['{"id":"u-1","n":1}', { topic: 'Logs', partition: 2, offset: 41 }],
          ['{"id":"u-2","n":2}', { problem: 'the dead letter has no sluice.source.topic header: the original record is unknown' }],
          ['{"id":"u-3","n":3,"@timestamp":"2026-11-01T00:00:00Z"}', { topic: 'metrics', partition: 0, offset: 7 }],
        ]);
      const plain = captureSink();
      const p = await createBatchProcessor(init({ index: { name: '{topic}-{partition}-{yyyy.MM.dd}' } }), { sink: plain.sink, logger, native });
      const result = await p.process(letters());
      expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Failed, Outcome.Indexed]);
      expect(result.failures).to.deep.equal([{ record: 1, stage: 'redrive', reason: 'the dead letter has no sluice.source.topic header: the original record is unknown' }]);
      // The date comes from the document or from the Kafka timestamp, which the dead letter keeps from the original.
      expect(actions(plain.sent)).to.deep.equal([{ index: { _index: 'logs-2-2026.11.20', _id: 'Logs-2-41' } }, { index: { _index: 'metrics-0-2026.11.01', _id: 'metrics-0-7' } }]);
      expect(plain.sent.map((s) => s.source)).to.deep.equal(['{"id":"u-1","n":1}', '{"id":"u-3","n":3,"@timestamp":"2026-11-01T00:00:00Z"}']);

      const keyed = captureSink();
      const k = await createBatchProcessor(init({ index: { idStrategy: 'field:id' } }), { sink: keyed.sink, logger, native });
      await k.process(letters());
      expect(actions(keyed.sent)).to.deep.equal([
        { index: { _index: 'logs', _id: 'u-1', version: 41, version_type: 'external' } },
        { index: { _index: 'metrics', _id: 'u-3', version: 7, version_type: 'external' } },
      ]);
    });
  }

  it('a transform sees the original record\'s coordinates; a tombstone among them fails by its origin\'s problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-transform-'));
    const file = join(dir, 't.mjs');
    writeFileSync(file, `export function transform(r) { return { at: r.topic + '/' + r.partition + '/' + r.offset, key: r.key }; }\n`);
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init({ transform: file, index: { idStrategy: 'key' } }), { sink, logger });
    const result = await p.process(
      deadLetters([
        ['{"a":1}', { topic: 'logs', partition: 1, offset: 12 }, 'k1'],
        [null, { problem: 'the dead letter is a tombstone (null value): there is no record to index' }, 'k2'],
      ]),
    );
    expect(sent.map((s) => [s.action, JSON.parse(s.source)])).to.deep.equal([[{ index: { _index: 'logs', _id: 'k1', version: 12, version_type: 'external' } }, { at: 'logs/1/12', key: 'k1' }]]);
    expect(result.failures.map((f) => [f.record, f.stage, f.reason])).to.deep.equal([[1, 'redrive', 'the dead letter is a tombstone (null value): there is no record to index']]);
  });
});
