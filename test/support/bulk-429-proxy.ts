import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * An HTTP proxy in front of the real Elasticsearch that answers a share of the items of every
 * `_bulk` request with 429 `es_rejected_execution_exception`, as an overloaded write queue does,
 * without forwarding them: their lines are dropped from the body it forwards and synthetic 429
 * items are spliced into the real response at their positions. Every other request passes through.
 * A gzip body (`elasticsearch.compression: gzip`) is read gunzipped and forwarded gzipped again.
 */
export interface Bulk429Proxy {
  url: string;
  /** Items answered with a synthetic 429 so far. */
  rejected(): number;
  /** Items forwarded to Elasticsearch so far. */
  forwarded(): number;
  /** Forwarded items Elasticsearch answered with 409 (a version conflict) so far. */
  conflicts(): number;
  /** `_bulk` requests received with `Content-Encoding: gzip`, and without any. */
  encodings(): { gzip: number; none: number };
  close(): Promise<void>;
}

const REJECTED = { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (injected by the test proxy)' } };

type BulkItem = Record<string, { status?: number } | undefined>;

export async function startBulk429Proxy(target: string, share: number, seed = 1): Promise<Bulk429Proxy> {
  const upstream = new URL(target);
  const random = mulberry32(seed);
  let rejected = 0;
  let forwarded = 0;
  let conflicts = 0;
  const encodings = { gzip: 0, none: 0 };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = req.url ?? '/';
      if (req.method !== 'POST' || !/(^|\/)_bulk(\?|$)/.test(path)) {
        forward(req, path, raw, (status, headers, out) => {
          res.writeHead(status, headers);
          res.end(out);
        });
        return;
      }
      const gzipped = req.headers['content-encoding'] === 'gzip';
      encodings[gzipped ? 'gzip' : 'none']++;
      const body = gzipped ? gunzipSync(raw) : raw;
      // Items in body order: each an action line, plus a source line unless it is a delete.
      const lines = body.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const items: Array<{ op: string; text: string; reject: boolean }> = [];
      for (let i = 0; i < lines.length; i++) {
        const action = lines[i] as string;
        const op = Object.keys(JSON.parse(action) as object)[0] as string;
        const text = op === 'delete' ? `${action}\n` : `${action}\n${lines[++i] ?? ''}\n`;
        items.push({ op, text, reject: random() < share });
      }
      const kept = items.filter((it) => !it.reject);
      rejected += items.length - kept.length;
      forwarded += kept.length;
      const splice = (real: BulkItem[]): string => {
        let k = 0;
        const merged = items.map((it) => (it.reject ? { [it.op]: REJECTED } : (real[k++] as BulkItem)));
        return JSON.stringify({ errors: true, items: merged });
      };
      const reply = (json: string): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      };
      if (kept.length === 0) return reply(splice([]));
      const keptBody = Buffer.from(kept.map((it) => it.text).join(''));
      forward(req, path, gzipped ? gzipSync(keptBody) : keptBody, (status, headers, out) => {
        if (status !== 200) {
          res.writeHead(status, headers);
          res.end(out);
          return;
        }
        const real = (JSON.parse(out.toString('utf8')) as { items?: BulkItem[] }).items ?? [];
        for (const item of real) if (Object.values(item)[0]?.status === 409) conflicts++;
        if (kept.length < items.length) return reply(splice(real));
        res.writeHead(status, headers);
        res.end(out);
      });
    });
  });

  function forward(req: IncomingMessage, path: string, body: Buffer, done: (status: number, headers: Record<string, string | string[] | undefined>, out: Buffer) => void): void {
    // Plain responses only: the proxy must read and rewrite them.
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    delete headers['accept-encoding'];
    const out = httpRequest({ hostname: upstream.hostname, port: upstream.port, method: req.method, path, headers }, (up) => {
      const parts: Buffer[] = [];
      up.on('data', (c: Buffer) => parts.push(c));
      up.on('end', () => {
        const payload = Buffer.concat(parts);
        const h = { ...up.headers, 'content-length': String(payload.length) };
        delete h['transfer-encoding'];
        done(up.statusCode ?? 502, h, payload);
      });
    });
    out.on('error', (err) => done(502, { 'content-type': 'text/plain' }, Buffer.from(`proxy: ${err.message}`)));
    out.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rejected: () => rejected,
    forwarded: () => forwarded,
    conflicts: () => conflicts,
    encodings: () => ({ ...encodings }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A small seeded generator, so a failing run can be repeated with the same rejections. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
