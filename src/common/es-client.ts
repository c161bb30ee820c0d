import { readFileSync } from 'node:fs';
import { Client, SniffingTransport, type ClientOptions, type TransportOptions } from '@elastic/elasticsearch';
import type { ServerKind, WorkerInit } from './protocol.js';

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
