import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets } from '../support/kafka.js';
import { countBelow, seedTopic, waitIndexedAbove } from '../support/data.js';
import { localServers, services } from '../support/services.js';
import { sample, scrape } from '../support/metrics.js';
import { expectCleanExit, groupChanges, reportScenario, startSluice, statusPort, testConfig } from '../support/sluice.js';

describe('faults: Elasticsearch', function () {
  this.timeout(600_000);
  before(function () {
    if (!localServers) this.skip();
    return singleShardTemplate('fe-*');
  });

  it('stopped for 30 s midway → every record indexed, none failed, and the consumer never left the group', async () => {
    const topic = unique('fe-outage');
    const N = 100_000;
    await seedTopic(topic, 4, N);
    const started = Date.now();
    const p = startSluice(testConfig(topic, unique('g'), { pipeline: { workers: 1, batchDocs: 1000, maxInFlightBulks: 2 }, metrics: { port: 0, host: '127.0.0.1' } }), ['--until-caught-up']);
    const port = await waitFor('the status server', () => statusPort(p), 60_000);
    await waitIndexedAbove(topic, N / 10);
    services('down', 'elasticsearch');
    const membership: string[] = [];
    try {
      const downAt = Date.now();
      await waitFor('sluice to notice the outage', () => p.logs('bulk request failed; retrying').length > 0 || undefined, 60_000);
      // Through the outage the member keeps its 4 partitions: a member that stopped polling would
      // fall out of the group, have them revoked, and count the revocation.
      while (Date.now() - downAt < 30_000) {
        const text = await scrape(port);
        membership.push(`${sample(text, 'sluice_partitions_assigned')} assigned, ${sample(text, 'sluice_rebalance_events_total{event="revoke"}') ?? 0} revoked`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      // Up again whatever happened: the tests after this one need it.
      services('up', 'elasticsearch');
    }
    expect([...new Set(membership)]).to.deep.equal(['4 assigned, 0 revoked'], 'the member stays in the group during the outage');
    await expectCleanExit(p);
    expect(await count(topic)).to.equal(N);
    const stopped = p.logs('stopped')[0];
    expect(stopped).to.deep.include({ indexed: N, failed: 0 });
    expect(groupChanges(p)).to.deep.equal({ assigned: 1, revoked: 0 }, 'no rebalance over the whole run: polling went on during the outage');
    reportScenario('Elasticsearch stopped for 30 s midway', started, [p]);
  });

  it('a read-only block midway → halted, nothing committed past what is indexed; block removed → resumes, every record indexed', async () => {
    const topic = unique('fe-block');
    const group = unique('g');
    const N = 80_000;
    const ends = await seedTopic(topic, 2, N);
    const started = Date.now();
    const p = startSluice(testConfig(topic, group, { pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 } }), ['--until-caught-up']);
    await waitIndexedAbove(topic, N / 10);
    await es.indices.putSettings({ index: topic, settings: { 'index.blocks.read_only': true } });
    await waitFor('sluice to report the halt', () => p.logs('halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them').length > 0 || undefined, 60_000);
    // Let auto-commit run a few times while halted.
    await new Promise((r) => setTimeout(r, 4_000));
    const committed = await committedOffsets(group, topic, 2);
    for (let partition = 0; partition < 2; partition++) {
      const c = Math.max(0, committed[partition]!);
      expect(c).to.be.below(ends[partition]!, 'the block landed midway');
      expect(await countBelow(topic, partition, c)).to.equal(c, `partition ${partition}: every offset below the commit is indexed`);
    }
    await es.indices.putSettings({ index: topic, settings: { 'index.blocks.read_only': false } });
    await expectCleanExit(p);
    expect(p.logs('resumed: Elasticsearch accepts writes again').length).to.be.at.least(1);
    expect(await count(topic)).to.equal(N);
    expect(await committedOffsets(group, topic, 2)).to.deep.equal(ends);
    reportScenario('read-only block midway, then removed', started, [p]);
  });

  it('answering 429 (a write queue of 1) → every record indexed', async () => {
    services('restart', 'elasticsearch', { SLUICE_ES_SETTINGS: 'thread_pool.write.size=1,thread_pool.write.queue_size=1' });
    try {
      const topic = unique('fe-429');
      const N = 40_000;
      await seedTopic(topic, 4, N);
      const started = Date.now();
      const p = startSluice(testConfig(topic, unique('g'), { pipeline: { workers: 2, batchDocs: 250, maxInFlightBulks: 8 }, log: { level: 'debug' } }), ['--until-caught-up']);
      await expectCleanExit(p);
      expect(await count(topic)).to.equal(N);
      const retried = p.output().includes('es_rejected_execution_exception');
      expect(retried).to.equal(true, 'Elasticsearch must actually have refused some writes');
      expect(p.logs('stopped')[0]).to.deep.include({ indexed: N, failed: 0 });
      reportScenario('Elasticsearch answering 429', started, [p]);
    } finally {
      services('restart', 'elasticsearch');
    }
  });
});
