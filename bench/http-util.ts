import type { IncomingMessage, Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** Small helpers shared by the bench's two HTTP servers (null sink, latency proxy). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The NDJSON a request carries: its body, gunzipped when it came with `Content-Encoding: gzip`. */
export function decodedBody(req: IncomingMessage, body: Buffer): Buffer {
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
