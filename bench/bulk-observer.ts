/**
 * Watches `_bulk` requests as they are acknowledged: counts documents, notes the first and last
 * acknowledgement, and — while latency is being recorded — the time from each document's
 * `@timestamp` (`timestamp` in a passthrough document) to its acknowledgement. The latency probe
 * writes records whose `timestamp` (hence `@timestamp` after the apm-log transform) is the moment they
 * were produced, which is also their Kafka timestamp, so this is record timestamp → bulk
 * acknowledgement.
 */
export class BulkObserver {
  docs = 0;
  firstAckAt: number | undefined;
  lastAckAt: number | undefined;
  #latencies: number[] | undefined;

  /** Starts a new measurement; with `latency`, records per-document latency too. */
  reset(latency: boolean): void {
    this.docs = 0;
    this.firstAckAt = undefined;
    this.lastAckAt = undefined;
    this.#latencies = latency ? [] : undefined;
  }

  /** `body` is the NDJSON of an acknowledged request of index/create actions (action + source lines). */
  acknowledged(body: Buffer, docs: number): void {
    const now = Date.now();
    this.firstAckAt ??= now;
    this.lastAckAt = now;
    this.docs += docs;
    if (this.#latencies) for (const t of timestamps(body)) this.#latencies.push(now - t);
  }

  /** p50 and p99 in milliseconds of the latencies recorded since the last reset. */
  percentiles(): { p50: number; p99: number; samples: number } | undefined {
    const all = this.#latencies;
    if (!all || all.length === 0) return undefined;
    const sorted = Float64Array.from(all).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
  }
}

/** The end of `"@timestamp":"` and of `"timestamp":"`: a document has one or the other (a quote inside a string value is escaped). */
const MARK = Buffer.from('timestamp":"');

/** The `@timestamp` (or `timestamp`) of every source line, in epoch ms. */
function* timestamps(body: Buffer): Generator<number> {
  let at = body.indexOf(MARK);
  while (at >= 0) {
    const start = at + MARK.length;
    const end = body.indexOf(0x22, start);
    yield Date.parse(body.toString('latin1', start, end));
    at = body.indexOf(MARK, end);
  }
}

/** Documents in an NDJSON body of index/create actions: one action line and one source line each. */
export function countDocs(body: Buffer): number {
  let lines = 0;
  for (let at = body.indexOf(0x0a); at >= 0; at = body.indexOf(0x0a, at + 1)) lines++;
  if (body.length > 0 && body[body.length - 1] !== 0x0a) lines++;
  return lines >> 1;
}
