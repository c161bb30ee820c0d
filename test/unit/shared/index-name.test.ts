import { expect } from 'chai';
import { IndexTemplateError } from '../../../src/shared/errors.js';
import { compileIndexTemplate, parseTimestamp } from '../../../src/shared/index-name.js';

describe('index name templates', () => {
  const t = Date.UTC(2026, 10, 22, 7, 30);

  it('substitutes topic, partition and date tokens (UTC)', () => {
    expect(compileIndexTemplate('logs-{topic}-{yyyy.MM.dd}').name('App.Logs', 3, t)).to.equal('logs-app.logs-2026.11.22');
    expect(compileIndexTemplate('{topic}-{partition}').name('x', 3, t)).to.equal('x-3');
    expect(compileIndexTemplate('m-{yyyy.MM}').name('x', 0, t)).to.equal('m-2026.11');
    expect(compileIndexTemplate('h-{yyyy-MM-dd-HH}').name('x', 0, t)).to.equal('h-2026-11-22-07');
    expect(compileIndexTemplate('y-{yy}').name('x', 0, t)).to.equal('y-26');
  });

  it('says whether the name depends on time', () => {
    expect(compileIndexTemplate('static').usesDate).to.equal(false);
    expect(compileIndexTemplate('{topic}').usesDate).to.equal(false);
    expect(compileIndexTemplate('a-{yyyy}').usesDate).to.equal(true);
  });

  it('formats each hour once and still changes at hour boundaries', () => {
    const r = compileIndexTemplate('{yyyy.MM.dd.HH}');
    expect(r.name('x', 0, t)).to.equal('2026.11.22.07');
    expect(r.name('x', 0, t + 3_600_000)).to.equal('2026.11.22.08');
    expect(r.name('x', 0, t)).to.equal('2026.11.22.07');
  });

  it('rejects unknown tokens, braces and characters Elasticsearch refuses', () => {
    expect(() => compileIndexTemplate('logs-{day}')).to.throw(/unknown token \{day\}/);
    expect(() => compileIndexTemplate('logs-{topic')).to.throw(/unbalanced braces/);
    expect(() => compileIndexTemplate('Logs')).to.throw(/lowercase/);
    expect(() => compileIndexTemplate('a b')).to.throw(/lowercase and free of/);
    expect(() => compileIndexTemplate('logs-{day}'))
      .to.throw(IndexTemplateError)
      .that.deep.includes({ code: 'SLUICE_INDEX_TEMPLATE', template: 'logs-{day}', problem: { kind: 'unknown_token', token: 'day' } });
  });

  it('parses ISO strings and epoch milliseconds', () => {
    expect(parseTimestamp('2026-11-22T07:30:00Z')).to.equal(t);
    expect(parseTimestamp(t)).to.equal(t);
    expect(parseTimestamp('not a date')).to.equal(undefined);
    expect(parseTimestamp(null)).to.equal(undefined);
  });
});

describe('document timestamps outside the years 0000–9999', () => {
  it('are invalid, so that routing falls back to the Kafka timestamp', () => {
    const ms = Date.UTC(2026, 0, 1);
    expect(parseTimestamp(ms * 1_000_000)).to.equal(undefined); // epoch nanoseconds
    expect(parseTimestamp(ms * 1000)).to.equal(undefined); // epoch microseconds: a valid Date in the year 57970
    expect(parseTimestamp(-8.64e15 - 1)).to.equal(undefined);
    expect(parseTimestamp(Infinity)).to.equal(undefined);
    expect(parseTimestamp('+057970-01-01T00:00:00Z')).to.equal(undefined);
    expect(parseTimestamp(Date.UTC(9999, 11, 31, 23, 59, 59, 999))).to.equal(253402300799999);
    expect(parseTimestamp('0000-01-01T00:00:00Z')).to.equal(-62167219200000);
  });
});
