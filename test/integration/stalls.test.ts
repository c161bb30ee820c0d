import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * A proxy in front of the real Elasticsearch that answers every `_bulk` item writing one document
 * id with 503 for as long as `failing` holds (without forwarding it), as a broken shard would;
 * everything else passes through.
 */
async function startFailingItemProxy(id: string): Promise<{ url: string; refused(): number; heal(): void; close(): Promise<void> }> {
  const upstream = new URL(ES_URL);
  let failing = true;
  let refused = 0;
  const forward = (req: IncomingMessage, body: Buffer, done: (status: number, headers: Record<string, string | string[] | undefined>, out: Buffer) => void): void => {
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    delete headers['accept-encoding'];
    const out = request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      const parts: Buffer[] = [];
      up.on('data', (c: Buffer) => parts.push(c));
      up.on('end', () => {
        const payload = Buffer.concat(parts);
        const h = { ...up.headers, 'content-length': String(payload.length) };
        delete h['transfer-encoding'];
        done(up.statusCode ?? 502, h, payload);
      });
    });
    out.on('error', (err) => done(502, {}, Buffer.from(err.message)));
    out.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const pass = (status: number, headers: Record<string, string | string[] | undefined>, out: Buffer): void => {
        res.writeHead(status, headers);
        res.end(out);
      };
      if (!failing || req.method !== 'POST' || !/_bulk(\?|$)/.test(req.url ?? '')) return forward(req, body, pass);
      const lines = body.toString('utf8').split('\n').filter((l) => l !== '');
      const items: Array<{ op: string; text: string; refuse: boolean }> = [];
      for (let i = 0; i < lines.length; i++) {
        const action = JSON.parse(lines[i] as string) as Record<string, { _id?: string }>;
        const op = Object.keys(action)[0] as string;
        const text = op === 'delete' ? `${lines[i]}\n` : `${lines[i]}\n${lines[++i]}\n`;
        items.push({ op, text, refuse: action[op]?._id === id });
      }
      const kept = items.filter((it) => !it.refuse);
      refused += items.length - kept.length;
      const reply = (real: Array<Record<string, unknown>>): void => {
        let k = 0;
        const merged = items.map((it) => (it.refuse ? { [it.op]: { _id: id, status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active (injected)' } } } : real[k++]));
        const json = JSON.stringify({ errors: true, items: merged });
        res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      };
      if (kept.length === 0) return reply([]);
      forward(req, Buffer.from(kept.map((it) => it.text).join('')), (status, headers, out) => {
        if (status !== 200) return pass(status, headers, out);
        reply((JSON.parse(out.toString('utf8')) as { items: Array<Record<string, unknown>> }).items);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: () => refused,
    heal: () => {
      failing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
    const proxy = await startFailingItemProxy(`${topic}-1-50`);
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

      proxy.heal();
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
