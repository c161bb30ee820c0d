import { expect } from 'chai';
import { ConfigErrors } from '../../../src/common/errors.js';

/** The smallest valid configuration. */
export const minimal = { kafka: { brokers: 'localhost:9092', groupId: 'g', topics: ['logs'] } };

/** The messages of the `ConfigErrors` that `fn` throws (fails when it throws nothing else). */
export function messages(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigErrors);
    return (err as ConfigErrors).errors.map((e) => e.message);
  }
  throw new Error('expected a ConfigErrors');
}
