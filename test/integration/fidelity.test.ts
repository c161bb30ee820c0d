import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { readDeadLetters } from '../support/dlq.js';
import { count, createIndex, es, singleShardTemplate } from '../support/elasticsearch.js';
import { ES_URL, unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, produce, produceExact, type OutRecord } from '../support/kafka.js';
import { expectCleanExit, runToEnd, startSluice, testConfig } from '../support/sluice.js';
import { nativeConsumeStatus } from '../../src/kafka/native-consume.js';

/**
 * No silent change of data (DESIGN.md, invariant 11) and no two records sharing an id by accident
 * (invariant 9), end to end: each record is indexed as it arrived (or as the transform made it), or
 * it is dead-lettered with its reason.
 */

async function topicWith(prefix: string, records: OutRecord[], partitions = 1): Promise<string> {
  const topic = unique(prefix);
  await createTopic(topic, partitions);
  await produce(topic, records);
  return topic;
}

/** A topic and its dead-letter topic, and the config that joins them. */
async function withDlq(prefix: string, records: OutRecord[], over: Record<string, unknown> = {}) {
  const topic = await topicWith(prefix, records);
  const dlqTopic = `${topic}-dlq`;
  await createTopic(dlqTopic, 1);
  const errors = { dlqTopic, ...((over['errors'] as object | undefined) ?? {}) };
  return { topic, dlqTopic, config: testConfig(topic, unique('g'), { ...over, errors }) };
}

/** Every document of an index (or pattern): id → source, sorted by id. */
async function documents(index: string): Promise<Array<[string, unknown]>> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.search({ index, size: 1000, ignore_unavailable: true, allow_no_indices: true });
  return res.hits.hits.map((h): [string, unknown] => [h._id as string, h._source]).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The `_source` exactly as Elasticsearch stored it: JSON.parse would round large integers again. */
async function rawSource(index: string, id: string): Promise<string> {
  const res = await fetch(`${ES_URL}/${index}/_source/${encodeURIComponent(id)}`);
  expect(res.status, `GET ${index}/_source/${id}`).to.equal(200);
  return res.text();
}

function transformModule(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-transform-')), 'transform.mjs');
  writeFileSync(file, body);
  return file;
}

