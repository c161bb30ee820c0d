import { expect } from 'chai';
import { createApmLogTransform, flattenLabels } from '../../../../workers/transform/apm-log.js';

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
});
