/**
 * Every `code` a Sluice error carries, one per class: callers and logs branch on it, never on text.
 */
export type ErrorCode =
  | 'SLUICE_ERROR'
  | 'SLUICE_INTERNAL'
  | 'SLUICE_CONFIG'
  | 'SLUICE_INDEX_TEMPLATE'
  | 'SLUICE_DOCS_MARKERS'
  | 'SLUICE_TRANSFORM_LOAD'
  | 'SLUICE_RECORD'
  | 'SLUICE_METRICS_LISTEN'
  | 'SLUICE_ES_UNSUPPORTED'
  | 'SLUICE_ES_AUTH'
  | 'SLUICE_ES_BULK_RESPONSE'
  | 'SLUICE_KAFKA'
  | 'SLUICE_KAFKA_CONNECT'
  | 'SLUICE_KAFKA_FATAL'
  | 'SLUICE_KAFKA_OAUTH'
  | 'SLUICE_DLQ_CLOSED'
  | 'SLUICE_DLQ_BREAKER';

/**
 * Every error Sluice raises on purpose. Each has a fixed `code`, says whether retrying can help
 * (`retriable`), keeps its facts in typed fields (the message is composed from them) and the
 * underlying `cause`. Callers branch on the class, the code or the fields, never on message text.
 */
export class SluiceError extends Error {
  readonly code: ErrorCode = 'SLUICE_ERROR';
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call Sluice made out of order (a bug, not an environment problem): the message says which. */
export class InternalError extends SluiceError {
  override readonly code = 'SLUICE_INTERNAL';
}

/** A configuration value is missing or wrong; `path` names the option (`kafka.groupId`). */
export class ConfigError extends SluiceError {
  override readonly code = 'SLUICE_CONFIG';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path} ${message}` : message);
  }
}

/** Several configuration problems, reported together so the user fixes them in one pass. */
export class ConfigErrors extends SluiceError {
  override readonly code = 'SLUICE_CONFIG';

  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

/** What is wrong with an `index.name` template. */
export type IndexTemplateProblem =
  /** A `{token}` that is neither `{topic}`, `{partition}` nor a date pattern; `token` is its inside. */
  | { kind: 'unknown_token'; token: string }
  | { kind: 'unbalanced_braces' }
  /** Upper case, or a character Elasticsearch refuses in an index name. */
  | { kind: 'invalid_name' };

/** An `index.name` template that cannot be compiled; config validation reports it under `index.name`. */
export class IndexTemplateError extends SluiceError {
  override readonly code = 'SLUICE_INDEX_TEMPLATE';

  constructor(
    readonly template: string,
    readonly problem: IndexTemplateProblem,
  ) {
    super(describeTemplateProblem(template, problem));
  }
}

function describeTemplateProblem(template: string, problem: IndexTemplateProblem): string {
  const quoted = JSON.stringify(template);
  switch (problem.kind) {
    case 'unknown_token':
      return `unknown token {${problem.token}} in index name template ${quoted}; use {topic}, {partition}, a date such as {yyyy.MM.dd} or {field:<dotted path>}`;
    case 'unbalanced_braces':
      return `unbalanced braces in index name template ${quoted}`;
    case 'invalid_name':
      return `index name template ${quoted} must be lowercase and free of \\ / * ? " < > | , # : and spaces`;
  }
}

/** A document (`file`) lacks the markers of the generated configuration reference. */
export class ReferenceMarkersError extends SluiceError {
  override readonly code = 'SLUICE_DOCS_MARKERS';

  constructor(readonly file: string) {
    super(`${file} has no config-reference markers`);
  }
}

/**
 * The user's transform module (`path`) could not be loaded (`detail`: the loader's reason), or it
 * loaded but does not export `transform` (`detail` undefined).
 */
export class TransformLoadError extends SluiceError {
  override readonly code = 'SLUICE_TRANSFORM_LOAD';

  constructor(
    readonly path: string,
    readonly detail: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(detail === undefined ? `transform module ${path} does not export a function named transform` : `transform module ${path} could not be loaded: ${detail}`, options);
  }
}

/** A record that could not be indexed, where it is in Kafka and why. */
export interface RecordErrorFacts {
  topic: string;
  partition: number;
  offset: number;
  reason: string;
}

/** A record could not be indexed and its policy is to fail: the run stops before it. */
export class RecordError extends SluiceError {
  override readonly code = 'SLUICE_RECORD';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;

