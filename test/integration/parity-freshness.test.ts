import { expect } from 'chai';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { createTopic, produce, type OutRecord } from '../support/kafka.js';
import { sample, scrape } from '../support/metrics.js';
import { expectCleanExit, startSluice, statusPort, testConfig } from '../support/sluice.js';

describe('parity: freshness metrics against the real servers', function () {
  this.timeout(240_000);
  before(() => singleShardTemplate('pf-*'));

  it('the last indexed timestamp per partition and one ack delay per indexed record', async () => {
    const topic = unique('pf');
    await createTopic(topic, 2);
    // Known CreateTime timestamps, rising within each partition, an hour or so in the past.
    const base = Date.now() - 3_600_000;
    const N = 1_000;
    const records: OutRecord[] = Array.from({ length: N }, (_, i) => ({ partition: i % 2, timestamp: base + i * 1000, value: JSON.stringify({ i }) }));
    await produce(topic, records);
    const lastTs = [0, 1].map((p) => base + (N - 2 + p) * 1000);

    const p = startSluice(testConfig(topic, unique('g'), { metrics: { port: 0, host: '127.0.0.1' }, pipeline: { batchDocs: 100 } }));
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      const text = await waitFor('every record indexed', async () => {
        const t = await scrape(port);
        return (sample(t, 'sluice_records_indexed_total') === N && t) || undefined;
      }, 120_000, 250);
      expect(await count(topic)).to.equal(N);
      for (const partition of [0, 1]) {
        expect(sample(text, `sluice_partition_last_indexed_timestamp_seconds{topic="${topic}",partition="${partition}"}`)).to.equal(lastTs[partition]! / 1000);
      }
      expect(sample(text, 'sluice_record_ack_delay_seconds_count')).to.equal(N);
      expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="+Inf"}')).to.equal(N);
      // Every record is at least (now at the start − its timestamp) old when acknowledged.
      const floor = records.reduce((sum, r) => sum + (base + 3_600_000 - (r.timestamp as number)) / 1000, 0);
      expect(sample(text, 'sluice_record_ack_delay_seconds_sum')).to.be.at.least(floor);
      expect(sample(text, 'sluice_record_ack_delay_seconds_bucket{le="1800"}')).to.equal(0, 'each record is over 40 minutes old');
    } finally {
      p.child.kill('SIGTERM');
    }
    await expectCleanExit(p);
  });
});
