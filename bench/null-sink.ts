import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkObserver, countDocs } from './bulk-observer.js';
import { closeServer, decodedBody, readBody } from './http-util.js';

/**
 * An Elasticsearch stand-in that answers `_bulk` correctly — one `201 created` item per action —
 * without indexing anything, so a runner pointed at it shows its own ceiling. It answers `GET /` as
 * an 8.19 node would and sends `x-elastic-product`, which the official client checks.
 */
export async function startNullSink(): Promise<{ url: string; observer: BulkObserver; close: () => Promise<void> }> {
  const observer = new BulkObserver();
  const server = createServer((req, res) => {
    void handle(req, res, observer).catch((err: unknown) => reply(res, 500, { error: { type: 'null_sink_error', reason: String(err) }, status: 500 }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, observer, close: () => closeServer(server) };
}

const ROOT = { name: 'null-sink', cluster_name: 'null-sink', version: { number: '8.19.21', build_flavor: 'default' }, tagline: 'You Know, for Search' };

async function handle(req: IncomingMessage, res: ServerResponse, observer: BulkObserver): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const body = decodedBody(req, await readBody(req));
  if (req.method === 'POST' && (path === '/_bulk' || path.endsWith('/_bulk'))) {
    const items = bulkItems(body);
    const text = `{"took":0,"errors":false,"items":[${items.join(',')}]}`;
    reply(res, 200, text);
    observer.acknowledged(body, countDocs(body));
  } else if ((req.method === 'GET' || req.method === 'HEAD') && path === '/') {
    reply(res, 200, ROOT);
  } else {
    reply(res, 404, { error: { type: 'null_sink_unsupported', reason: `${req.method} ${path} is not served by the null sink` }, status: 404 });
  }
}

/** One `created` item per index/create action line, echoing its `_index` and `_id`. */
function bulkItems(body: Buffer): string[] {
  const items: string[] = [];
  let start = 0;
  let action = true;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    if (action && end > start) {
      const line = JSON.parse(body.toString('utf8', start, end)) as Record<string, { _index?: string; _id?: string }>;
      const [op, meta] = Object.entries(line)[0] ?? ['index', {}];
      const id = meta?._id ?? `null-${items.length}`;
      items.push(`{${JSON.stringify(op)}:{"_index":${JSON.stringify(meta?._index ?? '')},"_id":${JSON.stringify(id)},"_version":1,"result":"created","status":201}}`);
    }
    if (end > start) action = !action;
    start = end + 1;
  }
  return items;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
