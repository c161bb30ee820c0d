/**
 * The search server the compatibility suite runs against: one of the local nodes that
 * `test/services/services.sh` starts, chosen by SLUICE_COMPAT_TARGET (test/run.sh starts each in
 * turn, next to Kafka). SLUICE_COMPAT_URL points the suite at another node of the same kind.
 */
export interface Target {
  /** The services.sh name: elasticsearch (8.19), es7, es9 or opensearch. */
  service: string;
  title: string;
  product: 'elasticsearch' | 'opensearch';
  /** How `GET /` must begin version.number. */
  version: string;
  url: string;
  /** The variable services.sh passes to the node as its settings. */
  settingsVar: string;
  /** `error.type` of a document that does not fit its mapping. */
  parseError: string;
  /** `error.type` of an item refused by a full write queue (429). */
  rejectedError: string;
}

const port = (name: string, fallback: number): string => process.env[name] ?? String(fallback);

const targets: Record<string, Omit<Target, 'url'> & { portVar: string; port: number }> = {
  elasticsearch: { service: 'elasticsearch', title: 'Elasticsearch 8.19', product: 'elasticsearch', version: '8.19.', portVar: 'SLUICE_ES_PORT', port: 9200, settingsVar: 'SLUICE_ES_SETTINGS', parseError: 'document_parsing_exception', rejectedError: 'es_rejected_execution_exception' },
  es7: { service: 'es7', title: 'Elasticsearch 7.17', product: 'elasticsearch', version: '7.17.', portVar: 'SLUICE_ES7_PORT', port: 9201, settingsVar: 'SLUICE_ES7_SETTINGS', parseError: 'mapper_parsing_exception', rejectedError: 'es_rejected_execution_exception' },
  es9: { service: 'es9', title: 'Elasticsearch 9.x', product: 'elasticsearch', version: '9.', portVar: 'SLUICE_ES9_PORT', port: 9202, settingsVar: 'SLUICE_ES9_SETTINGS', parseError: 'document_parsing_exception', rejectedError: 'es_rejected_execution_exception' },
  opensearch: { service: 'opensearch', title: 'OpenSearch 2.19', product: 'opensearch', version: '2.19.', portVar: 'SLUICE_OPENSEARCH_PORT', port: 9203, settingsVar: 'SLUICE_OPENSEARCH_SETTINGS', parseError: 'mapper_parsing_exception', rejectedError: 'rejected_execution_exception' },
};

export function compatTarget(): Target {
  const name = process.env['SLUICE_COMPAT_TARGET'] ?? 'elasticsearch';
  const t = targets[name];
  if (t === undefined) throw new Error(`SLUICE_COMPAT_TARGET must be one of ${Object.keys(targets).join(', ')} (got ${name})`);
  const { portVar, port: fallback, ...rest } = t;
  return { ...rest, url: process.env['SLUICE_COMPAT_URL'] ?? `http://127.0.0.1:${port(portVar, fallback)}` };
}

export interface Reply {
  status: number;
  // A JSON answer, checked field by field.
  body: any;
}

/**
 * Plain HTTP to the target: no client library, so the suite sees the server and not a client's
 * view of it (the Elasticsearch client refuses OpenSearch).
 */
export async function call(target: Target, method: string, path: string, body?: unknown): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: payload }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Documents in the index, after a refresh. */
export async function count(target: Target, index: string): Promise<number> {
  await call(target, 'POST', `/${index}/_refresh`);
  const r = await call(target, 'GET', `/${index}/_count`);
  return r.status === 200 ? (r.body.count as number) : 0;
}

/** Every document of a small index: id → source. */
export async function documents(target: Target, index: string, size: number): Promise<Map<string, Record<string, unknown>>> {
  await call(target, 'POST', `/${index}/_refresh`);
  const r = await call(target, 'POST', `/${index}/_search`, { size, sort: ['_doc'], query: { match_all: {} } });
  return new Map((r.body.hits.hits as Array<{ _id: string; _source: Record<string, unknown> }>).map((h) => [h._id, h._source]));
}

/** A one-shard, no-replica index (green on one node), created before Sluice writes to it. */
export async function createIndex(target: Target, index: string, properties: Record<string, unknown> = {}): Promise<void> {
  const r = await call(target, 'PUT', `/${index}`, { settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: { properties } });
  if (r.status !== 200) throw new Error(`creating ${index}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

export async function writeQueueSize(target: Target): Promise<number> {
  const nodes = (await call(target, 'GET', '/_nodes/_local/thread_pool')).body.nodes;
  return (Object.values(nodes)[0] as { thread_pool: { write: { queue_size: number } } }).thread_pool.write.queue_size;
}
