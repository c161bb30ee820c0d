/**
 * Builds the NDJSON of a batch once, straight into one growing buffer: for each document an action
 * line and a source line. Remembers where each document starts and which record it came from, so
 * that request bodies are cut and retried items re-sent as slices of this buffer without encoding
 * anything again.
 *
 *   buffer      {"index":{…}}\n{…source…}\n{"index":{…}}\n{…source…}\n …
 *   docStarts   ^0                          ^k                        … ^length
 *   docRecords  record of doc 0             record of doc 1
 */
export interface EncodedBatch {
  buffer: Buffer;
  /** Byte offset of each document's action line, plus the total length at the end. */
  docStarts: Uint32Array;
  /** Record (index in the task) each document came from. */
  docRecords: Int32Array;
  /** 1 where the document is a delete (an action line with no source). */
  docDeletes: Uint8Array;
}

export type OpType = 'index' | 'create' | 'delete';

/**
 * The NDJSON buffers of one worker, used again from batch to batch. A fresh buffer of megabytes per
 * batch is paid twice: in page faults as it is first written, and in full garbage collections, which
 * V8 starts to account for memory allocated outside its heap. A worker keeps a few instead, one per
 * batch it runs at once; a buffer is given back only when no request of its batch can still send it.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];

  /**
   * @param maxFree buffers kept for reuse
   * @param maxKeptBytes largest buffer kept: one grown for an outsized batch (a record of many
   *   megabytes) is let go rather than held while the worker idles
   */
  constructor(
    readonly maxFree: number,
    readonly maxKeptBytes: number,
  ) {}

  /** A buffer of at least `bytes`: the smallest free one that is big enough, else a new one. */
  acquire(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const len = (this.#free[i] as Buffer).length;
      if (len >= bytes && (best < 0 || len < (this.#free[best] as Buffer).length)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(bytes);
    return this.#free.splice(best, 1)[0] as Buffer;
  }

  /** Takes `buf` back; when the pool is full it keeps the larger buffers, which serve any batch. */
  release(buf: Buffer): void {
    if (buf.length > this.maxKeptBytes) return;
    if (this.#free.length < this.maxFree) {
      this.#free.push(buf);
      return;
    }
    let smallest = -1;
    for (let i = 0; i < this.#free.length; i++) {
      if (smallest < 0 || (this.#free[i] as Buffer).length < (this.#free[smallest] as Buffer).length) smallest = i;
    }
    if (smallest >= 0 && (this.#free[smallest] as Buffer).length < buf.length) this.#free[smallest] = buf;
  }

  get free(): number {
    return this.#free.length;
  }
}

export class NdjsonEncoder {
  #buf: Buffer;
  #len = 0;
  #starts: number[] = [];
  #records: number[] = [];
  #deletes: number[] = [];
  readonly #pool: BufferPool | undefined;

  /** With a pool, the buffer comes from it and goes back with `release`. */
  constructor(initialBytes = 1 << 20, pool?: BufferPool) {
    this.#pool = pool;
    this.#buf = pool ? pool.acquire(initialBytes) : Buffer.allocUnsafe(initialBytes);
  }

  get docs(): number {
    return this.#records.length;
  }

  /** `source` must be the JSON text of an object with no raw newline (JSON.stringify output is). */
  append(action: string, source: string, record: number): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.#ensure((action.length + source.length + 2) * 3);
    this.#starts.push(this.#len);
    this.#records.push(record);
    this.#len += this.#buf.write(action, this.#len, 'utf8');
    this.#buf[this.#len++] = 0x0a;
    this.#len += this.#buf.write(source, this.#len, 'utf8');
    this.#buf[this.#len++] = 0x0a;
  }

  /**
   * A source copied from raw bytes: the JSON text of an object as it arrived (the native passthrough
   * has validated it). With `newlines`, its raw CR and LF, which valid JSON holds only as whitespace
   * between tokens, become spaces in the copy, so that it stays one NDJSON line.
   */
  appendRaw(action: string, bytes: Uint8Array, start: number, end: number, record: number, newlines = false): void {
    this.#ensure((action.length + 1) * 3 + (end - start) + 1);
    this.#starts.push(this.#len);
    this.#records.push(record);
    this.#len += this.#buf.write(action, this.#len, 'utf8');
    this.#buf[this.#len++] = 0x0a;
    this.#appendSource(bytes, start, end, newlines);
  }

  /**
   * `appendRaw` for an action line that is `head` followed by the record's offset and `"}}`: the
   * line of a Kafka id (`KafkaIdActions`), written as bytes instead of built as a string and encoded.
   */
  appendRawWithOffset(head: Buffer, offset: number, bytes: Uint8Array, start: number, end: number, record: number, newlines = false): void {
    // An offset below 2^63 has at most 19 digits.
    this.#ensure(head.length + 24 + (end - start) + 1);
    this.#starts.push(this.#len);
    this.#records.push(record);
    const buf = this.#buf;
    let at = this.#len + head.copy(buf, this.#len);
    at += buf.write(String(offset), at, 'latin1');
    buf[at++] = 0x22; // "
    buf[at++] = 0x7d; // }
    buf[at++] = 0x7d; // }
    buf[at++] = 0x0a;
    this.#len = at;
    this.#appendSource(bytes, start, end, newlines);
  }

  /** The source line of a raw document: its bytes (raw CR and LF as spaces with `newlines`) and a newline. */
  #appendSource(bytes: Uint8Array, start: number, end: number, newlines: boolean): void {
    const buf = this.#buf;
    const from = this.#len;
    buf.set(bytes.subarray(start, end), from);
    const to = from + (end - start);
    if (newlines) for (let i = from; i < to; i++) if (buf[i] === 0x0a || buf[i] === 0x0d) buf[i] = 0x20;
    buf[to] = 0x0a;
    this.#len = to + 1;
  }

  /** A delete: the action line alone. */
  appendDelete(action: string, record: number): void {
    this.#ensure((action.length + 1) * 3);
    this.#deletes.push(this.#records.length);
    this.#starts.push(this.#len);
    this.#records.push(record);
    this.#len += this.#buf.write(action, this.#len, 'utf8');
    this.#buf[this.#len++] = 0x0a;
  }

  /**
   * A point to `rewind` to: a record's documents are all-or-nothing, so when one of them cannot be
   * encoded the ones already appended are taken back. The document count is the whole state needed.
   */
  mark(): number {
    return this.#records.length;
  }

  /** Drops every document appended after `mark` (no bytes are cleared, they are overwritten). */
  rewind(mark: number): void {
    if (mark >= this.#records.length) return;
    this.#len = this.#starts[mark] as number;
    this.#starts.length = mark;
    this.#records.length = mark;
    while (this.#deletes.length > 0 && (this.#deletes[this.#deletes.length - 1] as number) >= mark) this.#deletes.pop();
  }

  finish(): EncodedBatch {
    const docStarts = new Uint32Array(this.#starts.length + 1);
    docStarts.set(this.#starts);
    docStarts[this.#starts.length] = this.#len;
    const docDeletes = new Uint8Array(this.#records.length);
    for (const d of this.#deletes) docDeletes[d] = 1;
    return { buffer: this.#buf.subarray(0, this.#len), docStarts, docRecords: Int32Array.from(this.#records), docDeletes };
  }

  /**
   * Gives the buffer back to the pool. Only once nothing reads the batch `finish` returned: every
   * request cut from it has its answer.
   */
  release(): void {
    this.#pool?.release(this.#buf);
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const size = Math.max(this.#buf.length * 2, this.#len + extra);
    const next = this.#pool ? this.#pool.acquire(size) : Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#pool?.release(this.#buf);
    this.#buf = next;
  }
}

/**
 * `actionLine` for one op type, remembering the action's prefix for the last index name: documents
 * of a batch nearly always go to the same index, so its name is escaped once instead of per document.
 */
export function createActionLines(op: OpType): (index: string, id: string | undefined, version?: number, extras?: string) => string {
  let lastIndex: string | undefined;
  let prefix = '';
  return (index, id, version, extras) => {
    if (index !== lastIndex) {
      lastIndex = index;
      prefix = actionPrefix(op, index);
    }
    return closeAction(prefix, id, version, extras);
  };
}

/**
 * The action lines of Kafka ids (`<topic>-<partition>-<offset>`, no version, no pipeline or routing)
 * as bytes: everything before the offset is the same for the records of one partition and index, so
 * it is escaped and encoded once, and `NdjsonEncoder.appendRawWithOffset` adds the offset. The bytes
 * are those of `actionLine(op, index, `${topic}-${partition}-${offset}`)`.
 */
export class KafkaIdActions {
  #index: string | undefined;
  #topic: string | undefined;
  #partition = -1;
  #head = Buffer.alloc(0);

  constructor(readonly op: OpType) {}

  /** `{"index":{"_index":"logs","_id":"t-0-` for the offsets of `topic`, `partition` into `index`. */
  head(index: string, topic: string, partition: number): Buffer {
    if (index !== this.#index || topic !== this.#topic || partition !== this.#partition) {
      this.#index = index;
      this.#topic = topic;
      this.#partition = partition;
      // The id's JSON string without its closing quote: the digits that follow need no escaping.
      const id = JSON.stringify(`${topic}-${partition}-`).slice(0, -1);
      this.#head = Buffer.from(`${actionPrefix(this.op, index)},"_id":${id}`, 'utf8');
    }
    return this.#head;
  }
}

/**
 * `{"index":{"_index":"logs","_id":"t-0-42"}}`; without an id Elasticsearch generates one. With a
 * version (the record's Kafka offset) the write is externally versioned: Elasticsearch applies it
 * only over an older version, so the last record of a partition wins whatever order writes land in.
 */
export function actionLine(op: OpType, index: string, id: string | undefined, version?: number, extras?: string): string {
  return closeAction(actionPrefix(op, index), id, version, extras);
}

function actionPrefix(op: OpType, index: string): string {
  return `{"${op}":{"_index":${JSON.stringify(index)}`;
}

/** `extras`: the `,"pipeline":…,"routing":…` of `index.pipeline` and `index.routing`, already escaped. */
function closeAction(prefix: string, id: string | undefined, version: number | undefined, extras?: string): string {
  let line = id === undefined ? prefix : `${prefix},"_id":${JSON.stringify(id)}`;
  if (extras !== undefined) line += extras;
  return version === undefined ? `${line}}}` : `${line},"version":${version},"version_type":"external"}}`;
}
