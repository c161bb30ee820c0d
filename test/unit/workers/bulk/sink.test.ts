import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createClient } from '../../../../src/common/es-client.js';
import { actionLine, NdjsonEncoder } from '../../../../workers/bulk/encoder.js';
import { HaltMonitor } from '../../../../workers/bulk/halt.js';
import { Semaphore } from '../../../../workers/bulk/semaphore.js';
import type { WorkerSignal } from '../../../../src/common/protocol.js';
import { createBulkSink } from '../../../../workers/bulk/sink.js';

type Handler = (ids: string[], req: IncomingMessage) => { status: number; body: unknown };

/** A real HTTP server speaking just enough `_bulk` for the sink; the test decides each answer. */
async function fakeElasticsearch(handler: Handler): Promise<{ url: string; server: Server; requests: string[][] }> {
  const requests: string[][] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
      const ids = lines.filter((_, i) => i % 2 === 0).map((l) => (Object.values(JSON.parse(l))[0] as { _id: string })._id);
      requests.push(ids);
      const { status, body } = handler(ids, req);
      res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests };
}

function batch(n: number) {
  const enc = new NdjsonEncoder();
  for (let i = 0; i < n; i++) enc.append(actionLine('index', 'i', `d${i}`), JSON.stringify({ i }), i);
  return enc.finish();
}

const ok = (ids: string[]) => ({ status: 200, body: { errors: false, items: ids.map(() => ({ index: { status: 201 } })) } });

function sinkFor(url: string, over: { maxRetries?: number; bulkMaxBytes?: number; opType?: 'index' | 'create'; versioned?: boolean; signals?: WorkerSignal[] } = {}) {
  return createBulkSink({
    client: createClient({ node: [url], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 5000 }, 4),
    headers: undefined,
    opType: over.opType ?? 'index',
    versioned: over.versioned ?? false,
    bulkMaxBytes: over.bulkMaxBytes ?? 1 << 20,
    retry: { maxRetries: over.maxRetries ?? -1, backoffMs: 1, maxBackoffMs: 5 },
    semaphore: new Semaphore(2),
    halts: new HaltMonitor(7, (sig) => over.signals?.push(sig)),
    logger: pino({ level: 'silent' }),
  });
}

