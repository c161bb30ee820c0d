import type { IncomingHttpHeaders } from 'node:http';
import { errors, type Client } from '@elastic/elasticsearch';
import { redactUrl } from '../config/redact.js';
import type { ServerKind } from '../common/protocol.js';
import type { ElasticsearchSettings } from '../common/es-client.js';
import { UnsupportedServerError } from '../common/errors.js';

/** How logs and messages name where Sluice writes: the nodes (credentials redacted) or the cloud id. */
export function targetName(es: Pick<ElasticsearchSettings, 'node' | 'cloudId'>): string {
  return es.cloudId ? `cloud id ${es.cloudId.split(':')[0]}` : es.node.map(redactUrl).join(',');
}

export interface ServerInfo extends ServerKind {
  version: string;
  clusterName: string;
}

/** "Elasticsearch 8.19.21", "OpenSearch 2.19.5". */
export function serverName(server: Pick<ServerInfo, 'product' | 'version'>): string {
  if (server.product === 'unknown') return 'an unknown server';
  return `${server.product === 'opensearch' ? 'OpenSearch' : 'Elasticsearch'} ${server.version}`;
}

/** Majors Sluice speaks to. OpenSearch 1.x is end of life and untested: refused rather than guessed at. */
const SUPPORTED = { elasticsearch: { min: 7, max: 9 }, opensearch: { min: 2, max: 3 } } as const;
const SUPPORTED_TEXT = 'Sluice speaks to Elasticsearch 7.x, 8.x and 9.x and OpenSearch 2.x and 3.x';

interface RootBody {
  cluster_name?: unknown;
  tagline?: unknown;
  version?: { number?: unknown; distribution?: unknown };
}

/**
 * Reads product and version with `GET /`. Throws UnsupportedServerError for a version Sluice does not
 * speak to and for an HTTP server that is not a search engine, naming what answered. Connection
 * errors, 401/403, 408/429 and 5xx (a node or proxy still starting) are the client's errors, for the
 * caller to wait on or report.
 */
export async function probeServer(client: Client): Promise<ServerInfo> {
  let body: unknown;
  let headers: IncomingHttpHeaders;
  let status: number;
  try {
    // Plain JSON: the answer decides which media types the server takes.
    const res = await client.transport.request({ method: 'GET', path: '/' }, { headers: { accept: 'application/json' }, meta: true });
    body = res.body;
    headers = res.headers ?? {};
    status = res.statusCode ?? 200;
  } catch (err) {
    const refused = err instanceof errors.ResponseError ? (err.statusCode ?? 0) : 0;
    if (refused >= 400 && refused < 500 && ![401, 403, 408, 429].includes(refused)) {
      throw new UnsupportedServerError(notASearchEngine(refused, (err as errors.ResponseError).meta.headers ?? {}, ''), { statusCode: refused }, { cause: err });
    }
    throw err;
  }
  const root = (typeof body === 'object' && body !== null ? body : {}) as RootBody;
  const version = typeof root.version?.number === 'string' ? root.version.number : undefined;
  const product =
    root.version?.distribution === 'opensearch' ? 'opensearch' : headers['x-elastic-product'] === 'Elasticsearch' || root.tagline === 'You Know, for Search' ? 'elasticsearch' : undefined;
  if (version === undefined || product === undefined) throw new UnsupportedServerError(notASearchEngine(status, headers, ' without a search engine version'), { statusCode: status });
  const major = Number.parseInt(version, 10);
  const range = SUPPORTED[product];
  if (!(major >= range.min && major <= range.max)) throw new UnsupportedServerError(`${serverName({ product, version })} is not supported: ${SUPPORTED_TEXT}`);
  return { product, version, major, clusterName: typeof root.cluster_name === 'string' ? root.cluster_name : '' };
}

function notASearchEngine(status: number, headers: IncomingHttpHeaders, detail: string): string {
  const what = [headers['content-type'] ?? 'no content type', headers.server === undefined ? '' : `server ${String(headers.server)}`].filter(Boolean).join(', ');
  return `the server is not Elasticsearch or OpenSearch: GET / answered HTTP ${status} (${what})${detail}`;
}
