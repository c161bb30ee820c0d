import { readFileSync } from 'node:fs';
import { ConfigError, ConfigErrors } from '../common/errors.js';
import { compileIndexTemplate, MAX_NAME_FIELDS } from '../common/index-name.js';
import { parseIdStrategy } from '../common/ids.js';
import { isTopicPattern, topicMatcher, topicPatternProblem } from '../kafka/topic-pattern.js';
import { REQUIRED, schema, type Group, type Leaf, type SluiceConfig, type Spec } from './schema.js';

/**
 * Checks a raw configuration object (from a file, with environment and flag overrides already
 * applied) against the schema and returns the typed configuration with every default filled in.
 * Values may be strings wherever a number, boolean or list is expected, since environment
 * variables and flags are strings. Every problem is collected, then thrown as one `ConfigErrors`.
 */
export function validateConfig(raw: unknown): SluiceConfig {
  const errors: ConfigError[] = [];
  const out = walkGroup(schema, raw ?? {}, '', errors);
  for (const path of REQUIRED) {
    if (getPath(out, path) === undefined && !errors.some((e) => e.path === path)) {
      errors.push(new ConfigError(path, 'is required'));
    }
  }
  const config = out as unknown as SluiceConfig;
  if (errors.length === 0) readSecretFiles(out, errors);
  if (errors.length === 0) {
    config.elasticsearch.node ??= config.elasticsearch.cloudId ? [] : ['http://127.0.0.1:9200'];
    const fallback = config.errors.dlqTopic ? 'dlq' : 'fail';
    config.errors.onMalformed ??= fallback;
    config.errors.onRejected ??= fallback;
    resolveGroupProtocol(config.kafka, errors);
    crossCheck(config, errors);
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return config;
}

function walkGroup(group: Group, raw: unknown, path: string, errors: ConfigError[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(raw)) {
    errors.push(new ConfigError(path || '(root)', `must be an object (got ${describe(raw)})`));
    return out;
  }
  for (const key of Object.keys(raw)) {
    if (!(key in group.fields)) {
      const hint = suggest(key, Object.keys(group.fields));
      errors.push(new ConfigError(join(path, key), `is not a known option${hint ? ` (did you mean ${join(path, hint)}?)` : ''}`));
    }
  }
  for (const [key, spec] of Object.entries(group.fields)) {
    const value = walk(spec, raw[key], join(path, key), errors);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function walk(spec: Spec, raw: unknown, path: string, errors: ConfigError[]): unknown {
  if (spec.kind === 'group') return walkGroup(spec, raw ?? {}, path, errors);
  if (raw === undefined || raw === null) return 'default' in spec ? spec.default : spec.kind === 'map' ? {} : undefined;
  try {
    return coerce(spec, raw, path);
  } catch (err) {
    if (err instanceof ConfigError) {
      errors.push(err);
      return undefined;
    }
    throw err;
  }
}

function coerce(spec: Leaf, raw: unknown, path: string): unknown {
  switch (spec.kind) {
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(path, `must be a string (got ${describe(raw)})`);
      const value = String(raw);
      if (value.trim() === '') throw new ConfigError(path, 'must be a non-empty string');
      if (spec.enum && !spec.enum.includes(value)) {
        throw new ConfigError(path, `must be one of ${spec.enum.join(', ')} (got ${JSON.stringify(value)})`);
      }
      if (spec.pattern && !spec.pattern.test(value)) {
        throw new ConfigError(path, `${spec.patternHint ?? `must match ${spec.pattern}`} (got ${JSON.stringify(value)})`);
      }
      return value;
    }
    case 'int': {
      const value = parseNumber(raw, spec.unit);
      if (value === undefined || !Number.isSafeInteger(value)) {
        throw new ConfigError(path, `must be a whole number${unitHint(spec.unit)} (got ${describe(raw)})`);
      }
      if (value < spec.min) throw new ConfigError(path, `must be at least ${spec.min} (got ${value})`);
      if (spec.max !== undefined && value > spec.max) throw new ConfigError(path, `must be at most ${spec.max} (got ${value})`);
      return value;
    }
    case 'ratio': {
      const value = parseNumber(raw, undefined);
      if (value === undefined || !Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(path, `must be a number from 0 to 1 (got ${describe(raw)})`);
      return value;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw new ConfigError(path, `must be true or false (got ${describe(raw)})`);
    }
    case 'stringList': {
      const items = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
      if (!Array.isArray(items) || items.some((s) => typeof s !== 'string' || s.trim() === '')) {
        throw new ConfigError(path, `must be a list of non-empty strings or a comma-separated string (got ${describe(raw)})`);
      }
      if (items.length === 0) throw new ConfigError(path, 'must not be empty');
      return items.map((s: string) => s.trim());
    }
    case 'map': {
      let value = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch {
          throw new ConfigError(path, 'must be an object, or a JSON object when given as a string');
        }
      }
      if (!isPlainObject(value)) throw new ConfigError(path, `must be an object (got ${describe(raw)})`);
      for (const [k, v] of Object.entries(value)) {
        if (!['string', 'number', 'boolean'].includes(typeof v)) {
          throw new ConfigError(`${path}.${k}`, `must be a string, number or boolean (got ${describe(v)})`);
        }
      }
      return value;
    }
  }
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** Numbers, or strings such as `4MiB` (unit bytes) and `30s` (unit ms). */
function parseNumber(raw: unknown, unit: string | undefined): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = (m[2] ?? '').toLowerCase();
  if (suffix === '') return n;
  const table = unit === 'bytes' ? SIZE_UNITS : unit === 'ms' ? TIME_UNITS : undefined;
  const factor = table?.[suffix];
  return factor === undefined ? undefined : Math.round(n * factor);
}

function unitHint(unit: string | undefined): string {
  if (unit === 'bytes') return ' of bytes, or a size such as 4MiB';
  if (unit === 'ms') return ' of milliseconds, or a duration such as 30s';
  return '';
}

/** Fills each secret from its `<name>File` sibling, when that is set. */
function readSecretFiles(config: Record<string, unknown>, errors: ConfigError[]): void {
  for (const [path, spec] of leaves()) {
    if (spec.kind !== 'string' || spec.fileOf === undefined) continue;
    const file = getPath(config, path);
    if (typeof file !== 'string') continue;
    const target = path.slice(0, path.lastIndexOf('.') + 1) + spec.fileOf;
    if (getPath(config, target) !== undefined) {
      errors.push(new ConfigError(path, `and ${target} are both set; give only one`));
      continue;
    }
    let value: string;
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      errors.push(new ConfigError(path, `cannot be read: ${(err as Error).message}`));
      continue;
    }
    if (value === '') errors.push(new ConfigError(path, `names an empty file (${file})`));
    else setPath(config, target, value);
  }
}

/** Files the configuration names must exist and be readable now, not at the first connection. */
function checkReadable(path: string, file: string | undefined, errors: ConfigError[]): void {
  if (file === undefined) return;
  try {
    readFileSync(file);
  } catch (err) {
    errors.push(new ConfigError(path, `cannot be read: ${(err as Error).message}`));
  }
}

function checkKafkaSecurity(kafka: SluiceConfig['kafka'], errors: ConfigError[]): void {
  const { tls, sasl } = kafka;
  for (const key of ['ca', 'cert', 'key'] as const) {
    if (tls[key] !== undefined && !tls.enabled) errors.push(new ConfigError(`kafka.tls.${key}`, 'is set, but kafka.tls.enabled is false'));
    checkReadable(`kafka.tls.${key}`, tls[key], errors);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) errors.push(new ConfigError('kafka.tls', 'needs both cert and key for a client certificate'));
  if (tls.keyPassword !== undefined && tls.key === undefined) errors.push(new ConfigError('kafka.tls.keyPassword', 'is set, but kafka.tls.key is not'));
  const ob = sasl.oauthbearer;
  switch (sasl.mechanism) {
    case undefined:
      for (const key of ['username', 'password'] as const) {
        if (sasl[key] !== undefined) errors.push(new ConfigError(`kafka.sasl.${key}`, 'is set, but kafka.sasl.mechanism is not'));
      }
      if (ob.tokenEndpoint ?? ob.clientId ?? ob.clientSecret) errors.push(new ConfigError('kafka.sasl.oauthbearer', 'is set, but kafka.sasl.mechanism is not oauthbearer'));
      break;
    case 'oauthbearer':
      for (const key of ['tokenEndpoint', 'clientId', 'clientSecret'] as const) {
        if (ob[key] === undefined) errors.push(new ConfigError(`kafka.sasl.oauthbearer.${key}`, 'is required with kafka.sasl.mechanism oauthbearer'));
      }
      if (ob.tokenEndpoint !== undefined && !/^https?:\/\/\S+$/.test(ob.tokenEndpoint)) {
        errors.push(new ConfigError('kafka.sasl.oauthbearer.tokenEndpoint', `must be an http:// or https:// URL (got ${JSON.stringify(ob.tokenEndpoint)})`));
      }
      break;
    default:
      for (const key of ['username', 'password'] as const) {
        if (sasl[key] === undefined) errors.push(new ConfigError(`kafka.sasl.${key}`, `is required with kafka.sasl.mechanism ${sasl.mechanism}`));
      }
  }
}

/**
 * librdkafka properties the `consumer` group protocol refuses (rdkafka_conf.c): the broker owns the
 * assignment, the session timeout and the heartbeat interval of such a group.
 */
const CLASSIC_ONLY: Readonly<Record<string, string>> = {
  'partition.assignment.strategy': 'the broker assigns the partitions; choose its assignor with group.remote.assignor (uniform or range)',
  'session.timeout.ms': 'the broker sets the session timeout (its group.consumer.session.timeout.ms)',
  'heartbeat.interval.ms': 'the broker sets the heartbeat interval (its group.consumer.heartbeat.interval.ms)',
  'group.protocol.type': 'it belongs to the classic protocol',
};

/**
 * `kafka.groupProtocol`, or librdkafka's `group.protocol` given through `kafka.rdkafka` (taken out of
 * it, so one setting decides the properties Sluice sets), and the properties that protocol refuses.
 */
function resolveGroupProtocol(kafka: SluiceConfig['kafka'], errors: ConfigError[]): void {
  const { 'group.protocol': given, ...rdkafka } = kafka.rdkafka;
  if (given !== undefined) {
    kafka.rdkafka = rdkafka;
    if (given !== 'classic' && given !== 'consumer') {
      errors.push(new ConfigError('kafka.rdkafka.group.protocol', `must be classic or consumer (got ${JSON.stringify(given)}); kafka.groupProtocol is the option for it`));
      return;
    }
    if (kafka.groupProtocol !== undefined && kafka.groupProtocol !== given) {
      errors.push(new ConfigError('kafka.rdkafka.group.protocol', `is ${given}, but kafka.groupProtocol is ${kafka.groupProtocol}; set only kafka.groupProtocol`));
      return;
    }
    kafka.groupProtocol = given;
  }
  kafka.groupProtocol ??= 'classic';
  for (const key of Object.keys(rdkafka)) {
    const why = CLASSIC_ONLY[key];
    if (kafka.groupProtocol === 'consumer' && why !== undefined) {
      errors.push(new ConfigError(`kafka.rdkafka.${key}`, `is not supported with kafka.groupProtocol consumer: ${why}`));
    }
    if (kafka.groupProtocol === 'classic' && key === 'group.remote.assignor') {
      errors.push(new ConfigError('kafka.rdkafka.group.remote.assignor', 'names the broker\'s assignor of the consumer protocol, but kafka.groupProtocol is classic'));
    }
  }
}

/** Each `^` entry of `kafka.topics` must be a pattern librdkafka and JavaScript read alike (`topic-pattern.ts`). */
function checkTopics(kafka: SluiceConfig['kafka'], errors: ConfigError[]): void {
  kafka.topics.forEach((entry, i) => {
    const problem = isTopicPattern(entry) ? topicPatternProblem(entry) : undefined;
    if (problem !== undefined) errors.push(new ConfigError(`kafka.topics[${i}]`, `is a topic pattern (it starts with ^) that ${problem} (got ${JSON.stringify(entry)})`));
  });
}

function crossCheck(config: SluiceConfig, errors: ConfigError[]): void {
  checkKafkaSecurity(config.kafka, errors);
  checkTopics(config.kafka, errors);
  if (config.elasticsearch.cloudId !== undefined && config.elasticsearch.node.length > 0) {
    errors.push(new ConfigError('elasticsearch.cloudId', 'and elasticsearch.node are both set; give only one'));
  }
  checkReadable('elasticsearch.tls.ca', config.elasticsearch.tls.ca, errors);
  const auth = config.elasticsearch.auth;
  const kinds = [auth.username !== undefined || auth.password !== undefined, auth.apiKey !== undefined, auth.bearer !== undefined];
  if (kinds.filter(Boolean).length > 1) {
    errors.push(new ConfigError('elasticsearch.auth', 'must hold only one of username+password, apiKey or bearer'));
  }
  if ((auth.username === undefined) !== (auth.password === undefined)) {
    errors.push(new ConfigError('elasticsearch.auth', 'needs both username and password'));
  }
  for (const [i, url] of config.elasticsearch.node.entries()) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) {
      errors.push(new ConfigError(`elasticsearch.node[${i}]`, `must be an http:// or https:// URL (got ${JSON.stringify(url)})`));
    }
  }
  let dated = false;
  let fieldTokens = 0;
  try {
    const router = compileIndexTemplate(config.index.name);
    dated = router.usesDate;
    fieldTokens = router.fields.length;
    // The native scan follows eight paths: four serve the timestamp, id, pipeline and routing.
    if (fieldTokens > MAX_NAME_FIELDS) {
      errors.push(new ConfigError('index.name', `has ${fieldTokens} different {field:} paths; at most ${MAX_NAME_FIELDS} are supported`));
    }
  } catch (err) {
    errors.push(new ConfigError('index.name', `is invalid: ${(err as Error).message}`));
  }
  if (config.pipeline.maxBufferedBytes < config.pipeline.batchBytes) {
    errors.push(new ConfigError('pipeline.maxBufferedBytes', `must be at least pipeline.batchBytes (${config.pipeline.batchBytes})`));
  }
  for (const key of ['onMalformed', 'onRejected', 'onNull'] as const) {
    if (config.errors[key] === 'dlq' && !config.errors.dlqTopic) {
      errors.push(new ConfigError(`errors.${key}`, 'is dlq, but errors.dlqTopic is not set'));
    }
  }
  const dlqTopic = config.errors.dlqTopic;
  if (dlqTopic) checkNotConsumed('errors.dlqTopic', dlqTopic, config.kafka.topics, errors);
  checkRedrive(config, errors);
  const ids = config.index.idStrategy;
  const idKind = parseIdStrategy(ids).kind;
  // Records that share an id must overwrite each other in offset order; `create` keeps the first and
  // counts a different record's 409 as done (and cannot carry the external version that orders them).
  if (config.index.opType === 'create' && (idKind === 'key' || idKind === 'field')) {
    errors.push(
      new ConfigError(
        'index.opType',
        `is create, which cannot be used with index.idStrategy ${ids}: records that share an id need index (the last record wins); with create a 409 would count a different record as done`,
      ),
    );
  }
  if (config.errors.onNull === 'delete') {
    // A tombstone has no value: with field ids it has no field, and kafka or none ids name no earlier
    // document. Nor can it know the day of the document it deletes.
    if (idKind !== 'key') {
      errors.push(new ConfigError('errors.onNull', `is delete, which needs index.idStrategy key (got ${ids}): only the record key names the document a tombstone deletes`));
    }
    if (dated) {
      errors.push(
        new ConfigError(
          'errors.onNull',
          `is delete, which cannot be used with date tokens in index.name (got ${JSON.stringify(config.index.name)}): a tombstone cannot know the day of the document it deletes`,
        ),
      );
    }
    if (fieldTokens > 0) {
      errors.push(
        new ConfigError(
          'errors.onNull',
          `is delete, which cannot be used with {field:} tokens in index.name (got ${JSON.stringify(config.index.name)}): a tombstone has no document to read the index name from`,
        ),
      );
    }
  }
  checkRouteOptions(config.index, errors);
  const maxPollMs = Number(config.kafka.rdkafka['max.poll.interval.ms'] ?? 300_000);
  if (config.kafka.revokeTimeoutMs > maxPollMs / 2) {
    errors.push(new ConfigError('kafka.revokeTimeoutMs', `must be at most half of max.poll.interval.ms (${maxPollMs} ms), or the member would leave the group while it waits`));
  }
  if (config.errors.maxBackoffMs < config.errors.backoffMs) {
    errors.push(new ConfigError('errors.maxBackoffMs', `must be at least errors.backoffMs (${config.errors.backoffMs})`));
  }
}

