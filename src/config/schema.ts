import { availableParallelism } from 'node:os';

/**
 * The configuration schema: every option Sluice reads, with its type, default and meaning. Options
 * are data, validated once at load (`validate.ts`); the README's reference is generated from here.
 */

/** `defaultDoc` describes a default that depends on the machine or on other options. */
export type Leaf =
  | {
      kind: 'string';
      doc: string;
      default?: string;
      defaultDoc?: string;
      enum?: readonly string[];
      /** Never printed or logged; may also come from a file through the `<key>File` sibling. */
      secret?: boolean;
      /** This option names a file whose contents become the secret sibling `fileOf`. */
      fileOf?: string;
      pattern?: RegExp;
      patternHint?: string;
    }
  | { kind: 'int'; doc: string; default?: number; defaultDoc?: string; min: number; max?: number; unit?: string }
  /** A share between 0 and 1. */
  | { kind: 'ratio'; doc: string; default: number }
  | { kind: 'bool'; doc: string; default: boolean }
  | { kind: 'stringList'; doc: string; default?: readonly string[]; defaultDoc?: string }
  | { kind: 'map'; doc: string };

export interface Group {
  kind: 'group';
  doc?: string;
  fields: Readonly<Record<string, Spec>>;
}

export type Spec = Leaf | Group;

const MiB = 1024 * 1024;

/** One worker per core, leaving one core for the main thread (the consumer and the dispatcher). */
export const DEFAULT_WORKERS = Math.max(1, availableParallelism() - 1);

