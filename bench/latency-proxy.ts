import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkObserver, countDocs } from './bulk-observer.js';
import { closeServer, decodedBody, readBody } from './http-util.js';

/**
 * A pass-through HTTP proxy in front of Elasticsearch, used only in the latency phase: it forwards
 * every request unchanged and, when Elasticsearch acknowledges a `_bulk`, hands the request body to
 * the observer. This measures record → acknowledgement for any runner, Sluice included, without
 * changing it; the proxy adds one loopback hop (well under a millisecond at the probe's rate).
 */
export async function startLatencyProxy(upstream: string): Promise<{ url: string; observer: BulkObserver; close: () => Promise<void> }> {
  const observer = new BulkObserver();
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const forward = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(chunks));
            if (req.method === 'POST' && up.statusCode === 200 && (req.url ?? '').split('?')[0]?.endsWith('/_bulk')) {
              const ndjson = decodedBody(req, body);
              observer.acknowledged(ndjson, countDocs(ndjson));
            }
          });
        },
      );
      forward.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'proxy_error', reason: err.message }, status: 502 }));
      });
      forward.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    observer,
    close: async () => {
      await closeServer(server);
      agent.destroy();
    },
  };
}
