import { expect } from 'chai';
import { readDeadLetters } from '../support/dlq.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { sample, scrape } from '../support/metrics.js';
import { configFile, exitWithin, runToEnd, sluiceCommand, startSluice, statusPort, testConfig, type SluiceProcess } from '../support/sluice.js';
import { call, compatTarget, count, createIndex, documents, writeQueueSize } from './target.js';

/**
 * Sluice end to end against one search server (SLUICE_COMPAT_TARGET; test/run.sh runs this suite
 * once per target: Elasticsearch 7.17, 8.19, 9.x and OpenSearch 2.19, each node started with a
 * one-slot write queue). Small record counts: what differs between targets is names and media
 * types, not volume.
 */
const target = compatTarget();
const HALTED = 'halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them';

function config(topic: string, group: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return testConfig(topic, group, { elasticsearch: { node: target.url }, ...over });
}

/** Error types of the bulk items and requests a run retried, with their status. */
function retried(p: SluiceProcess): Array<{ status: unknown; errorType: unknown }> {
  return [...p.logs('retrying bulk items'), ...p.logs('bulk request failed; retrying')].map((l) => ({ status: l['status'], errorType: l['errorType'] }));
}

describe(`compatibility: ${target.title} (${target.url})`, function () {
  this.timeout(300_000);

  before(async function () {
    const root = await call(target, 'GET', '/').catch(() => undefined);
    if (root === undefined) {
      console.log(`      skipped: no ${target.title} node at ${target.url}; start one with: bash test/services/services.sh up ${target.service}`);
      this.skip();
    }
    expect(root.body.version.number).to.match(new RegExp(`^${target.version.replaceAll('.', '\\.')}`), `${target.url} runs ${target.title}`);
  });

  it('sluice check names the product and version', async () => {
    const topic = unique('compat-check');
    await createTopic(topic, 1);
    const r = await sluiceCommand(['check', '--config', configFile(config(topic, unique('g')))]);
    const name = target.product === 'opensearch' ? 'OpenSearch' : 'Elasticsearch';
    expect(r.stdout).to.match(new RegExp(`^ok {4}elasticsearch ${target.url}: ${name} ${target.version.replaceAll('.', '\\.')}[\\d.]+, cluster \\S+$`, 'm'));
    expect(r.code).to.equal(0, r.stdout);
  });

  it('indexes every record exactly once under its kafka id and commits the log ends', async () => {
    const topic = unique('compat-ids');
    const group = unique('g');
    const N = 2_000;
    const P = 4;
    await createTopic(topic, P);
    await produce(topic, Array.from({ length: N }, (_, i): OutRecord => ({ partition: i % P, key: `k${i}`, value: JSON.stringify({ i, partition: i % P }) })));
    const ends = await endOffsets(topic, P);
    await runToEnd(config(topic, group, { pipeline: { workers: 2, batchDocs: 250 } }));

    const docs = await documents(target, topic, N + 100);
    const expected = ends.flatMap((end, partition) => Array.from({ length: end }, (_, offset) => `${topic}-${partition}-${offset}`));
    expect([...docs.keys()].sort()).to.deep.equal(expected.sort());
    for (const [id, source] of docs) expect(id.startsWith(`${topic}-${String(source['partition'])}-`)).to.equal(true, id);
    expect(await committedOffsets(group, topic, P)).to.deep.equal(ends);
  });

  it(`a document that does not fit its mapping goes to the dead-letter topic as rejected ${target.parseError}`, async () => {
    const topic = unique('compat-map');
    const dlq = `${topic}-dlq`;
    const group = unique('g');
    await createTopic(topic, 1);
    await createTopic(dlq, 1);
    await createIndex(target, topic, { n: { type: 'integer' } });
    const bad = new Set([3, 10, 17]);
    await produce(topic, Array.from({ length: 20 }, (_, i): OutRecord => ({ partition: 0, key: `k${i}`, value: JSON.stringify({ n: bad.has(i) ? `not a number ${i}` : i }) })));
    await runToEnd(config(topic, group, { errors: { dlqTopic: dlq } }));

    const letters = await readDeadLetters(dlq, bad.size);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.class'], l.headers['sluice.error.type'], l.headers['sluice.error.status'], l.key])).to.deep.equal(
      [...bad].map((i) => [String(i), 'rejected', target.parseError, '400', `k${i}`]),
    );
    expect(await count(target, topic)).to.equal(20 - bad.size);
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([20]);
  });

  it(`retries the items a full write queue refuses (429 ${target.rejectedError}) until every record is in`, async function () {
    if ((await writeQueueSize(target)) > 2) {
      console.log(`      skipped: needs a tiny write queue; restart the node with ${target.settingsVar}=thread_pool.write.size=1,thread_pool.write.queue_size=1`);
      this.skip();
    }
    const topic = unique('compat-429');
    const group = unique('g');
    const N = 8_000;
    const P = 4;
    await createTopic(topic, P);
    await produce(topic, Array.from({ length: N }, (_, i): OutRecord => ({ partition: i % P, key: null, value: JSON.stringify({ i, msg: 'burst' }) })));
    const ends = await endOffsets(topic, P);
    // Eight bulks in flight against one write thread and a one-slot queue: most are refused at first.
    const p = await runToEnd(config(topic, group, { pipeline: { workers: 2, batchDocs: 100, maxInFlightBulks: 8 }, log: { level: 'debug' } }), [], 240_000);

    const overloads = retried(p).filter((r) => r.status === 429);
    expect(overloads).to.not.deep.equal([], 'the node must actually have refused some writes');
    expect([...new Set(overloads.map((r) => r.errorType))]).to.deep.equal([target.rejectedError]);
    expect(p.logs('stopped')[0]).to.deep.include({ indexed: N, failed: 0 });
    expect(await count(target, topic)).to.equal(N);
    expect(await committedOffsets(group, topic, P)).to.deep.equal(ends);
  });

  it('halts on a write block (403) and on read_only_allow_delete (429), commits nothing, and resumes when the block goes', async () => {
    const topic = unique('compat-block');
    const group = unique('g');
    const N = 400;
    const P = 2;
    await createTopic(topic, P);
    await produce(topic, Array.from({ length: N }, (_, i): OutRecord => ({ partition: i % P, key: null, value: JSON.stringify({ i }) })));
    const ends = await endOffsets(topic, P);
    await createIndex(target, topic);
    await call(target, 'PUT', `/${topic}/_settings`, { 'index.blocks.write': true });
    const p = startSluice(config(topic, group, { metrics: { port: 0 }, log: { level: 'debug' } }));
    try {
      const blockedBy = (status: number) => () => retried(p).some((r) => r.status === status && r.errorType === 'cluster_block_exception') || undefined;
      await waitFor('a halt on the write block (403 cluster_block_exception)', blockedBy(403), 90_000);
      expect(p.logs(HALTED)[0]).to.deep.include({ status: 403, errorType: 'cluster_block_exception' });
      const port = await waitFor('the metrics endpoint', () => statusPort(p));
      await waitFor('sluice_halted 1', async () => sample(await scrape(port), 'sluice_halted') === 1 || undefined);

      await call(target, 'PUT', `/${topic}/_settings`, { 'index.blocks.write': null, 'index.blocks.read_only_allow_delete': true });
      await waitFor('the halt going on under read_only_allow_delete (429 cluster_block_exception)', blockedBy(429), 90_000);
      expect(await count(target, topic)).to.equal(0);
      expect((await committedOffsets(group, topic, P)).map((c) => Math.max(0, c))).to.deep.equal([0, 0], 'nothing is committed while nothing is indexed');
      expect(retried(p).filter((r) => r.errorType !== 'cluster_block_exception')).to.deep.equal([], 'only the blocks were retried');

      await call(target, 'PUT', `/${topic}/_settings`, { 'index.blocks.read_only_allow_delete': null });
      await waitFor('every record indexed and the log ends committed', async () => ((await count(target, topic)) === N && JSON.stringify(await committedOffsets(group, topic, P)) === JSON.stringify(ends)) || undefined, 120_000);
      await waitFor('sluice_halted 0', async () => sample(await scrape(port), 'sluice_halted') === 0 || undefined);
      expect(p.logs('resumed: Elasticsearch accepts writes again').length).to.be.at.least(1);
      p.child.kill('SIGTERM');
      expect(await exitWithin(p, 60_000)).to.equal(0);
      expect(await count(target, topic)).to.equal(N);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('keyed updates: each document ends with the last value of its key', async () => {
    const topic = unique('compat-keys');
    const group = unique('g');
    const K = 20;
    const U = 50;
    await createTopic(topic, 2);
    await produce(
      topic,
      Array.from({ length: K * U }, (_, i): OutRecord => {
        const key = i % K;
        return { partition: key % 2, key: `key-${key}`, value: JSON.stringify({ key, seq: Math.floor(i / K) }) };
      }),
    );
    await runToEnd(config(topic, group, { index: { idStrategy: 'key' }, pipeline: { workers: 2, batchDocs: 50, maxInFlightBulks: 4 } }));

    const docs = await documents(target, topic, K + 100);
    expect([...docs.keys()].sort()).to.deep.equal(Array.from({ length: K }, (_, k) => `key-${k}`).sort());
    for (const [id, source] of docs) expect(source).to.deep.equal({ key: Number(id.slice(4)), seq: U - 1 }, id);
  });
});
