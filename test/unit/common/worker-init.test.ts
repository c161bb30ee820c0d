import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { workerInit } from '../../../src/common/worker-init.js';

describe('worker init', () => {
  it('carries the options a worker reads and its share of bulks', () => {
    const config = validateConfig({
      kafka: { brokers: 'localhost:9092', groupId: 'g', topics: ['logs'] },
      elasticsearch: { node: ['https://es:9200'], auth: { apiKey: 'a2V5' }, tls: { rejectUnauthorized: false }, requestTimeoutMs: 5000, compression: 'gzip' },
      index: { name: 'logs-{yyyy.MM}', timestampField: 'ts', idStrategy: 'key' },
      input: { format: 'msgpack', invalidUtf8: 'replace' },
      transform: 'apm-log',
      pipeline: { maxDocBytes: 2048, bulkMaxBytes: 8192 },
      errors: { onNull: 'dlq', dlqTopic: 'dead', maxRetries: 3, backoffMs: 10, maxBackoffMs: 100 },
      log: { level: 'warn' },
    });
    expect(workerInit(config, 3)).to.deep.equal({
      elasticsearch: config.elasticsearch,
      index: { name: 'logs-{yyyy.MM}', timestampField: 'ts', opType: 'index', idStrategy: 'key' },
      inputFormat: 'msgpack',
      invalidUtf8: 'replace',
      transform: 'apm-log',
      onNull: 'dlq',
      maxDocBytes: 2048,
      bulkMaxBytes: 8192,
      compression: 'gzip',
      maxConcurrentBulks: 3,
      retry: { maxRetries: 3, backoffMs: 10, maxBackoffMs: 100 },
      logLevel: 'warn',
    });
  });
});
