/**
 * The dead-letter circuit breaker's window: the fates of the last `size` finished records (1 =
 * dead-lettered, 0 = anything else) in a ring of bytes, with a running count of ones, so each
 * record costs O(1) on the main thread. It trips when letting one more record go to the dead-letter
 * topic would make the share of dead letters in a full window pass `maxRatio`; it is only judged
 * once the window is full, so a few early failures never trip it.
 *
 *   ring   [1 0 0 1 1 0 …]   next → slot of the oldest fate, overwritten by the newest
 *   ones   count of 1s in the ring
 */
export class DeadLetterWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  #filled = 0;
  #ones = 0;

  constructor(
    readonly size: number,
    readonly maxRatio: number,
  ) {
    this.#ring = new Uint8Array(size);
  }

  /** `count` records finished without a dead letter (indexed, skipped, or failed and held). */
  passed(count: number): void {
    if (count >= this.size) {
      this.#ring.fill(0);
      this.#next = 0;
      this.#filled = this.size;
      this.#ones = 0;
      return;
    }
    for (let i = 0; i < count; i++) this.#push(0);
  }

  /**
   * A record is about to be dead-lettered. Counts it and answers `undefined`, or, when that record
   * would trip the breaker, counts nothing and answers how many of the window's records would then
   * be dead letters.
   */
  admit(): number | undefined {
    const dropped = this.#filled === this.size ? (this.#ring[this.#next] as number) : 0;
    const ones = this.#ones + 1 - dropped;
    if (this.#filled + 1 >= this.size && ones / this.size > this.maxRatio) return ones;
    this.#push(1);
    return undefined;
  }

  /** Share of dead letters among the records in the window, once it holds any. */
  ratio(): number | undefined {
    return this.#filled === 0 ? undefined : this.#ones / this.#filled;
  }

  /** Dead letters among the records the window holds, and how many it holds. */
  counts(): { deadLettered: number; records: number } {
    return { deadLettered: this.#ones, records: this.#filled };
  }

  #push(bit: 0 | 1): void {
    if (this.#filled === this.size) this.#ones -= this.#ring[this.#next] as number;
    else this.#filled++;
    this.#ring[this.#next] = bit;
    this.#ones += bit;
    this.#next = (this.#next + 1) % this.size;
  }
}
