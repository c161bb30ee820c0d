import { expect } from 'chai';
import { HealthWatch, type HealthState } from '../../../src/observe/health.js';

const base: HealthState = { assigned: 2, halted: undefined, blocked: 0, stopping: false, lag: 100, done: 0, stuck: [] };

describe('readiness', () => {
  it('is ready with partitions assigned, nothing halted or blocked, and progress', () => {
    const w = new HealthWatch(10_000, 0);
    expect(w.evaluate(base, 1000)).to.deep.equal({ ready: true, reasons: [] });
  });

  it('names every reason it is not ready', () => {
    const w = new HealthWatch(10_000, 0);
    const r = w.evaluate({ ...base, assigned: 0, halted: 'index [logs] blocked by: [FORBIDDEN/8/index write (api)]', blocked: 1, stopping: true }, 0);
    expect(r.ready).to.equal(false);
    expect(r.reasons).to.deep.equal([
      'stopping',
      'no partitions assigned',
      'halted: index [logs] blocked by: [FORBIDDEN/8/index write (api)]',
      '1 partition(s) stopped before a record that could not be indexed',
    ]);
  });

  it('names stuck partitions and the age of the oldest batch holding them back', () => {
    const w = new HealthWatch(10_000, 0);
    const stuck = [
      { topic: 'logs', partition: 0, ageMs: 12_400 },
      { topic: 'logs', partition: 3, ageMs: 61_600 },
    ];
    expect(w.evaluate({ ...base, done: 7, stuck }, 1000)).to.deep.equal({ ready: false, reasons: ['2 partition(s) stuck: a batch has not completed for 62 s'] });
    expect(w.evaluate({ ...base, done: 8 }, 2000).ready).to.equal(true);
  });

  it('turns unready once nothing completes for stallSeconds while there is lag, and ready again on progress', () => {
    const w = new HealthWatch(10_000, 0);
    expect(w.evaluate({ ...base, done: 5 }, 1000).ready).to.equal(true);
    expect(w.evaluate({ ...base, done: 5 }, 10_999).ready).to.equal(true);
    const stalled = w.evaluate({ ...base, done: 5 }, 11_000);
    expect(stalled).to.deep.equal({ ready: false, reasons: ['stalled: no record completed for 10 s while 100 records wait in Kafka'] });
    expect(w.evaluate({ ...base, done: 6 }, 11_500).ready).to.equal(true);
  });

  it('never calls an idle member without lag stalled, nor one whose lag is not known yet', () => {
    const w = new HealthWatch(1000, 0);
    expect(w.evaluate({ ...base, lag: 0 }, 60_000).ready).to.equal(true);
    expect(w.evaluate({ ...base, lag: undefined }, 120_000).ready).to.equal(true);
    // Lag appears: the stall clock starts from there, not from the last record completed.
    expect(w.evaluate({ ...base, lag: 5 }, 120_500).ready).to.equal(true);
    expect(w.evaluate({ ...base, lag: 5 }, 121_500).ready).to.equal(false);
  });
});
