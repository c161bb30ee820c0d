import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Client, errors, SniffingTransport, type ClientOptions, type TransportOptions } from '@elastic/elasticsearch';
import { redactUrl } from './config/redact.js';
import type { ServerKind, WorkerInit } from './protocol.js';
import { UnsupportedServerError } from './errors.js';

export type ElasticsearchSettings = Omit<WorkerInit['elasticsearch'], 'server'>;

/**
 * The client's own transport minus its product check. The 8.x client throws ProductNotSupportedError
 * on every 2xx answer without `X-Elastic-Product: Elasticsearch`, which OpenSearch never sends (so a
 * run pointed at OpenSearch took it for an unreachable server and waited forever). Sluice checks the
 * product itself, once, with `GET /` (probeServer), and refuses what it does not speak to.
 *
 * Why this and not the official OpenSearch client: Sluice sends pre-serialized NDJSON to `_bulk` and
 * reads per-item status and `error.type`, which both products answer alike; only the product check
 * and the media types differ (see compatHeaders). A second client would bring a second connection
 * layer (its own pool, timeouts and TLS options) and a second error hierarchy for the retry policy
 * to classify, on the hot path of every worker, for no gain we could show. What it would add is AWS
 * SigV4 request signing, which Sluice does not offer (README, Compatibility).
 */
class UncheckedTransport extends SniffingTransport {
  constructor(opts: TransportOptions) {
    super({ ...opts, productCheck: undefined });
  }
}

/**
 * One client per thread. Its own retries are off: every retry goes through Sluice's policy, with
 * backoff, so an overloaded cluster is not hit again at once. `connections` bounds the keep-alive
 * sockets this thread opens.
 */
export function createClient(es: ElasticsearchSettings, connections: number): Client {
  const auth = es.auth.apiKey
    ? { apiKey: es.auth.apiKey }
    : es.auth.bearer
      ? { bearer: es.auth.bearer }
      : es.auth.username !== undefined
        ? { username: es.auth.username, password: es.auth.password ?? '' }
        : undefined;
  const options: ClientOptions = {
    ...(es.cloudId ? { cloud: { id: es.cloudId } } : { node: es.node }),
    Transport: UncheckedTransport,
    maxRetries: 0,
    requestTimeout: es.requestTimeoutMs,
    compression: false,
    enableMetaHeader: false,
    agent: { connections },
    tls: {
      rejectUnauthorized: es.tls.rejectUnauthorized,
      ...(es.tls.ca ? { ca: readFileSync(es.tls.ca) } : {}),
    },
  };
  if (auth) options.auth = auth;
  return new Client(options);
}

/** How logs and messages name where Sluice writes: the nodes (credentials redacted) or the cloud id. */
export function targetName(es: Pick<ElasticsearchSettings, 'node' | 'cloudId'>): string {
  return es.cloudId ? `cloud id ${es.cloudId.split(':')[0]}` : es.node.map(redactUrl).join(',');
}

const PLAIN = Object.freeze({ accept: 'application/json', 'content-type': 'application/x-ndjson' });

/**
 * Media types per server. The client sends the version-8 REST compatibility types
 * (`application/vnd.elasticsearch+json; compatible-with=8`), which Elasticsearch 8.x and 9.x take
 * (9.x answers as 8.x would; every response Sluice reads is the same). OpenSearch refuses them with
 * 406 on `_bulk`, and 7.x releases before 7.17 predate them (7.17.29 takes them; verified on the local
 * node): those get plain JSON, which every supported server takes, as does a server whose version
 * Sluice could not read.
 */
export function compatHeaders(server: ServerKind): Record<string, string> | undefined {
  return server.product === 'elasticsearch' && server.major >= 8 ? undefined : { ...PLAIN };
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
      throw new UnsupportedServerError(notASearchEngine(refused, (err as errors.ResponseError).meta.headers ?? {}, ''), { cause: err });
    }
    throw err;
  }
  const root = (typeof body === 'object' && body !== null ? body : {}) as RootBody;
  const version = typeof root.version?.number === 'string' ? root.version.number : undefined;
  const product =
    root.version?.distribution === 'opensearch' ? 'opensearch' : headers['x-elastic-product'] === 'Elasticsearch' || root.tagline === 'You Know, for Search' ? 'elasticsearch' : undefined;
  if (version === undefined || product === undefined) throw new UnsupportedServerError(notASearchEngine(status, headers, ' without a search engine version'));
  const major = Number.parseInt(version, 10);
  const range = SUPPORTED[product];
  if (!(major >= range.min && major <= range.max)) throw new UnsupportedServerError(`${serverName({ product, version })} is not supported: ${SUPPORTED_TEXT}`);
  return { product, version, major, clusterName: typeof root.cluster_name === 'string' ? root.cluster_name : '' };
}

function notASearchEngine(status: number, headers: IncomingHttpHeaders, detail: string): string {
  const what = [headers['content-type'] ?? 'no content type', headers.server === undefined ? '' : `server ${String(headers.server)}`].filter(Boolean).join(', ');
  return `the server is not Elasticsearch or OpenSearch: GET / answered HTTP ${status} (${what})${detail}`;
}
