import type { IncomingHttpHeaders } from 'node:http';
import type { ServerKind } from './protocol.js';
import { UnsupportedServerError } from './errors.js';

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
 * What `GET /` said, as it crosses from the worker thread that asked (the main thread never loads the
 * Elasticsearch client): the server, a server Sluice does not speak to, or a failure the start-up
 * wait retries or reports (`statusCode` when the server answered).
 */
export type ProbeOutcome =
  | { ok: true; server: ServerInfo }
  | { ok: false; unsupported: { problem: string; statusCode: number | undefined } }
  | { ok: false; unsupported?: undefined; statusCode: number | undefined; message: string };

/**
 * Reads product and version from the answer to `GET /`. Throws UnsupportedServerError for a version
 * Sluice does not speak to and for an HTTP server that is not a search engine, naming what answered.
 */
export function readServer(status: number, headers: IncomingHttpHeaders, body: unknown): ServerInfo {
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

/** The problem of a 4xx answer to `GET /` that no search engine gives (401, 403, 408 and 429 can be). */
export function refusedProbe(status: number, headers: IncomingHttpHeaders): string | undefined {
  if (status < 400 || status >= 500 || [401, 403, 408, 429].includes(status)) return undefined;
  return notASearchEngine(status, headers, '');
}

function notASearchEngine(status: number, headers: IncomingHttpHeaders, detail: string): string {
  const what = [headers['content-type'] ?? 'no content type', headers.server === undefined ? '' : `server ${String(headers.server)}`].filter(Boolean).join(', ');
  return `the server is not Elasticsearch or OpenSearch: GET / answered HTTP ${status} (${what})${detail}`;
}
