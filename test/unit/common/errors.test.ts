import { expect } from 'chai';
import rdkafka from 'node-rdkafka';
import {
  BulkResponseError,
  ConfigError,
  ConfigErrors,
  DeadLetterBreakerError,
  DeadLetterClosedError,
  ElasticsearchAuthError,
  ElasticsearchError,
  IndexTemplateError,
  InternalError,
  KafkaConnectError,
  KafkaError,
  KafkaFatalError,
  MetricsListenError,
  OAuthTokenError,
  RecordError,
  ReferenceMarkersError,
  SluiceError,
  TransformLoadError,
  UnsupportedServerError,
} from '../../../src/common/errors.js';

describe('errors', () => {
  /** One instance of each class, with the code, retriability and message users read. */
  const cases: Array<{ err: SluiceError; code: string; retriable: boolean; message: string }> = [
    { err: new SluiceError('plain'), code: 'SLUICE_ERROR', retriable: false, message: 'plain' },
    { err: new InternalError('token source not started'), code: 'SLUICE_INTERNAL', retriable: false, message: 'token source not started' },
    { err: new ConfigError('kafka.groupId', 'is required'), code: 'SLUICE_CONFIG', retriable: false, message: 'kafka.groupId is required' },
    {
      err: new IndexTemplateError('logs-{day}', { kind: 'unknown_token', token: 'day' }),
      code: 'SLUICE_INDEX_TEMPLATE',
      retriable: false,
      message: 'unknown token {day} in index name template "logs-{day}"; use {topic}, {partition}, a date such as {yyyy.MM.dd} or {field:<dotted path>}',
    },
    { err: new ReferenceMarkersError('README.md'), code: 'SLUICE_DOCS_MARKERS', retriable: false, message: 'README.md has no config-reference markers' },
    { err: new TransformLoadError('m', undefined), code: 'SLUICE_TRANSFORM_LOAD', retriable: false, message: 'transform module m does not export a function named transform' },
    { err: new TransformLoadError('/t.js', 'Cannot find module'), code: 'SLUICE_TRANSFORM_LOAD', retriable: false, message: 'transform module /t.js could not be loaded: Cannot find module' },
    {
      err: new RecordError({ topic: 'logs', partition: 3, offset: 42, reason: 'failed to parse' }),
      code: 'SLUICE_RECORD',
      retriable: false,
      message: 'record logs[3]@42 could not be indexed: failed to parse',
    },
    { err: new MetricsListenError('0.0.0.0', 9464, 'listen EADDRINUSE'), code: 'SLUICE_METRICS_LISTEN', retriable: false, message: 'cannot serve metrics on 0.0.0.0:9464: listen EADDRINUSE' },
    { err: new UnsupportedServerError('Elasticsearch 6.8.0 is not supported'), code: 'SLUICE_ES_UNSUPPORTED', retriable: false, message: 'Elasticsearch 6.8.0 is not supported' },
    { err: new UnsupportedServerError('not a search engine', { statusCode: 404, target: 'http://h:9200' }), code: 'SLUICE_ES_UNSUPPORTED', retriable: false, message: 'elasticsearch http://h:9200: not a search engine' },
    {
      err: new ElasticsearchAuthError({ endpoint: 'GET /', statusCode: 401, esErrorType: 'security_exception' }),
      code: 'SLUICE_ES_AUTH',
      retriable: false,
      message: 'Elasticsearch refuses the credentials (401): check elasticsearch.auth',
    },
    { err: new BulkResponseError(3, 4), code: 'SLUICE_ES_BULK_RESPONSE', retriable: true, message: '_bulk answered 3 items for 4 documents' },
    { err: new KafkaError('Local: Queue full', -184, { retriable: true }), code: 'SLUICE_KAFKA', retriable: true, message: 'Local: Queue full' },
    {
      err: new KafkaConnectError('consumer', ['b1:9092', 'b2:9092'], 'Local: Broker transport failure', -195),
      code: 'SLUICE_KAFKA_CONNECT',
      retriable: true,
      message: 'cannot connect to Kafka at b1:9092,b2:9092: Local: Broker transport failure',
    },
    {
      err: new KafkaFatalError('Fatal consumer error: Broker: Static consumer fenced'),
      code: 'SLUICE_KAFKA_FATAL',
      retriable: false,
      message: 'the Kafka client failed and cannot recover: Fatal consumer error: Broker: Static consumer fenced',
    },
    {
      err: new OAuthTokenError('https://idp/token', { kind: 'unreachable', detail: 'fetch failed' }),
      code: 'SLUICE_KAFKA_OAUTH',
      retriable: true,
      message: 'OAuth token endpoint https://idp/token not reachable: fetch failed',
    },
    {
      err: new DeadLetterClosedError('dead'),
      code: 'SLUICE_DLQ_CLOSED',
      retriable: false,
      message: 'dead-letter producer closed before Kafka acknowledged the write to dead',
    },
    {
      err: new DeadLetterBreakerError({ failed: 60, window: 100, maxRatio: 0.5 }),
      code: 'SLUICE_DLQ_BREAKER',
      retriable: false,
      message: 'dead-letter circuit breaker: 60 of the last 100 finished records failed, more than errors.dlqMaxRatio 0.5; failed records are held, restart to resume',
    },
  ];

  for (const { err, code, retriable, message } of cases) {
    it(`${err.name}: code ${code}, ${retriable ? '' : 'not '}retriable, the message users read`, () => {
      expect(err).to.be.instanceOf(SluiceError).and.instanceOf(Error);
      expect(err.name).to.equal(err.constructor.name);
      expect(err.code).to.equal(code);
      expect(err.retriable).to.equal(retriable);
      expect(err.message).to.equal(message);
      expect(err.stack ?? '').to.match(new RegExp(`^${err.name}: `), 'the stack names the class');
    });
  }

  it('each class has its own code (ConfigErrors shares its parts\')', () => {
    const byCode = new Map<string, string>();
    for (const { err } of cases) {
      const owner = byCode.get(err.code);
      if (owner !== undefined) expect(owner, err.code).to.equal(err.name);
      byCode.set(err.code, err.name);
    }
    expect(new ConfigErrors([new ConfigError('a', 'is wrong')]).code).to.equal('SLUICE_CONFIG');
  });

  it('keeps the cause', () => {
    const cause = new Error('socket hang up');
    expect(new RecordError({ topic: 't', partition: 0, offset: 1, reason: 'r' }, { cause }).cause).to.equal(cause);
    expect(new KafkaConnectError('consumer', ['b:9092'], 'x', undefined, { cause }).cause).to.equal(cause);
    expect(new OAuthTokenError('e', { kind: 'not_json' }, { cause }).cause).to.equal(cause);
    expect(new ElasticsearchAuthError({ endpoint: 'GET /', statusCode: 401 }, { cause }).cause).to.equal(cause);
    expect(new MetricsListenError('h', 1, 'd', { cause }).cause).to.equal(cause);
  });

  it('a record error carries its coordinates and reason', () => {
    const err = new RecordError({ topic: 'logs', partition: 3, offset: 42, reason: 'failed to parse' });
    expect({ topic: err.topic, partition: err.partition, offset: err.offset, reason: err.reason }).to.deep.equal({ topic: 'logs', partition: 3, offset: 42, reason: 'failed to parse' });
  });

  it('index template errors: the three messages validation reports under index.name', () => {
    const unbalanced = new IndexTemplateError('logs-{topic', { kind: 'unbalanced_braces' });
    expect(unbalanced.message).to.equal('unbalanced braces in index name template "logs-{topic"');
    const invalid = new IndexTemplateError('Logs', { kind: 'invalid_name' });
    expect(invalid.message).to.equal('index name template "Logs" must be lowercase and free of \\ / * ? " < > | , # : and spaces');
    expect(invalid.template).to.equal('Logs');
    expect(invalid.problem).to.deep.equal({ kind: 'invalid_name' });
  });

  it('Elasticsearch errors carry the endpoint, status and error type; retriable by status', () => {
    const auth = new ElasticsearchAuthError({ endpoint: 'GET /', statusCode: 401, esErrorType: 'security_exception' });
    expect(auth).to.be.instanceOf(ElasticsearchError);
    expect({ endpoint: auth.endpoint, statusCode: auth.statusCode, esErrorType: auth.esErrorType }).to.deep.equal({ endpoint: 'GET /', statusCode: 401, esErrorType: 'security_exception' });
    const bulk = new BulkResponseError(3, 4);
    expect(bulk).to.be.instanceOf(ElasticsearchError);
    expect({ endpoint: bulk.endpoint, statusCode: bulk.statusCode, items: bulk.items, documents: bulk.documents }).to.deep.equal({ endpoint: 'POST /_bulk', statusCode: 200, items: 3, documents: 4 });
  });

  it('Kafka errors carry librdkafka\'s code; a fatal one carries ERR__FATAL and the reason', () => {
    const fatal = new KafkaFatalError('fenced');
    expect(fatal).to.be.instanceOf(KafkaError);
    expect(fatal.rdkafkaCode).to.equal(rdkafka.CODES.ERRORS.ERR__FATAL);
    expect(fatal.reason).to.equal('fenced');
    expect(new KafkaError('refused', 17).retriable).to.equal(false, 'not retriable unless the caller says so');
    const connect = new KafkaConnectError('consumer', ['b:9092'], 'down', -195);
    expect(connect).to.be.instanceOf(KafkaError);
    expect({ client: connect.client, brokers: connect.brokers, detail: connect.detail, rdkafkaCode: connect.rdkafkaCode }).to.deep.equal({ client: 'consumer', brokers: ['b:9092'], detail: 'down', rdkafkaCode: -195 });
    expect(new KafkaConnectError('dead-letter producer', ['b:9092'], 'Local: Timed out', -185).message).to.equal('dead-letter producer cannot connect: Local: Timed out');
  });

  it('OAuth token errors: the endpoint, what went wrong, and whether a later try can help', () => {
    const endpoint = 'https://idp.example/token';
    const status = (s: number, body = 'nope') => new OAuthTokenError(endpoint, { kind: 'status', status: s, body });
    expect(status(401).message).to.equal(`OAuth token endpoint ${endpoint} answered 401: nope`);
    expect(status(401).retriable).to.equal(false);
    expect(status(400).retriable).to.equal(false);
    expect(status(429).retriable).to.equal(true);
    expect(status(503).retriable).to.equal(true);
    const long = status(500, 'x'.repeat(1000));
    expect(long.message).to.equal(`OAuth token endpoint ${endpoint} answered 500: ${'x'.repeat(200)}`);
    expect(long.problem).to.deep.equal({ kind: 'status', status: 500, body: 'x'.repeat(200) });
    expect(long.endpoint).to.equal(endpoint);
    expect(long.rdkafkaCode).to.equal(undefined);
    expect(long).to.be.instanceOf(KafkaError);
    const notJson = new OAuthTokenError(endpoint, { kind: 'not_json' });
    expect(notJson.message).to.equal(`OAuth token endpoint ${endpoint} did not answer JSON`);
    expect(notJson.retriable).to.equal(false);
    const noToken = new OAuthTokenError(endpoint, { kind: 'no_access_token' });
    expect(noToken.message).to.equal(`OAuth token endpoint ${endpoint} answered without an access_token`);
    expect(noToken.retriable).to.equal(false);
  });

  it('the dead-letter errors carry the topic and the breaker\'s count', () => {
    expect(new DeadLetterClosedError('dead').topic).to.equal('dead');
    const trip = new DeadLetterBreakerError({ failed: 60, window: 100, maxRatio: 0.5 });
    expect({ failed: trip.failed, window: trip.window, maxRatio: trip.maxRatio }).to.deep.equal({ failed: 60, window: 100, maxRatio: 0.5 });
  });
});
