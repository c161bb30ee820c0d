import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ES_URL } from './env.js';

/**
 * A pass-through proxy in front of the real Elasticsearch that holds `_bulk` requests while it is
 * closed: bulks stay in flight for as long as a test wants, without a halt or an error.
 */
export interface EsGate {
  url: string;
  /** `_bulk` requests waiting at the gate. */
  held(): number;
  close(): void;
  open(): void;
  stop(): Promise<void>;
}

export async function startEsGate(initiallyOpen = true): Promise<EsGate> {
  const upstream = new URL(ES_URL);
  let isOpen = initiallyOpen;
  let waiting: Array<() => void> = [];
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    if (!isOpen && req.url?.includes('_bulk')) {
      req.pause();
      waiting.push(() => {
        req.resume();
        forward(req, res);
      });
    } else {
      forward(req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => waiting.length,
    close: () => {
      isOpen = false;
    },
    open: () => {
      isOpen = true;
      const go = waiting;
      waiting = [];
      for (const f of go) f();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
