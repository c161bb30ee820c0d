import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique } from '../support/env.js';
import { createTopic, produce, type OutRecord } from '../support/kafka.js';
import { runToEnd, testConfig } from '../support/sluice.js';

async function topicWith(prefix: string, records: OutRecord[], partitions = 2): Promise<string> {
  const topic = unique(prefix);
  await createTopic(topic, partitions);
  await produce(topic, records);
  return topic;
}

async function ids(index: string): Promise<string[]> {
  await es.indices.refresh({ index });
  const res = await es.search({ index, size: 1000, sort: ['_doc'] });
  return res.hits.hits.map((h) => h._id as string).sort();
}

describe('ingester features against the real servers', function () {
  this.timeout(180_000);
  before(() => singleShardTemplate('ft-*'));

  it('routes to daily indices from the document timestamp, else the Kafka timestamp', async () => {
    const kafkaTs = Date.UTC(2026, 2, 3, 12);
    const topic = await topicWith('ft-dates', [
      { partition: 0, value: JSON.stringify({ '@timestamp': '2026-01-01T05:00:00Z', n: 1 }), timestamp: kafkaTs },
      { partition: 0, value: JSON.stringify({ '@timestamp': 1767312000000, n: 2 }), timestamp: kafkaTs },
      { partition: 1, value: JSON.stringify({ n: 3 }), timestamp: kafkaTs },
    ]);
    await runToEnd(testConfig(topic, unique('g'), { index: { name: `${topic}-{yyyy.MM.dd}` } }));
    expect(await count(`${topic}-2026.01.01`)).to.equal(1);
    expect(await count(`${topic}-2026.01.02`)).to.equal(1);
    expect(await count(`${topic}-2026.03.03`)).to.equal(1);
  });

  it('opType create: a replay from the start counts 409 conflicts as done and changes nothing', async () => {
    const topic = await topicWith('ft-create', Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
    const config = testConfig(topic, unique('g'), { index: { opType: 'create' } });
    await runToEnd(config);
    expect(await count(topic)).to.equal(50);
    const replay = await runToEnd({ ...config, kafka: { ...(config['kafka'] as object), groupId: unique('replay') } });
    expect(replay.logs('stopped')[0]).to.deep.include({ indexed: 50, failed: 0 });
    expect(await count(topic)).to.equal(50);
  });

  it('idStrategy key, field:<path> and none', async () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, key: `user-${i}`, value: JSON.stringify({ order: { id: `o-${i}` }, i }) }));
    const byKey = await topicWith('ft-key', records);
    await runToEnd(testConfig(byKey, unique('g'), { index: { idStrategy: 'key' } }));
    expect(await ids(byKey)).to.deep.equal(records.map((r) => r.key).sort());

    const byField = await topicWith('ft-field', records);
    await runToEnd(testConfig(byField, unique('g'), { index: { idStrategy: 'field:order.id' } }));
    expect(await ids(byField)).to.deep.equal(records.map((_, i) => `o-${i}`).sort());

    // Generated ids are the documented trade-off: a replay (here a second group reading from the
    // start) indexes every record again, where the other strategies overwrite.
    const auto = await topicWith('ft-none', records);
    await runToEnd(testConfig(auto, unique('g'), { index: { idStrategy: 'none' } }));
    const generated = await ids(auto);
    expect(generated).to.have.length(6);
    expect(generated.some((id) => id.startsWith(auto))).to.equal(false);
    await runToEnd(testConfig(auto, unique('replay'), { index: { idStrategy: 'none' } }));
    expect(new Set(await ids(auto)).size).to.equal(12, 'each record twice, under new ids');
    await runToEnd(testConfig(byKey, unique('replay'), { index: { idStrategy: 'key' } }));
    expect(await ids(byKey)).to.deep.equal(records.map((r) => r.key).sort(), 'a replay with key ids overwrites');
  });

  it('msgpack and text input', async () => {
    const mp = await topicWith('ft-msgpack', [{ partition: 0, value: pack({ level: 'warn', n: 7, tags: ['a', 'b'] }) }]);
    await runToEnd(testConfig(mp, unique('g'), { input: { format: 'msgpack' } }));
    const m = await es.get({ index: mp, id: `${mp}-0-0` });
    expect(m._source).to.deep.equal({ level: 'warn', n: 7, tags: ['a', 'b'] });

    const tx = await topicWith('ft-text', [{ partition: 1, value: 'GET /index.html 200 "quoted"' }]);
    await runToEnd(testConfig(tx, unique('g'), { input: { format: 'text' } }));
    const t = await es.get({ index: tx, id: `${tx}-1-0` });
    expect(t._source).to.deep.equal({ message: 'GET /index.html 200 "quoted"' });
  });

  it('the apm-log transform', async () => {
    const topic = await topicWith('ft-apm', [
      {
        partition: 0,
        value: JSON.stringify({
          timestamp: '2026-11-20T08:00:00.000Z',
          service_name: 'cart',
          environment: 'prod',
          trace_id: 'abc',
          span_id: 'def',
          level: 'error',
          message: 'payment failed',
          http_method: 'POST',
          http_path: '/pay',
          http_status_code: 502,
          labels: { region: 'eu-west', pod: { name: 'cart-1' } },
        }),
      },
    ]);
    await runToEnd(testConfig(topic, unique('g'), { transform: 'apm-log' }));
    const doc = (await es.get<Record<string, unknown>>({ index: topic, id: `${topic}-0-0` }))._source ?? {};
    expect(doc).to.deep.include({
      '@timestamp': '2026-11-20T08:00:00.000Z',
      service_name: 'cart',
      type: 'log',
      http_status_code: 502,
      labels: { region: 'eu-west', 'pod.name': 'cart-1' },
    });
    expect(doc).to.not.have.property('timestamp');
    expect(Date.parse(doc['ingestedAt'] as string)).to.be.greaterThan(Date.parse('2026-01-01'));
  });

  it('a user transform module: documents, fan-out arrays and dropped records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-transform-'));
    writeFileSync(
      join(dir, 'transform.mjs'),
      `export function transform(record) {
         if (record.value.skip) return null;
         if (record.value.items) return record.value.items.map((item) => ({ item, from: record.offset }));
         return { ...record.value, upper: String(record.value.name).toUpperCase() };
       }\n`,
    );
    const topic = await topicWith('ft-user', [
      { partition: 0, value: JSON.stringify({ name: 'ada' }) },
      { partition: 0, value: JSON.stringify({ skip: true }) },
      { partition: 0, value: JSON.stringify({ items: ['x', 'y', 'z'] }) },
    ], 1);
    const config = testConfig(topic, unique('g'), { transform: join(dir, 'transform.mjs') });
    const run = await runToEnd(config);
    expect(run.logs('stopped')[0]).to.deep.include({ indexed: 2, skipped: 1, failed: 0 });
    expect(await ids(topic)).to.deep.equal([`${topic}-0-0`, `${topic}-0-2-0`, `${topic}-0-2-1`, `${topic}-0-2-2`]);
    expect((await es.get({ index: topic, id: `${topic}-0-0` }))._source).to.deep.equal({ name: 'ada', upper: 'ADA' });
  });
});
