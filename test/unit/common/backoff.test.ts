import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { backoffDelay, backoffStep, sleep } from '../../../src/common/backoff.js';

describe('backoff', () => {
  it('doubles the step from the base each attempt, up to the cap', () => {
    expect([0, 1, 2, 3].map((a) => backoffStep(a, 100, 10_000))).to.deep.equal([100, 200, 400, 800]);
    expect(backoffStep(7, 100, 10_000)).to.equal(10_000);
  });

  it('waits between half the step (random 0) and the whole step (random 1)', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).to.equal(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).to.equal(100);
    expect(backoffDelay(3, 100, 10_000, () => 0)).to.equal(400);
    expect(backoffDelay(3, 100, 10_000, () => 0.5)).to.equal(600);
    expect(backoffDelay(3, 100, 10_000, () => 1)).to.equal(800);
  });

  it('never waits past the cap, jitter included', () => {
    expect(backoffDelay(40, 100, 10_000, () => 1)).to.equal(10_000);
    expect(backoffDelay(40, 100, 10_000, () => 0)).to.equal(5_000);
  });

  it('stays finite for attempt counts past any exponent', () => {
    for (const attempt of [31, 1024, 1e6, Number.MAX_SAFE_INTEGER]) {
      expect(backoffDelay(attempt, 100, 30_000, () => 1), String(attempt)).to.equal(30_000);
      expect(backoffDelay(attempt, 0, 30_000, () => 1), `${attempt}, base 0`).to.equal(0);
    }
  });

  it('uses Math.random when no source is given', () => {
    for (let i = 0; i < 100; i++) expect(backoffDelay(2, 100, 10_000)).to.be.within(200, 400);
  });
});

describe('sleep', () => {
  it('resolves after the time', async () => {
    await sleep(1);
  });

  it('rejects with the reason as soon as the signal aborts, and at once when it already has', async () => {
    const controller = new AbortController();
    const reason = new Error('closed');
    const sleeping = sleep(60_000, controller.signal);
    controller.abort(reason);
    try {
      await sleeping;
      expect.fail('sleep should have rejected');
    } catch (err) {
      expect(err).to.equal(reason);
    }
    try {
      await sleep(60_000, controller.signal);
      expect.fail('sleep should have rejected');
    } catch (err) {
      expect(err).to.equal(reason);
    }
  });

  it('lets go of the signal once it resolves', async () => {
    const controller = new AbortController();
    const sleeping = sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    await sleeping;
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });
});
