import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';

describe('configuration: dead-letter circuit breaker', () => {
  it('defaults to a share of 0.5 over 1000 finished records', () => {
    const c = validateConfig(minimal);
    expect(c.errors.dlqMaxRatio).to.equal(0.5);
    expect(c.errors.dlqWindowRecords).to.equal(1000);
  });

  it('takes a share from 0 to 1, also as a string, and a window of at least one record', () => {
    const c = validateConfig({ ...minimal, errors: { dlqMaxRatio: '0.25', dlqWindowRecords: '200' } });
    expect(c.errors.dlqMaxRatio).to.equal(0.25);
    expect(c.errors.dlqWindowRecords).to.equal(200);
    expect(validateConfig({ ...minimal, errors: { dlqMaxRatio: 1 } }).errors.dlqMaxRatio).to.equal(1);
    expect(messages(() => validateConfig({ ...minimal, errors: { dlqMaxRatio: 1.5, dlqWindowRecords: 0 } }))).to.deep.equal([
      'errors.dlqMaxRatio must be a number from 0 to 1 (got number 1.5)',
      'errors.dlqWindowRecords must be at least 1 (got 0)',
    ]);
    expect(messages(() => validateConfig({ ...minimal, errors: { dlqMaxRatio: '50%' } }))).to.deep.equal(['errors.dlqMaxRatio must be a number from 0 to 1 (got string "50%")']);
  });
});
