import type { Client } from '@elastic/elasticsearch';
import rdkafka, { type KafkaConsumer, type Metadata } from 'node-rdkafka';
import type { Logger } from 'pino';
import { compileIndexTemplate } from './common/index-name.js';
import type { SluiceConfig } from './config/schema.js';
import { createClient, probeServer } from './common/es-client.js';
import { serverName, type ServerInfo } from './common/server.js';
import { targetName } from './elasticsearch/server.js';
import { createTokenSource } from './kafka/auth.js';
import { baseProperties, type RdkafkaProperties } from './kafka/base-config.js';
import { isTopicPattern, topicMatcher } from './kafka/topic-pattern.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckLine {
  level: CheckLevel;
  message: string;
}

const TIMEOUT_MS = 15_000;

/**
 * `sluice check`: connects to Kafka and Elasticsearch with the run's own settings and reports what
 * a run would run into: unreachable or refusing servers, missing topics, the group's position,
 * the server version and health, the target indices and the right to write them. Reads only; it
 * never joins the group, commits, creates or writes anything.
 */
export async function checkConfig(config: SluiceConfig, logger: Logger): Promise<CheckLine[]> {
  const lines: CheckLine[] = [{ level: 'ok', message: 'configuration is valid' }];
  // The indices to look at follow the topics, which for a pattern only Kafka's metadata knows.
  const kafka = checkKafka(config, logger);
  const [kafkaLines, es] = await Promise.all([kafka.then((k) => k.lines), checkElasticsearch(config, kafka.then((k) => k.topics))]);
  return [...lines, ...kafkaLines, ...es];
}

/** The check's librdkafka properties: the run's connection and group, never committing. */
export function checkProperties(config: SluiceConfig): RdkafkaProperties {
  return baseProperties(config.kafka, 'sluice-check', { 'group.id': config.kafka.groupId, 'enable.auto.commit': false });
}