describe('bulk sink (against a real HTTP server)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('resends only the items that failed with 429 or 5xx, until they succeed', async () => {
    let round = 0;
    const es = await fakeElasticsearch((ids) => {
      round++;
      if (round === 1) {
        return {
          status: 200,
          body: {
            errors: true,
            items: ids.map((id) =>
              id === 'd1' ? { index: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } }
              : id === 'd3' ? { index: { status: 503, error: { type: 'unavailable_shards_exception', reason: 'no shard' } } }
              : { index: { status: 201 } },
            ),
          },
        };
      }
      return ok(ids);
    });
    server = es.server;
    const result = await sinkFor(es.url).index(batch(5));
    expect(result.failures.size).to.equal(0);
    expect(es.requests).to.deep.equal([['d0', 'd1', 'd2', 'd3', 'd4'], ['d1', 'd3']]);
    expect(result.retries).to.deep.equal({ overload: 1 });
    expect(result.bulkMs).to.have.length(2);
  });

  it('reports rejected items (mapping errors) without retrying them', async () => {
    const es = await fakeElasticsearch((ids) => ({
      status: 200,
      body: { errors: true, items: ids.map((id) => (id === 'd2' ? { index: { status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse' } } } : { index: { status: 201 } })) },
    }));
    server = es.server;
    const result = await sinkFor(es.url).index(batch(4));
    expect([...result.failures.entries()]).to.deep.equal([[2, { status: 400, errorType: 'document_parsing_exception', reason: 'failed to parse', attempts: 1 }]]);
    expect(es.requests).to.have.length(1);
  });

  it('retries a whole request refused with 429 or 503, and counts 409 on create as done', async () => {
    let round = 0;
    const es = await fakeElasticsearch((ids) => {
      round++;
      if (round === 1) return { status: 429, body: { error: { type: 'es_rejected_execution_exception', reason: 'busy' }, status: 429 } };
      if (round === 2) return { status: 503, body: { error: { type: 'cluster_block_exception', reason: 'no master' }, status: 503 } };
      return { status: 200, body: { errors: true, items: ids.map(() => ({ create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'exists' } } })) } };
    });
    server = es.server;
    const result = await sinkFor(es.url, { opType: 'create' }).index(batch(3));
    expect(result.failures.size).to.equal(0);
    expect(es.requests).to.have.length(3);
  });

  it('splits a body refused with 413 into halves', async () => {
    const es = await fakeElasticsearch((ids) => (ids.length > 2 ? { status: 413, body: {} } : ok(ids)));
    server = es.server;
    const result = await sinkFor(es.url).index(batch(8));
    expect(result.failures.size).to.equal(0);
    const delivered = es.requests.filter((r) => r.length <= 2).flat().sort();
    expect(delivered).to.deep.equal(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']);
    expect(result.retries).to.deep.equal({ too_large: 3 }, 'one split of 8, two of 4');
  });

  it('rejects a single document refused with 413: there is nothing smaller to send', async () => {
    const es = await fakeElasticsearch(() => ({ status: 413, body: {} }));
    server = es.server;
    const result = await sinkFor(es.url).index(batch(2));
    expect(es.requests).to.deep.equal([['d0', 'd1'], ['d0'], ['d1']]);
    expect([...result.failures.entries()]).to.deep.equal([
      [0, { status: 413, reason: 'request body too large', attempts: 1 }],
      [1, { status: 413, reason: 'request body too large', attempts: 1 }],
    ]);
    expect(result.retries).to.deep.equal({ too_large: 1 });
  });

  it('rejects every document of a request refused with 400, without retrying it', async () => {
    const es = await fakeElasticsearch(() => ({ status: 400, body: { error: { type: 'parse_exception', reason: 'request body is required' }, status: 400 } }));
    server = es.server;
    const result = await sinkFor(es.url).index(batch(2));
    expect(es.requests).to.have.length(1);
    expect([...result.failures.entries()]).to.deep.equal([
      [0, { status: 400, errorType: 'parse_exception', reason: 'request body is required', attempts: 1 }],
      [1, { status: 400, errorType: 'parse_exception', reason: 'request body is required', attempts: 1 }],
    ]);
    expect(result.retries).to.deep.equal({});
  });

  it('a request refused with 401 halts the pipeline until it is accepted, then resumes', async () => {
    let round = 0;
    const es = await fakeElasticsearch((ids) => (++round <= 2 ? { status: 401, body: { error: { type: 'security_exception', reason: 'unable to authenticate' } } } : ok(ids)));
    server = es.server;
    const signals: WorkerSignal[] = [];
    const result = await sinkFor(es.url, { maxRetries: 0, signals }).index(batch(2));
    expect(result.failures.size).to.equal(0);
    expect(es.requests).to.have.length(3);
    expect(result.retries).to.deep.equal({ halted: 2 });
    expect(signals).to.deep.equal([
      { kind: 'halt', threadId: 7, status: 401, errorType: 'security_exception', reason: 'unable to authenticate' },
      { kind: 'resume', threadId: 7 },
    ]);
  });

  it('cuts a batch into several concurrent bodies by bytes', async () => {
    const es = await fakeElasticsearch(ok);
    server = es.server;
    const b = batch(10);
    const docBytes = (b.docStarts[1] as number) - (b.docStarts[0] as number);
    const result = await sinkFor(es.url, { bulkMaxBytes: docBytes * 3 }).index(b);
    expect(es.requests.map((r) => r.length).sort()).to.deep.equal([1, 3, 3, 3]);
    expect(result.bulkRequests).to.equal(4);
  });

  it('halts on a cluster block or an auth failure, retries without limit, and resumes once accepted', async () => {
    let round = 0;
    const es = await fakeElasticsearch((ids) => {
      round++;
      if (round === 1) return { status: 200, body: { errors: true, items: ids.map(() => ({ index: { status: 403, error: { type: 'cluster_block_exception', reason: 'index [i] blocked by: [FORBIDDEN/5/index read-only (api)]' } } })) } };
      if (round <= 4) return { status: 401, body: { error: { type: 'security_exception', reason: 'unable to authenticate' } } };
      return ok(ids);
    });
    server = es.server;
    const signals: WorkerSignal[] = [];
    const result = await sinkFor(es.url, { maxRetries: 1, signals }).index(batch(3));
    expect(result.failures.size).to.equal(0, 'halting failures never drop a document, whatever maxRetries says');
    expect(es.requests).to.have.length(5);
    expect(signals).to.deep.equal([
      { kind: 'halt', threadId: 7, status: 403, errorType: 'cluster_block_exception', reason: 'index [i] blocked by: [FORBIDDEN/5/index read-only (api)]' },
      { kind: 'resume', threadId: 7 },
    ]);
  });

  it('counts a delete of a missing document as done', async () => {
    const es = await fakeElasticsearch((ids) => ({ status: 200, body: { errors: true, items: ids.map(() => ({ delete: { status: 404 } })) } }));
    server = es.server;
    const enc = new NdjsonEncoder();
    enc.appendDelete(actionLine('delete', 'i', 'gone'), 0);
    const result = await sinkFor(es.url).index(enc.finish());
    expect(result.failures.size).to.equal(0);
  });

  it('gives up after maxRetries and reports every document of the request', async () => {
    const es = await fakeElasticsearch(() => ({ status: 503, body: { error: { type: 'x', reason: 'down' } } }));
    server = es.server;
    const result = await sinkFor(es.url, { maxRetries: 2 }).index(batch(2));
    expect(es.requests).to.have.length(3);
    expect(result.failures.get(0)).to.deep.equal({ status: 503, errorType: 'x', reason: 'down', attempts: 3 });
    expect(result.failures.size).to.equal(2);
    expect(result.retries).to.deep.equal({ server_error: 2 });
  });

  it('halt rounds do not spend errors.maxRetries: 429s after a lifted block get every retry', async () => {
    const blocked = { index: { status: 403, error: { type: 'cluster_block_exception', reason: 'index [i] blocked by: [FORBIDDEN/8/index write (api)]' } } };
    const busy = { index: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } };
    let round = 0;
    const es = await fakeElasticsearch((ids) => {
      round++;
      if (round <= 2) return { status: 200, body: { errors: true, items: ids.map(() => blocked) } };
      if (round <= 4) return { status: 401, body: { error: { type: 'security_exception', reason: 'unable to authenticate' } } };
      if (round <= 6) return { status: 200, body: { errors: true, items: ids.map(() => busy) } };
      return ok(ids);
    });
    server = es.server;
    const result = await sinkFor(es.url, { maxRetries: 2 }).index(batch(3));
    expect([...result.failures.entries()]).to.deep.equal([], 'four halt rounds, then two 429 rounds: within maxRetries 2');
    expect(es.requests).to.have.length(7);
    expect(result.retries).to.deep.equal({ halted: 4, overload: 2 });
  });

  it('the retry budget still bounds 429s that follow a halt', async () => {
    let round = 0;
    const es = await fakeElasticsearch((ids) => {
      round++;
      if (round === 1) return { status: 401, body: { error: { type: 'security_exception', reason: 'unable to authenticate' } } };
      return { status: 200, body: { errors: true, items: ids.map(() => ({ index: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } })) } };
    });
    server = es.server;
    const result = await sinkFor(es.url, { maxRetries: 2 }).index(batch(1));
    expect(es.requests).to.have.length(4, 'one halt round, then the first send and two retries of the 429');
    expect(result.failures.get(0)).to.deep.equal({ status: 429, errorType: 'es_rejected_execution_exception', reason: 'queue full', attempts: 3 });
  });

  it('versioned writes: an item 429d and re-sent after a newer write of its id counts its 409 as done', async () => {
    // d1 is refused with 429; before its retry lands, a later record's write of the same id won,
    // so Elasticsearch answers the retry with a version conflict.
    const es = await fakeElasticsearch((ids) => ({
      status: 200,
      body: {
        errors: true,
        items: ids.map((id) =>
          id !== 'd1' ? { index: { status: 201 } }
          : es.requests.length === 1 ? { index: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } }
          : { index: { status: 409, error: { type: 'version_conflict_engine_exception', reason: '[d1]: version conflict, current version [9] is higher or equal to the one provided [4]' } } },
        ),
      },
    }));
    server = es.server;
    const result = await sinkFor(es.url, { versioned: true, maxRetries: 3 }).index(batch(3));
    expect(es.requests).to.deep.equal([['d0', 'd1', 'd2'], ['d1']]);
    expect([...result.failures.entries()]).to.deep.equal([]);

    // Without versions, a 409 on a plain index is a real failure, never a silent success.
    const plain = await sinkFor(es.url, { versioned: false, maxRetries: 3 }).index(batch(3));
    expect([...plain.failures.keys()]).to.deep.equal([1]);
    expect(plain.failures.get(1)).to.deep.include({ status: 409, errorType: 'version_conflict_engine_exception' });
  });
});