/** An 8-byte big-endian long, as Java's LongSerializer writes keys. */
function longKey(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

describe('record fidelity against the real servers', function () {
  this.timeout(300_000);
  before(() => singleShardTemplate('fid-*'));

  it('a dead letter keeps header values that are not text byte for byte (native path), or as base64 it names (SLUICE_NATIVE=0)', async () => {
    // Not text: invalid UTF-8, a NUL byte (node-rdkafka's produce would end the value there). Text and empty values stay as they are.
    const own: Array<[string, Buffer]> = [
      ['bin', Buffer.from([0xff, 0x00, 0x01, 0x80])],
      ['text', Buffer.from('ünï ✓')],
      ['nul', Buffer.from('a\0b')],
      ['empty', Buffer.alloc(0)],
    ];
    const runs: Array<{ env: NodeJS.ProcessEnv; expected: Array<[string, Buffer]> }> = [
      { env: {}, expected: own },
      {
        env: { SLUICE_NATIVE: '0' },
        expected: [['bin', Buffer.from('/wABgA==')], own[1] as [string, Buffer], ['nul', Buffer.from('YQBi')], own[3] as [string, Buffer], ['sluice.headers.base64', Buffer.from('0,2')]],
      },
    ];
    expect(nativeConsumeStatus().path, 'the native path is built').to.equal('native');
    for (const { env, expected } of runs) {
      const topic = unique('fid-hdr');
      await createTopic(topic, 1);
      const dlqTopic = `${topic}-dlq`;
      await createTopic(dlqTopic, 1);
      await produceExact(topic, [{ partition: 0, key: null, value: Buffer.from('not json'), timestamp: Date.now(), headers: Object.fromEntries(own) }]);
      await expectCleanExit(startSluice(testConfig(topic, unique('g'), { errors: { dlqTopic } }), ['--until-caught-up'], env));
      const [letter, ...more] = await readDeadLetters(dlqTopic, 1);
      expect(more, JSON.stringify(env)).to.deep.equal([]);
      const headers = (letter?.rawHeaders ?? []).filter(([name]) => !name.startsWith('sluice.') || name === 'sluice.headers.base64');
      expect(headers.map(([n, v]) => [n, v.toString('hex')]), JSON.stringify(env)).to.deep.equal(expected.map(([n, v]) => [n, v.toString('hex')]));
      expect(letter?.headers['sluice.error.stage']).to.equal('decode');
    }
  });

  it('binary keys 0x…80 and 0x…81 become two documents', async () => {
    const topic = await topicWith('fid-binkey', [
      { partition: 0, key: longKey(0x80n), value: '{"n":1}' },
      { partition: 0, key: longKey(0x81n), value: '{"n":2}' },
    ]);
    await runToEnd(testConfig(topic, unique('g'), { index: { idStrategy: 'key' } }));
    expect(await documents(topic)).to.deep.equal([
      ['b64:AAAAAAAAAIA', { n: 1 }],
      ['b64:AAAAAAAAAIE', { n: 2 }],
    ]);
  });

  it('a field: id above 2^53 is dead-lettered with its reason, never merged into another id', async () => {
    const { topic, dlqTopic, config } = await withDlq(
      'fid-bigid',
      [
        { partition: 0, value: '{"id":9007199254740993,"v":"a"}' },
        { partition: 0, value: '{"id":9007199254740992,"v":"b"}' },
        { partition: 0, value: '{"id":"9007199254740993","v":"c"}' },
      ],
      { index: { idStrategy: 'field:id' } },
    );
    await runToEnd(config);
    expect(await documents(topic)).to.deep.equal([['9007199254740993', { id: '9007199254740993', v: 'c' }]]);
    const letters = await readDeadLetters(dlqTopic, 2);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.stage'], l.headers['sluice.error.reason']])).to.deep.equal([
      ['0', 'route', 'the number at id cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string'],
      ['1', 'route', 'the number at id cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string'],
    ]);
  });

  it('an async transform: its documents are indexed as returned; a rejection dead-letters the record and the run goes on', async () => {
    const transform = transformModule(
      `export async function transform(record) {
         await new Promise((resolve) => setTimeout(resolve, 1));
         if (record.value.reject) throw new Error('enrichment failed');
         return { ...record.value, enriched: true };
       }\n`,
    );
    const { topic, dlqTopic, config } = await withDlq(
      'fid-async',
      [0, 1, 2, 3, 4, 5].map((i) => ({ partition: 0, value: JSON.stringify(i === 2 ? { i, reject: true } : { i }) })),
      { transform },
    );
    const run = await runToEnd(config);
    expect(run.logs('stopped')[0]).to.deep.include({ indexed: 5, failed: 1 });
    expect(await documents(topic)).to.deep.equal(
      [0, 1, 3, 4, 5].map((i) => [`${topic}-0-${i}`, { i, enriched: true }]),
    );
    const letters = await readDeadLetters(dlqTopic, 1);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.stage'], l.headers['sluice.error.reason']])).to.deep.equal([
      ['2', 'transform', 'transform rejected: enrichment failed'],
    ]);
  });

  it('a worker thread that dies between tasks is replaced; the process keeps running', async () => {
    // The timer throws in the worker once its task is done (a one-document task into an existing index
    // takes milliseconds): Piscina then emits 'error' on the pool, which today crashes the process.
    const transform = transformModule(
      `let armed = false;
       export function transform(record) {
         if (record.value.bomb && !armed) {
           armed = true;
           setTimeout(() => { throw new Error('stray failure after the task'); }, 3000);
         }
         return record.value;
       }\n`,
    );
    const topic = await topicWith('fid-crash', [{ partition: 0, value: '{"bomb":true}' }]);
    await createIndex(topic);
    const p = startSluice(testConfig(topic, unique('g'), { transform }));
    try {
      await waitFor('the worker failure logged', () => p.logs('worker thread failed; it is replaced')[0] ?? (p.child.exitCode !== null ? Promise.reject(new Error(`sluice exited:\n${p.output().slice(-3000)}`)) : undefined), 60_000);
      expect(p.logs('worker thread failed; it is replaced')[0]).to.deep.include({ err: 'stray failure after the task' });
      await produce(topic, [1, 2, 3].map((n) => ({ partition: 0, value: JSON.stringify({ n }) })));
      await waitFor('the records after the failure indexed', async () => (await count(topic)) === 4 || undefined, 60_000);
    } finally {
      p.child.kill('SIGTERM');
    }
    await expectCleanExit(p, 60_000);
    expect((await documents(topic)).map(([id]) => id)).to.deep.equal([0, 1, 2, 3].map((o) => `${topic}-0-${o}`));
  });

  it('an array with one bad element indexes none of that record’s documents', async () => {
    const transform = transformModule(
      `export function transform(record) {
         const docs = record.value.items.map((item) => ({ item }));
         if (record.value.bad) docs.push('not an object');
         return docs;
       }\n`,
    );
    const { topic, dlqTopic, config } = await withDlq(
      'fid-array',
      [
        { partition: 0, value: '{"items":[1,2]}' },
        { partition: 0, value: '{"items":[3,4],"bad":true}' },
        { partition: 0, value: '{"items":[5]}' },
      ],
      { transform },
    );
    await runToEnd(config);
    expect(await documents(topic)).to.deep.equal([
      [`${topic}-0-0-0`, { item: 1 }],
      [`${topic}-0-0-1`, { item: 2 }],
      [`${topic}-0-2-0`, { item: 5 }],
    ]);
    const letters = await readDeadLetters(dlqTopic, 1);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.stage']])).to.deep.equal([['1', 'transform']]);
  });

  it('msgpack int64 values index exactly', async () => {
    const { topic, dlqTopic, config } = await withDlq('fid-int64', [{ partition: 0, value: pack({ big: 2n ** 63n - 1n, neg: -(2n ** 62n) - 3n, small: 5n, list: [2n ** 60n + 1n], f: 1.5 }) }], {
      input: { format: 'msgpack' },
    });
    await runToEnd(config);
    expect(await rawSource(topic, `${topic}-0-0`)).to.equal('{"big":9223372036854775807,"neg":-4611686018427387907,"small":5,"list":[1152921504606846977],"f":1.5}');
    // Elasticsearch mapped and stored them as exact longs, not as doubles or strings.
    await es.indices.refresh({ index: topic });
    const hit = await es.search({ index: topic, query: { term: { big: '9223372036854775807' } } });
    expect(hit.hits.hits.map((h) => h._id)).to.deep.equal([`${topic}-0-0`]);
    const mapping = await es.indices.getMapping({ index: topic });
    expect((mapping[topic]?.mappings.properties?.['big'] as { type?: string } | undefined)?.type).to.equal('long');
    expect(await readDeadLetters(dlqTopic, 0)).to.deep.equal([]);
  });

  it('invalid UTF-8 goes to the dead-letter topic with the reason; a record with a BOM indexes', async () => {
    const bad = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"ü"}')]);
    const { topic, dlqTopic, config } = await withDlq('fid-utf8', [
      { partition: 0, value: bad },
      { partition: 0, value: bom },
      { partition: 0, value: '{"name":"plain"}' },
    ]);
    await runToEnd(config);
    expect(await documents(topic)).to.deep.equal([
      [`${topic}-0-1`, { name: 'ü' }],
      [`${topic}-0-2`, { name: 'plain' }],
    ]);
    const letters = await readDeadLetters(dlqTopic, 1);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.stage'], l.headers['sluice.error.reason']])).to.deep.equal([
      ['0', 'decode', 'invalid UTF-8 in JSON value'],
    ]);
  });

  it('a nanosecond or microsecond @timestamp with a daily index routes by the Kafka timestamp', async () => {
    const kafkaTs = Date.UTC(2026, 2, 3, 12);
    const ns = Date.UTC(2026, 0, 1) * 1_000_000;
    const { topic, dlqTopic, config } = await withDlq(
      'fid-ns',
      [
        { partition: 0, value: JSON.stringify({ '@timestamp': ns, n: 1 }), timestamp: kafkaTs },
        { partition: 0, value: JSON.stringify({ '@timestamp': ns / 1000, n: 2 }), timestamp: kafkaTs },
        { partition: 0, value: JSON.stringify({ '@timestamp': '2026-01-01T00:00:00Z', n: 3 }), timestamp: kafkaTs },
      ],
      { index: { name: '{topic}-{yyyy.MM.dd}' } },
    );
    await runToEnd(config);
    expect((await documents(`${topic}-2026.03.03`)).map(([id]) => id)).to.deep.equal([`${topic}-0-0`, `${topic}-0-1`]);
    expect((await documents(`${topic}-2026.01.01`)).map(([id]) => id)).to.deep.equal([`${topic}-0-2`]);
    expect(await count(`${topic}-*`)).to.equal(3, 'no document in any other index');
    expect(await readDeadLetters(dlqTopic, 0)).to.deep.equal([]);
  });

  const deletes = { index: { idStrategy: 'key' }, errors: { onNull: 'delete' } };

  it('a tombstone delete with key ids deletes the document of that key, binary keys included', async () => {
    const topic = await topicWith('fid-delete', [
      { partition: 0, key: longKey(0x80n), value: '{"n":1}' },
      { partition: 0, key: longKey(0x81n), value: '{"n":2}' },
      { partition: 0, key: 'user-1', value: '{"n":3}' },
      { partition: 0, key: longKey(0x80n), value: null },
    ]);
    await runToEnd(testConfig(topic, unique('g'), deletes));
    expect(await documents(topic)).to.deep.equal([
      ['b64:AAAAAAAAAIE', { n: 2 }],
      ['user-1', { n: 3 }],
    ]);
  });

  it('a tombstone delete to an index that does not exist yet counts as done', async () => {
    // Only tombstones, to an index that does not exist. (Elasticsearch answers a plain delete there
    // with index_not_found_exception; an externally versioned one creates the index to keep the
    // delete's version.) Either way nothing is to be deleted, and nothing may halt.
    const ghost = await topicWith('fid-ghost', [
      { partition: 0, key: 'user-1', value: null },
      { partition: 0, key: 'user-2', value: null },
    ]);
    const group = unique('g');
    const run = await runToEnd(testConfig(ghost, group, deletes), [], 90_000);
    expect(run.logs('stopped')[0]).to.deep.include({ failed: 0 });
    expect(await committedOffsets(group, ghost, 1)).to.deep.equal([2]);
    expect(await count(ghost)).to.equal(0);
  });
});
