import { expect } from 'chai';
import { IndexTemplateError } from '../../../src/common/errors.js';
import { compileIndexTemplate, MAX_CACHED_NAMES, parseTimestamp } from '../../../src/common/index-name.js';

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

describe('index names from {field:} tokens', () => {
  const t = Date.UTC(2026, 10, 22, 7, 30);

  it('compiles the paths once, in order and without repeats; a template without them has none', () => {
    expect(compileIndexTemplate('{field:a}-{field:service.name}-{field:a}').fields).to.deep.equal([['a'], ['service', 'name']]);
    expect(compileIndexTemplate('logs-{topic}-{yyyy}').fields).to.deep.equal([]);
    expect(compileIndexTemplate('static').fields).to.deep.equal([]);
  });

  it('refuses a token without a path, or with an empty or blank name in it', () => {
    for (const token of ['field:', 'field:a..b', 'field:.a', 'field:a.', 'field:a b']) {
      expect(() => compileIndexTemplate(`logs-{${token}}`))
        .to.throw(IndexTemplateError)
        .that.deep.includes({ problem: { kind: 'unknown_token', token } });
    }
  });

  it('names each record from its values, lowercased, numbers as their decimal text, beside the other tokens', () => {
    const r = compileIndexTemplate('logs-{field:service.name}-{topic}-{partition}-{yyyy.MM}');
    expect(r.nameFor('Events', 3, t, ['Api'])).to.equal('logs-api-events-3-2026.11');
    expect(r.nameFor('Events', 3, t, ['web'])).to.equal('logs-web-events-3-2026.11');
    expect(r.nameFor('Events', 3, t, [42])).to.equal('logs-42-events-3-2026.11');
    expect(r.nameFor('Events', 3, t, [12345678901234567890n])).to.equal('logs-12345678901234567890-events-3-2026.11');
    expect(compileIndexTemplate('{field:a}.{field:b}').nameFor('x', 0, t, ['ÄB', 'Cd'])).to.equal('äb.cd');
    // Without values (the config check's sample names): a wildcard.
    expect(r.name('Events', 3, t)).to.equal('logs-*-events-3-2026.11');
  });

  it('fails a record whose value is missing, empty, or neither a string nor a whole number', () => {
    const r = compileIndexTemplate('logs-{field:service.name}');
    const missing = { reason: 'document has no non-empty string or whole number within ±(2^53 − 1) at service.name for index.name {field:service.name}' };
    for (const value of [undefined, null, '', true, 1.5, 2 ** 53, {}, ['a']]) expect(r.nameFor('x', 0, t, [value])).to.deep.equal(missing);
    expect(compileIndexTemplate('{field:a}-{field:b}').nameFor('x', 0, t, ['a', undefined])).to.deep.equal({
      reason: 'document has no non-empty string or whole number within ±(2^53 − 1) at b for index.name {field:b}',
    });
  });

  it('fails a record whose name Elasticsearch refuses, naming the field and the rule', () => {
    const r = compileIndexTemplate('{field:service.name}');
    const refused = (name: string, rule: string) => ({ reason: `index.name {field:service.name} gives ${JSON.stringify(name)}, which Elasticsearch refuses: ${rule}` });
    for (const c of ['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ':']) {
      expect(r.nameFor('x', 0, t, [`a${c}b`])).to.deep.equal(refused(`a${c}b`, `an index name cannot contain ${JSON.stringify(c)}`));
    }
    expect(r.nameFor('x', 0, t, ['a b'])).to.deep.equal(refused('a b', 'an index name cannot contain a space'));
    for (const c of ['-', '_', '+']) expect(r.nameFor('x', 0, t, [`${c}x`])).to.deep.equal(refused(`${c}x`, `an index name cannot start with "${c}"`));
    expect(r.nameFor('x', 0, t, [-5])).to.deep.equal(refused('-5', 'an index name cannot start with "-"'));
    for (const dots of ['.', '..']) expect(r.nameFor('x', 0, t, [dots])).to.deep.equal(refused(dots, 'an index name cannot be "." or ".."'));
    expect(r.nameFor('x', 0, t, ['...'])).to.equal('...');
    expect(r.nameFor('x', 0, t, ['x'.repeat(255)])).to.equal('x'.repeat(255));
    expect(r.nameFor('x', 0, t, ['é'.repeat(128)])).to.deep.equal(refused('é'.repeat(128), 'an index name is at most 255 bytes (this one is 256)'));
    // A literal prefix keeps a value's leading character from starting the name.
    expect(compileIndexTemplate('logs-{field:a}').nameFor('x', 0, t, ['_x'])).to.equal('logs-_x');
  });

  it('caches names per distinct value, at most MAX_CACHED_NAMES of them', () => {
    const r = compileIndexTemplate('logs-{field:a}');
    expect(r.nameFor('x', 0, t, ['A'])).to.equal(r.nameFor('x', 0, t, ['A']));
    expect(r.cachedNames()).to.equal(1);
    for (let i = 0; i < 3 * MAX_CACHED_NAMES; i++) expect(r.nameFor('x', 0, t, [`v${i}`])).to.equal(`logs-v${i}`);
    expect(r.cachedNames()).to.equal(MAX_CACHED_NAMES);
    // Evicted names are made again, the same.
    expect(r.nameFor('x', 0, t, ['A'])).to.equal('logs-a');
    expect(r.nameFor('x', 0, t, ['a/b'])).to.deep.include({ reason: 'index.name {field:a} gives "logs-a/b", which Elasticsearch refuses: an index name cannot contain "/"' });
    expect(r.cachedNames()).to.equal(MAX_CACHED_NAMES);
    // Templates without field tokens cache nothing.
    expect(compileIndexTemplate('{topic}').cachedNames()).to.equal(0);
  });
});
