import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { createTopic, produce } from '../support/kafka.js';
import { seedTopic } from '../support/data.js';
import { sample, scrape } from '../support/metrics.js';
import { configFile, expectCleanExit, sluiceCommand, startSluice, statusPort, testConfig } from '../support/sluice.js';

async function readyz(port: number): Promise<{ status: number; ready: boolean; reasons: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await res.json()) as { ready: boolean; reasons: string[] };
  return { status: res.status, ...body };
}

describe('operability: metrics, health, check and secrets against the real servers', function () {
  this.timeout(240_000);
  before(() => singleShardTemplate('op-*'));

  const secrets = { esPassword: 'es-Pa55-never-logged', rdkafka: 'rdk-Pa55-never-logged' };
  const secretDir = mkdtempSync(join(tmpdir(), 'sluice-secret-'));
  const passwordFile = join(secretDir, 'es-password');
  writeFileSync(passwordFile, `${secrets.esPassword}\n`);

  it('metrics move as records flow; /readyz turns unready on a halt (and a stall) and ready again after', async () => {
    const topic = unique('op-metrics');
    const N = 6_000;
    const ends = await seedTopic(topic, 2, N);
    // The local Elasticsearch runs without security: it ignores the credentials, which are here to
    // prove they never leak into logs or metrics.
    const config = testConfig(topic, unique('g'), {
      elasticsearch: { auth: { username: 'sluice', passwordFile } },
      kafka: { rdkafka: { 'sasl.password': secrets.rdkafka } },
      metrics: { port: 0, host: '127.0.0.1' },
      health: { stallSeconds: 3 },
      pipeline: { workers: 2, batchDocs: 500 },
    });
    const p = startSluice(config);
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);

      // Readiness is re-evaluated once a second, and a busy machine can leave the member without
      // progress for longer than stallSeconds while it starts: wait for ready rather than read it.
      await waitFor('every record indexed, the lag at 0 and the member ready', async () => {
        const text = await scrape(port);
        return (sample(text, 'sluice_records_indexed_total') === N && sample(text, 'sluice_consumer_lag_sum') === 0 && sample(text, 'sluice_ready') === 1) || undefined;
      }, 120_000, 250);
      let text = await scrape(port);
      expect(sample(text, 'sluice_records_consumed_total')).to.equal(N);
      expect(sample(text, 'sluice_documents_total')).to.equal(N);
      expect(sample(text, 'sluice_bulk_requests_total')).to.be.at.least(N / 500);
      expect(sample(text, 'sluice_bulk_request_duration_seconds_count')).to.equal(sample(text, 'sluice_bulk_requests_total'));
      expect(sample(text, 'sluice_partitions_assigned')).to.equal(2);
      expect(sample(text, 'sluice_halted')).to.equal(0);
      expect(sample(text, 'sluice_ready')).to.equal(1);
      for (let partition = 0; partition < 2; partition++) {
        const labels = `{topic="${topic}",partition="${partition}"}`;
        expect(sample(text, `sluice_partition_watermark_offset${labels}`)).to.equal(ends[partition]);
        expect(sample(text, `sluice_partition_high_watermark_offset${labels}`)).to.equal(ends[partition]);
        expect(sample(text, `sluice_consumer_lag${labels}`)).to.equal(0);
      }
      expect(text.split('\n').filter((l) => l.startsWith('sluice_worker_utilization{'))).to.have.length(2);
      expect(text).to.include('process_resident_memory_bytes');
      expect(await readyz(port)).to.deep.equal({ status: 200, ready: true, reasons: [] });

      // An operator-only failure: the index turns read-only while records keep coming.
      await es.indices.putSettings({ index: topic, settings: { 'index.blocks.read_only': true } });
      await produce(topic, Array.from({ length: 200 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ late: i }) })));
      const halted = await waitFor('/readyz to report the halt and the stall', async () => {
        const r = await readyz(port);
        return (r.reasons.some((x) => x.startsWith('halted: ')) && r.reasons.some((x) => x.startsWith('stalled: ')) && r) || undefined;
      }, 60_000, 250);
      expect(halted.status).to.equal(503);
      expect(halted.ready).to.equal(false);
      text = await scrape(port);
      expect(sample(text, 'sluice_halted')).to.equal(1);
      expect(sample(text, 'sluice_ready')).to.equal(0);
      expect(sample(text, 'sluice_consumer_lag_sum')).to.be.above(0);
      expect(sample(text, 'sluice_partitions_paused')).to.equal(2);

      await es.indices.putSettings({ index: topic, settings: { 'index.blocks.read_only': false } });
      await waitFor('ready again after the block is lifted', async () => (await readyz(port)).ready || undefined, 60_000, 250);
      await waitFor('the late records indexed', async () => sample(await scrape(port), 'sluice_records_indexed_total') === N + 200 || undefined, 60_000, 250);
      text = await scrape(port);
      expect(sample(text, 'sluice_bulk_retries_total{class="halted"}')).to.be.at.least(1);
      expect(sample(text, 'sluice_halted')).to.equal(0);
      expect(await count(topic)).to.equal(N + 200);
      expect(p.logs('not ready')[0]?.['reasons']).to.be.an('array');
      expect(p.logs('ready').length).to.be.at.least(2, 'ready at start and again after the halt');

      for (const secret of Object.values(secrets)) expect(text).not.to.include(secret);
    } finally {
      p.child.kill('SIGTERM');
      await expectCleanExit(p);
    }
    for (const secret of Object.values(secrets)) expect(p.output()).not.to.include(secret);

    const printed = await sluiceCommand(['config', '--config', configFile(config)]);
    expect(printed.code).to.equal(0, printed.stderr);
    expect(JSON.parse(printed.stdout).elasticsearch.auth).to.deep.equal({ username: 'sluice', password: '[redacted]', passwordFile });
    for (const secret of Object.values(secrets)) expect(printed.stdout + printed.stderr).not.to.include(secret);
  });

  it('a new group starting from latest counts no lag for the records before it, and is ready', async () => {
    const topic = unique('op-latest');
    await seedTopic(topic, 2, 1_000);
    const p = startSluice(testConfig(topic, unique('g'), { kafka: { startFrom: 'latest' }, metrics: { port: 0, host: '127.0.0.1' }, health: { stallSeconds: 2 } }));
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      await waitFor('the lag of both partitions known', async () => {
        const text = await scrape(port);
        return text.split('\n').filter((l) => l.startsWith('sluice_consumer_lag{')).length === 2 || undefined;
      }, 60_000, 250);
      // Past the stall deadline: with the old records counted as lag it would now be unready.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(sample(await scrape(port), 'sluice_consumer_lag_sum')).to.equal(0);
      expect(await readyz(port)).to.deep.equal({ status: 200, ready: true, reasons: [] });
    } finally {
      p.child.kill('SIGTERM');
      await expectCleanExit(p);
    }
  });

  it('sluice check: a good configuration passes; missing topics and an unreachable Elasticsearch are each named, exit 1', async () => {
    const topic = unique('op-check');
    await createTopic(topic, 3);
    const group = unique('g');
    const good = await sluiceCommand(['check', '--config', configFile(testConfig(topic, group))]);
    expect(good.code).to.equal(0, good.stdout + good.stderr);
    expect(good.stdout).to.match(/^ok {4}configuration is valid$/m);
    expect(good.stdout).to.match(new RegExp(`^ok {4}topic ${topic}: 3 partition\\(s\\)$`, 'm'));
    expect(good.stdout).to.match(new RegExp(`^ok {4}group ${group}: committed offsets on 0 of 3 partition\\(s\\)`, 'm'));
    expect(good.stdout).to.match(/^ok {4}elasticsearch .*: Elasticsearch \d+\.\d+\.\d+/m);
    expect(good.stdout).to.match(/ready to run/);

    const missing = unique('op-missing');
    const bad = await sluiceCommand(['check', '--config', configFile(testConfig(topic, group, { kafka: { topics: [topic, missing] }, elasticsearch: { node: 'http://127.0.0.1:1' } }))]);
    expect(bad.code).to.equal(1, bad.stdout + bad.stderr);
    expect(bad.stdout).to.match(new RegExp(`^FAIL {2}topic ${missing}: does not exist$`, 'm'));
    expect(bad.stdout).to.match(/^FAIL {2}elasticsearch http:\/\/127\.0\.0\.1:1: .*(ECONNREFUSED|connect)/m);
    expect(bad.stdout).to.match(/^2 problem\(s\)/m);

    const noKafka = await sluiceCommand(['check', '--config', configFile(testConfig(topic, group, { kafka: { brokers: '127.0.0.1:1' } }))]);
    expect(noKafka.code).to.equal(1);
    expect(noKafka.stdout).to.match(/^FAIL {2}kafka 127\.0\.0\.1:1: cannot connect/m);

    const invalid = await sluiceCommand(['check', '--config', configFile(testConfig(topic, group, { pipeline: { workers: 0 } }))]);
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.include('pipeline.workers must be at least 1');
  });
});