/** The Kafka lines, and the topics a run would consume (the plain entries alone when Kafka could not be read). */
async function checkKafka(config: SluiceConfig, logger: Logger): Promise<{ lines: CheckLine[]; topics: string[] }> {
  const out: CheckLine[] = [];
  const consumed = new Set(config.kafka.topics.filter((entry) => !isTopicPattern(entry)));
  const where = `kafka ${config.kafka.brokers.join(',')}`;
  const errors: string[] = [];
  const consumer: KafkaConsumer = new rdkafka.KafkaConsumer(checkProperties(config), {});
  consumer.on('event.error', (err) => errors.push(err.message));
  // A refused connection never gets to deliver an error event before connect() gives up; the
  // reason (e.g. "SASL authentication error: …") is in librdkafka's FAIL log lines.
  consumer.on('event.log', (log: { fac: string; message: string }) => {
    // "[thrd:<broker>]: <broker>: <reason> (after 301ms in state AUTH_REQ…)" → "<reason>"
    if (log.fac === 'FAIL') errors.push(log.message.replace(/^\[thrd:[^\]]*\]: \S+: /, '').replace(/ \(after \d+ms in state .*\)$/, ''));
  });
  const tokens = config.kafka.sasl.mechanism === 'oauthbearer' ? createTokenSource(config.kafka, logger) : undefined;
  let metadata: Metadata;
  try {
    if (tokens) {
      await tokens.start();
      tokens.attach(consumer);
    }
    metadata = await new Promise<Metadata>((resolve, reject) => consumer.connect({ timeout: TIMEOUT_MS }, (err, md) => (err ? reject(err) : resolve(md))));
  } catch (err) {
    const detail = [...new Set([(err as Error).message, ...errors])].join('; ');
    out.push({ level: 'fail', message: `${where}: cannot connect (${detail})` });
    tokens?.close();
    return { lines: out, topics: [...consumed] };
  }
  try {
    out.push({ level: 'ok', message: `${where}: connected, ${metadata.brokers.length} broker(s)${securityNote(config)}` });
    const topics = new Map(metadata.topics.map((t) => [t.name, t]));
    const assignable: Array<{ topic: string; partition: number }> = [];
    const listed = new Set<string>();
    const addAssignable = (name: string, partitions: number[]): void => {
      consumed.add(name);
      if (listed.has(name)) return;
      listed.add(name);
      for (const id of partitions) assignable.push({ topic: name, partition: id });
    };
    for (const name of config.kafka.topics) {
      if (isTopicPattern(name)) {
        // As librdkafka matches a subscription's pattern: every topic of the cluster with partitions.
        const matches = topicMatcher(name);
        const matched = metadata.topics.filter((t) => t.partitions.length > 0 && matches(t.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        if (matched.length === 0) {
          out.push({ level: 'warn', message: `topic pattern ${name}: matches no topic yet; a topic created later that matches is consumed within kafka.metadataRefreshMs (${config.kafka.metadataRefreshMs} ms)` });
        } else {
          out.push({ level: 'ok', message: `topic pattern ${name}: matches ${matched.length} topic(s): ${matched.map((t) => `${t.name} (${t.partitions.length} partition(s))`).join(', ')}` });
        }
        for (const t of matched) addAssignable(t.name, t.partitions.map((p) => p.id));
        continue;
      }
      const t = topics.get(name);
      if (!t || t.partitions.length === 0) out.push({ level: 'fail', message: `topic ${name}: does not exist` });
      else {
        out.push({ level: 'ok', message: `topic ${name}: ${t.partitions.length} partition(s)` });
        addAssignable(name, t.partitions.map((p) => p.id));
      }
    }
    const dlq = config.errors.dlqTopic;
    if (dlq !== undefined) {
      if (topics.has(dlq)) out.push({ level: 'ok', message: `dead-letter topic ${dlq}: exists` });
      else out.push({ level: 'warn', message: `dead-letter topic ${dlq}: does not exist; Sluice never creates it: create it, or the first dead letter halts the run until it exists` });
    }
    const again = config.redrive.deadLetterTopic;
    if (again !== undefined) {
      if (topics.has(again)) out.push({ level: 'ok', message: `re-drive dead-letter topic ${again}: exists` });
      else out.push({ level: 'warn', message: `re-drive dead-letter topic ${again}: does not exist; Sluice never creates it: create it, or sluice redrive halts at the first record that fails again until it exists` });
    }
    if (assignable.length > 0) out.push(await groupPosition(consumer, config.kafka.groupId, assignable));
  } finally {
    tokens?.close();
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return { lines: out, topics: [...consumed] };
}

/** The group's committed offsets against the partition ends: how far behind it is. */
async function groupPosition(consumer: KafkaConsumer, groupId: string, tps: Array<{ topic: string; partition: number }>): Promise<CheckLine> {
  try {
    const committed = await new Promise<Array<{ topic: string; partition: number; offset?: number }>>((resolve, reject) =>
      consumer.committed(tps, TIMEOUT_MS, (err, list) => (err ? reject(err) : resolve(list))),
    );
    let withCommit = 0;
    let lag = 0;
    for (const c of committed) {
      const ends = await new Promise<{ highOffset: number; lowOffset: number }>((resolve, reject) =>
        consumer.queryWatermarkOffsets(c.topic, c.partition, TIMEOUT_MS, (err, w) => (err ? reject(err) : resolve(w))),
      );
      // Records below the log start are gone whatever the commit says. Transaction markers take
      // offsets too, so on a transactional topic this is an upper bound of the records.
      if (c.offset !== undefined && c.offset >= 0) {
        withCommit++;
        lag += Math.max(0, ends.highOffset - Math.max(c.offset, ends.lowOffset));
      } else lag += ends.highOffset - ends.lowOffset;
    }
    const start = withCommit < tps.length ? ` (the other partitions start from the ${withCommit === 0 ? 'configured' : 'kafka.startFrom'} position)` : '';
    return { level: 'ok', message: `group ${groupId}: committed offsets on ${withCommit} of ${tps.length} partition(s), ${lag.toLocaleString('en-US')} offset(s) behind${start}` };
  } catch (err) {
    return { level: 'fail', message: `group ${groupId}: cannot read its committed offsets (${(err as Error).message})` };
  }
}

function securityNote(config: SluiceConfig): string {
  const { tls, sasl } = config.kafka;
  const parts = [tls.enabled ? 'TLS' : '', sasl.mechanism ? `SASL ${sasl.mechanism.toUpperCase()}` : ''].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

async function checkElasticsearch(config: SluiceConfig, topics: Promise<string[]>): Promise<CheckLine[]> {
  const out: CheckLine[] = [];
  const es = config.elasticsearch;
  const where = `elasticsearch ${targetName(es)}`;
  const client = createClient({ ...es, requestTimeoutMs: TIMEOUT_MS }, 2);
  let info: ServerInfo;
  try {
    try {
      info = await probeServer(client);
      out.push({ level: 'ok', message: `${where}: ${serverName(info)}, cluster ${info.clusterName}` });
    } catch (err) {
      out.push({ level: 'fail', message: `${where}: ${describeError(err)}` });
      return out;
    }
    const health = await get<{ status?: string; number_of_nodes?: number }>(client, '/_cluster/health');
    if (!health.ok) out.push({ level: 'fail', message: `cluster health: ${health.error}` });
    else {
      const status = health.body.status ?? 'unknown';
      out.push({ level: status === 'red' ? 'fail' : status === 'yellow' ? 'warn' : 'ok', message: `cluster health: ${status}, ${health.body.number_of_nodes ?? '?'} node(s)${status === 'yellow' ? ' (replicas unassigned; writes work)' : ''}` });
    }
    const names = sampleIndices(config, await topics);
    if (names.length === 0) {
      out.push({ level: 'warn', message: 'indices: not checked, no topic matches kafka.topics yet' });
      return out;
    }
    const missing: string[] = [];
    for (const name of names) {
      // A {field:…} token names the index per record: the sample shows it as `*`, a pattern that GET
      // would expand (and call existing when nothing matches). Only the write permission applies.
      if (name.includes('*')) {
        out.push({ level: 'warn', message: `index ${name}: named per record from {field:…} tokens, so its existence is not checked; each record's index is created on its first write where auto-create allows it` });
        missing.push(name);
        continue;
      }
      const exists = await get(client, `/${encodeURIComponent(name)}`);
      if (exists.ok) {
        out.push({ level: 'ok', message: `index ${name}: exists` });
        continue;
      }
      if (exists.status === 403) {
        out.push({ level: 'warn', message: `index ${name}: not checked, the credentials may not read index metadata (${exists.error}); the write permission below decides` });
        continue;
      }
      if (exists.status !== 404) {
        out.push({ level: 'fail', message: `index ${name}: ${exists.error}` });
        continue;
      }
      missing.push(name);
      // Answers the settings the index would get from the matching template, or {} when none matches.
      const simulated = await request<{ template?: unknown }>(client, 'POST', `/_index_template/_simulate_index/${encodeURIComponent(name)}`);
      if (!simulated.ok) {
        out.push({ level: 'warn', message: `index ${name}: does not exist yet; index templates not checked (${simulated.error})` });
        continue;
      }
      out.push(
        simulated.body.template !== undefined
          ? { level: 'ok', message: `index ${name}: does not exist yet; the first write creates it from the matching index template` }
          : { level: 'warn', message: `index ${name}: does not exist and no index template matches; the first write creates it with dynamic mappings` },
      );
    }
    // OpenSearch's security plugin has no `_has_privileges`; a refused write halts the run instead.
    if (info.product === 'opensearch') out.push({ level: 'warn', message: `write permission: not checked, OpenSearch has no privileges API Sluice can ask; a refused write halts the run` });
    else out.push(await writePermission(client, config, names, missing));
  } finally {
    await client.close();
  }
  return out;
}

/** The index names a run writes first: the template applied to each topic, partition 0, today. */
function sampleIndices(config: SluiceConfig, topics: readonly string[]): string[] {
  const router = compileIndexTemplate(config.index.name);
  return [...new Set(topics.map((topic) => router.name(topic, 0, Date.now())))];
}

async function writePermission(client: Client, config: SluiceConfig, names: string[], missing: string[]): Promise<CheckLine> {
  const privileges = [config.index.opType === 'create' ? 'create_doc' : 'index'];
  if (missing.length > 0) privileges.push('create_index');
  if (config.errors.onNull === 'delete') privileges.push('delete');
  const answer = await request<{ has_all_requested?: boolean; index?: Record<string, Record<string, boolean>> }>(client, 'POST', '/_security/user/_has_privileges', {
    index: [{ names, privileges }],
  });
  if (!answer.ok) {
    if (answer.status === 401) return { level: 'fail', message: `write permission: the credentials are refused (${answer.error})` };
    return { level: 'warn', message: `write permission: not checked, the security API is not available (${answer.error}); without security every client may write` };
  }
  if (answer.body.has_all_requested) return { level: 'ok', message: `write permission: ${privileges.join(', ')} on ${names.join(', ')}` };
  const lacking = Object.entries(answer.body.index ?? {}).flatMap(([index, privs]) => Object.entries(privs).filter(([, has]) => !has).map(([p]) => `${p} on ${index}`));
  return { level: 'fail', message: `write permission: the user lacks ${lacking.join(', ') || privileges.join(', ')}` };
}

type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number | undefined; error: string };

function get<T>(client: Client, path: string): Promise<Answer<T>> {
  return request<T>(client, 'GET', path);
}

async function request<T>(client: Client, method: string, path: string, body?: unknown): Promise<Answer<T>> {
  try {
    const res = await client.transport.request<T>(
      { method, path, ...(body === undefined ? {} : { body: body as Record<string, unknown> }) },
      { headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, meta: true },
    );
    return { ok: true, status: res.statusCode ?? 200, body: res.body };
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    return { ok: false, status, error: describeError(err) };
  }
}

function describeError(err: unknown): string {
  const e = err as { statusCode?: number; body?: { error?: { type?: string; reason?: string } | string }; message?: string };
  if (e.statusCode !== undefined) {
    const b = e.body?.error;
    const detail = typeof b === 'string' ? b : b ? `${b.type ?? ''}${b.reason ? `: ${b.reason}` : ''}` : '';
    return `HTTP ${e.statusCode}${detail ? ` ${detail}` : ''}`;
  }
  return e.message ?? String(err);
}
