import { Agent, request } from 'node:http';
import { INDEX_SETTINGS } from '../config.js';
import { actionLine } from '../../workers/bulk/encoder.js';
import { apmDocument, kafkaId } from './document.js';
import { readTopic } from './rdkafka-reader.js';
import { readSpec, runMain, send, type RunnerSpec } from './protocol.js';

/** Sluice's default batch limits (pipeline.batchDocs, pipeline.batchBytes): one body per batch. */
const BODY_DOCS = 5000;
const BODY_BYTES = 4 * 1024 * 1024;
const CONCURRENCIES = [1, 2, 4, 8];

/**
 * What Elasticsearch on this machine can absorb: the documents Sluice would send (same transform,
 * same ids, same body sizes) built into NDJSON bodies before the clock starts, then sent straight to
 * `_bulk` over keep-alive sockets. A short trial of each concurrency on a scratch index picks the
 * best; the measured run sends every body at that concurrency.
 */
runMain(async () => {
  const spec = readSpec();
  const bodies = await buildBodies(spec);
  const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CONCURRENCIES) });
  const trialIndex = `${spec.index}-trial`;
  const trialBodies = bodies.slice(0, Math.max(Math.min(bodies.length, 8), Math.ceil(bodies.length / 4)));
  const trialDocs = trialBodies.reduce((n, b) => n + b.docs, 0);
  let best = { concurrency: 1, docsPerSecond: 0 };
  const trials: string[] = [];
  for (const concurrency of CONCURRENCIES) {
    await call(agent, spec.esNode, 'DELETE', `/${trialIndex}?ignore_unavailable=true`);
    await call(agent, spec.esNode, 'PUT', `/${trialIndex}`, JSON.stringify({ settings: INDEX_SETTINGS }));
    const t0 = performance.now();
    await sendAll(agent, spec.esNode, trialBodies, concurrency);
    const docsPerSecond = (trialDocs * 1000) / (performance.now() - t0);
    trials.push(`${concurrency}: ${Math.round(docsPerSecond).toLocaleString('en-US')}`);
    if (docsPerSecond > best.docsPerSecond) best = { concurrency, docsPerSecond };
  }
  await call(agent, spec.esNode, 'DELETE', `/${trialIndex}`);
  send({ type: 'note', note: `es-ceiling trials on ${trialDocs.toLocaleString('en-US')} docs, docs/s by concurrency: ${trials.join(', ')}; measured at ${best.concurrency}` });

  send({ type: 'measure-start' });
  await sendAll(agent, spec.esNode, bodies, best.concurrency);
  agent.destroy();
});

interface Body {
  ndjson: Buffer;
  docs: number;
}

async function buildBodies(spec: RunnerSpec): Promise<Body[]> {
  const bodies: Body[] = [];
  let lines: string[] = [];
  let bytes = 0;
  const cut = (): void => {
    if (lines.length === 0) return;
    bodies.push({ ndjson: Buffer.from(lines.join('\n') + '\n'), docs: lines.length / 2 });
    lines = [];
    bytes = 0;
  };
  await readTopic(spec, (messages) => {
    for (const m of messages) {
      const key = m.key === undefined || m.key === null ? null : m.key.toString();
      const doc = apmDocument(m.value ?? Buffer.alloc(0), key, m.topic, m.partition, m.offset, m.timestamp ?? 0);
      lines.push(actionLine('index', spec.index, kafkaId(m.topic, m.partition, m.offset)), JSON.stringify(doc));
      bytes += m.value?.length ?? 0;
      if (lines.length / 2 >= BODY_DOCS || bytes >= BODY_BYTES) cut();
    }
  });
  cut();
  return bodies;
}

/**
 * Sends every body, `concurrency` at a time. A body with rejected items (429: the write queue is
 * full) is sent again whole after a short pause — the ids are fixed, so that only overwrites; any
 * other item error fails the run, since a ceiling must index everything.
 */
async function sendAll(agent: Agent, node: string, bodies: Body[], concurrency: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as Body;
      for (;;) {
        const res = JSON.parse(await call(agent, node, 'POST', '/_bulk?filter_path=errors,items.*.status,items.*.error.type', body.ndjson)) as BulkResponse;
        if (res.errors === false) break;
        const failed = (res.items ?? []).map((i) => Object.values(i)[0]).filter((op) => op?.error !== undefined);
        if (failed.some((op) => op?.status !== 429)) throw new Error(`_bulk reported item errors: ${JSON.stringify(failed[0])}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

type BulkResponse = { errors?: boolean; items?: Array<Record<string, { status?: number; error?: { type?: string } } | undefined>> };

function call(agent: Agent, node: string, method: string, path: string, body?: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, node), { method, agent, headers: { 'content-type': path.startsWith('/_bulk') ? 'application/x-ndjson' : 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300 && !(method === 'DELETE' && res.statusCode === 404)) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
