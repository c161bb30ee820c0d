/**
 * The native consumer's chunks, reused instead of left to the garbage collector. A chunk is a
 * SharedArrayBuffer that the consumer fills and batches share with the workers; its memory is
 * external to V8's heaps, so a small main-thread heap seldom collects, and chunks that nothing
 * uses any more would pile up far beyond the byte budget. Here each chunk counts its users: the
 * consumer while it writes into it, and each batch (gathering, queued or running) that holds rows
 * of it. A chunk nobody uses goes back to the pool and is written again only then: a batch's
 * worker has answered (or was terminated) by the time its batch lets go, so no worker still reads it.
 */
export class ChunkPool {
  readonly #users = new Map<SharedArrayBuffer, number>();
  readonly #free: SharedArrayBuffer[] = [];

  /**
   * The pool of a run: chunks of two batches' worth each, as most batches then fit whole in one (a
   * batch ends where its chunk does), and kept as many as the byte budget fills, and the one being
   * written. Fewer kept would mean new chunks at every resume while the ones let go still await a
   * collection: memory would climb past the budget in garbage.
   */
  static forBudget(budgetBytes: number, batchBytes: number): ChunkPool {
    const chunkBytes = Math.max(1 << 20, Math.min(64 << 20, 2 * batchBytes));
    return new ChunkPool(chunkBytes, Math.ceil(budgetBytes / chunkBytes) + 1);
  }

  /**
   * @param chunkBytes the size of a chunk (a larger one is made for a record that needs it)
   * @param maxFree chunks kept for reuse; more are let go
   */
  constructor(
    readonly chunkBytes: number,
    readonly maxFree: number,
  ) {}

  /** A chunk of at least `minBytes` for the consumer to write into; the consumer is its first user. */
  acquire(minBytes = 0): SharedArrayBuffer {
    const need = Math.max(this.chunkBytes, minBytes);
    const at = this.#free.findIndex((c) => c.byteLength >= need);
    const chunk = at >= 0 ? (this.#free.splice(at, 1)[0] as SharedArrayBuffer) : new SharedArrayBuffer(need);
    this.#users.set(chunk, 1);
    return chunk;
  }

  /** One more user of the chunk (a batch took rows of it). A chunk the pool does not know is left alone. */
  retain(chunk: SharedArrayBuffer): void {
    const users = this.#users.get(chunk);
    if (users !== undefined) this.#users.set(chunk, users + 1);
  }

  /** A user is done with the chunk; the last one gives it back for reuse. */
  release(chunk: SharedArrayBuffer): void {
    const users = this.#users.get(chunk);
    if (users === undefined) return;
    if (users > 1) {
      this.#users.set(chunk, users - 1);
      return;
    }
    this.#users.delete(chunk);
    if (this.#free.length < this.maxFree && chunk.byteLength === this.chunkBytes) this.#free.push(chunk);
  }

  /** Chunks in use and kept for reuse (for tests and metrics). */
  get size(): { used: number; free: number } {
    return { used: this.#users.size, free: this.#free.length };
  }
}