export const schema: Group = {
  kind: 'group',
  fields: {
    kafka: {
      kind: 'group',
      fields: {
        brokers: { kind: 'stringList', doc: 'Bootstrap brokers, `host:port`; a string with commas or a list.' },
        groupId: { kind: 'string', doc: 'Consumer group id.' },
        topics: {
          kind: 'stringList',
          doc: 'Topics to consume. An entry starting with `^` is a regular expression over topic names (`^logs-.*`), matched by librdkafka as a POSIX extended regular expression; Sluice refuses the constructs JavaScript would read differently (`\\d`, `\\w` and other backslash letters, `[[:digit:]]`, a backslash inside `[...]`, `(?…)`, lazy quantifiers): write sets such as `[0-9]`. Topics created later that match are consumed from the next metadata refresh (`kafka.metadataRefreshMs`); Kafka\'s internal topics (`__consumer_offsets`, `__transaction_state`, `__share_group_state`) never match. `sluice check` lists what each pattern matches.',
        },
        startFrom: {
          kind: 'string',
          doc: 'Where a group with no committed offset starts; also where a partition resumes when its offset is out of range (records deleted by retention before they were read): `latest` then skips every record in between. Such a reset is logged as a warning and counted in `sluice_offset_resets_total`.',
          default: 'earliest',
          enum: ['earliest', 'latest'],
        },
        groupInstanceId: {
          kind: 'string',
          doc: 'Static membership id (`group.instance.id`): a restart within the session timeout keeps its partitions. Under `kafka.groupProtocol` consumer the session timeout is the broker\'s `group.consumer.session.timeout.ms`, and a member joining with an id still in use is refused (the classic protocol fences the older member instead).',
        },
        groupProtocol: {
          kind: 'string',
          doc: 'Consumer group protocol. `classic`: the members assign the partitions among themselves (Sluice sets librdkafka\'s cooperative-sticky assignor). `consumer`: the protocol of KIP-848, for Kafka 4.0 or later: the broker assigns the partitions (its assignor can be chosen with `group.remote.assignor` in `kafka.rdkafka`: `uniform` or `range`) and sets the session timeout and heartbeat interval (broker settings `group.consumer.session.timeout.ms` and `group.consumer.heartbeat.interval.ms`), so `session.timeout.ms`, `heartbeat.interval.ms`, `partition.assignment.strategy` and `group.protocol.type` are refused in `kafka.rdkafka`. Under both, a rebalance moves only the partitions that change owner, and a revoked partition finishes its batches and commits before it is released.',
          defaultDoc: '`classic`, or `group.protocol` given in `kafka.rdkafka`',
          enum: ['classic', 'consumer'],
        },
        metadataRefreshMs: {
          kind: 'int',
          doc: 'With a `^` pattern in `kafka.topics`: how often librdkafka reads the cluster\'s topic list (`topic.metadata.refresh.interval.ms`, a full metadata request), so a topic created later that matches is assigned within about this long. Without patterns librdkafka\'s own default (5 minutes) stays.',
          default: 30_000,
          min: 1_000,
          unit: 'ms',
        },
        revokeTimeoutMs: {
          kind: 'int',
          doc: 'How long a revoke waits for the batches in flight of the revoked partitions before releasing them (librdkafka fetches nothing meanwhile); their records not done by then are indexed again by the next owner.',
          default: 10_000,
          min: 0,
          unit: 'ms',
        },
        tls: {
          kind: 'group',
          doc: 'TLS to the brokers (librdkafka `ssl.*`).',
          fields: {
            enabled: { kind: 'bool', doc: 'Connect with TLS (`security.protocol` ssl, or sasl_ssl with `kafka.sasl`).', default: false },
            ca: { kind: 'string', doc: 'PEM file of the CA that signed the broker certificates (`ssl.ca.location`); the system CAs when absent.' },
            cert: { kind: 'string', doc: 'PEM client certificate, for brokers that require one (`ssl.certificate.location`).' },
            key: { kind: 'string', doc: 'PEM private key of the client certificate (`ssl.key.location`).' },
            ...secret('keyPassword', 'Password of the client private key (`ssl.key.password`).'),
            rejectUnauthorized: { kind: 'bool', doc: 'Verify the broker certificate (`enable.ssl.certificate.verification`).', default: true },
          },
        },
        sasl: {
          kind: 'group',
          doc: 'SASL authentication (librdkafka `sasl.*`).',
          fields: {
            mechanism: {
              kind: 'string',
              doc: 'SASL mechanism; unset = no SASL.',
              enum: ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'],
            },
            username: { kind: 'string', doc: 'User for plain and scram-*.' },
            ...secret('password', 'Password for plain and scram-*.'),
            oauthbearer: {
              kind: 'group',
              doc: 'OAuth 2 client-credentials grant for `oauthbearer`: Sluice fetches the token and refreshes it before it expires.',
              fields: {
                tokenEndpoint: { kind: 'string', doc: 'Token endpoint URL of the identity provider.' },
                clientId: { kind: 'string', doc: 'OAuth client id.' },
                ...secret('clientSecret', 'OAuth client secret.'),
                scope: { kind: 'string', doc: 'Scope(s) to request, space-separated.' },
              },
            },
          },
        },
        rdkafka: { kind: 'map', doc: 'Extra librdkafka properties, passed through as they are (they win over the options above).' },
      },
    },
    elasticsearch: {
      kind: 'group',
      fields: {
        node: { kind: 'stringList', doc: 'Elasticsearch URL(s).', defaultDoc: '`http://127.0.0.1:9200` unless `cloudId` is set' },
        cloudId: { kind: 'string', doc: 'Elastic Cloud deployment id; replaces `node`.' },
        auth: {
          kind: 'group',
          doc: 'At most one of: username + password, apiKey, bearer.',
          fields: {
            username: { kind: 'string', doc: 'Basic auth user.' },
            ...secret('password', 'Basic auth password.'),
            ...secret('apiKey', 'API key (the base64 `id:key`).'),
            ...secret('bearer', 'Bearer token.'),
          },
        },
        tls: {
          kind: 'group',
          fields: {
            ca: { kind: 'string', doc: 'Path to a PEM file of the CA that signed the cluster certificate.' },
            rejectUnauthorized: { kind: 'bool', doc: 'Verify the server certificate.', default: true },
          },
        },
        requestTimeoutMs: {
          kind: 'int',
          doc: 'Timeout of one `_bulk` request; a timed-out request is retried.',
          default: 120_000,
          min: 1_000,
          unit: 'ms',
        },
        compression: {
          kind: 'string',
          doc: 'Content encoding of `_bulk` request bodies. `gzip` (level 1) is done in the worker thread that built the body and sends about a fifth of the bytes, for 7–9 CPU seconds per million 1 KB documents: worth it when the network to the cluster is slow or metered, not on a local one. Every supported server (Elasticsearch 7.17, 8.x, 9.x, OpenSearch) accepts it; responses are not compressed.',
          default: 'none',
          enum: ['none', 'gzip'],
        },
      },
    },
    index: {
      kind: 'group',
      fields: {
        name: {
          kind: 'string',
          doc: 'Target index template: `{topic}`, `{partition}`, date tokens such as `{yyyy.MM.dd}` or `{yyyy.MM}` (UTC), and up to four `{field:<path>}` tokens = a document field (a non-empty string, or a whole number within ±2^53 − 1 as its decimal text), lowercased. A record whose field is missing, or whose name Elasticsearch would refuse (starting with `-`, `_` or `+`, `.` or `..`, holding `\\ / * ? " < > | , # :` or a space, over 255 bytes), fails (stage `route`, by `errors.onMalformed`); there is no default. `{field:}` tokens cannot be used with `errors.onNull` delete.',
          default: '{topic}',
        },
        timestampField: {
          kind: 'string',
          doc: 'Document field (dotted path) whose ISO date or epoch milliseconds fill the date tokens; the Kafka timestamp when absent, invalid or outside the years 0000–9999 (epoch micro- or nanoseconds).',
          default: '@timestamp',
        },
        opType: {
          kind: 'string',
          doc: '`index` overwrites; `create` never overwrites (a 409 on replay counts as done), and is refused with `key` or `field:` ids, where different records share an id.',
          default: 'index',
          enum: ['index', 'create'],
        },
        idStrategy: {
          kind: 'string',
          doc: '`kafka` = `<topic>-<partition>-<offset>`; `key` = the record key (as it is when valid UTF-8 not starting with `b64:`, else `b64:` + unpadded base64url of its bytes); `field:<path>` = a document field (a string, or a whole number within ±2^53 − 1); `none` = Elasticsearch generates ids (faster, duplicates on replay). With `key` and `field:` ids every write carries its record\'s Kafka offset as external version, so the last record of a partition wins; records of different partitions that share an id are ordered by their offsets too, which only makes sense when the id follows the Kafka key.',
          default: 'kafka',
          pattern: /^(kafka|key|none|field:[^\s]+)$/,
          patternHint: 'must be kafka, key, none or field:<path>',
        },
        pipeline: {
          kind: 'string',
          doc: 'Ingest pipeline each indexed document goes through (`"pipeline"` in its action line; never on deletes): a pipeline name, or `field:<path>` = the name in a document field (a non-empty string), as `index.idStrategy` reads one. A document without it fails (stage `route`, by `errors.onMalformed`) unless `index.pipelineDefault` is set. A pipeline that does not exist halts Sluice (every partition paused, the reason in `/readyz` and the log) until it is created; the run then resumes by itself. Unset = the index\'s own default pipeline, if any.',
        },
        pipelineDefault: {
          kind: 'string',
          doc: 'With `index.pipeline` `field:<path>`: the pipeline of documents that have no name at that path.',
        },
        routing: {
          kind: 'string',
          doc: 'Custom shard routing (`"routing"` in every action line, deletes included): `field:<path>` = a document field (a non-empty string, or a whole number within ±2^53 − 1); `key` = the record key (as `index.idStrategy` key reads it). A tombstone has no document: with `errors.onNull` delete, only `key` (or `index.routingDefault`) can route its delete. A record without a value fails (stage `route`) unless `index.routingDefault` is set. Documents routed this way must be read and deleted with the same routing.',
        },
        routingDefault: {
          kind: 'string',
          doc: 'With `index.routing`: the routing value of records (and tombstones) that have none.',
        },
      },
    },
    input: {
      kind: 'group',
      fields: {
        format: {
          kind: 'string',
          doc: '`json`; `msgpack`; `text` (each value becomes `{"message": …}`).',
          default: 'json',
          enum: ['json', 'msgpack', 'text'],
        },
        invalidUtf8: {
          kind: 'string',
          doc: 'A `json` or `text` value that is not valid UTF-8: `fail` (malformed, with the reason) or `replace` (bad bytes become U+FFFD). A leading BOM is skipped either way.',
          default: 'fail',
          enum: ['fail', 'replace'],
        },
      },
    },
    transform: {
      kind: 'string',
      doc: '`none`, `apm-log`, or the path of a JS module exporting `transform(record)` that returns (or resolves to) a document, an array of documents, or `null` (dropped and counted).',
      default: 'none',
    },
    pipeline: {
      kind: 'group',
      fields: {
        workers: { kind: 'int', doc: 'Worker threads.', default: DEFAULT_WORKERS, defaultDoc: 'cores − 1, at least 1', min: 1, max: 256 },
        batchBytes: { kind: 'int', doc: 'A batch is sent to a worker once its record values reach this size.', default: 4 * MiB, min: 1024, unit: 'bytes' },
        batchDocs: { kind: 'int', doc: 'A batch is sent to a worker once it holds this many records.', default: 5000, min: 1 },
        lingerMs: { kind: 'int', doc: 'A batch that is not full is sent after waiting at most this long; sooner when Kafka has nothing more waiting.', default: 100, min: 0, unit: 'ms' },
        maxDocBytes: {
          kind: 'int',
          doc: 'Records larger than this are not sent to Elasticsearch; they go by `errors.onRejected`.',
          default: 16 * MiB,
          min: 1024,
          unit: 'bytes',
        },
        bulkMaxBytes: { kind: 'int', doc: 'Largest `_bulk` body; a batch whose NDJSON is larger is split.', default: 8 * MiB, min: 4096, unit: 'bytes' },
        maxInFlightBulks: { kind: 'int', doc: 'Batches being indexed at once, over all workers.', default: 4, min: 1, max: 4096 },
        maxInFlightBytes: { kind: 'int', doc: 'Record bytes being indexed at once, over all workers.', default: 64 * MiB, min: 1024, unit: 'bytes' },
        maxBufferedBytes: {
          kind: 'int',
          doc: 'Byte budget for records fetched but not yet indexed; above it every partition is paused (polling goes on), below half of it they resume.',
          default: 128 * MiB,
          min: 1024 * 64,
          unit: 'bytes',
        },
        taskTimeoutMs: {
          kind: 'int',
          doc: 'Deadline for a worker to decode, transform and encode one batch (not for indexing it: `_bulk` requests and their retries are not limited by it). Past it the worker thread is terminated and replaced; the batch is split until the record that hangs is alone, and that record fails with stage `worker` (timed out).',
          default: 30_000,
          min: 100,
          unit: 'ms',
        },
      },
    },
    errors: {
      kind: 'group',
      fields: {
        dlqTopic: {
          kind: 'string',
          doc: 'Dead-letter topic: records that cannot be indexed go there with headers saying why; they count as done only once Kafka acknowledged them.',
        },
        onMalformed: {
          kind: 'string',
          doc: 'Records that cannot be decoded, transformed or given an id: `dlq`, `skip` (counted and logged) or `fail` (stop the partition before the record).',
          defaultDoc: '`dlq` with `errors.dlqTopic`, else `fail`',
          enum: ['dlq', 'skip', 'fail'],
        },
        onRejected: {
          kind: 'string',
          doc: 'Documents Elasticsearch refuses (mapping and parsing errors, other per-item 400s) and records over `pipeline.maxDocBytes`: `dlq`, `skip` or `fail`.',
          defaultDoc: '`dlq` with `errors.dlqTopic`, else `fail`',
          enum: ['dlq', 'skip', 'fail'],
        },
        onNull: {
          kind: 'string',
          doc: 'Records with a null value (tombstones): `skip` (counted), `delete` (delete the document whose id is the record key; needs `index.idStrategy` key and an `index.name` without date tokens) or `dlq`.',
          default: 'skip',
          enum: ['skip', 'delete', 'dlq'],
        },
        maxRetries: {
          kind: 'int',
          doc: 'Retries of a retryable failure (429, 5xx, timeouts, connection errors) before the record counts as failed; -1 retries forever. Rounds spent halted (auth, blocks) do not count.',
          default: -1,
          min: -1,
        },
        backoffMs: { kind: 'int', doc: 'First retry delay; doubles each attempt, with jitter.', default: 200, min: 1, unit: 'ms' },
        maxBackoffMs: { kind: 'int', doc: 'Largest retry delay.', default: 30_000, min: 1, unit: 'ms' },
        dlqMaxRatio: {
          kind: 'ratio',
          doc: 'Dead-letter circuit breaker: when the share of dead-lettered records among the last `errors.dlqWindowRecords` finished records would pass this, Sluice halts instead of writing more dead letters (every partition paused, that record and later failed ones held, offsets not moved past them) until restart. Judged once the window is full; tombstones sent by `errors.onNull: dlq` do not count. 1 turns it off.',
          default: 0.5,
        },
        dlqWindowRecords: { kind: 'int', doc: 'Finished records (indexed, skipped or failed) in the window of `errors.dlqMaxRatio`.', default: 1000, min: 1, max: 10_000_000 },
      },
    },
    redrive: {
      kind: 'group',
      doc: '`sluice redrive`: the records of the dead-letter topic `errors.dlqTopic` indexed again as their original records would have been.',
      fields: {
        deadLetterTopic: {
          kind: 'string',
          doc: 'Where `sluice redrive` writes the records that fail again, with `sluice.source.*` naming the original record (so they can be re-driven again from there) and fresh `sluice.error.*` headers; also dead letters that cannot be re-driven (no or invalid `sluice.source.*` headers, a value cut to fit the topic, a tombstone). Required by `sluice redrive`; must differ from `errors.dlqTopic` (the topic it reads) and from the topics of `kafka.topics`. Sluice never creates it.',
        },
        groupId: {
          kind: 'string',
          doc: 'Consumer group of `sluice redrive` on `errors.dlqTopic`: its committed offsets mark the dead letters re-driven so far, so a second re-drive starts after them. Must differ from `kafka.groupId`.',
          defaultDoc: '`<kafka.groupId>.redrive`',
        },
      },
    },
    shutdown: {
      kind: 'group',
      fields: {
        timeoutMs: {
          kind: 'int',
          doc: 'On SIGTERM/SIGINT, time allowed to finish in-flight batches and commit before exiting.',
          default: 30_000,
          min: 0,
          unit: 'ms',
        },
      },
    },
    metrics: {
      kind: 'group',
      doc: 'The HTTP server for Prometheus metrics and health checks.',
      fields: {
        port: {
          kind: 'int',
          doc: 'Serve `/metrics`, `/healthz` and `/readyz` on this port; unset = no server, 0 = any free port (logged).',
          min: 0,
          max: 65535,
        },
        host: { kind: 'string', doc: 'Address the server listens on.', default: '0.0.0.0' },
      },
    },
    health: {
      kind: 'group',
      fields: {
        stallSeconds: {
          kind: 'int',
          doc: '`/readyz` turns unready when records wait in Kafka (lag > 0) but none has been completed for this long, or when a partition is stuck: the batch holding its watermark back has been running this long (`sluice_partitions_stuck`).',
          default: 120,
          min: 1,
          unit: 's',
        },
      },
    },
    log: {
      kind: 'group',
      fields: {
        level: {
          kind: 'string',
          doc: 'Log level.',
          default: 'info',
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        },
      },
    },
  },
};

