import { expect } from 'chai';
import { unique } from './env.js';

/** One of the optional local search nodes that `test/services/services.sh up <service>` starts. */
export interface SearchServer {
  /** Suite title after "real servers: ", e.g. "Elasticsearch 7.17". */
  title: string;
  url: string;
  product: 'elasticsearch' | 'opensearch';
  /** How GET / must begin version.number, e.g. "7.17." or "9.". */
  version: string;
  /** The services.sh target, named in the skip message. */
  service: string;
  /** The variable services.sh passes to the node as its settings (e.g. SLUICE_ES7_SETTINGS). */
  settingsVar: string;
}

interface Reply {
  status: number;
  headers: Headers;
  // A JSON answer, checked field by field.
  body: any;
}

type Item = Record<string, { status: number; result?: string; _version?: number; error?: { type: string } }>;

const ndjson = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const itemStatuses = (r: Reply): number[] => r.body.items.map((i: Item) => Object.values(i)[0]?.status);

/**
 * Proof that a local search node is a real one with everything Sluice needs from it: GET / with the
 * product and version, composable templates, index creation with settings and mappings, _bulk with
 * external versions and per-item errors of the right type, _refresh/_count/_search, cluster health
 * and settings, index blocks, and the write pool's queue size (429s when it is tiny). Plain HTTP, so
 * it checks the server and not a client's view of it. Skips when nothing answers at the URL.
 */
export function describeSearchServer(server: SearchServer): void {
  const major = Number.parseInt(server.version, 10);
  // The names that differ between products and majors, which Sluice classifies on.
  const parseError = server.product === 'elasticsearch' && major >= 8 ? 'document_parsing_exception' : 'mapper_parsing_exception';
  const rejectedError = server.product === 'elasticsearch' ? 'es_rejected_execution_exception' : 'rejected_execution_exception';

  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': payload?.endsWith('\n') ? 'application/x-ndjson' : 'application/json' },
      ...(payload === undefined ? {} : { body: payload }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async function writeQueueSize(): Promise<number> {
    const nodes = (await call('GET', '/_nodes/_local/thread_pool')).body.nodes;
    return (Object.values(nodes)[0] as { thread_pool: { write: { queue_size: number } } }).thread_pool.write.queue_size;
  }

  describe(`real servers: ${server.title}`, function () {
    this.timeout(120_000);
    const index = unique(`servers-${server.service}`);
    const template = unique(`servers-${server.service}-t`);
    let reachable = false;

    before(async function () {
      try {
        await fetch(`${server.url}/`, { signal: AbortSignal.timeout(3_000) });
        reachable = true;
      } catch {
        console.log(`      skipped: no ${server.title} node at ${server.url}; start one with: bash test/services/services.sh up ${server.service}`);
        this.skip();
      }
    });

    after(async () => {
      if (!reachable) return;
      await call('DELETE', `/${index}?ignore_unavailable=true`).catch(() => undefined);
      await call('DELETE', `/_index_template/${template}`).catch(() => undefined);
    });

    it(`GET / names the product and a ${server.version}x version; the cluster is healthy`, async () => {
      const r = await call('GET', '/');
      expect(r.status).to.equal(200);
      expect(r.body.version.number).to.match(new RegExp(`^${server.version.replaceAll('.', '\\.')}`));
      if (server.product === 'elasticsearch') {
        // What the Elasticsearch clients' product check reads.
        expect(r.headers.get('x-elastic-product')).to.equal('Elasticsearch');
        expect(r.body.version.distribution).to.equal(undefined);
        expect(r.body.tagline).to.equal('You Know, for Search');
      } else {
        expect(r.body.version.distribution).to.equal('opensearch');
      }
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
      expect(got.settings.index.number_of_replicas).to.equal('0');
      expect(got.settings.index.refresh_interval).to.equal('-1');
    });

    it(`_bulk: index, create and delete with external versions; errors per item (${parseError})`, async () => {
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
      const types = r.body.items.map((i: Item) => Object.values(i)[0]?.error?.type ?? null);
      expect(types).to.deep.equal([null, null, 'version_conflict_engine_exception', parseError, 'version_conflict_engine_exception', null, null]);
      expect(r.body.items[5].delete).to.include({ result: 'deleted', _version: 6 });
      expect(r.body.items[6].index).to.include({ result: 'created', _version: 7 });

      expect((await call('POST', `/${index}/_refresh`)).body._shards.failed).to.equal(0);
      expect((await call('GET', `/${index}/_count`)).body.count).to.equal(2);
      const hits = (await call('POST', `/${index}/_search`, { query: { match: { msg: 'fox' } } })).body.hits;
      expect(hits.total.value).to.equal(1);
      expect(hits.hits.map((h: { _id: string }) => h._id)).to.deep.equal(['d']);
    });

    it('_cluster/settings: a persistent setting is stored, read back and removed', async () => {
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
      // services.sh passes the settings variable to the node; without it the queue is the default 10000.
      const configured = /(?:^|,)\s*thread_pool\.write\.queue_size\s*=\s*(\d+)/.exec(process.env[server.settingsVar] ?? '')?.[1];
      expect(await writeQueueSize()).to.equal(configured === undefined ? 10_000 : Number(configured));
    });

    it(`a full write queue refuses bulk items with 429 ${rejectedError}`, async function () {
      if ((await writeQueueSize()) > 2) {
        console.log(`      skipped: needs a tiny write queue; restart the node with ${server.settingsVar}=thread_pool.write.size=1,thread_pool.write.queue_size=1`);
        this.skip();
      }
      const body = ndjson(Array.from({ length: 3000 }, (_, i) => [{ index: { _index: index } }, { n: i, msg: 'burst' }]).flat());
      const replies = await Promise.all(Array.from({ length: 24 }, () => call('POST', '/_bulk', body)));
      const refused = replies.flatMap((r) =>
        r.status === 429 ? [r.body.error.type] : r.body.items.filter((i: Item) => i['index']?.status === 429).map((i: Item) => i['index']?.error?.type),
      );
      expect(refused).to.not.be.empty;
      expect([...new Set(refused)]).to.deep.equal([rejectedError]);
    });
  });
}
