import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { producerProperties } from '../../../src/dlq/producer.js';
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
