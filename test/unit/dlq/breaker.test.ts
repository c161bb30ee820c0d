import { expect } from 'chai';
import { DeadLetterWindow } from '../../../src/dlq/breaker.js';

describe('dead-letter circuit breaker window', () => {
  it('is judged only once full: the record that fills a window of dead letters trips it', () => {
    const w = new DeadLetterWindow(10, 0.5);
    for (let i = 0; i < 9; i++) expect(w.admit(), `record ${i}`).to.equal(undefined);
    expect(w.ratio()).to.equal(1);
    expect(w.admit()).to.equal(10);
    // Tripping counts nothing: the window still holds 9 dead letters.
    expect(w.ratio()).to.equal(1);
  });

  it('trips only when the share passes maxRatio, counting the records that finished without a dead letter', () => {
    const w = new DeadLetterWindow(10, 0.5);
    w.passed(5);
    for (let i = 0; i < 5; i++) expect(w.admit()).to.equal(undefined);
    expect(w.ratio()).to.equal(0.5);
    // The oldest fate (no dead letter) leaves as the new one comes: 6 of 10 would pass 0.5.
    expect(w.admit()).to.equal(6);
  });

  it('slides: old dead letters leave the window as records finish', () => {
    const w = new DeadLetterWindow(4, 0.5);
    expect(w.admit()).to.equal(undefined);
    expect(w.admit()).to.equal(undefined);
    w.passed(2);
    expect(w.ratio()).to.equal(0.5);
    // Full window [1 1 0 0]: a third dead letter would replace a 1, leaving 2 of 4.
    expect(w.admit()).to.equal(undefined);
    expect(w.ratio()).to.equal(0.5);
    // Successes push the dead letters out, oldest first.
    w.passed(3);
    expect(w.ratio()).to.equal(0.25);
    w.passed(1);
    expect(w.ratio()).to.equal(0);
    expect(w.admit()).to.equal(undefined);
    expect(w.admit()).to.equal(undefined);
    expect(w.admit()).to.equal(3);
  });

  it('a run longer than the window clears it at once (O(window) at most, however long the run)', () => {
    const w = new DeadLetterWindow(1000, 0.1);
    for (let i = 0; i < 50; i++) w.admit();
    w.passed(Number.MAX_SAFE_INTEGER);
    expect(w.ratio()).to.equal(0);
    for (let i = 0; i < 100; i++) expect(w.admit()).to.equal(undefined);
    expect(w.admit()).to.equal(101);
  });

  it('never trips with maxRatio 1', () => {
    const w = new DeadLetterWindow(3, 1);
    for (let i = 0; i < 10; i++) expect(w.admit()).to.equal(undefined);
    expect(w.ratio()).to.equal(1);
  });
});
