import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBulkProxy } from '../support/bulk-proxy.js';
import { readDeadLetters } from '../support/dlq.js';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { ES_URL, unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, produce } from '../support/kafka.js';
import { expectCleanExit, runToEnd, startSluice, statusPort, testConfig } from '../support/sluice.js';

/** A transform module in a temp file. */
function transformFile(source: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-transform-')), 'transform.mjs');
  writeFileSync(file, source);
  return file;
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of one series in a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function readyz(port: number): Promise<{ ready: boolean; reasons: string[] }> {
  return (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { ready: boolean; reasons: string[] };
}

describe('stalls: a hanging transform and a batch that never completes', function () {
  this.timeout(600_000);
  before(() => singleShardTemplate('st-*'));

  it('a transform that spins on one record of 2,000: the record is dead-lettered as timed out, the rest indexed, offsets committed to the end', async () => {
    const topic = unique('st-spin');
    const dlqTopic = `${topic}-dlq`;
    const N = 2_000;
    await createTopic(topic, 1);
    await createTopic(dlqTopic, 1);
    await produce(topic, Array.from({ length: N }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
    const transform = transformFile(`
      export function transform({ value }) {
        if (value.i === 1234) for (;;) {}
        if (value.i === 100 || value.i === 1800) throw new Error('bad record ' + value.i);
        return value;
      }
    `);
    const group = unique('g');
    const p = await runToEnd(
      testConfig(topic, group, { transform, errors: { dlqTopic }, pipeline: { workers: 1, taskTimeoutMs: 2000 } }),
      [],
      540_000,
    );

    expect(await count(topic)).to.equal(N - 3);
    expect(p.logs('stopped')[0]).to.deep.include({ indexed: N - 3, failed: 3, deadLettered: 3 });
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([N]);
    const letters = await readDeadLetters(dlqTopic, 3);
    const byOffset = new Map(letters.map((l) => [Number(l.headers['sluice.source.offset']), l.headers]));
    expect([...byOffset.keys()].sort((a, b) => a - b)).to.deep.equal([100, 1234, 1800]);
    expect(byOffset.get(1234)).to.deep.include({ 'sluice.error.stage': 'worker', 'sluice.error.class': 'malformed' });
    expect(byOffset.get(1234)?.['sluice.error.reason']).to.match(/^worker timed out: .*pipeline\.taskTimeoutMs \(2000 ms\)$/);
    for (const o of [100, 1800]) {
      expect(byOffset.get(o)).to.deep.include({ 'sluice.error.stage': 'transform', 'sluice.error.reason': `transform threw: bad record ${o}` });
    }
    // A deadline per halving of the batch that holds the record (at most 2,000 records): no retries
    // at full deadline before splitting.
    const timeouts = p.logs('a task ran past pipeline.taskTimeoutMs in decode, transform or encode; terminating its worker thread (the pool starts a new one)');
    expect(timeouts.length).to.be.within(1, Math.ceil(Math.log2(N)) + 1);
  });

  it('an async transform that never settles on one record meets the same deadline', async () => {
    const topic = unique('st-async');
    const dlqTopic = `${topic}-dlq`;
    await createTopic(topic, 1);
    await createTopic(dlqTopic, 1);
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ partition: 0, value: JSON.stringify({ i }) })));
    const transform = transformFile(`
      export async function transform({ value }) {
        if (value.i === 77) await new Promise(() => {});
        return value;
      }
    `);
    const group = unique('g');
    await runToEnd(testConfig(topic, group, { transform, errors: { dlqTopic }, pipeline: { workers: 1, taskTimeoutMs: 1000 } }), [], 300_000);
    expect(await count(topic)).to.equal(199);
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([200]);
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers).to.deep.include({ 'sluice.source.offset': '77', 'sluice.error.stage': 'worker' });
    expect(letter?.headers['sluice.error.reason']).to.match(/^worker timed out/);
  });

  it('an item refused with 5xx forever: /readyz, sluice_partitions_stuck and one warning name its partition while the other moves; it recovers', async () => {
    const topic = unique('st-stuck');
    const N = 200;
    await createTopic(topic, 2);
    await produce(topic, Array.from({ length: 2 * N }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })));
    // Every _bulk item writing this one document is answered 503 until healed, as a broken shard would.
    const stuckId = `${topic}-1-50`;
    let failing = true;
    const unavailable = { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active (injected)' };
    const proxy = await startBulkProxy(ES_URL, ({ meta }) => (failing && meta._id === stuckId ? unavailable : undefined));
    const group = unique('g');
    const p = startSluice(
      testConfig(topic, group, {
        elasticsearch: { node: proxy.url },
        metrics: { port: 0, host: '127.0.0.1' },
        health: { stallSeconds: 3 },
        // One record per batch: the refused item holds back its own partition only.
        pipeline: { workers: 1, batchDocs: 1 },
        errors: { maxRetries: -1, backoffMs: 50, maxBackoffMs: 500 },
      }),
    );
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      const p0 = `{topic="${topic}",partition="0"}`;
      const p1 = `{topic="${topic}",partition="1"}`;
      await waitFor('partition 1 stuck at offset 50 and partition 0 indexed to its end', async () => {
        const text = await scrape(port);
        return (sample(text, 'sluice_partitions_stuck') === 1 && sample(text, `sluice_partition_watermark_offset${p0}`) === N && sample(text, `sluice_partition_watermark_offset${p1}`) === 50) || undefined;
      }, 120_000, 250);
      const r = await readyz(port);
      expect(r.ready).to.equal(false);
      expect(r.reasons.filter((x) => x.includes('stuck'))).to.have.length(1);
      expect(r.reasons.find((x) => x.includes('stuck'))).to.match(/^1 partition\(s\) stuck: a batch has not completed for \d+ s$/);
      // Stuck for a while longer: still one warning, naming the partition.
      await waitFor('the stuck batch twice stallSeconds old', async () => (sample(await scrape(port), `sluice_partition_oldest_batch_seconds${p1}`) ?? 0) >= 6 || undefined, 60_000, 250);
      const text = await scrape(port);
      expect(sample(text, 'sluice_partitions_stuck')).to.equal(1);
      expect(sample(text, `sluice_partition_oldest_batch_seconds${p0}`)).to.equal(undefined);
      const warnings = p.logs('partition(s) stuck: a batch has not completed for health.stallSeconds');
      expect(warnings.map((w) => w['partitions'])).to.deep.equal([[`${topic}[1]`]]);
      expect(proxy.refused()).to.be.greaterThan(1);

      failing = false;
      await waitFor('partition 1 indexed to its end and the member ready', async () => {
        const t = await scrape(port);
        return (sample(t, `sluice_partition_watermark_offset${p1}`) === N && sample(t, 'sluice_partitions_stuck') === 0 && (await readyz(port)).ready) || undefined;
      }, 120_000, 250);
      expect(p.logs('stuck partition(s) moving again').map((l) => l['partitions'])).to.deep.equal([[`${topic}[1]`]]);
      expect(await count(topic)).to.equal(2 * N);
      p.child.kill('SIGTERM');
      await expectCleanExit(p, 60_000);
      expect(await committedOffsets(group, topic, 2)).to.deep.equal([N, N]);
    } finally {
      p.child.kill('SIGKILL');
      await proxy.close();
    }
  });
});
