import { expect } from 'chai';
import { singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { createTopic, produce, type OutRecord } from '../support/kafka.js';
import { reportScenario, startSluice, testConfig } from '../support/sluice.js';

const MiB = 1024 * 1024;

describe('faults: memory under backlog', function () {
  this.timeout(600_000);
  before(() => singleShardTemplate('fm-*'));

  it('a backlog of millions of small records with a small budget → peak RSS below the budget plus a fixed overhead', async () => {
    const topic = unique('fm-backlog');
    const N = 2_000_000;
    const budget = 32 * MiB;
    // Node.js with two worker threads and their Elasticsearch clients, librdkafka with its prefetch
    // queue (a quarter of the budget), the V8 heaps' headroom and the allocator's: measured here
    // at ~155 MiB idle and 550-630 MiB peak while draining this backlog (the higher figures with
    // the machine's CPU shared). Without the budget the same run holds the whole backlog, ~1.4 GB.
    // A generous bound, not a measurement to the byte.
    const overhead = 768 * MiB;
    await createTopic(topic, 4);
    await produce(
      topic,
      (function* (): Generator<OutRecord> {
        for (let i = 0; i < N; i++) yield { partition: i % 4, value: `{"i":${i},"level":"info","msg":"small record"}` };
      })(),
    );

    const started = Date.now();
    const p = startSluice(testConfig(topic, unique('g'), { pipeline: { workers: 2, maxBufferedBytes: budget, batchBytes: '1MiB' } }));
    await waitFor('partitions assigned', () => p.logs('partitions assigned').length > 0 || undefined, 60_000);
    // 45 s of draining: the budget must hold while fetching is far ahead of indexing.
    await new Promise((r) => setTimeout(r, 45_000));
    p.child.kill('SIGTERM');
    expect(await p.exited).to.equal(0, p.output().slice(-2000));
    const stopped = p.logs('stopped')[0] as { indexed: number };
    const peak = p.peakRss();
    reportScenario(`a backlog of ${N.toLocaleString('en-US')} records, 32 MiB budget (${stopped.indexed.toLocaleString('en-US')} indexed in the window)`, started, [p]);
    expect(stopped.indexed).to.be.greaterThan(10_000, 'the pipeline was working');
    expect(stopped.indexed).to.be.lessThan(N, 'a backlog remained throughout');
    expect(peak).to.be.lessThan(budget + overhead);
  });
});
