import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './health.js';

/**
 * The operator's HTTP endpoints on `metrics.port`: `/metrics` (Prometheus text format),
 * `/healthz` (the process answers) and `/readyz` (200 when ready, 503 with the reasons when not).
 */
export async function startStatusServer(options: {
  host: string;
  port: number;
  /** The registry, once the pipeline has created it. */
  metrics: () => Registry | undefined;
  readiness: () => Readiness;
  logger: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const { readiness, logger } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    switch (path) {
      case '/metrics': {
        const registry = options.metrics();
        if (!registry) return json(503, { error: 'starting: metrics are not available yet' });
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
          (err: unknown) => {
            logger.error({ err }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
        return;
      }
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz': {
        const r = readiness();
        return json(r.ready ? 200 : 503, { ready: r.ready, reasons: r.reasons });
      }
      default:
        return json(404, { error: `no such endpoint: ${path}; try /metrics, /healthz or /readyz` });
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'metrics and health endpoints listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
