import { expect } from 'chai';
import { TaskWatch } from '../../../src/dispatch/task-watch.js';

function setup(timeoutMs = 1000) {
  const clock = { t: 0 };
  const terminated: number[] = [];
  const watch = new TaskWatch({ timeoutMs, now: () => clock.t, terminate: (thread) => terminated.push(thread) });
  const start = (task: number, threadId: number): void => watch.signal({ kind: 'started', threadId, task });
  const encoded = (task: number, threadId: number): void => watch.signal({ kind: 'encoded', threadId, task });
  return { clock, terminated, watch, start, encoded };
}

describe('task deadlines', () => {
  it('starts the clock when the worker starts the task, not when it is dispatched', () => {
    const { clock, terminated, watch, start } = setup();
    const a = watch.begin();
    clock.t = 5000; // waited behind another task of its thread all this time
    start(a, 1);
    watch.expire(5999);
    expect(terminated).to.deep.equal([]);
    watch.expire(6000);
    expect(terminated).to.deep.equal([1]);
    expect(watch.end(a)).to.equal('timeout');
  });

  it('stops the clock at encoded: bulk I/O of any length is never cut', () => {
    const { terminated, watch, start, encoded } = setup();
    const a = watch.begin();
    start(a, 1);
    encoded(a, 1);
    watch.expire(10_000_000);
    expect(terminated).to.deep.equal([]);
    expect(watch.timing()).to.equal(0);
    expect(watch.end(a)).to.equal('failed', 'a failure after encoding is its own');
  });

  it('blames the task past its deadline; the others of its thread, started or not, are collateral', () => {
    const { terminated, watch, start, encoded } = setup();
    const hung = watch.begin();
    const sending = watch.begin();
    const queued = watch.begin();
    const elsewhere = watch.begin();
    start(sending, 1);
    encoded(sending, 1);
    start(hung, 1);
    start(elsewhere, 2);
    encoded(elsewhere, 2);
    watch.expire(1000);
    expect(terminated).to.deep.equal([1]);
    expect(watch.end(hung)).to.equal('timeout');
    expect(watch.end(sending)).to.equal('collateral');
    expect(watch.end(queued)).to.equal('collateral', 'it never started, so it cannot have hung the thread');
    expect(watch.end(elsewhere)).to.equal('failed', 'another thread was not terminated');
  });

  it('counts a late start from a terminated thread as collateral, and ignores signals of ended runs', () => {
    const { terminated, watch, start } = setup();
    const hung = watch.begin();
    const late = watch.begin();
    start(hung, 1);
    watch.expire(1000);
    start(late, 1); // posted by the thread just before it died
    start(hung, 3); // a stale signal of a run already blamed
    expect(watch.timing()).to.equal(0);
    watch.expire(50_000);
    expect(terminated).to.deep.equal([1]);
    expect(watch.end(late)).to.equal('collateral');
    expect(watch.end(hung)).to.equal('timeout');
  });

  it('a task that fails without any thread terminated spends an attempt, started or not', () => {
    const { watch, start } = setup();
    const a = watch.begin();
    const b = watch.begin();
    start(a, 1);
    expect(watch.end(a)).to.equal('failed');
    expect(watch.end(b)).to.equal('failed', 'e.g. the pool is closed: no free rerun');
  });

  it('expires on its own timer while a task is on the clock', async () => {
    const terminated: number[] = [];
    let now = 0;
    const watch = new TaskWatch({ timeoutMs: 100, now: () => now, terminate: (thread) => terminated.push(thread) });
    watch.signal({ kind: 'started', threadId: 4, task: watch.begin() });
    now = 100;
    const deadline = Date.now() + 5000;
    while (terminated.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(terminated).to.deep.equal([4]);
  });
});
