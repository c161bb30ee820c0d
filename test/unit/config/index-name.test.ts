import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';

describe('configuration: {field:} tokens in index.name', () => {
  it('takes up to four field paths beside the other tokens', () => {
    expect(validateConfig({ ...minimal, index: { name: 'logs-{field:service.name}-{yyyy.MM}' } }).index.name).to.equal('logs-{field:service.name}-{yyyy.MM}');
    expect(validateConfig({ ...minimal, index: { name: '{field:a}-{field:b}-{field:c}-{field:d}-{field:a}' } }).index.name).to.equal('{field:a}-{field:b}-{field:c}-{field:d}-{field:a}');
  });

  it('refuses more than four, and a token without a path', () => {
    expect(messages(() => validateConfig({ ...minimal, index: { name: '{field:a}{field:b}{field:c}{field:d}{field:e}' } }))).to.deep.equal([
      'index.name has 5 different {field:} paths; at most 4 are supported',
    ]);
    expect(messages(() => validateConfig({ ...minimal, index: { name: 'logs-{field:}' } }))).to.deep.equal([
      'index.name is invalid: unknown token {field:} in index name template "logs-{field:}"; use {topic}, {partition}, a date such as {yyyy.MM.dd} or {field:<dotted path>}',
    ]);
  });

  it('refuses errors.onNull delete: a tombstone has no document to name its index', () => {
    expect(messages(() => validateConfig({ ...minimal, index: { idStrategy: 'key', name: 'logs-{field:service.name}' }, errors: { onNull: 'delete' } }))).to.deep.equal([
      'errors.onNull is delete, which cannot be used with {field:} tokens in index.name (got "logs-{field:service.name}"): a tombstone has no document to read the index name from',
    ]);
    expect(validateConfig({ ...minimal, index: { name: 'logs-{field:service.name}' }, errors: { onNull: 'skip' } }).errors.onNull).to.equal('skip');
  });
});
