import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envName, loadConfig } from '../../../src/config/load.js';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';

describe('configuration', () => {
  it('fills every default and normalises brokers given as a string', () => {
    const c = validateConfig(minimal);
    expect(c.kafka.brokers).to.deep.equal(['localhost:9092']);
    expect(c.kafka.startFrom).to.equal('earliest');
    expect(c.kafka.rdkafka).to.deep.equal({});
    expect(c.elasticsearch.auth).to.deep.equal({});
    expect(c.index).to.deep.equal({ name: '{topic}', timestampField: '@timestamp', opType: 'index', idStrategy: 'kafka' });
    expect(c.input.format).to.equal('json');
    expect(c.transform).to.equal('none');
    expect(c.pipeline.workers).to.be.at.least(1);
    expect(c.elasticsearch.node).to.deep.equal(['http://127.0.0.1:9200']);
    expect(c.errors.maxRetries).to.equal(-1);
  });

  it('names each missing required option', () => {
    expect(messages(() => validateConfig({}))).to.have.members(['kafka.brokers is required', 'kafka.groupId is required', 'kafka.topics is required']);
  });

  it('names the option path of wrong types, enums and ranges', () => {
    const errs = messages(() =>
      validateConfig({
        ...minimal,
        kafka: { ...minimal.kafka, startFrom: 'beginning' },
        index: { opType: 'upsert', idStrategy: 'uuid' },
        pipeline: { workers: 0, batchDocs: 'many' },
        input: { format: 'xml' },
      }),
    );
    expect(errs).to.include('kafka.startFrom must be one of earliest, latest (got "beginning")');
    expect(errs).to.include('index.opType must be one of index, create (got "upsert")');
    expect(errs).to.include('index.idStrategy must be kafka, key, none or field:<path> (got "uuid")');
    expect(errs).to.include('pipeline.workers must be at least 1 (got 0)');
    expect(errs).to.include('pipeline.batchDocs must be a whole number (got string "many")');
    expect(errs).to.include('input.format must be one of json, msgpack, text (got "xml")');
  });

  it('rejects unknown options with a hint', () => {
    expect(messages(() => validateConfig({ ...minimal, kafka: { ...minimal.kafka, groupid: 'x' } }))).to.deep.equal([
      'kafka.groupid is not a known option (did you mean kafka.groupId?)',
    ]);
    expect(messages(() => validateConfig({ ...minimal, sink: {} }))).to.deep.equal(['sink is not a known option']);
  });

  it('accepts sizes and durations with units', () => {
    const c = validateConfig({ ...minimal, pipeline: { batchBytes: '2MiB', lingerMs: '1s', maxBufferedBytes: '256mb' } });
    expect(c.pipeline.batchBytes).to.equal(2 * 1024 * 1024);
    expect(c.pipeline.lingerMs).to.equal(1000);
    expect(c.pipeline.maxBufferedBytes).to.equal(256 * 1024 * 1024);
    expect(messages(() => validateConfig({ ...minimal, pipeline: { lingerMs: '5 parsecs' } }))[0]).to.match(/^pipeline.lingerMs must be a whole number of milliseconds/);
  });

  it('checks auth, URLs and the index template', () => {
    const errs = messages(() =>
      validateConfig({ ...minimal, elasticsearch: { node: 'localhost:9200', auth: { username: 'u', apiKey: 'k' } }, index: { name: 'Logs-{day}' } }),
    );
    expect(errs).to.include('elasticsearch.auth must hold only one of username+password, apiKey or bearer');
    expect(errs).to.include('elasticsearch.auth needs both username and password');
    expect(errs).to.include('elasticsearch.node[0] must be an http:// or https:// URL (got "localhost:9200")');
    expect(errs.some((e) => e.startsWith('index.name is invalid: unknown token {day}'))).to.equal(true);
  });

  it('refuses id and op combinations that would lose or misdirect records', () => {
    for (const idStrategy of ['key', 'field:order.id']) {
      expect(messages(() => validateConfig({ ...minimal, index: { opType: 'create', idStrategy } }))).to.deep.equal([
        `index.opType is create, which cannot be used with index.idStrategy ${idStrategy}: records that share an id need index (the last record wins); with create a 409 would count a different record as done`,
      ]);
    }
    expect(validateConfig({ ...minimal, index: { opType: 'create', idStrategy: 'kafka' } }).index.opType).to.equal('create');
    for (const idStrategy of ['field:order.id', 'kafka', 'none']) {
      expect(messages(() => validateConfig({ ...minimal, index: { idStrategy }, errors: { onNull: 'delete' } }))).to.deep.equal([
        `errors.onNull is delete, which needs index.idStrategy key (got ${idStrategy}): only the record key names the document a tombstone deletes`,
      ]);
    }
    expect(messages(() => validateConfig({ ...minimal, index: { idStrategy: 'key', name: 'logs-{yyyy.MM.dd}' }, errors: { onNull: 'delete' } }))).to.deep.equal([
      'errors.onNull is delete, which cannot be used with date tokens in index.name (got "logs-{yyyy.MM.dd}"): a tombstone cannot know the day of the document it deletes',
    ]);
    expect(validateConfig({ ...minimal, index: { idStrategy: 'key', name: '{topic}-{partition}' }, errors: { onNull: 'delete' } }).errors.onNull).to.equal('delete');
  });

  it('input.invalidUtf8: fail by default, or replace', () => {
    expect(validateConfig(minimal).input).to.deep.equal({ format: 'json', invalidUtf8: 'fail' });
    expect(validateConfig({ ...minimal, input: { invalidUtf8: 'replace' } }).input.invalidUtf8).to.equal('replace');
    expect(messages(() => validateConfig({ ...minimal, input: { invalidUtf8: 'ignore' } }))).to.deep.equal(['input.invalidUtf8 must be one of fail, replace (got "ignore")']);
  });

  it('elasticsearch.compression: none by default, or gzip', () => {
    expect(validateConfig(minimal).elasticsearch.compression).to.equal('none');
    expect(validateConfig({ ...minimal, elasticsearch: { compression: 'gzip' } }).elasticsearch.compression).to.equal('gzip');
    expect(messages(() => validateConfig({ ...minimal, elasticsearch: { compression: 'br' } }))).to.deep.equal(['elasticsearch.compression must be one of none, gzip (got "br")']);
  });

  it('kafka.revokeTimeoutMs: 10 s by default, at most half of max.poll.interval.ms', () => {
    expect(validateConfig(minimal).kafka.revokeTimeoutMs).to.equal(10_000);
    expect(validateConfig({ ...minimal, kafka: { ...minimal.kafka, revokeTimeoutMs: '2s' } }).kafka.revokeTimeoutMs).to.equal(2000);
    expect(messages(() => validateConfig({ ...minimal, kafka: { ...minimal.kafka, revokeTimeoutMs: 20_000, rdkafka: { 'max.poll.interval.ms': 30_000 } } }))).to.deep.equal([
      'kafka.revokeTimeoutMs must be at most half of max.poll.interval.ms (30000 ms), or the member would leave the group while it waits',
    ]);
  });

  describe('kafka.groupProtocol', () => {
    const kafka = (over: Record<string, unknown>) => ({ ...minimal, kafka: { ...minimal.kafka, ...over } });

    it('classic by default, or consumer; nothing else', () => {
      expect(validateConfig(minimal).kafka.groupProtocol).to.equal('classic');
      expect(validateConfig(kafka({ groupProtocol: 'consumer' })).kafka.groupProtocol).to.equal('consumer');
      expect(messages(() => validateConfig(kafka({ groupProtocol: 'next' })))).to.deep.equal(['kafka.groupProtocol must be one of classic, consumer (got "next")']);
    });

    it('takes group.protocol given through kafka.rdkafka, out of the librdkafka properties', () => {
      const c = validateConfig(kafka({ rdkafka: { 'group.protocol': 'consumer', 'fetch.min.bytes': 1 } }));
      expect(c.kafka.groupProtocol).to.equal('consumer');
      expect(c.kafka.rdkafka).to.deep.equal({ 'fetch.min.bytes': 1 });
      expect(validateConfig(kafka({ groupProtocol: 'consumer', rdkafka: { 'group.protocol': 'consumer' } })).kafka.groupProtocol).to.equal('consumer');
      expect(validateConfig(kafka({ rdkafka: { 'group.protocol': 'classic' } })).kafka.groupProtocol).to.equal('classic');
    });

    it('refuses a group.protocol in kafka.rdkafka that is unknown or contradicts kafka.groupProtocol', () => {
      expect(messages(() => validateConfig(kafka({ rdkafka: { 'group.protocol': 'streams' } })))).to.deep.equal([
        'kafka.rdkafka.group.protocol must be classic or consumer (got "streams"); kafka.groupProtocol is the option for it',
      ]);
      expect(messages(() => validateConfig(kafka({ groupProtocol: 'classic', rdkafka: { 'group.protocol': 'consumer' } })))).to.deep.equal([
        'kafka.rdkafka.group.protocol is consumer, but kafka.groupProtocol is classic; set only kafka.groupProtocol',
      ]);
    });

    it('consumer: refuses the properties the broker owns under it, naming the broker setting', () => {
      const rdkafka = { 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 1_000, 'partition.assignment.strategy': 'range', 'group.protocol.type': 'consumer', 'group.remote.assignor': 'range' };
      expect(messages(() => validateConfig(kafka({ groupProtocol: 'consumer', rdkafka })))).to.deep.equal([
        'kafka.rdkafka.session.timeout.ms is not supported with kafka.groupProtocol consumer: the broker sets the session timeout (its group.consumer.session.timeout.ms)',
        'kafka.rdkafka.heartbeat.interval.ms is not supported with kafka.groupProtocol consumer: the broker sets the heartbeat interval (its group.consumer.heartbeat.interval.ms)',
        'kafka.rdkafka.partition.assignment.strategy is not supported with kafka.groupProtocol consumer: the broker assigns the partitions; choose its assignor with group.remote.assignor (uniform or range)',
        'kafka.rdkafka.group.protocol.type is not supported with kafka.groupProtocol consumer: it belongs to the classic protocol',
      ]);
      // The same through kafka.rdkafka alone, as users first try it.
      expect(messages(() => validateConfig(kafka({ rdkafka: { 'group.protocol': 'consumer', 'session.timeout.ms': 10_000 } })))).to.deep.equal([
        'kafka.rdkafka.session.timeout.ms is not supported with kafka.groupProtocol consumer: the broker sets the session timeout (its group.consumer.session.timeout.ms)',
      ]);
    });

    it('classic: keeps its client-side settings and refuses the consumer protocol\'s broker assignor', () => {
      const rdkafka = { 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 1_000 };
      expect(validateConfig(kafka({ rdkafka })).kafka.rdkafka).to.deep.equal(rdkafka);
      expect(messages(() => validateConfig(kafka({ rdkafka: { 'group.remote.assignor': 'uniform' } })))).to.deep.equal([
        "kafka.rdkafka.group.remote.assignor names the broker's assignor of the consumer protocol, but kafka.groupProtocol is classic",
      ]);
    });
  });

  it('pipeline.taskTimeoutMs: 30 s by default, a duration, at least 100 ms', () => {
    expect(validateConfig(minimal).pipeline.taskTimeoutMs).to.equal(30_000);
    expect(validateConfig({ ...minimal, pipeline: { taskTimeoutMs: '2s' } }).pipeline.taskTimeoutMs).to.equal(2000);
    expect(messages(() => validateConfig({ ...minimal, pipeline: { taskTimeoutMs: 50 } }))).to.deep.equal(['pipeline.taskTimeoutMs must be at least 100 (got 50)']);
  });

  it('layers file, SLUICE_* environment and overrides, in that order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [a:1, b:2]\n  groupId: from-file\n  topics: [x]\npipeline:\n  workers: 3\n');
    const c = loadConfig({
      file,
      env: { SLUICE_KAFKA_GROUP_ID: 'from-env', SLUICE_PIPELINE_WORKERS: '5', SLUICE_KAFKA_RDKAFKA: '{"fetch.min.bytes":1}' },
      overrides: [['pipeline.workers', '7']],
    });
    expect(c.kafka.brokers).to.deep.equal(['a:1', 'b:2']);
    expect(c.kafka.groupId).to.equal('from-env');
    expect(c.pipeline.workers).to.equal(7);
    expect(c.kafka.rdkafka).to.deep.equal({ 'fetch.min.bytes': 1 });
    expect(envName('pipeline.maxInFlightBulks')).to.equal('SLUICE_PIPELINE_MAX_IN_FLIGHT_BULKS');
  });

  it('reads JSON files and reports unreadable or malformed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const json = join(dir, 'c.json');
    writeFileSync(json, JSON.stringify(minimal));
    expect(loadConfig({ file: json, env: {} }).kafka.groupId).to.equal('g');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"kafka": ');
    expect(messages(() => loadConfig({ file: bad, env: {} }))[0]).to.match(/^config file .*bad\.json is not valid JSON/);
    expect(messages(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }))[0]).to.match(/^cannot read config file/);
  });

  it('resolves a transform path against the config file and checks it exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    writeFileSync(join(dir, 'my-transform.mjs'), 'export function transform(r) { return r.value; }\n');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `kafka: {brokers: a:1, groupId: g, topics: [x]}\ntransform: ./my-transform.mjs\n`);
    expect(loadConfig({ file, env: {} }).transform).to.equal(join(dir, 'my-transform.mjs'));
    writeFileSync(file, `kafka: {brokers: a:1, groupId: g, topics: [x]}\ntransform: ./nope.mjs\n`);
    expect(messages(() => loadConfig({ file, env: {} }))[0]).to.match(/^transform must be none, apm-log or the path of a JS module \(no file at .*nope\.mjs\)$/);
  });
});
