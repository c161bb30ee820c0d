import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { seededRandom } from './random.js';

/**
 * An HTTP proxy in front of the real Elasticsearch that answers the `_bulk` items its `refuse`
 * picks with an error of its choosing, without forwarding them: their lines are dropped from the
 * body it forwards and synthetic error items are spliced into the real response at their positions.
 * Every other item and every other request passes through. A gzip body
 * (`elasticsearch.compression: gzip`) is read gunzipped and forwarded gzipped again.
 */
export interface BulkProxy {
  url: string;
  /** Items answered with a synthetic error so far. */
  refused(): number;
  /** Items forwarded to Elasticsearch so far. */
  forwarded(): number;
  /** Forwarded items Elasticsearch answered with 409 (a version conflict) so far. */
  conflicts(): number;
  /** `_bulk` requests received with `Content-Encoding: gzip`, and without any. */
  encodings(): { gzip: number; none: number };
  close(): Promise<void>;
}

/** One item of a `_bulk` body: its operation (`index`, `create`, `update`, `delete`) and its action line's metadata. */
export interface BulkAction {
  op: string;
  meta: { _index?: string; _id?: string };
}

/** The per-item error a refused item is answered with, inside a 200 response as Elasticsearch does. */
export interface Refusal {
  status: number;
  type: string;
  reason: string;
}

/** Called for every item of every `_bulk` request, in body order: the error to answer it with, or undefined to forward it. */
export type Refuse = (item: BulkAction) => Refusal | undefined;

/**
 * Refuses a share of all items with 429 `es_rejected_execution_exception`, as an overloaded write
 * queue does. Seeded, so a failing run can be repeated with the same rejections.
 */
export function rejectShare(share: number, seed = 1): Refuse {
  const random = seededRandom(seed);
  const rejected: Refusal = { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution (injected by the test proxy)' };
  return () => (random() < share ? rejected : undefined);
}

type ResponseItem = Record<string, { status?: number; [field: string]: unknown } | undefined>;

export async function startBulkProxy(target: string, refuse: Refuse): Promise<BulkProxy> {
  const upstream = new URL(target);
  let refused = 0;
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
      const items: Array<{ text: string; refused: ResponseItem | undefined }> = [];
      for (let i = 0; i < lines.length; i++) {
        const action = lines[i] as string;
        const parsed = JSON.parse(action) as Record<string, BulkAction['meta'] | undefined>;
        const op = Object.keys(parsed)[0] as string;
        const meta = parsed[op] ?? {};
        const text = op === 'delete' ? `${action}\n` : `${action}\n${lines[++i] ?? ''}\n`;
        const refusal = refuse({ op, meta });
        items.push({ text, refused: refusal === undefined ? undefined : { [op]: { ...(meta._id === undefined ? {} : { _id: meta._id }), status: refusal.status, error: { type: refusal.type, reason: refusal.reason } } } });
      }
      const kept = items.filter((it) => it.refused === undefined);
      refused += items.length - kept.length;
      forwarded += kept.length;
      const splice = (real: ResponseItem[]): string => {
        let k = 0;
        const merged = items.map((it) => it.refused ?? (real[k++] as ResponseItem));
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
        const real = (JSON.parse(out.toString('utf8')) as { items?: ResponseItem[] }).items ?? [];
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
    refused: () => refused,
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
