import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { readDeadLetters } from '../support/dlq.js';
import { unique, waitFor } from '../support/env.js';
import { createTopic, produce, type OutRecord } from '../support/kafka.js';
import { expectCleanExit, runToEnd, startSluice, statusPort, testConfig } from '../support/sluice.js';

// The local node (8.19) has no ingest processor modules (`_nodes/ingest` lists none, so a `set`
// processor is refused): a pipeline cannot change documents here. That the pipeline parameter
// reaches the node is proven by the node's own answers instead: an empty pipeline counts the bytes
// of the documents it took (`ingested_as_first_pipeline_in_bytes` of `_nodes/stats/ingest`; its
// `count` stays 0 with no processor to run), and a missing one is refused per item.

async function topicWith(prefix: string, records: OutRecord[], partitions = 2): Promise<string> {
  const topic = unique(prefix);
  await createTopic(topic, partitions);
  await produce(topic, records);
  return topic;
}

async function putPipeline(id: string): Promise<void> {
  await es.ingest.putPipeline({ id, processors: [] });
}

/** Bytes of the documents the node took through pipeline `id` since it was created. */
async function pipelineBytes(id: string): Promise<number> {
  type Stats = { nodes: Record<string, { ingest: { pipelines: Record<string, { ingested_as_first_pipeline_in_bytes: number }> } }> };
  const stats = (await es.nodes.stats({ metric: 'ingest' })) as unknown as Stats;
  return Object.values(stats.nodes).reduce((n, node) => n + (node.ingest.pipelines[id]?.ingested_as_first_pipeline_in_bytes ?? 0), 0);
}

async function readyz(port: number): Promise<{ ready: boolean; reasons: string[] }> {
  return (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { ready: boolean; reasons: string[] };
}

describe('parity: index.pipeline and index.routing against the real servers', function () {
  this.timeout(240_000);
  before(() => singleShardTemplate('pp-*'));

  it('a fixed pipeline and field: pipelines reach the node for every document', async () => {
    const fixed = unique('pp-pipe-a');
    const other = unique('pp-pipe-b');
    await putPipeline(fixed);
    await putPipeline(other);
    const records = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i, meta: i < 15 ? { pipeline: other } : {} }) }));
    const topic = await topicWith('pp-fixed', records);
    await runToEnd(testConfig(topic, unique('g'), { index: { pipeline: fixed } }));
    expect(await count(topic)).to.equal(20);
    const fixedBytes = await pipelineBytes(fixed);
    expect(fixedBytes).to.be.above(0);
    expect(await pipelineBytes(other)).to.equal(0);

    const byField = await topicWith('pp-field', records);
    await runToEnd(testConfig(byField, unique('g'), { index: { pipeline: 'field:meta.pipeline', pipelineDefault: fixed } }));
    expect(await count(byField)).to.equal(20);
    expect(await pipelineBytes(other)).to.be.above(0);
    expect(await pipelineBytes(fixed)).to.be.above(fixedBytes, 'the five without a name took the default');
  });

  it('a missing pipeline halts with the reason in /readyz and the log; creating it resumes, every record indexed once', async () => {
    const missing = unique('pp-missing');
    const N = 40;
    const topic = await topicWith('pp-halt', Array.from({ length: N }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
    const p = startSluice(testConfig(topic, unique('g'), { index: { pipeline: missing }, metrics: { port: 0, host: '127.0.0.1' } }));
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      const reason = `pipeline with id [${missing}] does not exist`;
      const halted = await waitFor('/readyz to report the missing pipeline', async () => {
        const r = await readyz(port);
        return r.reasons.find((x) => x.startsWith('halted: ') && x.includes(reason));
      }, 60_000, 250);
      expect(halted).to.be.a('string');
      const logged = p.logs('halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them')[0];
      expect(logged).to.deep.include({ status: 400, errorType: 'illegal_argument_exception', reason });
      expect(await count(topic).catch(() => 0)).to.equal(0);

      await putPipeline(missing);
      await waitFor('ready again once the pipeline exists', async () => (await readyz(port)).ready || undefined, 60_000, 250);
      await waitFor('every record indexed', async () => (await count(topic).catch(() => 0)) === N || undefined, 60_000, 250);
    } finally {
      p.child.kill('SIGTERM');
      await expectCleanExit(p);
    }
    expect(p.logs('stopped')[0]).to.deep.include({ indexed: N, failed: 0 });
    await es.indices.refresh({ index: topic });
    const hits = (await es.search({ index: topic, size: 1000, version: true })).hits.hits;
    expect(hits.map((h) => h._version)).to.deep.equal(Array(N).fill(1), 'each record written once');
    expect(await pipelineBytes(missing)).to.be.above(0);
  });

  it('routing from a field lands in _routing; a record without it is dead-lettered with the reason', async () => {
    const topic = await topicWith('pp-route', [
      { partition: 0, value: JSON.stringify({ tenant: 'acme', n: 1 }) },
      { partition: 0, value: JSON.stringify({ tenant: 42, n: 2 }) },
      { partition: 1, value: JSON.stringify({ n: 3 }) },
    ]);
    const dlqTopic = `${topic}-dlq`;
    await createTopic(dlqTopic, 1);
    await runToEnd(testConfig(topic, unique('g'), { index: { routing: 'field:tenant' }, errors: { dlqTopic } }));
    expect((await es.get({ index: topic, id: `${topic}-0-0`, routing: 'acme' }))._routing).to.equal('acme');
    expect((await es.get({ index: topic, id: `${topic}-0-1`, routing: '42' }))._routing).to.equal('42');
    const letters = await readDeadLetters(dlqTopic, 1);
    expect(letters.map((l) => [l.headers['sluice.source.offset'], l.headers['sluice.error.stage'], l.headers['sluice.error.reason']])).to.deep.equal([
      ['0', 'route', 'document has no non-empty string or whole number within ±(2^53 − 1) at tenant for index.routing (set index.routingDefault for such documents)'],
    ]);
  });

  it('routing by key: documents and the deletes of their tombstones are routed by the record key', async () => {
    const topic = await topicWith('pp-delete', [
      { partition: 0, key: 'u-1', value: JSON.stringify({ n: 1 }) },
      { partition: 0, key: 'u-2', value: JSON.stringify({ n: 2 }) },
    ], 1);
    const config = testConfig(topic, unique('g'), { index: { idStrategy: 'key', routing: 'key' }, errors: { onNull: 'delete' } });
    await runToEnd(config);
    expect((await es.get({ index: topic, id: 'u-1', routing: 'u-1' }))._routing).to.equal('u-1');
    await produce(topic, [{ partition: 0, key: 'u-1', value: null }]);
    await runToEnd(config);
    await es.indices.refresh({ index: topic });
    expect((await es.exists({ index: topic, id: 'u-1', routing: 'u-1' }))).to.equal(false);
    expect((await es.get({ index: topic, id: 'u-2', routing: 'u-2' }))._routing).to.equal('u-2');
    expect(await count(topic)).to.equal(1);
  });
});
