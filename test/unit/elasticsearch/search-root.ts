import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  headers?: OutgoingHttpHeaders;
  body: string;
}

/** A real HTTP server on port 0 giving every request the same answer; it keeps the request headers. */
export async function answering(answer: Answer): Promise<{ url: string; server: Server; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

/** What `GET /` answers on each product, trimmed to the fields that tell them apart (from the real nodes). */
export const rootOf = {
  elasticsearch: (number: string): Answer => ({
    status: 200,
    // Elasticsearch sends the header from 7.14 on; the client's product check reads it.
    headers: { 'x-elastic-product': 'Elasticsearch' },
    body: JSON.stringify({ name: 'n', cluster_name: 'logs', version: { number, build_flavor: 'default' }, tagline: 'You Know, for Search' }),
  }),
  opensearch: (number: string): Answer => ({
    status: 200,
    body: JSON.stringify({ name: 'n', cluster_name: 'logs', version: { distribution: 'opensearch', number }, tagline: 'The OpenSearch Project: https://opensearch.org/' }),
  }),
};
