import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, open, openSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzip, gunzipSync } from 'node:zlib';
import pino from 'pino';
import { createClient } from '../../../../src/common/es-client.js';
import type { Compression } from '../../../../workers/bulk/compression.js';
import { actionLine, NdjsonEncoder } from '../../../../workers/bulk/encoder.js';
import { HaltMonitor } from '../../../../workers/bulk/halt.js';
import { Semaphore } from '../../../../workers/bulk/semaphore.js';
import { createBulkSink } from '../../../../workers/bulk/sink.js';

interface Received {
  headers: IncomingHttpHeaders;
  /** The bytes as they came over the wire. */
  raw: Buffer;
  /** The NDJSON they decode to (gunzipped when the request says gzip). */
  ndjson: string;
}

/**
 * A real HTTP server standing in for Elasticsearch: it keeps each `_bulk` request as received and
 * answers with `answer(ids, attempt)` per item status (201 by default).
 */
async function elasticsearch(answer: (ids: string[], attempt: number) => number[] | undefined = () => undefined) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const ndjson = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      received.push({ headers: req.headers, raw, ndjson });
      const ids = ndjson
        .split('\n')
        .filter((_, i) => i % 2 === 0)
        .filter(Boolean)
        .map((l) => (Object.values(JSON.parse(l))[0] as { _id: string })._id);
      const statuses = answer(ids, received.length) ?? ids.map(() => 201);
      const items = statuses.map((status) => ({ index: status < 300 ? { status } : { status, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } }));
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(JSON.stringify({ errors: statuses.some((s) => s >= 300), items }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received };
}

/** `n` documents whose sources repeat (so gzip visibly shrinks them). */
function batch(n: number) {
  const enc = new NdjsonEncoder();
  for (let i = 0; i < n; i++) enc.append(actionLine('index', 'logs', `d${i}`), JSON.stringify({ i, message: 'request completed upstream latency cache miss '.repeat(4) }), i);
  return enc.finish();
}

function sinkFor(url: string, compression: Compression | undefined, bulkMaxBytes = 1 << 20) {
  return createBulkSink({
    client: createClient({ node: [url], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 5000 }, 4),
    headers: undefined,
    opType: 'index',
    versioned: false,
    bulkMaxBytes,
    ...(compression ? { compression } : {}),
    retry: { maxRetries: 3, backoffMs: 1, maxBackoffMs: 5 },
    semaphore: new Semaphore(2),
    halts: new HaltMonitor(1, () => undefined),
    logger: pino({ level: 'silent' }),
  });
}

describe('bulk body compression (against a real HTTP server)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('gzip: the request says Content-Encoding gzip and its body gunzips to the batch NDJSON, byte for byte', async () => {
    const es = await elasticsearch();
    server = es.server;
    const b = batch(50);
    const result = await sinkFor(es.url, 'gzip').index(b);
    expect(result.failures.size).to.equal(0);
    expect(es.received).to.have.length(1);
    const [req] = es.received as [Received];
    expect(req.headers['content-encoding']).to.equal('gzip');
    expect(req.headers['content-type']).to.match(/ndjson/);
    expect(req.headers['content-length']).to.equal(String(req.raw.length));
    expect(req.ndjson).to.equal(b.buffer.toString('utf8'));
    expect(req.raw.length).to.be.below(b.buffer.length / 4);
    // Responses stay plain: with filter_path they are a few bytes, and decoding them would take the libuv pool.
    expect(req.headers['accept-encoding'] ?? '').to.not.match(/gzip|deflate|br/);
    // Bytes sent are what went on the wire.
    expect(result.bulkBytes).to.equal(req.raw.length);
  });

  it('gzip: each body of a batch cut in several is compressed on its own', async () => {
    const es = await elasticsearch();
    server = es.server;
    const b = batch(40);
    const result = await sinkFor(es.url, 'gzip', 4096).index(b);
    expect(result.failures.size).to.equal(0);
    expect(es.received.length).to.be.greaterThan(2);
    for (const req of es.received) expect(req.headers['content-encoding']).to.equal('gzip');
    const joined = es.received.map((r) => r.ndjson).sort((x, y) => firstId(x) - firstId(y)).join('');
    expect(joined).to.equal(b.buffer.toString('utf8'));
    expect(result.bulkBytes).to.equal(es.received.reduce((n, r) => n + r.raw.length, 0));
  });

  it('gzip: the retried items go in a new body of their own, compressed again', async () => {
    // First request: d1 and d3 refused with 429; the retry must carry exactly those two.
    const es = await elasticsearch((ids, attempt) => (attempt === 1 ? ids.map((id) => (id === 'd1' || id === 'd3' ? 429 : 201)) : undefined));
    server = es.server;
    const b = batch(5);
    const result = await sinkFor(es.url, 'gzip').index(b);
    expect(result.failures.size).to.equal(0);
    expect(es.received).to.have.length(2);
    const retry = es.received[1] as Received;
    expect(retry.headers['content-encoding']).to.equal('gzip');
    expect(retry.ndjson).to.equal(docLines(b, [1, 3]));
    expect(result.retries).to.deep.equal({ overload: 1 });
  });

  it('gzip runs on the worker thread itself: it completes while every libuv pool thread is blocked', async () => {
    const es = await elasticsearch();
    server = es.server;
    // Each open of a FIFO with no writer holds one pool thread until a writer appears: queue one
    // per pool thread and the pool (shared with librdkafka's consume calls) is fully busy.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pool-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
    const blockers = Array.from({ length: poolSize }, () => new Promise<number>((resolve, reject) => open(fifo, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
    // The control: async zlib needs a pool thread, so it cannot finish until the pool is freed.
    let asyncGzipDone = false;
    const asyncGzip = new Promise<void>((resolve) => gzip(Buffer.from('x'), () => resolve())).then(() => (asyncGzipDone = true));
    let writer: number | undefined;
    try {
      const b = batch(20);
      const result = await Promise.race([
        sinkFor(es.url, 'gzip').index(b),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the sink waited for the libuv pool')), 20_000)),
      ]);
      expect(result.failures.size).to.equal(0);
      expect((es.received[0] as Received).ndjson).to.equal(b.buffer.toString('utf8'));
      expect(asyncGzipDone, 'the pool was not blocked: this test proves nothing').to.equal(false);
    } finally {
      // A read-write open of the FIFO never blocks and lets every pending read-only open through.
      writer = openSync(fifo, 'r+');
      for (const fd of await Promise.all(blockers)) closeSync(fd);
      closeSync(writer);
      await asyncGzip;
      rmSync(dir, { recursive: true });
    }
  });

  it('none (the default): the body goes as it is, with no Content-Encoding', async () => {
    const es = await elasticsearch();
    server = es.server;
    const b = batch(10);
    const result = await sinkFor(es.url, undefined).index(b);
    expect(result.failures.size).to.equal(0);
    const [req] = es.received as [Received];
    expect(req.headers['content-encoding']).to.equal(undefined);
    expect(req.raw.equals(b.buffer)).to.equal(true);
    expect(result.bulkBytes).to.equal(b.buffer.length);
  });
});

function firstId(ndjson: string): number {
  return Number(/"_id":"d(\d+)"/.exec(ndjson)?.[1]);
}

/** The NDJSON lines of the given documents of a batch, in that order. */
function docLines(b: ReturnType<typeof batch>, docs: number[]): string {
  return docs.map((d) => b.buffer.toString('utf8', b.docStarts[d], b.docStarts[d + 1])).join('');
}
