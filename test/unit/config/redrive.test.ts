import { expect } from 'chai';
import { redriveConfig } from '../../../src/config/redrive.js';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';

describe('configuration: sluice redrive', () => {
  const withTopics = { ...minimal, errors: { dlqTopic: 'logs-dlq', onMalformed: 'skip', onRejected: 'fail' }, redrive: { deadLetterTopic: 'logs-dlq-2' } };

  it('the options are optional for the main run', () => {
    const c = validateConfig(minimal);
    expect(c.redrive).to.deep.equal({});
  });

  it('reads errors.dlqTopic in its own group from the start, and sends every record that fails again to redrive.deadLetterTopic', () => {
    const main = validateConfig({ ...withTopics, kafka: { ...minimal.kafka, startFrom: 'latest' } });
    const c = redriveConfig(main);
    expect(c.kafka.topics).to.deep.equal(['logs-dlq']);
    expect(c.kafka.groupId).to.equal('g.redrive');
    expect(c.kafka.startFrom).to.equal('earliest');
    expect(c.errors).to.deep.include({ dlqTopic: 'logs-dlq-2', onMalformed: 'dlq', onRejected: 'dlq' });
    // The rest is the run's own, so that a record is indexed as its original would be now.
    expect(c.index).to.equal(main.index);
    expect(c.pipeline).to.equal(main.pipeline);
    expect(c.kafka.brokers).to.deep.equal(main.kafka.brokers);
    // The run's configuration is not changed.
    expect(main.kafka.topics).to.deep.equal(['logs']);
    expect(main.errors.dlqTopic).to.equal('logs-dlq');
  });

  it('takes redrive.groupId when it is set', () => {
    expect(redriveConfig(validateConfig({ ...withTopics, redrive: { ...withTopics.redrive, groupId: 'again' } })).kafka.groupId).to.equal('again');
  });

  it('requires both dead-letter topics', () => {
    expect(messages(() => redriveConfig(validateConfig(minimal)))).to.deep.equal([
      'errors.dlqTopic is required by sluice redrive: it is the dead-letter topic re-driven',
      'redrive.deadLetterTopic is required by sluice redrive: records that fail again go there (a topic other than errors.dlqTopic)',
    ]);
    expect(messages(() => redriveConfig(validateConfig({ ...minimal, errors: { dlqTopic: 'logs-dlq' } })))).to.deep.equal([
      'redrive.deadLetterTopic is required by sluice redrive: records that fail again go there (a topic other than errors.dlqTopic)',
    ]);
  });

  it('refuses a redrive.deadLetterTopic that is the topic it reads, or one the main run consumes, and the main run\'s group', () => {
    expect(messages(() => validateConfig({ ...withTopics, redrive: { deadLetterTopic: 'logs-dlq' } }))).to.deep.equal([
      'redrive.deadLetterTopic must differ from errors.dlqTopic (both are "logs-dlq"): sluice redrive reads errors.dlqTopic, and records that fail again would land in it and be read again',
    ]);
    expect(messages(() => validateConfig({ ...withTopics, redrive: { deadLetterTopic: 'logs' } }))).to.deep.equal([
      'redrive.deadLetterTopic must not be one of kafka.topics (its records would be consumed again)',
    ]);
    expect(messages(() => validateConfig({ ...withTopics, kafka: { ...minimal.kafka, topics: ['^logs.*'] } }))).to.deep.equal([
      'errors.dlqTopic must not match a pattern of kafka.topics ("^logs.*"; its records would be consumed again)',
      'redrive.deadLetterTopic must not match a pattern of kafka.topics ("^logs.*"; its records would be consumed again)',
    ]);
    expect(messages(() => validateConfig({ ...withTopics, redrive: { ...withTopics.redrive, groupId: 'g' } }))).to.deep.equal([
      'redrive.groupId must differ from kafka.groupId (both are "g"): the re-drive would join the main run\'s group',
    ]);
  });
});