  constructor(facts: RecordErrorFacts, options?: { cause?: unknown }) {
    super(`record ${facts.topic}[${facts.partition}]@${facts.offset} could not be indexed: ${facts.reason}`, options);
    this.topic = facts.topic;
    this.partition = facts.partition;
    this.offset = facts.offset;
    this.reason = facts.reason;
  }
}

/** The metrics endpoint cannot listen on `host:port` (taken, not permitted); `detail` is the system's word. */
export class MetricsListenError extends SluiceError {
  override readonly code = 'SLUICE_METRICS_LISTEN';

  constructor(
    readonly host: string,
    readonly port: number,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot serve metrics on ${host}:${port}: ${detail}`, options);
  }
}

/**
 * What answers at `elasticsearch.node` is a version Sluice does not speak to (Elasticsearch 6, OpenSearch
 * 1.x), or not Elasticsearch or OpenSearch at all. The message names what answered; the run ends.
 */
export class UnsupportedServerError extends SluiceError {
  override readonly code = 'SLUICE_ES_UNSUPPORTED';
  /** What is wrong with what answered, without where. */
  readonly problem: string;
  /** The HTTP status of `GET /`, when what answered is not a search engine. */
  readonly statusCode: number | undefined;
  /** Where Sluice looked (`elasticsearch.node` redacted, or the cloud id), once known. */
  readonly target: string | undefined;

  constructor(problem: string, facts: { statusCode?: number | undefined; target?: string | undefined } = {}, options?: { cause?: unknown }) {
    super(facts.target === undefined ? problem : `elasticsearch ${facts.target}: ${problem}`, options);
    this.problem = problem;
    this.statusCode = facts.statusCode;
    this.target = facts.target;
  }
}

/** Where an Elasticsearch (or OpenSearch) request went and what came back. */
export interface ElasticsearchFacts {
  /** The API called, method and path: `GET /`, `POST /_bulk`. */
  endpoint: string;
  /** HTTP status of the answer; undefined when none came (connection lost, timed out). */
  statusCode?: number | undefined;
  /** `error.type` of the answer (`security_exception`), when it had one. */
  esErrorType?: string | undefined;
}

/**
 * A request to Elasticsearch or OpenSearch failed. Retrying can help when no answer came or it
 * was a timeout (408), an overload (429) or a server error (5xx); the subclass says what failed.
 */
export abstract class ElasticsearchError extends SluiceError {
  abstract override readonly code: ErrorCode;
  override readonly retriable: boolean;
  readonly endpoint: string;
  readonly statusCode: number | undefined;
  readonly esErrorType: string | undefined;

  protected constructor(message: string, facts: ElasticsearchFacts, options?: { cause?: unknown }) {
    super(message, options);
    this.endpoint = facts.endpoint;
    this.statusCode = facts.statusCode;
    this.esErrorType = facts.esErrorType;
    const s = facts.statusCode;
    this.retriable = s === undefined || s === 408 || s === 429 || s >= 500;
  }
}

/** The server refuses Sluice's credentials (401): only fixing `elasticsearch.auth` helps. */
export class ElasticsearchAuthError extends ElasticsearchError {
  override readonly code = 'SLUICE_ES_AUTH';
  override readonly retriable = false;

  constructor(facts: ElasticsearchFacts & { statusCode: number }, options?: { cause?: unknown }) {
    super(`Elasticsearch refuses the credentials (${facts.statusCode}): check elasticsearch.auth`, facts, options);
  }
}

/** `_bulk` answered a different number of items (`items`) than the request held documents (`documents`). */
export class BulkResponseError extends ElasticsearchError {
  override readonly code = 'SLUICE_ES_BULK_RESPONSE';
  // A garbled answer (a proxy, a partial read): the same request sent again can be answered whole.
  override readonly retriable = true;

  constructor(
    readonly items: number,
    readonly documents: number,
  ) {
    super(`_bulk answered ${items} items for ${documents} documents`, { endpoint: 'POST /_bulk', statusCode: 200 });
  }
}

/**
 * A Kafka client call failed; `rdkafkaCode` is librdkafka's numeric error code. The caller, which
 * knows what failed, says whether retrying can help (default: it cannot).
 */
export class KafkaError extends SluiceError {
  override readonly code: ErrorCode = 'SLUICE_KAFKA';
  override readonly retriable: boolean;

  constructor(
    message: string,
    readonly rdkafkaCode: number | undefined,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    super(message, options);
    this.retriable = options?.retriable ?? false;
  }
}

/** Which Sluice client failed to connect to Kafka. */
export type KafkaClientRole = 'consumer' | 'dead-letter producer';

/** A Kafka client could not connect to `brokers`; `detail` is librdkafka's reason. Kafka may come up later. */
export class KafkaConnectError extends KafkaError {
  override readonly code = 'SLUICE_KAFKA_CONNECT';

  constructor(
    readonly client: KafkaClientRole,
    readonly brokers: readonly string[],
    readonly detail: string,
    rdkafkaCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      client === 'consumer' ? `cannot connect to Kafka at ${brokers.join(',')}: ${detail}` : `${client} cannot connect: ${detail}`,
      rdkafkaCode,
      { ...options, retriable: true },
    );
  }
}

/** librdkafka's RD_KAFKA_RESP_ERR__FATAL (node-rdkafka's CODES.ERRORS.ERR__FATAL), kept here so the worker never loads node-rdkafka. */
const RDKAFKA_ERR_FATAL = -150;

/** librdkafka declared the client unusable (`reason` from its FATAL log line): the run must stop. */
export class KafkaFatalError extends KafkaError {
  override readonly code = 'SLUICE_KAFKA_FATAL';

  constructor(readonly reason: string) {
    super(`the Kafka client failed and cannot recover: ${reason}`, RDKAFKA_ERR_FATAL);
  }
}

/** What went wrong fetching an OAuth token. */
export type TokenEndpointProblem =
  | { kind: 'unreachable'; detail: string }
  /** A non-2xx answer; `body` is its start (at most 200 characters). */
  | { kind: 'status'; status: number; body: string }
  | { kind: 'not_json' }
  | { kind: 'no_access_token' };

/** The OAuth token endpoint (`endpoint`, credentials redacted) gave no token. */
export class OAuthTokenError extends KafkaError {
  override readonly code = 'SLUICE_KAFKA_OAUTH';
  readonly problem: TokenEndpointProblem;

  constructor(
    readonly endpoint: string,
    problem: TokenEndpointProblem,
    options?: { cause?: unknown },
  ) {
    const p = problem.kind === 'status' ? { ...problem, body: problem.body.slice(0, 200) } : problem;
    // Unreachable, timed out, overloaded or failing now; a refusal or a malformed answer stays so.
    const retriable = p.kind === 'unreachable' || (p.kind === 'status' && (p.status === 408 || p.status === 429 || p.status >= 500));
    super(describeTokenProblem(endpoint, p), undefined, { ...options, retriable });
    this.problem = p;
  }
}

function describeTokenProblem(endpoint: string, problem: TokenEndpointProblem): string {
  switch (problem.kind) {
    case 'unreachable':
      return `OAuth token endpoint ${endpoint} not reachable: ${problem.detail}`;
    case 'status':
      return `OAuth token endpoint ${endpoint} answered ${problem.status}: ${problem.body}`;
    case 'not_json':
      return `OAuth token endpoint ${endpoint} did not answer JSON`;
    case 'no_access_token':
      return `OAuth token endpoint ${endpoint} answered without an access_token`;
  }
}

/**
 * The dead-letter producer closed before Kafka acknowledged a dead letter to `topic`: the record is
 * not done, its partition's offsets stay before it, and it is read (and dead-lettered) again after restart.
 */
export class DeadLetterClosedError extends SluiceError {
  override readonly code = 'SLUICE_DLQ_CLOSED';

  constructor(readonly topic: string) {
    super(`dead-letter producer closed before Kafka acknowledged the write to ${topic}`);
  }
}

/** The dead-letter circuit breaker's count when it tripped. */
export interface BreakerFacts {
  /** Failed records among the last `window` finished ones. */
  failed: number;
  window: number;
  /** `errors.dlqMaxRatio`. */
  maxRatio: number;
}

/** Too many records failed (`errors.dlqMaxRatio`): failed records are held until a restart. */
export class DeadLetterBreakerError extends SluiceError {
  override readonly code = 'SLUICE_DLQ_BREAKER';
  readonly failed: number;
  readonly window: number;
  readonly maxRatio: number;

  constructor(facts: BreakerFacts) {
    super(
      `dead-letter circuit breaker: ${facts.failed} of the last ${facts.window} finished records failed, more than errors.dlqMaxRatio ${facts.maxRatio}; failed records are held, restart to resume`,
    );
    this.failed = facts.failed;
    this.window = facts.window;
    this.maxRatio = facts.maxRatio;
  }
}
