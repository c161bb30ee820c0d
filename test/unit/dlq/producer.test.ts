import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import type { MessageHeader } from 'node-rdkafka';
import { dlqHeaders, producerProperties, redriveHeaders, textHeaders } from '../../../src/dlq/producer.js';
import type { RecordFailure } from '../../../src/common/protocol.js';
import { minimal } from '../config/support.js';

describe('dead-letter producer properties', () => {
  const config = (maxDocBytes: number | string) => validateConfig({ ...minimal, errors: { dlqTopic: 'logs-dlq' }, pipeline: { maxDocBytes } });

  it('take a record as large as pipeline.maxDocBytes plus headers, within librdkafka’s limit', () => {
    expect(producerProperties(config('16MiB'))['message.max.bytes']).to.equal(17 * 1024 * 1024);
    expect(producerProperties(config(1024))['message.max.bytes']).to.equal(1024 + 1024 * 1024);
    expect(producerProperties(config('4GiB'))['message.max.bytes']).to.equal(1_000_000_000);
  });

  it('surface a failed write in 30 s and never create the topic', () => {
    const p = producerProperties(config('16MiB'));
    expect(p['message.timeout.ms']).to.equal(30_000);
    expect(p['allow.auto.create.topics']).to.equal(false);
    expect(p['enable.idempotence']).to.equal(true);
  });
});

describe('dead-letter headers', () => {
  const now = new Date(Date.UTC(2026, 11, 2, 12));
  const failure: RecordFailure = { record: 0, stage: 'index', reason: 'failed to parse field [amount]', status: 400, errorType: 'document_parsing_exception' };
  /** Headers as [name, value] pairs, in order. */
  const pairs = (headers: MessageHeader[]): Array<[string, string]> => headers.flatMap((h) => Object.entries(h).map(([k, v]): [string, string] => [k, String(v)]));
  const errorPairs: Array<[string, string]> = [
    ['sluice.error.class', 'rejected'],
    ['sluice.error.stage', 'index'],
    ['sluice.error.reason', 'failed to parse field [amount]'],
    ['sluice.attempts', '1'],
    ['sluice.failed.at', '2026-12-02T12:00:00.000Z'],
    ['sluice.error.type', 'document_parsing_exception'],
    ['sluice.error.status', '400'],
  ];
  /** A dead letter of the main run as the re-drive reads it: the original's header, then Sluice's. */
  const deadLetter = (): MessageHeader[] => [
    { trace: Buffer.from('t-1') },
    ...dlqHeaders({ topic: 'logs', partition: 2, offset: 41 }, { record: 0, stage: 'route', reason: 'old reason' }, new Date(0)).map((h) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(String(v))])),
    ),
  ];

  it('name where the record was read, then why it failed', () => {
    expect(pairs(dlqHeaders({ topic: 'logs', partition: 2, offset: 41 }, failure, now))).to.deep.equal([
      ['sluice.source.topic', 'logs'],
      ['sluice.source.partition', '2'],
      ['sluice.source.offset', '41'],
      ...errorPairs,
    ]);
  });

  it('of a re-driven record that fails again: its own headers, the original record as source, this failure, each name once', () => {
    const headers = redriveHeaders({ headers: deadLetter() }, { topic: 'logs', partition: 2, offset: 41 }, failure, now);
    expect(pairs(headers)).to.deep.equal([['trace', 't-1'], ['sluice.source.topic', 'logs'], ['sluice.source.partition', '2'], ['sluice.source.offset', '41'], ...errorPairs]);
  });

  it('of a re-driven record that fails again: sluice.headers.base64 stays, naming its own headers that were written as base64', () => {
    const [trace, ...sluice] = deadLetter();
    const encoded = [trace as MessageHeader, { bin: Buffer.from('/wA=') }, ...sluice, { 'sluice.headers.base64': Buffer.from('1') }];
    const headers = redriveHeaders({ headers: encoded }, { topic: 'logs', partition: 2, offset: 41 }, failure, now);
    expect(pairs(headers).slice(0, 3)).to.deep.equal([['trace', 't-1'], ['bin', '/wA='], ['sluice.headers.base64', '1']]);
    expect(pairs(headers).filter(([name]) => name === 'sluice.headers.base64')).to.have.length(1);
  });

  it('of a dead letter that cannot be re-driven: its sluice.source.* and sluice.value.truncated stay as they were, the failure is new', () => {
    const cut = [...deadLetter(), { 'sluice.value.truncated': Buffer.from('5000000') }];
    const headers = redriveHeaders({ headers: cut }, { problem: 'cut' }, { record: 0, stage: 'redrive', reason: 'cut' }, now);
    expect(pairs(headers)).to.deep.equal([
      ['trace', 't-1'],
      ['sluice.source.topic', 'logs'],
      ['sluice.source.partition', '2'],
      ['sluice.source.offset', '41'],
      ['sluice.value.truncated', '5000000'],
      ['sluice.error.class', 'malformed'],
      ['sluice.error.stage', 'redrive'],
      ['sluice.error.reason', 'cut'],
      ['sluice.attempts', '1'],
      ['sluice.failed.at', '2026-12-02T12:00:00.000Z'],
    ]);
  });
});

describe('dead-letter headers without the native path (node-rdkafka writes each value as text)', () => {
  it('a value that is not exactly a text becomes its base64, and sluice.headers.base64 names its position', () => {
    const headers: MessageHeader[] = [
      { bin: Buffer.from([0xff, 0x00]) },
      { text: Buffer.from('ünï ✓') },
      { nul: Buffer.from('a\0b') },
      { str: 'plain' },
      { empty: Buffer.alloc(0) },
      { half: Buffer.from([0xe2, 0x9c]) },
    ];
    expect(textHeaders(headers)).to.deep.equal([
      { bin: '/wA=' },
      { text: Buffer.from('ünï ✓') },
      { nul: 'YQBi' },
      { str: 'plain' },
      { empty: Buffer.alloc(0) },
      { half: '4pw=' },
      { 'sluice.headers.base64': '0,2,5' },
    ]);
  });

  it('headers that are all text are left as they are, without the list', () => {
    const headers: MessageHeader[] = [{ a: Buffer.from('x') }, { b: 'y' }];
    expect(textHeaders(headers)).to.equal(headers);
  });
});
