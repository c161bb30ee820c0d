import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { consumerProperties, type ConsumerTuning } from '../../../src/kafka/consumer.js';
import { messages, minimal } from './support.js';

const withTopics = (topics: unknown, more: Record<string, unknown> = {}) => ({ ...minimal, kafka: { ...minimal.kafka, topics }, ...more });
const tuning: ConsumerTuning = { consumeTimeoutMs: 20, gapTimeoutMs: 5, minBatch: 64, maxBatch: 4096, targetCallMs: 100, statsIntervalMs: 1000, queuedMaxKbytes: 1024 };

describe('config: topic patterns', () => {
  it('takes ^ entries as patterns beside plain topics', () => {
    expect(validateConfig(withTopics(['orders', '^logs-.*'])).kafka.topics).to.deep.equal(['orders', '^logs-.*']);
  });

  it('refuses a pattern librdkafka would read differently, naming the entry', () => {
    const errs = messages(() => validateConfig(withTopics(['orders', '^logs-\\d+', '^(app'])));
    expect(errs).to.have.length(2);
    expect(errs[0]).to.match(/^kafka\.topics\[1\] is a topic pattern \(it starts with \^\) that has \\d, .* \(got "\^logs-\\\\d\+"\)$/);
    expect(errs[1]).to.match(/^kafka\.topics\[2\] .* is not a valid regular expression/);
  });

  it('refuses a dead-letter topic that a pattern matches', () => {
    const errs = messages(() => validateConfig(withTopics(['^logs.*'], { errors: { dlqTopic: 'logs-dlq' } })));
    expect(errs).to.deep.equal(['errors.dlqTopic must not match a pattern of kafka.topics ("^logs.*"; its records would be consumed again)']);
    expect(() => validateConfig(withTopics(['^logs-[0-9]+$'], { errors: { dlqTopic: 'logs-dlq' } }))).to.not.throw();
  });

  it('refreshes metadata every kafka.metadataRefreshMs (30 s by default) only with a pattern', () => {
    expect(consumerProperties(validateConfig(withTopics(['^logs-.*'])), tuning)['topic.metadata.refresh.interval.ms']).to.equal(30_000);
    const short = validateConfig({ ...withTopics(['^logs-.*']), kafka: { ...minimal.kafka, topics: ['^logs-.*'], metadataRefreshMs: '2s' } });
    expect(consumerProperties(short, tuning)['topic.metadata.refresh.interval.ms']).to.equal(2000);
    expect(consumerProperties(validateConfig(minimal), tuning)).to.not.have.property('topic.metadata.refresh.interval.ms');
    const raw = validateConfig({ kafka: { ...minimal.kafka, topics: ['^l.*'], rdkafka: { 'topic.metadata.refresh.interval.ms': 5000 } } });
    expect(consumerProperties(raw, tuning)['topic.metadata.refresh.interval.ms']).to.equal(5000, 'kafka.rdkafka wins');
  });

  it("with a pattern, librdkafka's topic.blacklist keeps Kafka's internal topics out of the subscription", () => {
    expect(consumerProperties(validateConfig(withTopics(['^.*'])), tuning)['topic.blacklist']).to.equal('^__consumer_offsets$,^__transaction_state$,^__share_group_state$');
    expect(consumerProperties(validateConfig(minimal), tuning)).to.not.have.property('topic.blacklist');
  });
});