/** A topic Sluice writes dead letters to must not be one it consumes: its records would be consumed again. */
function checkNotConsumed(option: string, topic: string, topics: readonly string[], errors: ConfigError[]): void {
  if (topics.includes(topic)) {
    errors.push(new ConfigError(option, 'must not be one of kafka.topics (its records would be consumed again)'));
    return;
  }
  const pattern = topics.find((entry) => isTopicPattern(entry) && topicPatternProblem(entry) === undefined && topicMatcher(entry)(topic));
  if (pattern !== undefined) errors.push(new ConfigError(option, `must not match a pattern of kafka.topics (${JSON.stringify(pattern)}; its records would be consumed again)`));
}

/**
 * The `redrive` options, whenever they are set (`sluice redrive` itself requires them, in
 * `redriveConfig`): records that fail again must not land in the topic being re-driven, nor in one
 * the main run consumes, and the re-drive's group must not be the main run's.
 */
function checkRedrive(config: SluiceConfig, errors: ConfigError[]): void {
  const { deadLetterTopic, groupId } = config.redrive;
  if (deadLetterTopic !== undefined) {
    if (deadLetterTopic === config.errors.dlqTopic) {
      errors.push(
        new ConfigError(
          'redrive.deadLetterTopic',
          `must differ from errors.dlqTopic (both are ${JSON.stringify(deadLetterTopic)}): sluice redrive reads errors.dlqTopic, and records that fail again would land in it and be read again`,
        ),
      );
    } else checkNotConsumed('redrive.deadLetterTopic', deadLetterTopic, config.kafka.topics, errors);
  }
  if (groupId !== undefined && groupId === config.kafka.groupId) {
    errors.push(new ConfigError('redrive.groupId', `must differ from kafka.groupId (both are ${JSON.stringify(groupId)}): the re-drive would join the main run's group`));
  }
}

