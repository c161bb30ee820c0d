import type { TopicPartition } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { HaltCause } from '../observe/metrics.js';
import { tpKey } from '../offsets/watermark.js';
import type { WorkerSignal } from '../common/protocol.js';

/** Where pauses and resumes go: the Kafka consumer. */
export interface PauseTarget {
  pause(tps: TopicPartition[]): void;
  resume(tps: TopicPartition[]): void;
}

export type ElasticsearchHalt = Extract<WorkerSignal, { kind: 'halt' }>;

/** How often a halt that goes on is logged again. */
const HALT_LOG_INTERVAL_MS = 10_000;

/**
 * The one owner of "is this partition fetched?". A partition is paused while the pipeline stops,
 * is over its byte budget or halted (Elasticsearch or the dead-letter topic refuses writes, or the
 * dead-letter circuit breaker tripped), or while the partition itself is blocked before a failed
 * record. Every change of any of these goes through `#apply`, which pauses and resumes exactly the
 * partitions whose answer changed. Polling goes on regardless: librdkafka keeps the group
 * membership alive while every partition is paused.
 */
export class FlowControl {
  readonly #target: PauseTarget;
  readonly #budget: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #paused = new Set<string>();
  /** Partitions stopped before a failed record (policy `fail`, or held by the breaker), until restart or revoke. */
  readonly #blocked = new Map<string, { offset: number; reason: string }>();
  /** Workers whose writes are refused for a reason only an operator can fix. */
  readonly #esHalts = new Map<number, ElasticsearchHalt>();
  #lastEsHaltLog = 0;
  /** Why the dead-letter topic refuses writes, while it does. */
  #deadLetterHalt: string | undefined;
  #lastDeadLetterHaltLog = 0;
  /** Why the dead-letter circuit breaker tripped; it stays tripped until restart. */
  #breakerTrip: string | undefined;
  #overBudget = false;
  #stopping = false;

  constructor(options: { target: PauseTarget; budgetBytes: number; logger: Logger; now?: () => number }) {
    this.#target = options.target;
    this.#budget = options.budgetBytes;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Partitions were assigned; returns those to pause at once. A new assignment is never blocked. */
  assign(tps: readonly TopicPartition[]): TopicPartition[] {
    const toPause = [];
    for (const tp of tps) {
      const key = tpKey(tp.topic, tp.partition);
      this.#assigned.set(key, tp);
      this.#blocked.delete(key);
      if (this.#shouldPause(key)) {
        this.#paused.add(key);
        toPause.push(tp);
      }
    }
    return toPause;
  }

  /** Partitions were revoked: forgotten, with their pauses and blocks. */
  revoke(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const key = tpKey(tp.topic, tp.partition);
      this.#assigned.delete(key);
      this.#paused.delete(key);
      this.#blocked.delete(key);
    }
  }

  /** The assigned partitions, in assignment order. */
  assigned(): IterableIterator<TopicPartition> {
    return this.#assigned.values();
  }

  assignedKeys(): IterableIterator<string> {
    return this.#assigned.keys();
  }

  get assignedCount(): number {
    return this.#assigned.size;
  }

  isAssigned(tp: TopicPartition): boolean {
    return this.#assigned.has(tpKey(tp.topic, tp.partition));
  }

  /** Stops the partition before `offset` until restart or revoke. False when it already was. */
  block(tp: TopicPartition, offset: number, reason: string): boolean {
    const key = tpKey(tp.topic, tp.partition);
    if (this.#blocked.has(key)) return false;
    this.#blocked.set(key, { offset, reason });
    this.#apply();
    return true;
  }

  isBlocked(key: string): boolean {
    return this.#blocked.has(key);
  }

  isPaused(key: string): boolean {
    return this.#paused.has(key);
  }

  get blockedCount(): number {
    return this.#blocked.size;
  }

  /** A worker reports that Elasticsearch refuses its writes, or accepts them again. */
  workerSignal(signal: ElasticsearchHalt | Extract<WorkerSignal, { kind: 'resume' }>): void {
    if (signal.kind === 'halt') {
      const first = this.#esHalts.size === 0;
      this.#esHalts.set(signal.threadId, signal);
      if (!first) return;
      this.#lastEsHaltLog = this.#now();
      this.#logger.error(
        { status: signal.status, errorType: signal.errorType, reason: signal.reason },
        'halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them',
      );
      this.#apply();
    } else if (this.#esHalts.delete(signal.threadId) && this.#esHalts.size === 0) {
      this.#logger.info('resumed: Elasticsearch accepts writes again');
      this.#apply();
    }
  }

