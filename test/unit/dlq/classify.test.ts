import { expect } from 'chai';
import { createRequire } from 'node:module';
import rdkafka from 'node-rdkafka';
import { classifyDeliveryError, describeCode, rdkafkaCode } from '../../../src/dlq/classify.js';

const E = rdkafka.CODES.ERRORS;
// node-rdkafka builds a delivery report's error from librdkafka's message alone; build them the same way.
const { create } = createRequire(import.meta.url)('node-rdkafka/lib/error.js') as { create(e: unknown): { code: number; origin: string; message: string } };
const deliveryError = (code: number) => create(new Error(describeCode(code)));

describe('dead-letter write errors', () => {
  it('recover the librdkafka code of a delivery report, which node-rdkafka reports as -1', () => {
    for (const code of [E.ERR_UNKNOWN_TOPIC_OR_PART, E.ERR_TOPIC_AUTHORIZATION_FAILED, E.ERR_MSG_SIZE_TOO_LARGE, E.ERR__MSG_TIMED_OUT, E.ERR_CLUSTER_AUTHORIZATION_FAILED]) {
      const err = deliveryError(code);
      expect(err.code).to.equal(-1);
      expect(rdkafkaCode(err), describeCode(code)).to.equal(code);
    }
  });

  it('keep the code of an error thrown by produce()', () => {
    expect(rdkafkaCode(create(E.ERR__UNKNOWN_TOPIC))).to.equal(E.ERR__UNKNOWN_TOPIC);
    expect(rdkafkaCode(create(E.ERR__QUEUE_FULL))).to.equal(E.ERR__QUEUE_FULL);
  });

  it('classify by code: too large, permanent (an operator must act), timed out, or transient', () => {
    expect(classifyDeliveryError(E.ERR_MSG_SIZE_TOO_LARGE)).to.equal('too_large');
    expect(classifyDeliveryError(E.ERR_RECORD_LIST_TOO_LARGE)).to.equal('too_large');
    for (const code of [
      E.ERR__UNKNOWN_TOPIC,
      E.ERR_UNKNOWN_TOPIC_OR_PART,
      E.ERR_TOPIC_AUTHORIZATION_FAILED,
      E.ERR_CLUSTER_AUTHORIZATION_FAILED,
      E.ERR_SASL_AUTHENTICATION_FAILED,
      E.ERR__AUTHENTICATION,
      E.ERR_TOPIC_EXCEPTION,
      E.ERR_POLICY_VIOLATION,
      E.ERR__FATAL,
    ]) {
      expect(classifyDeliveryError(code), describeCode(code)).to.equal('permanent');
    }
    expect(classifyDeliveryError(E.ERR__MSG_TIMED_OUT)).to.equal('timeout');
    expect(classifyDeliveryError(E.ERR__QUEUE_FULL)).to.equal('transient');
    expect(classifyDeliveryError(E.ERR_NOT_ENOUGH_REPLICAS)).to.equal('transient');
    expect(classifyDeliveryError(undefined)).to.equal('transient');
  });
});
