import type { TaskSignal } from '../common/protocol.js';

/** Why a run of a task failed: its own deadline, a worker terminated for another task, or itself. */
export type TaskFate = 'timeout' | 'collateral' | 'failed';

export interface TaskWatchOptions {
  /** Deadline of a task's CPU phase, from its `started` signal to its `encoded` signal. */
  timeoutMs: number;
  /** Ends a worker thread: every task on it fails, and the pool starts a replacement. */
  terminate: (threadId: number) => void;
  /** A thread is being terminated because `task` ran past the deadline. */
  onTimeout?: (threadId: number, task: number) => void;
  now?: () => number;
}

interface Watched {
  /** Thread that reported starting it; undefined until then. */
  thread: number | undefined;
  /** When its CPU phase runs out; undefined outside the CPU phase. */
  deadline: number | undefined;
  fate: TaskFate | undefined;
  /** Threads terminated before it was run. */
  killsAtBegin: number;
  onStart: (() => void) | undefined;
}

/**
 * The deadline of each task's CPU phase (decode, transform, encode: milliseconds on healthy input).
 * The clock starts at the worker's own `started` signal, not at dispatch: a task posted to a thread
 * that is busy with another one waits unseen in that thread's queue. It stops at `encoded`: the
 * `_bulk` I/O that follows may rightly last for minutes (retries through an outage) and is never cut.
 *
 * A thread past the deadline spins, or awaits a transform that never resolves; only terminating it
 * frees it. That fails every task the thread held. Only the one whose clock ran out is to blame
 * (`timeout`); the others are `collateral` and run again without spending an attempt, or good
 * records would be bisected down and dead-lettered with the bad one. A task that had not started
 * when its thread died ran none of its code, so it is collateral too.
 */
export class TaskWatch {
  readonly #tasks = new Map<number, Watched>();
  /** Threads this watch terminated: a late `started` from one of them is collateral at once. */
  readonly #killed = new Set<number>();
  #kills = 0;
  #nextId = 1;
  #timer: NodeJS.Timeout | undefined;
  readonly #options: TaskWatchOptions;
  readonly #now: () => number;

  constructor(options: TaskWatchOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Registers a run of a task, with what to do once a worker starts it; returns its id for `BatchTask.id`. */
  begin(onStart?: () => void): number {
    const id = this.#nextId++;
    this.#tasks.set(id, { thread: undefined, deadline: undefined, fate: undefined, killsAtBegin: this.#kills, onStart });
    return id;
  }

  /** A worker reported on a task. Signals of runs already ended are ignored. */
  signal(s: TaskSignal): void {
    const t = this.#tasks.get(s.task);
    if (!t || t.fate !== undefined) return;
    if (s.kind === 'encoded') {
      t.deadline = undefined;
      return;
    }
    t.thread = s.threadId;
    if (this.#killed.has(s.threadId)) t.fate = 'collateral';
    else {
      t.deadline = this.#now() + this.#options.timeoutMs;
      this.#arm();
      t.onStart?.();
    }
  }

  /** The run ended; when it failed, why. Forgets the run. */
  end(id: number): TaskFate {
    const t = this.#tasks.get(id);
    this.#tasks.delete(id);
    if (!t) return 'failed';
    if (t.fate !== undefined) return t.fate;
    return t.thread === undefined && this.#kills > t.killsAtBegin ? 'collateral' : 'failed';
  }

  /** Terminates the thread of each task whose CPU phase is past its deadline at `now`. */
  expire(now: number = this.#now()): void {
    for (const [id, t] of this.#tasks) {
      if (t.deadline === undefined || t.deadline > now || t.thread === undefined) continue;
      const thread = t.thread;
      this.#killed.add(thread);
      this.#kills++;
      for (const [other, o] of this.#tasks) {
        if (o.thread !== thread || o.fate !== undefined) continue;
        o.fate = other === id ? 'timeout' : 'collateral';
        o.deadline = undefined;
      }
      this.#options.onTimeout?.(thread, id);
      this.#options.terminate(thread);
    }
    this.#arm();
  }

  /** Tasks in their CPU phase, on the clock. */
  timing(): number {
    let n = 0;
    for (const t of this.#tasks.values()) if (t.deadline !== undefined) n++;
    return n;
  }

  /**
   * Checks deadlines at a tenth of the timeout while some task is on the clock, and not at all
   * otherwise. Ticks rather than one timer per task, so a test's clock (`now`) drives expiry.
   */
  #arm(): void {
    const needed = this.timing() > 0;
    if (needed && this.#timer === undefined) {
      this.#timer = setInterval(() => this.expire(), Math.max(10, Math.min(1000, Math.floor(this.#options.timeoutMs / 10))));
      this.#timer.unref();
    } else if (!needed && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
