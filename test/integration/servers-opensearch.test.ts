import { expect } from 'chai';
import { unique } from '../support/env.js';

// Proof that the local OpenSearch 2.19 node (test/services/opensearch) is a real one with everything
// Sluice needs: GET / with the product, composable templates, _bulk with external versions and
// per-item errors, _refresh/_count/_search, cluster health and settings, index blocks, the write pool.
// Plain HTTP so that it checks the server, not a client's view of it.
const OPENSEARCH_URL = process.env['SLUICE_TEST_OPENSEARCH'] ?? `http://127.0.0.1:${process.env['SLUICE_OPENSEARCH_PORT'] ?? '9203'}`;

interface Reply {
  status: number;
  // A JSON answer, checked field by field.
  body: any;
}

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const payload = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(`${OPENSEARCH_URL}${path}`, {
    method,
    headers: { 'content-type': payload?.endsWith('\n') ? 'application/x-ndjson' : 'application/json' },
    ...(payload === undefined ? {} : { body: payload }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const ndjson = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
async function writeQueueSize(): Promise<number> {
  const nodes = (await call('GET', '/_nodes/_local/thread_pool')).body.nodes;
  return (Object.values(nodes)[0] as { thread_pool: { write: { queue_size: number } } }).thread_pool.write.queue_size;
}

const itemStatuses = (r: Reply): number[] => r.body.items.map((i: Record<string, { status: number }>) => Object.values(i)[0]?.status);

describe('real servers: OpenSearch 2.19', function () {
  this.timeout(120_000);
  const index = unique('servers-os');
  const template = unique('servers-os-t');
  let reachable = false;

  before(async function () {
    try {
      await fetch(`${OPENSEARCH_URL}/`, { signal: AbortSignal.timeout(3_000) });
      reachable = true;
    } catch {
      console.log(`      skipped: no OpenSearch node at ${OPENSEARCH_URL}; start one with: bash test/services/services.sh up opensearch`);
      this.skip();
    }
  });

  after(async () => {
    if (!reachable) return;
    await call('DELETE', `/${index}?ignore_unavailable=true`).catch(() => undefined);
    await call('DELETE', `/_index_template/${template}`).catch(() => undefined);
  });

  it('GET / names the product (distribution opensearch) and a 2.19 version', async () => {
    const r = await call('GET', '/');
    expect(r.status).to.equal(200);
    expect(r.body.version.distribution).to.equal('opensearch');
    expect(r.body.version.number).to.match(/^2\.19\.\d+$/);
    expect(r.body.tagline).to.contain('OpenSearch');
    const health = await call('GET', '/_cluster/health?wait_for_status=yellow&timeout=30s');
    expect(health.body.status).to.be.oneOf(['green', 'yellow']);
    expect(health.body.number_of_nodes).to.equal(1);
  });

  it('a composable template and the index settings and mappings both apply to a new index', async () => {
    const t = await call('PUT', `/_index_template/${template}`, {
      index_patterns: [index],
      priority: 500,
      template: { settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: { properties: { n: { type: 'integer' } } } },
    });
    expect(t.body).to.deep.equal({ acknowledged: true });
    const c = await call('PUT', `/${index}`, { settings: { refresh_interval: '-1' }, mappings: { properties: { msg: { type: 'text' } } } });
    expect(c.status).to.equal(200);
    const got = (await call('GET', `/${index}`)).body[index];
    expect(got.mappings.properties).to.deep.equal({ n: { type: 'integer' }, msg: { type: 'text' } });
    expect(got.settings.index.number_of_shards).to.equal('1');
    expect(got.settings.index.refresh_interval).to.equal('-1');
  });

  it('_bulk: index, create and delete with external versions; errors per item with their types', async () => {
    const r = await call('POST', '/_bulk', ndjson([
      { index: { _index: index, _id: 'a', version: 5, version_type: 'external' } },
      { n: 1, msg: 'quick brown fox' },
      { create: { _index: index, _id: 'b' } },
      { n: 2, msg: 'lazy dog' },
      { create: { _index: index, _id: 'b' } },
      { n: 3, msg: 'duplicate create' },
      { index: { _index: index, _id: 'c' } },
      { n: 'not a number', msg: 'bad' },
      { index: { _index: index, _id: 'a', version: 4, version_type: 'external' } },
      { n: 0, msg: 'stale write' },
      { delete: { _index: index, _id: 'a', version: 6, version_type: 'external' } },
      { index: { _index: index, _id: 'd', version: 7, version_type: 'external' } },
      { n: 4, msg: 'another fox' },
    ]));
    expect(r.status).to.equal(200);
    expect(r.body.errors).to.equal(true);
    expect(itemStatuses(r)).to.deep.equal([201, 201, 409, 400, 409, 200, 201]);
    const types = r.body.items.map((i: Record<string, { error?: { type: string } }>) => Object.values(i)[0]?.error?.type ?? null);
    expect(types).to.deep.equal([null, null, 'version_conflict_engine_exception', 'mapper_parsing_exception', 'version_conflict_engine_exception', null, null]);
    expect(r.body.items[5].delete).to.include({ result: 'deleted', _version: 6 });
    expect(r.body.items[6].index).to.include({ result: 'created', _version: 7 });

    expect((await call('POST', `/${index}/_refresh`)).body._shards.failed).to.equal(0);
    expect((await call('GET', `/${index}/_count`)).body.count).to.equal(2);
    const hits = (await call('POST', `/${index}/_search`, { query: { match: { msg: 'fox' } } })).body.hits;
    expect(hits.total.value).to.equal(1);
    expect(hits.hits.map((h: { _id: string }) => h._id)).to.deep.equal(['d']);
  });

  it('_cluster/settings: a persistent setting is stored and read back', async () => {
    const key = 'cluster.routing.allocation.node_concurrent_recoveries';
    try {
      const put = await call('PUT', '/_cluster/settings', { persistent: { [key]: 3 } });
      expect(put.body.acknowledged).to.equal(true);
      const got = await call('GET', '/_cluster/settings?flat_settings=true');
      expect(got.body.persistent[key]).to.equal('3');
    } finally {
      await call('PUT', '/_cluster/settings', { persistent: { [key]: null } });
    }
    expect((await call('GET', '/_cluster/settings?flat_settings=true')).body.persistent[key]).to.equal(undefined);
  });

  it('index blocks: write refuses with 403, read_only_allow_delete with 429, both cluster_block_exception', async () => {
    const one = (id: string): string => ndjson([{ index: { _index: index, _id: id } }, { n: 9 }]);
    expect((await call('PUT', `/${index}/_settings`, { 'index.blocks.write': true })).body.acknowledged).to.equal(true);
    let r = await call('POST', '/_bulk', one('w'));
    expect(r.body.items[0].index).to.deep.include({ status: 403 });
    expect(r.body.items[0].index.error.type).to.equal('cluster_block_exception');

    await call('PUT', `/${index}/_settings`, { 'index.blocks.write': null, 'index.blocks.read_only_allow_delete': true });
    r = await call('POST', '/_bulk', one('r'));
    expect(r.body.items[0].index).to.deep.include({ status: 429 });
    expect(r.body.items[0].index.error.type).to.equal('cluster_block_exception');

    await call('PUT', `/${index}/_settings`, { 'index.blocks.read_only_allow_delete': null });
    r = await call('POST', '/_bulk', one('ok'));
    expect(r.body.errors).to.equal(false);
    expect(itemStatuses(r)).to.deep.equal([201]);
  });

  it('thread_pool.write.queue_size is the one the node was started with', async () => {
    // services.sh passes SLUICE_OPENSEARCH_SETTINGS to the node; without it the queue is OpenSearch's 10000.
    const configured = /(?:^|,)\s*thread_pool\.write\.queue_size\s*=\s*(\d+)/.exec(process.env['SLUICE_OPENSEARCH_SETTINGS'] ?? '')?.[1];
    expect(await writeQueueSize()).to.equal(configured === undefined ? 10_000 : Number(configured));
  });

  it('a full write queue refuses bulk items with 429 rejected_execution_exception (not es_rejected_…)', async function () {
    if ((await writeQueueSize()) > 2) {
      console.log('      skipped: needs a tiny write queue; restart the node with SLUICE_OPENSEARCH_SETTINGS=thread_pool.write.size=1,thread_pool.write.queue_size=1');
      this.skip();
    }
    const body = ndjson(Array.from({ length: 3000 }, (_, i) => [{ index: { _index: index } }, { n: i, msg: 'burst' }]).flat());
    const replies = await Promise.all(Array.from({ length: 24 }, () => call('POST', '/_bulk', body)));
    const refused = replies.flatMap((r) => (r.status === 429 ? [r.body.error.type] : r.body.items.filter((i: { index: { status: number } }) => i.index.status === 429).map((i: { index: { error: { type: string } } }) => i.index.error.type)));
    expect(refused).to.not.be.empty;
    expect([...new Set(refused)]).to.deep.equal(['rejected_execution_exception']);
  });
});
