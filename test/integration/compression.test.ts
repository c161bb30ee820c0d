import { expect } from 'chai';
import { rejectShare, startBulkProxy, type BulkProxy } from '../support/bulk-proxy.js';
import { expectEachRecordOnce, seedTopic } from '../support/data.js';
import { singleShardTemplate } from '../support/elasticsearch.js';
import { ES_URL, unique } from '../support/env.js';
import { committedOffsets } from '../support/kafka.js';
import { runToEnd, testConfig } from '../support/sluice.js';

/**
 * `elasticsearch.compression: gzip` against the real Elasticsearch, through a proxy that reads the
 * gzip bodies, counts their encodings and forwards them gzipped (optionally answering a share of
 * the items 429, so that retried subsets — new bodies — are compressed again).
 */
describe('compression: gzip bodies to the real Elasticsearch, every record exactly once', function () {
  this.timeout(300_000);
  let proxy: BulkProxy | undefined;
  before(() => singleShardTemplate('it-*'));
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('20,000 records over 4 partitions, 2 workers → each record once with kafka ids, every _bulk gzip, commits at the log ends', async () => {
    const topic = unique('it-gzip');
    const group = unique('g');
    const N = 20_000;
    const ends = await seedTopic(topic, 4, N);
    proxy = await startBulkProxy(ES_URL, () => undefined);

    const run = await runToEnd(testConfig(topic, group, { elasticsearch: { node: proxy.url, compression: 'gzip' }, pipeline: { workers: 2, batchDocs: 1000 } }));
    await expectEachRecordOnce(topic, ends);
    expect(await committedOffsets(group, topic, 4)).to.deep.equal(ends);
    expect(run.logs('stopped')[0]?.['indexed']).to.equal(N);
    const enc = proxy.encodings();
    expect(enc.none).to.equal(0, 'a _bulk went uncompressed');
    expect(enc.gzip).to.be.at.least(N / 1000);
    expect(proxy.forwarded()).to.equal(N);
  });

  it('a fifth of the items answered 429 → the retried subsets go gzip too, each record once', async () => {
    const topic = unique('it-gzip-429');
    const group = unique('g');
    const N = 20_000;
    const ends = await seedTopic(topic, 4, N);
    proxy = await startBulkProxy(ES_URL, rejectShare(0.2));

    await runToEnd(testConfig(topic, group, { elasticsearch: { node: proxy.url, compression: 'gzip' }, pipeline: { workers: 2, batchDocs: 1000 }, errors: { maxRetries: 30, backoffMs: 10, maxBackoffMs: 200 } }));
    await expectEachRecordOnce(topic, ends);
    expect(await committedOffsets(group, topic, 4)).to.deep.equal(ends);
    expect(proxy.refused()).to.be.greaterThan(3_000, 'items refused with 429');
    expect(proxy.forwarded()).to.equal(N);
    const enc = proxy.encodings();
    expect(enc.none).to.equal(0, 'a _bulk went uncompressed');
    // Every first body and every retry round: more requests than first bodies alone.
    expect(enc.gzip).to.be.greaterThan(N / 1000);
  });
});
