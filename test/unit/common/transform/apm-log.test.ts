import { expect } from 'chai';
import { cachedIsoClock, createApmLogTransform, createIsoTimestamp, flattenLabels, toIsoTimestamp } from '../../../../src/common/transform/apm-log.js';

const base = {
  service_name: 'checkout',
  environment: 'prod',
  trace_id: 't1',
  span_id: 's1',
  level: 'error',
  message: 'boom',
  http_method: 'POST',
  http_path: '/pay',
  http_status_code: 502,
};
const record = (value: Record<string, unknown>) => ({ value, key: null, topic: 'apm', partition: 0, offset: 1, timestamp: Date.UTC(2026, 0, 2) });

describe('apm-log transform', () => {
  const apm = createApmLogTransform(() => '2026-11-22T00:00:00.000Z');

  it('maps an ISO timestamp to @timestamp, drops timestamp, adds type and ingestedAt, keeps the rest', () => {
    const out = apm(record({ ...base, timestamp: '2026-11-21T10:00:00.123Z', labels: { region: 'eu', shard: 3 } }));
    expect(out).to.deep.equal({
      ...base,
      '@timestamp': '2026-11-21T10:00:00.123Z',
      type: 'log',
      labels: { region: 'eu', shard: '3' },
      ingestedAt: '2026-11-22T00:00:00.000Z',
    });
    expect(out).to.not.have.property('timestamp');
  });

  it('accepts epoch milliseconds, as a number or a digit string', () => {
    const ms = Date.UTC(2026, 5, 1, 12);
    expect(apm(record({ ...base, timestamp: ms }))['@timestamp']).to.equal('2026-06-01T12:00:00.000Z');
    expect(apm(record({ ...base, timestamp: String(ms) }))['@timestamp']).to.equal('2026-06-01T12:00:00.000Z');
  });

  it('falls back to the Kafka timestamp when timestamp is missing or invalid', () => {
    expect(apm(record({ ...base }))['@timestamp']).to.equal('2026-01-02T00:00:00.000Z');
    expect(apm(record({ ...base, timestamp: 'yesterday-ish' }))['@timestamp']).to.equal('2026-01-02T00:00:00.000Z');
    expect(apm(record({ ...base, timestamp: true }))['@timestamp']).to.equal('2026-01-02T00:00:00.000Z');
  });

  it('flattens nested labels to a string map', () => {
    expect(flattenLabels({ a: { b: { c: 1 } }, list: [1, 'x'], flag: false, gone: null })).to.deep.equal({ 'a.b.c': '1', list: '[1,"x"]', flag: 'false' });
    expect(flattenLabels('plain')).to.deep.equal({ value: 'plain' });
  });

  it('keeps a __proto__ field as data, in the document and in labels', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"message":"m","labels":{"__proto__":"p"}}') as Record<string, unknown>;
    const out = apm(record(value));
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).to.equal(true);
    expect(JSON.stringify(out)).to.contain('"__proto__":{"x":1}');
    expect(JSON.stringify(out['labels'])).to.equal('{"__proto__":"p"}');
  });
});

describe('cachedIsoClock', () => {
  it('gives new Date(ms).toISOString() of the current millisecond, formatting each millisecond once', () => {
    let ms = Date.UTC(2026, 10, 22, 3, 4, 5, 6);
    const clock = cachedIsoClock(() => ms);
    const first = clock();
    expect(first).to.equal('2026-11-22T03:04:05.006Z');
    expect(clock()).to.equal(first);
    ms += 1;
    expect(clock()).to.equal('2026-11-22T03:04:05.007Z');
  });
});

describe('createIsoTimestamp', () => {
  it('agrees with toIsoTimestamp on canonical, non-canonical and invalid values', () => {
    const iso = createIsoTimestamp();
    const values: unknown[] = [
      '2026-11-21T10:00:00.123Z',
      '2026-11-21T10:59:59.999Z',
      '2026-11-21T10:60:00.000Z',
      '2026-11-21T10:00:60.000Z',
      '2026-11-21T10:0a:00.000Z',
      '2026-11-21T10:00:00.12xZ',
      '2026-11-21T10:00:00.123+',
      '2026-11-21T10:00:00+01:00',
      '2026-11-21T11:30:00.000Z',
      '2026-02-30T10:00:00.000Z',
      '2026-02-28T24:00:00.000Z',
      '2026-11-21',
      '1795316818743',
      1795316818743,
      '',
      'yesterday-ish',
      true,
      null,
    ];
    for (const v of [...values, ...values]) expect(iso(v), String(v)).to.equal(toIsoTimestamp(v));
  });

  it('returns a canonical string of an hour already seen as it is', () => {
    const iso = createIsoTimestamp();
    expect(iso('2026-11-21T10:00:00.000Z')).to.equal('2026-11-21T10:00:00.000Z');
    expect(iso('2026-11-21T10:42:17.301Z')).to.equal('2026-11-21T10:42:17.301Z');
    expect(iso('2026-11-21T10:42:77.301Z')).to.equal(undefined);
  });
});
