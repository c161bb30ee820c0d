import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Client, errors, Serializer, SniffingTransport, type ClientOptions, type TransportOptions } from '@elastic/elasticsearch';
import { UnsupportedServerError } from './errors.js';
import type { ServerKind, WorkerInit } from './protocol.js';
import { readServer, refusedProbe, type ProbeOutcome, type ServerInfo } from './server.js';

export type ElasticsearchSettings = WorkerInit['elasticsearch'];

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
 * The client's JSON serializer, minus one parse. Under the `filter_path` of every `_bulk` Sluice sends
 * (workers/bulk/service.ts), an answer in which every item succeeded begins `{"errors":false,`, and
 * then nothing after that key is read: parsing its thousands of `{"index":{"status":201}}` items cost
 * about 5 % of a worker's CPU on the passthrough. Every other answer is parsed whole, as before.
 */
export class BulkAnswerSerializer extends Serializer {
  override deserialize<T = unknown>(json: string): T {
    return (json.startsWith(ALL_ITEMS_DONE) ? { errors: false } : super.deserialize(json)) as T;
  }
}

const ALL_ITEMS_DONE = '{"errors":false,';

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
    Serializer: BulkAnswerSerializer,
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
    if (err instanceof errors.ResponseError) {
      const problem = refusedProbe(err.statusCode ?? 0, err.meta.headers ?? {});
      if (problem !== undefined) throw new UnsupportedServerError(problem, { statusCode: err.statusCode }, { cause: err });
    }
    throw err;
  }
  return readServer(status, headers, body);
}

/** `probeServer` with its outcome as data, which crosses threads whole (an error's own fields do not). */
export async function probeOutcome(client: Client): Promise<ProbeOutcome> {
  try {
    return { ok: true, server: await probeServer(client) };
  } catch (err) {
    if (err instanceof UnsupportedServerError) return { ok: false, unsupported: { problem: err.problem, statusCode: err.statusCode } };
    const status = (err as { statusCode?: unknown }).statusCode;
    return { ok: false, statusCode: typeof status === 'number' ? status : undefined, message: err instanceof Error ? err.message : String(err) };
  }
}
