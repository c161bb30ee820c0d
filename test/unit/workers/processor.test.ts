import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { pack } from 'msgpackr';
import { BatchBuilder, packTask, recordBytes, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey } from '../../../src/offsets/watermark.js';
import { Outcome, type WorkerInit } from '../../../src/protocol.js';
import type { EncodedBatch } from '../../../workers/bulk/encoder.js';
import type { DocFailure, SinkResult } from '../../../workers/bulk/sink.js';
import { createBatchProcessor } from '../../../workers/processor.js';

const logger = pino({ level: 'silent' });

function init(over: Partial<Omit<WorkerInit, 'index'>> & { index?: Partial<WorkerInit['index']> } = {}): WorkerInit {
  return {
    elasticsearch: { node: ['http://127.0.0.1:1'], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 1000, serverMajor: 8 },
    inputFormat: 'json',
    transform: 'none',
    onNull: 'skip',
    maxDocBytes: 1 << 20,
    bulkMaxBytes: 1 << 20,
    maxConcurrentBulks: 1,
    retry: { maxRetries: 0, backoffMs: 1, maxBackoffMs: 1 },
    logLevel: 'silent',
    ...over,
    index: { name: '{topic}', timestampField: '@timestamp', opType: 'index', idStrategy: 'kafka', ...over.index },
  };
}

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
  for (const r of records) b.add(tpKey(r.topic, r.partition), r, recordBytes(r), recordBytes(r), 0);
  return packTask([...b.runs.values()]).task;
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
  it('indexes JSON as it arrived, with kafka ids, and skips tombstones', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    const result = await p.process(task([rec(7, '{"a":1}'), rec(8, null), rec(3, '{"b":"ü"}', null, 1)]));
    expect(Array.from(result.outcomes)).to.deep.equal([Outcome.Indexed, Outcome.Skipped, Outcome.Indexed]);
    expect(sent.map((s) => s.action)).to.deep.equal([{ index: { _index: 'logs', _id: 'logs-0-7' } }, { index: { _index: 'logs', _id: 'logs-1-3' } }]);
    expect(sent[0]?.source).to.equal('{"a":1}');
    expect(result.stats).to.deep.include({ docs: 2, tombstones: 1, dropped: 0, bulkRequests: 1 });
  });

  it('re-serializes pretty-printed JSON so that NDJSON stays one line per document', async () => {
    const { sink, sent } = captureSink();
    const p = await createBatchProcessor(init(), { sink, logger });
    await p.process(task([rec(0, '{\n  "a": 1\n}')]));
    expect(sent[0]?.source).to.equal('{"a":1}');
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
    expect(del.sent.map((s) => s.action)).to.deep.equal([{ delete: { _index: 'logs', _id: 'user-1' } }]);
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
