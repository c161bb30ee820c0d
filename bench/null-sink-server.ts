import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerBulk } from './bulk-answer.js';
import { BulkObserver } from './bulk-observer.js';
import { decodedBody, readBody } from './http-util.js';

/**
 * The null sink's own process, started by `startNullSink` (null-sink.ts) with an IPC channel: an
 * Elasticsearch stand-in that answers `_bulk` as a successful one (bulk-answer.ts) without indexing,
 * so a runner pointed at it shows its own ceiling. It answers `GET /` as an 8.19 node would and sends
 * `x-elastic-product`, which the official client checks. A process of its own so that its CPU is
 * measured apart from the bench's and from the runner's.
 */
export type SinkRequest = { op: 'reset'; latency: boolean } | { op: 'docs' } | { op: 'percentiles' };

export type SinkQuery = SinkRequest & { id: number };

export type SinkMessage = { type: 'listening'; url: string } | { type: 'answer'; id: number; value: unknown };

const ROOT = { name: 'null-sink', cluster_name: 'null-sink', version: { number: '8.19.21', build_flavor: 'default' }, tagline: 'You Know, for Search' };

const observer = new BulkObserver();
const server = createServer((req, res) => {
  void handle(req, res).catch((err: unknown) => reply(res, 500, { error: { type: 'null_sink_error', reason: String(err) }, status: 500 }));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => send({ type: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));

process.on('message', (q: SinkQuery) => {
  if (q.op === 'reset') observer.reset(q.latency);
  const value = q.op === 'docs' ? observer.docs : q.op === 'percentiles' ? observer.percentiles() : null;
  send({ type: 'answer', id: q.id, value });
});
// The bench is gone (or closes the sink): nothing else would end this process.
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://null-sink');
  const body = decodedBody(req, await readBody(req));
  if (req.method === 'POST' && (url.pathname === '/_bulk' || url.pathname.endsWith('/_bulk'))) {
    const answer = answerBulk(body, url.searchParams.get('filter_path') ?? undefined);
    reply(res, 200, answer.text);
    observer.acknowledged(body, answer.docs);
  } else if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname === '/') {
    reply(res, 200, ROOT);
  } else {
    reply(res, 404, { error: { type: 'null_sink_unsupported', reason: `${req.method} ${url.pathname} is not served by the null sink` }, status: 404 });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function send(message: SinkMessage): void {
  process.send?.(message);
}
