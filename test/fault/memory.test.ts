import { expect } from 'chai';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, produce, type OutRecord } from '../support/kafka.js';
import { countPartition } from '../support/data.js';
import { sample, scrape } from '../support/metrics.js';
import { expectCleanExit, reportScenario, startSluice, statusPort, testConfig } from '../support/sluice.js';

const MiB = 1024 * 1024;

describe('faults: memory under backlog', function () {
  this.timeout(600_000);
  before(() => singleShardTemplate('fm-*'));

  it('a backlog of millions of small records with a small budget → the budget holds and peak RSS stays at the measured figure while the backlog lasts; stopped, every partition is indexed exactly to its commit', async () => {
    const topic = unique('fm-backlog');
    const group = unique('g');
    const N = 2_000_000;
    const partitions = 4;
    const budget = 32 * MiB;
    await createTopic(topic, partitions);
    const seq = new Array<number>(partitions).fill(0);
    await produce(
      topic,
      (function* (): Generator<OutRecord> {
        for (let i = 0; i < N; i++) {
          const partition = i % partitions;
          yield { partition, value: `{"partition":${partition},"seq":${seq[partition]!++},"msg":"small record"}` };
        }
      })(),
    );
    // What the budget counts per record: its value (~50 bytes) plus the per-record overhead (640).
    const perRecord = 50 + 640;

    const started = Date.now();
    // A stop deadline long enough for the whole budget in flight on a slow machine, so that the stop
    // ends with everything indexed committed.
    const p = startSluice(
      testConfig(topic, group, { pipeline: { workers: 2, maxBufferedBytes: budget, batchBytes: '1MiB' }, metrics: { port: 0, host: '127.0.0.1' }, shutdown: { timeoutMs: 120_000 } }),
    );
    // Sampled only while the records still waiting in Kafka outweigh the budget twice over: then
    // the budget, not the data, is what bounds memory. For at most 45 s of that, whatever the
    // machine's speed; a machine fast enough to end the backlog sooner just takes fewer samples.
    const samples: Array<{ rss: number; buffered: number; lag: number }> = [];
    let ended = 'the 45 s window ended';
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      await waitFor('the lag of every partition known', async () => (await scrape(port)).split('\n').filter((l) => l.startsWith('sluice_consumer_lag{')).length === partitions || undefined, 60_000, 250);
      const windowEnd = Date.now() + 45_000;
      while (Date.now() < windowEnd) {
        const text = await scrape(port);
        const lag = sample(text, 'sluice_consumer_lag_sum') ?? 0;
        if (lag * perRecord < 2 * budget) {
          ended = `the backlog fell to ${lag} records`;
          break;
        }
        samples.push({ lag, rss: sample(text, 'process_resident_memory_bytes') ?? 0, buffered: sample(text, 'sluice_buffered_bytes') ?? 0 });
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      p.child.kill('SIGTERM');
    }
    await expectCleanExit(p, 180_000);
    expect(p.logs('batches still in flight at the shutdown deadline; their records will be indexed again on restart')).to.deep.equal([]);

    const peak = Math.max(...samples.map((s) => s.rss));
    const maxBuffered = Math.max(...samples.map((s) => s.buffered));
    const stopped = p.logs('stopped')[0] as { indexed: number };
    reportScenario(
      `a backlog of ${N.toLocaleString('en-US')} records, 32 MiB budget: ${samples.length} samples until ${ended} over a backlog of ${samples[0]?.lag.toLocaleString('en-US')} to ${samples.at(-1)?.lag.toLocaleString('en-US')} records, peak RSS ${Math.round(peak / MiB)} MiB, at most ${(maxBuffered / MiB).toFixed(1)} MiB buffered, ${stopped.indexed.toLocaleString('en-US')} indexed`,
      started,
      [p],
    );
    expect(samples.length).to.be.at.least(20, 'sampled for at least 5 s of backlog');
    // The budget's own account: over it, every partition pauses; what one consume call delivered
    // before the pause (at most 4,096 records) is the only overshoot.
    expect(maxBuffered).to.be.at.most(budget + 4_096 * perRecord);
    // Measured on this project's 2-core machine with this configuration (2 workers, batchBytes
    // 1 MiB): ~155 MiB idle; 394-418 MiB peak while draining, on the native consume path with the
    // chunk and NDJSON buffers reused (550-630 MiB before them; git history of this file), the
    // higher figure also with a core kept busy by other work; 410 MiB after the main thread stopped
    // loading the Elasticsearch client. The bound is the highest measured peak plus two budgets, for
    // the spread between machines and runs that one budget (32 MiB) barely covered: a budget that
    // leaked another 64 MiB shows here, where an unbudgeted run holds the backlog (~1.4 GB).
    expect(peak).to.be.below(418 * MiB + 2 * budget);

    // The end result of the stop: each partition indexed exactly up to its committed offset.
    const committed = await committedOffsets(group, topic, partitions);
    for (let partition = 0; partition < partitions; partition++) {
      expect(await countPartition(topic, partition)).to.equal(Math.max(0, committed[partition]!), `partition ${partition}: indexed = committed`);
    }
    expect(await count(topic)).to.equal(stopped.indexed);
  });
});