/**
 * `index.pipeline`, `index.routing` and their defaults. Elasticsearch 8.19 stores a pipeline under any
 * id, but `*` and `,` make a pattern or a list of it for GET and DELETE, and whitespace is a typo
 * more often than a name: such names are refused here rather than halting on the first document.
 */
function checkRouteOptions(index: SluiceConfig['index'], errors: ConfigError[]): void {
  const { pipeline, pipelineDefault, routing, routingDefault } = index;
  const badPath = (option: string, value: string): void => {
    const path = value.slice('field:'.length);
    if (path === '') errors.push(new ConfigError(option, `is field: without a path; give the document field as field:<dotted path> (got ${JSON.stringify(value)})`));
    else if (path.split('.').some((name) => name === '' || /\s/.test(name))) {
      errors.push(new ConfigError(option, `has an empty or blank name in its path field:<dotted path> (got ${JSON.stringify(value)})`));
    }
  };
  const badName = (option: string, name: string): void => {
    if (/[\s*,]/.test(name)) errors.push(new ConfigError(option, `must be a pipeline name without whitespace, * or , (got ${JSON.stringify(name)})`));
  };
  if (pipeline !== undefined) {
    if (pipeline.startsWith('field:')) badPath('index.pipeline', pipeline);
    else badName('index.pipeline', pipeline);
  }
  if (pipelineDefault !== undefined) {
    if (pipeline === undefined || !pipeline.startsWith('field:')) {
      errors.push(new ConfigError('index.pipelineDefault', 'is set, but index.pipeline is not field:<path> (a fixed pipeline needs no default)'));
    } else badName('index.pipelineDefault', pipelineDefault);
  }
  if (routing !== undefined) {
    if (routing.startsWith('field:')) badPath('index.routing', routing);
    else if (routing !== 'key') errors.push(new ConfigError('index.routing', `must be key or field:<path> (got ${JSON.stringify(routing)})`));
  }
  if (routingDefault !== undefined && routing === undefined) errors.push(new ConfigError('index.routingDefault', 'is set, but index.routing is not'));
}

export function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Sets `a.b.c` in a plain object, creating the groups on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (!isPlainObject(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}

/** Every leaf option as `[path, spec]`, in schema order. */
export function leaves(group: Group = schema, prefix = ''): Array<[string, Leaf]> {
  return Object.entries(group.fields).flatMap(([key, spec]): Array<[string, Leaf]> =>
    spec.kind === 'group' ? leaves(spec, join(prefix, key)) : [[join(prefix, key), spec]],
  );
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function suggest(key: string, known: string[]): string | undefined {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  return known.find((k) => k.toLowerCase() === lower);
}