  /** The dead-letter topic refuses writes (`reason`), or accepts them again (undefined). */
  deadLetterTopic(reason: string | undefined, dlqTopic: string): void {
    if (reason === undefined) {
      this.#deadLetterHalt = undefined;
      this.#logger.info({ dlqTopic }, 'resumed: the dead-letter topic accepts writes again');
      this.#apply();
      return;
    }
    const first = this.#deadLetterHalt === undefined;
    this.#deadLetterHalt = reason;
    this.#lastDeadLetterHaltLog = this.#now();
    this.#logger.error(
      { dlqTopic, reason },
      first ? 'halted: the dead-letter topic refuses writes; every partition paused, polling goes on, retrying until it accepts them' : 'still halted: the dead-letter topic refuses writes',
    );
    if (first) this.#apply();
  }

  /** The dead-letter circuit breaker tripped: every partition paused until restart. */
  trip(reason: string): void {
    if (this.#breakerTrip !== undefined) return;
    this.#breakerTrip = reason;
    this.#apply();
  }

  get tripped(): string | undefined {
    return this.#breakerTrip;
  }

  /** Over the budget: pause; below half of it: resume. */
  buffered(bytes: number): void {
    if (!this.#overBudget && bytes > this.#budget) {
      this.#overBudget = true;
      this.#logger.debug({ buffered: bytes, budget: this.#budget }, 'over the byte budget; partitions paused');
      this.#apply();
    } else if (this.#overBudget && bytes < this.#budget / 2) {
      this.#overBudget = false;
      this.#logger.debug({ buffered: bytes, budget: this.#budget }, 'below the byte budget; partitions resumed');
      this.#apply();
    }
  }

  get overBudget(): boolean {
    return this.#overBudget;
  }

  /** The pipeline stops: every partition paused for good. */
  stop(): void {
    this.#stopping = true;
    this.#apply();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Once per interval: forgets halts of worker threads that no longer exist (a replaced worker
   * never sends its resume) and logs one line per cause while a halt goes on.
   */
  tick(liveThreadIds: ReadonlySet<number>, deadLetterPending: number, dlqTopic: string | undefined): void {
    const now = this.#now();
    if (this.#esHalts.size > 0) {
      for (const id of this.#esHalts.keys()) if (!liveThreadIds.has(id)) this.#esHalts.delete(id);
      if (this.#esHalts.size === 0) this.#apply();
      else if (now - this.#lastEsHaltLog >= HALT_LOG_INTERVAL_MS) {
        this.#lastEsHaltLog = now;
        const h = this.#esHalts.values().next().value;
        this.#logger.error({ status: h?.status, errorType: h?.errorType, reason: h?.reason, workers: this.#esHalts.size }, 'still halted: Elasticsearch refuses writes');
      }
    }
    if (this.#deadLetterHalt !== undefined && now - this.#lastDeadLetterHaltLog >= HALT_LOG_INTERVAL_MS) {
      this.#lastDeadLetterHaltLog = now;
      this.#logger.error({ dlqTopic, reason: this.#deadLetterHalt, pending: deadLetterPending }, 'still halted: the dead-letter topic refuses writes');
    }
  }

  /** Why writes are halted, every cause joined, when they are. */
  haltReason(): string | undefined {
    const es = this.#esHalts.size > 0 ? (this.#esHalts.values().next().value?.reason ?? 'halted') : undefined;
    const reasons = [es, this.#deadLetterHalt, this.#breakerTrip].filter((r) => r !== undefined);
    return reasons.length > 0 ? reasons.join('; ') : undefined;
  }

  haltedBy(): Record<HaltCause, boolean> {
    return { elasticsearch: this.#esHalts.size > 0, dead_letter_topic: this.#deadLetterHalt !== undefined, dead_letter_ratio: this.#breakerTrip !== undefined };
  }

  #halted(): boolean {
    return this.#esHalts.size > 0 || this.#deadLetterHalt !== undefined || this.#breakerTrip !== undefined;
  }

  #shouldPause(key: string): boolean {
    return this.#stopping || this.#overBudget || this.#halted() || this.#blocked.has(key);
  }

  #apply(): void {
    const pause = [];
    const resume = [];
    for (const [key, tp] of this.#assigned) {
      const want = this.#shouldPause(key);
      if (want && !this.#paused.has(key)) {
        this.#paused.add(key);
        pause.push(tp);
      } else if (!want && this.#paused.has(key)) {
        this.#paused.delete(key);
        resume.push(tp);
      }
    }
    this.#target.pause(pause);
    this.#target.resume(resume);
  }
}
