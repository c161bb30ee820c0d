import { readFileSync } from 'node:fs';
import { Client, type ClientOptions } from '@elastic/elasticsearch';
import type { WorkerInit } from './protocol.js';
import { UnsupportedServerError } from './errors.js';

export type ElasticsearchSettings = Omit<WorkerInit['elasticsearch'], 'serverMajor'>;

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

/**
 * Headers for servers older than 8: the client speaks the version-8 REST compatibility media types,
 * which 7.x refuses; 7.x takes plain JSON.
 */
export function compatHeaders(serverMajor: number): Record<string, string> | undefined {
  return serverMajor < 8 ? { accept: 'application/json', 'content-type': 'application/x-ndjson' } : undefined;
}

export interface ServerInfo {
  version: string;
  major: number;
  clusterName: string;
}

/** Reads the server's version with `GET /`; Sluice speaks to 7.x (from 7.14), 8.x and 9.x. */
export async function probeServer(client: Client): Promise<ServerInfo> {
  // Accept plain JSON: a 7.x server refuses the client's default `compatible-with=8`.
  const info = (await client.transport.request({ method: 'GET', path: '/' }, { headers: { accept: 'application/json' } })) as {
    version?: { number?: string };
    cluster_name?: string;
  };
  const version = info.version?.number ?? '';
  const major = Number.parseInt(version, 10);
  if (!(major >= 7 && major <= 9)) {
    throw new UnsupportedServerError(`Elasticsearch ${version || '(unknown version)'} is not supported: Sluice speaks to 7.14 and later, 8.x and 9.x`);
  }
  return { version, major, clusterName: info.cluster_name ?? '' };
}