/** A secret option and its `<name>File` sibling, which names a file holding the secret. */
function secret(name: string, doc: string): Record<string, Leaf> {
  return {
    [name]: { kind: 'string', doc, secret: true },
    [`${name}File`]: { kind: 'string', doc: `File whose contents (trailing newline removed) are \`${name}\`.`, fileOf: name },
  };
}

/** What happens to a record that cannot be indexed. */
export type FailurePolicy = 'dlq' | 'skip' | 'fail';

/** The validated, fully defaulted configuration. */
export interface SluiceConfig {
  kafka: {
    brokers: string[];
    groupId: string;
    topics: string[];
    startFrom: 'earliest' | 'latest';
    groupInstanceId: string | undefined;
    groupProtocol: 'classic' | 'consumer';
    metadataRefreshMs: number;
    revokeTimeoutMs: number;
    tls: { enabled: boolean; ca?: string; cert?: string; key?: string; keyPassword?: string; rejectUnauthorized: boolean };
    sasl: {
      mechanism?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';
      username?: string;
      password?: string;
      oauthbearer: { tokenEndpoint?: string; clientId?: string; clientSecret?: string; scope?: string };
    };
    rdkafka: Record<string, string | number | boolean>;
  };
  elasticsearch: {
    node: string[];
    cloudId: string | undefined;
    auth: { username?: string; password?: string; apiKey?: string; bearer?: string };
    tls: { ca: string | undefined; rejectUnauthorized: boolean };
    requestTimeoutMs: number;
    compression: 'none' | 'gzip';
  };
  index: {
    name: string;
    timestampField: string;
    opType: 'index' | 'create';
    idStrategy: string;
    pipeline?: string;
    pipelineDefault?: string;
    routing?: string;
    routingDefault?: string;
  };
  input: { format: 'json' | 'msgpack' | 'text'; invalidUtf8: 'fail' | 'replace' };
  transform: string;
  pipeline: {
    workers: number;
    batchBytes: number;
    batchDocs: number;
    lingerMs: number;
    maxDocBytes: number;
    bulkMaxBytes: number;
    maxInFlightBulks: number;
    maxInFlightBytes: number;
    maxBufferedBytes: number;
    taskTimeoutMs: number;
  };
  errors: {
    dlqTopic: string | undefined;
    onMalformed: FailurePolicy;
    onRejected: FailurePolicy;
    onNull: 'skip' | 'delete' | 'dlq';
    maxRetries: number;
    backoffMs: number;
    maxBackoffMs: number;
    dlqMaxRatio: number;
    dlqWindowRecords: number;
  };
  redrive: { deadLetterTopic: string | undefined; groupId: string | undefined };
  shutdown: { timeoutMs: number };
  metrics: { port: number | undefined; host: string };
  health: { stallSeconds: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

/** Options that must be given: they have no sensible default. */
export const REQUIRED: readonly string[] = ['kafka.brokers', 'kafka.groupId', 'kafka.topics'];
