import { expect } from 'chai';
import rdkafka, { type KafkaConsumer, type LibrdKafkaError, type Message, type TopicPartition, type TopicPartitionOffset } from 'node-rdkafka';
import { KAFKA_BROKERS, unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, produceExact, produceWithHeaders, type ExactRecord } from '../support/kafka.js';
import {
  loadNativeConsumer,
  nativeConsumerProperties,
  NULL_REF,
  readHeaders,
  type ConsumeResult,
  type NativeConsumerAddon,
} from '../../src/kafka/native-consume.js';

// The native consume path against the local broker: node-rdkafka consumers created with the plugin
// properties, drained through the addon's consume(), with a rebalance callback as
// src/kafka/consumer.ts has (cooperative-sticky, incremental assign and unassign).

const loaded = loadNativeConsumer();
const native = (): { addon: NativeConsumerAddon; pluginPath: string } => {
  if ('reason' in loaded) throw new Error(`the native consume addon is not available: ${loaded.reason}`);
  return loaded;
};

const { ERRORS } = rdkafka.CODES;
const tpKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** A record as read back from a consume call's arrays. */
interface Got {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  value: Buffer | null;
  key: Buffer | null;
  headers: Array<Record<string, Buffer>> | undefined;
}

/** One record to produce, with what it must read back as. */
type Spec = ExactRecord;

/**
 * Reads a consume result's rows back into records, checking the layout on the way: runs cover the
 * rows once and in order, each topic-partition once per call and in offset order, every byte range
 * inside [at, end), value then key then headers, records back to back.
 */
function readRows(result: ConsumeResult, data: Uint8Array, at: number, index: Uint32Array, coords: Float64Array, headers: Uint32Array): Got[] {
  expect(result.end).to.be.at.least(at);
  let row = 0;
  const seen = new Set<string>();
  for (const run of result.runs) {
    expect(run.start, 'runs are contiguous').to.equal(row);
    expect(run.end, 'runs are not empty').to.be.above(run.start);
    expect(seen.has(tpKey(run.topic, run.partition)), 'a partition once per call').to.equal(false);
    seen.add(tpKey(run.topic, run.partition));
    row = run.end;
  }
  expect(row, 'runs cover the rows').to.equal(result.count);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: Got[] = [];
  let cursor = at;
  const range = (start: number, end: number): [number, number] | null => {
    if (start === NULL_REF) {
      expect(end).to.equal(NULL_REF);
      return null;
    }
    expect(start, 'records back to back').to.equal(cursor);
    expect(end).to.be.within(start, result.end);
    cursor = end;
    return [start, end];
  };
  for (const run of result.runs) {
    for (let r = run.start; r < run.end; r++) {
      const v = range(index[4 * r]!, index[4 * r + 1]!);
      const k = range(index[4 * r + 2]!, index[4 * r + 3]!);
      const h = range(headers[2 * r]!, headers[2 * r + 1]!);
      const got: Got = {
        topic: run.topic,
        partition: run.partition,
        offset: coords[2 * r]!,
        timestamp: coords[2 * r + 1]!,
        value: v ? Buffer.from(bytes.subarray(...v)) : null,
        key: k ? Buffer.from(bytes.subarray(...k)) : null,
        headers: h ? readHeaders(data, ...h) : undefined,
      };
      const previous = out[out.length - 1];
      if (r > run.start && previous) expect(got.offset, 'offset order within a run').to.be.above(previous.offset);
      out.push(got);
    }
  }
  expect(cursor, 'no bytes unaccounted for').to.equal(result.end);
  return out;
}

interface MemberOptions {
  /** Bytes of the data buffer the loop consumes into (a bigger one for a record that needs it). */
  room?: number;
  maxMsgs?: number;
  /** Where in the data buffer the loop writes from. */
  at?: number;
  autoCommit?: boolean;
  /** Milliseconds the loop waits between calls (a slow consumer). */
  paceMs?: number;
  /** More librdkafka properties. */
  rdkafka?: Record<string, string | number | boolean>;
  /** Topics to subscribe to (default: the member's topic). */
  subscribe?: string[];
  /** Collect message errors in `errors` instead of failing the call. */
  collectErrors?: boolean;
}

/**
 * A node-rdkafka consumer drained through the addon. Its rebalance callback assigns incrementally;
 * a revocation waits for the call in flight, stops the loop from starting another, commits what
 * was delivered of the revoked partitions and only then unassigns them, as Sluice's does.
 */
class Member {
  readonly id = unique('native-member');
  readonly consumer: KafkaConsumer;
  readonly records: Got[] = [];
  /** Per partition, one past the last delivered offset. */
  readonly next = new Map<string, { topic: string; partition: number; offset: number }>();
  readonly assigned = new Set<string>();
  results: ConsumeResult[] = [];
  readonly rebalanceErrors: unknown[] = [];
  /** Message errors the calls reported. */
  readonly errors: Array<NonNullable<ConsumeResult['error']>> = [];
  private readonly subscription: string[];
  private readonly collectErrors: boolean;
  stats = 0;
  commits: Array<{ topic: string; partition: number; offset: number }> = [];
  /** Calls that came back with kept messages (needBytes > 0), and those delivered into a bigger buffer. */
  keptCalls = 0;
  biggerCalls = 0;
  private readonly room: number;
  private readonly maxMsgs: number;
  private readonly at: number;
  private readonly paceMs: number;
  private data: Uint8Array;
  private readonly index: Uint32Array;
  private readonly coords: Float64Array;
  private readonly headers: Uint32Array;
  private inFlight: Promise<unknown> | undefined;
  private rebalancing: Promise<void> = Promise.resolve();
  private revoking = 0;
  private closing = false;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    readonly group: string,
    readonly topic: string,
    options: MemberOptions = {},
  ) {
    this.room = options.room ?? 4 << 20;
    this.maxMsgs = options.maxMsgs ?? 1000;
    this.at = options.at ?? 0;
    this.paceMs = options.paceMs ?? 0;
    this.subscription = options.subscribe ?? [topic];
    this.collectErrors = options.collectErrors ?? false;
    this.data = new Uint8Array(new SharedArrayBuffer(this.at + this.room));
    this.index = new Uint32Array(4 * this.maxMsgs);
    this.coords = new Float64Array(2 * this.maxMsgs);
    this.headers = new Uint32Array(2 * this.maxMsgs);
    const member = this;
    this.consumer = new rdkafka.KafkaConsumer(
      {
        'metadata.broker.list': KAFKA_BROKERS,
        'group.id': group,
        ...nativeConsumerProperties(native().pluginPath, this.id),
        'partition.assignment.strategy': 'cooperative-sticky',
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 1_000,
        'enable.auto.offset.store': false,
        'enable.auto.commit': options.autoCommit ?? false,
        'auto.commit.interval.ms': 200,
        'statistics.interval.ms': 200,
        offset_commit_cb: true,
        ...options.rdkafka,
        rebalance_cb(err: LibrdKafkaError, tps: TopicPartition[]) {
          const list = tps.map(({ topic, partition }) => ({ topic, partition }));
          member.rebalancing = member.rebalancing.then(() => member.onRebalance(err, list)).catch((e: unknown) => void member.rebalanceErrors.push(e));
        },
      },
      { 'auto.offset.reset': 'earliest' },
    );
    this.consumer.on('event.stats', () => void this.stats++);
    this.consumer.on('offset.commit', (err: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]) => {
      if (!err) for (const o of offsets) this.commits.push({ topic: o.topic, partition: o.partition, offset: o.offset ?? -1 });
    });
  }

  private async onRebalance(err: LibrdKafkaError, tps: TopicPartition[]): Promise<void> {
    if (err.code === ERRORS.ERR__ASSIGN_PARTITIONS) {
      this.consumer.incrementalAssign(tps);
      for (const tp of tps) this.assigned.add(tpKey(tp.topic, tp.partition));
    } else if (err.code === ERRORS.ERR__REVOKE_PARTITIONS) {
      this.revoking++;
      try {
        await this.inFlight;
        const delivered = tps.flatMap((tp) => this.next.get(tpKey(tp.topic, tp.partition)) ?? []);
        // While disconnecting node-rdkafka refuses commits; librdkafka still waits for the unassign.
        if (delivered.length > 0 && !this.closing) {
          this.consumer.offsetsStore(delivered);
          this.consumer.commitSync(delivered);
        }
      } finally {
        this.consumer.incrementalUnassign(tps);
        for (const tp of tps) this.assigned.delete(tpKey(tp.topic, tp.partition));
        this.revoking--;
      }
    }
  }

  async connect(): Promise<void> {
    this.assigned.clear();
    this.closing = false;
    await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    this.consumer.subscribe(this.subscription);
  }

  /** One consume call into `data` from `at`; records what it delivered. */
  async consumeOnce(data = this.data, at = this.at, firstTimeoutMs = 100, fillTimeoutMs = 10): Promise<ConsumeResult> {
    const call = new Promise<ConsumeResult>((resolve, reject) =>
      native().addon.consume(this.id, data, at, this.index, this.coords, this.headers, this.maxMsgs, firstTimeoutMs, fillTimeoutMs, (err, result) =>
        err || !result ? reject(err ?? new Error('no result')) : resolve(result),
      ),
    );
    this.inFlight = call.catch(() => undefined);
    const result = await call;
    this.results.push(result);
    for (const got of readRows(result, data, at, this.index, this.coords, this.headers)) {
      const key = tpKey(got.topic, got.partition);
      const previous = this.next.get(key);
      if (previous) expect(got.offset, `offset order across calls in ${key}`).to.be.at.least(previous.offset);
      this.next.set(key, { topic: got.topic, partition: got.partition, offset: got.offset + 1 });
      this.records.push(got);
    }
    if (result.error && this.collectErrors) this.errors.push(result.error);
    else if (result.error) throw new Error(`message error ${result.error.code}: ${result.error.message}`);
    return result;
  }

  /** Stores the offsets of what was delivered (librdkafka's auto-commit, if on, commits them). */
  storeDelivered(): void {
    const offsets = [...this.next.values()].filter((o) => this.assigned.has(tpKey(o.topic, o.partition)));
    if (offsets.length > 0) this.consumer.offsetsStore(offsets);
  }

  /**
   * Consumes in a loop until stopped: into the small buffer, and when a kept record needs more room
   * than it has, once into a buffer of exactly that size.
   */
  start(options: { store?: boolean } = {}): void {
    this.running = true;
    this.loopDone = (async () => {
      let need = 0;
      while (this.running) {
        if (this.revoking > 0) {
          await this.rebalancing;
          continue;
        }
        const big = need > this.room;
        const result = big ? await this.consumeOnce(new Uint8Array(need), 0) : await this.consumeOnce();
        if (big) this.biggerCalls++;
        if (result.needBytes > 0) this.keptCalls++;
        need = result.needBytes;
        if (options.store) this.storeDelivered();
        await new Promise((r) => (this.paceMs > 0 ? setTimeout(r, this.paceMs) : setImmediate(r)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
  }

  /** Offsets delivered per partition of the topic (one past the last). */
  delivered(partitions: number): number[] {
    return Array.from({ length: partitions }, (_, p) => this.next.get(tpKey(this.topic, p))?.offset ?? 0);
  }

  async disconnect(): Promise<void> {
    await this.stop();
    native().addon.release(this.id);
    await this.close();
  }

  /** node-rdkafka's disconnect (no release, no loop to stop). */
  async close(): Promise<void> {
    if (!this.consumer.isConnected()) return;
    this.closing = true;
    await new Promise<void>((resolve, reject) => this.consumer.disconnect((err) => (err ? reject(err) : resolve())));
  }
}

/** Each record of each partition exactly once, in offset order, from the members given. */
function expectExactlyOnce(records: Got[], ends: number[]): void {
  const byPartition = ends.map(() => [] as number[]);
  for (const r of records) byPartition[r.partition]!.push(r.offset);
  ends.forEach((end, p) => {
    const offsets = [...byPartition[p]!].sort((a, b) => a - b);
    expect(offsets.length, `partition ${p}: records`).to.equal(end);
    offsets.forEach((o, i) => expect(o, `partition ${p}: offset ${i}`).to.equal(i));
  });
}

/** Produces `perPartition` JSON records to each partition, values of `size` bytes or so. */
async function produceSimple(topic: string, partitions: number, perPartition: number, size = 100, from = 0): Promise<void> {
  const records = [];
  for (let s = from; s < from + perPartition; s++) {
    for (let p = 0; p < partitions; p++) records.push({ partition: p, key: `k-${p}-${s}`, value: JSON.stringify({ p, s, pad: 'x'.repeat(size) }) });
  }
  await produce(topic, records);
}

/** The topic as node-rdkafka's own consume(n) gives it, read from the beginning by a group of its own. */
async function readWithNodeRdkafka(topic: string, count: number): Promise<Message[]> {
  const plain = new rdkafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BROKERS, 'group.id': unique('native-plain'), 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => plain.connect({}, (err) => (err ? reject(err) : resolve())));
  const messages: Message[] = [];
  try {
    plain.subscribe([topic]);
    plain.setDefaultConsumeTimeout(100);
    await waitFor('node-rdkafka read everything', () =>
      new Promise<boolean | undefined>((resolve, reject) =>
        plain.consume(1000, (err, ms) => (err ? reject(err) : (messages.push(...ms), resolve(messages.length >= count || undefined)))),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => plain.disconnect(() => resolve()));
  }
  return messages;
}

describe('native consume (librdkafka plugin in node-rdkafka’s consumer)', function () {
  this.timeout(180_000);
  const members: Member[] = [];
  const member = (group: string, topic: string, options?: MemberOptions): Member => {
    const m = new Member(group, topic, options);
    members.push(m);
    return m;
  };
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.disconnect().catch(() => undefined)));
  });

  /**
   * A consumer of a new one-partition topic of 300 records, assigned by hand (no group subscription:
   * the test unassigns when it chooses), after a call that kept records for lack of room.
   */
  async function keepingRecords(name: string) {
    const topic = unique(name);
    await createTopic(topic, 1);
    await produceSimple(topic, 1, 300, 100);
    const m = member(unique(name), topic, { room: 600, maxMsgs: 100 });
    await new Promise<void>((resolve, reject) => m.consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    const tp = { topic, partition: 0 };
    m.consumer.incrementalAssign([{ ...tp, offset: 0 }]);
    m.assigned.add(tpKey(topic, 0));
    await waitFor('a call that keeps records', async () => ((await m.consumeOnce()).needBytes > 0 || undefined));
    const delivered = m.records.length;
    expect(delivered).to.be.within(1, 299);
    return { m, tp, delivered };
  }

  it('delivers every record of a 3-partition topic once, exactly: values, keys, headers, nulls, empties, timestamps, offsets; rows grouped per partition; callbacks served', async () => {
    const topic = unique('native-exact');
    await createTopic(topic, 3);
    const base = Date.UTC(2026, 0, 1);
    const perPartition = 240;
    const specs: Spec[] = [];
    const expected = new Map<string, Spec>();
    for (let s = 0; s < perPartition; s++) {
      for (let p = 0; p < 3; p++) {
        const id = `${p}-${s}`;
        const json = Buffer.from(JSON.stringify({ p, s }));
        const shapes: Array<Omit<Spec, 'partition' | 'timestamp'>> = [
          { value: json, key: Buffer.from(`k-${id}`), headers: { trace: `t-${id}`, bin: Buffer.from([0, 255, s % 256]) } },
          { value: null, key: Buffer.from(`k-${id}`) },
          { value: Buffer.alloc(0), key: null, headers: { z: Buffer.alloc(0), y: 'y' } },
          { value: json, key: Buffer.alloc(0), headers: { dup: ['a', `b-${id}`] } },
          { value: Buffer.alloc(3000 + s, 'v'), key: null },
          { value: Buffer.from([0, 1, 2, 255, s % 256]), key: Buffer.from([255, 0, p]), headers: { ünï: 'x', e: '' } },
          { value: Buffer.from('x'), key: Buffer.from('k'), headers: {} },
          { value: json, key: Buffer.from(`k-${id}`), headers: { one: 'only' } },
        ];
        const spec = { ...shapes[(s + p) % shapes.length]!, partition: p, timestamp: base + p * 1_000_000 + s };
        specs.push(spec);
        expected.set(`${p}/${s}`, spec);
      }
    }
    await produceExact(topic, specs);
    expect(await endOffsets(topic, 3)).to.deep.equal([perPartition, perPartition, perPartition]);

    const group = unique('native-exact');
    const m = member(group, topic, { maxMsgs: 500, at: 13, autoCommit: true });
    await m.connect();
    m.start({ store: true });
    await waitFor('all records', () => m.records.length >= 3 * perPartition || undefined, 60_000);
    // Auto-commit runs on librdkafka's timer; its callback reaches JS only through the addon's polls.
    await waitFor('the auto-commit of the end offsets reported', () =>
      [0, 1, 2].every((p) => m.commits.some((c) => c.topic === topic && c.partition === p && c.offset === perPartition)) || undefined,
    );
    await m.stop();

    expectExactlyOnce(m.records, [perPartition, perPartition, perPartition]);
    for (const got of m.records) {
      const spec = expected.get(`${got.partition}/${got.offset}`)!;
      expect(got.topic).to.equal(topic);
      expect(got.timestamp, `timestamp of ${got.partition}/${got.offset}`).to.equal(spec.timestamp);
      expect(got.value, `value of ${got.partition}/${got.offset}`).to.deep.equal(spec.value);
      expect(got.key, `key of ${got.partition}/${got.offset}`).to.deep.equal(spec.key);
    }
    expect(m.records.filter((r) => r.value === null)).to.have.length(90);
    expect(m.records.filter((r) => r.value?.length === 0)).to.have.length(90);
    expect(m.records.filter((r) => r.key === null)).to.have.length(180);
    expect(m.records.filter((r) => r.key?.length === 0)).to.have.length(90);
    expect(m.stats, 'statistics events served').to.be.above(0);
    expect(await committedOffsets(group, topic, 3)).to.deep.equal([perPartition, perPartition, perPartition]);
    // Rows of several partitions in one call, each a run.
    expect(m.results.some((r) => r.runs.length > 1)).to.equal(true);

    // Headers (and the rest) exactly as node-rdkafka's own consume gives them.
    const theirs = await readWithNodeRdkafka(topic, 3 * perPartition);
    const ours = new Map(m.records.map((r) => [`${r.partition}/${r.offset}`, r]));
    expect(theirs).to.have.length(3 * perPartition);
    let withHeaders = 0;
    for (const t of theirs) {
      const got = ours.get(`${t.partition}/${t.offset}`)!;
      expect(got.headers, `headers of ${t.partition}/${t.offset}`).to.deep.equal(t.headers);
      expect(got.value).to.deep.equal(t.value);
      expect(got.key).to.deep.equal(t.key ?? null);
      expect(got.timestamp).to.equal(t.timestamp);
      if (t.headers) withHeaders++;
    }
    expect(withHeaders).to.be.above(3 * perPartition / 2);
  });

  it('a header with a null value reads as node-rdkafka gives it (an empty Buffer), beside empty and duplicate ones', async () => {
    const topic = unique('native-null-header');
    await createTopic(topic, 1);
    const headers: Array<[string, string | null]> = [['n', null], ['e', ''], ['n', 'dup'], ['t', 'text']];
    expect(produceWithHeaders(topic, 0, headers)).to.equal(0);
    expect(produceWithHeaders(topic, 0, [])).to.equal(1);
    const m = member(unique('native-null-header'), topic);
    await m.connect();
    await waitFor('both records', async () => (await m.consumeOnce(), m.records.length >= 2 || undefined));
    const [theirs, none] = await readWithNodeRdkafka(topic, 2);
    expect(m.records[0]?.headers).to.deep.equal([{ n: Buffer.alloc(0) }, { e: Buffer.alloc(0) }, { n: Buffer.from('dup') }, { t: Buffer.from('text') }]);
    expect(m.records[0]?.headers).to.deep.equal(theirs?.headers);
    // A record produced without headers: no header list on either path.
    expect(m.records[1]?.headers).to.equal(undefined);
    expect(none?.headers).to.equal(undefined);
  });

  it('with room for ~3 records per call nothing is lost or reordered: kept records come first, a record larger than the buffer arrives in a bigger one', async () => {
    const topic = unique('native-small');
    await createTopic(topic, 3);
    const perPartition = 200;
    const specs: Spec[] = [];
    for (let s = 0; s < perPartition; s++) {
      for (let p = 0; p < 3; p++) {
        // Every 50th record is 20 KB: larger than the whole buffer.
        const value = Buffer.from(JSON.stringify({ p, s, pad: 'y'.repeat(s % 50 === 7 ? 20_000 : 60 + (s % 9)) }));
        specs.push({ partition: p, value, key: Buffer.from(`k-${p}-${s}`), headers: { seq: String(s) }, timestamp: Date.now() });
      }
    }
    await produceExact(topic, specs);
    const m = member(unique('native-small'), topic, { room: 400, maxMsgs: 100, at: 0 });
    await m.connect();
    m.start();
    await waitFor('all records', () => m.records.length >= 3 * perPartition || undefined, 90_000);
    await new Promise((r) => setTimeout(r, 1000)); // late duplicates would arrive by now
    await m.stop();
    expectExactlyOnce(m.records, [perPartition, perPartition, perPartition]);
    for (const got of m.records) {
      const spec = specs[got.offset * 3 + got.partition]!;
      expect(got.value).to.deep.equal(spec.value);
      expect(got.headers).to.deep.equal([{ seq: Buffer.from(String(got.offset)) }]);
    }
    expect(m.keptCalls, 'calls that kept records for lack of room').to.be.above(10);
    expect(m.biggerCalls, 'the 20 KB records, each into a bigger buffer').to.equal(12);
    expect(m.results.every((r) => r.end <= 400 || r.count === 1)).to.equal(true);
  });

  it('a buffer too small for the first kept record: count 0 and the same needBytes, no poll; then it arrives in order', async () => {
    const topic = unique('native-need');
    await createTopic(topic, 1);
    await produce(topic, [
      { partition: 0, value: 'a'.repeat(100) },
      { partition: 0, value: 'b'.repeat(5000) },
      { partition: 0, value: 'c'.repeat(100) },
    ]);
    const m = member(unique('native-need'), topic, { room: 1000, maxMsgs: 10 });
    await m.connect();
    let first: ConsumeResult | undefined;
    await waitFor('the first record', async () => ((first = await m.consumeOnce()), first.count > 0 || undefined));
    expect(first!.count).to.equal(1);
    expect(first!.needBytes).to.equal(5000);
    // With kept records the call neither waits for nor polls a first message.
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const again = await m.consumeOnce(undefined, undefined, 5_000);
      expect(Date.now() - started).to.be.below(2_000);
      expect(again).to.deep.include({ count: 0, needBytes: 5000, end: 0, runs: [] });
    }
    const big = await m.consumeOnce(new Uint8Array(5100), 0, 5_000);
    expect(big.count).to.equal(2);
    expect(m.records.map((r) => [r.offset, r.value?.length])).to.deep.equal([[0, 100], [1, 5000], [2, 100]]);
  });

  it('a paused partition stops while the others flow; resumed, the rest of it arrives', async () => {
    const topic = unique('native-pause');
    await createTopic(topic, 3);
    const perPartition = 3000;
    await produceSimple(topic, 3, perPartition, 50);
    const m = member(unique('native-pause'), topic, { maxMsgs: 50 });
    await m.connect();
    await waitFor('some records of partition 0', async () => (await m.consumeOnce(), m.next.has(tpKey(topic, 0)) || undefined), 60_000, 1);
    const paused = { topic, partition: 0 };
    m.consumer.pause([paused]);
    const atPause = m.records.length;
    const p0AtPause = m.delivered(3)[0]!;
    expect(p0AtPause).to.be.below(perPartition);
    m.start();
    await waitFor('partitions 1 and 2 complete', () => (m.delivered(3)[1] === perPartition && m.delivered(3)[2] === perPartition) || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await m.stop();
    expect(m.records.slice(atPause).filter((r) => r.partition === 0), 'records of the paused partition').to.deep.equal([]);
    m.consumer.resume([paused]);
    m.start();
    await waitFor('partition 0 complete', () => m.delivered(3)[0] === perPartition || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await m.stop();
    expectExactlyOnce(m.records, [perPartition, perPartition, perPartition]);
  });

  it('a second consumer joining: partitions move after the first commits them, and the two cover every record exactly once', async () => {
    const topic = unique('native-join');
    await createTopic(topic, 3);
    const perPartition = 4000;
    await produceSimple(topic, 3, perPartition / 2, 200);
    const group = unique('native-join');
    // A slow consumer with a small buffer: its calls keep records when the partitions move.
    const a = member(group, topic, { room: 2000, maxMsgs: 100, paceMs: 5 });
    await a.connect();
    a.start();
    await waitFor('the first consumer is reading', () => a.records.length > 300 || undefined);
    const b = member(group, topic, { maxMsgs: 500 });
    await b.connect();
    b.start();
    await waitFor('the second consumer gets partitions', () => b.assigned.size > 0 || undefined, 60_000);
    expect(a.records.length, 'the first consumer is still reading the first half').to.be.below(3 * perPartition / 2);
    await produceSimple(topic, 3, perPartition / 2, 200, perPartition / 2);
    await waitFor('the second consumer gets records', () => b.records.length > 0 || undefined, 60_000);
    await waitFor('every record read', () => {
      const seen = new Set([...a.records, ...b.records].map((r) => `${r.partition}/${r.offset}`));
      return seen.size === 3 * perPartition || undefined;
    }, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    await Promise.all([a.stop(), b.stop()]);
    expect(a.assigned.size + b.assigned.size).to.equal(3);
    expect(b.assigned.size).to.be.above(0);
    expect(a.keptCalls).to.be.above(0);
    expect([...a.rebalanceErrors, ...b.rebalanceErrors]).to.deep.equal([]);
    expectExactlyOnce([...a.records, ...b.records], [perPartition, perPartition, perPartition]);
  });

  it('kept records of a partition unassigned meanwhile are not delivered; assigned again, it resumes where delivery stopped', async () => {
    const { m, tp, delivered } = await keepingRecords('native-unassign');
    m.consumer.incrementalUnassign([tp]);
    const after = await m.consumeOnce(undefined, undefined, 500);
    expect(after).to.deep.include({ count: 0, needBytes: 0, error: null });
    m.consumer.incrementalAssign([{ ...tp, offset: delivered }]);
    await waitFor('the rest', async () => (await m.consumeOnce(), m.records.length >= 300 || undefined), 60_000, 1);
    await new Promise((r) => setTimeout(r, 500));
    await m.consumeOnce();
    expectExactlyOnce(m.records, [300]);
  });

  it('kept records of a partition unassigned and assigned again between two calls are not delivered: the new assignment reads them from its own start, once', async () => {
    const { m, tp, delivered } = await keepingRecords('native-reassign');
    // No call between the revoke and the new assignment: the kept records are still there, and
    // the new assignment starts where delivery stopped, as a group member's would from its commit.
    m.consumer.commitSync([{ ...tp, offset: delivered }]);
    m.consumer.incrementalUnassign([tp]);
    m.consumer.incrementalAssign([tp]);
    await waitFor('the rest', async () => (await m.consumeOnce(), m.records.length >= 300 || undefined), 60_000, 1);
    await new Promise((r) => setTimeout(r, 500));
    await m.consumeOnce();
    await m.consumeOnce();
    expectExactlyOnce(m.records, [300]);
  });

  it('end of partition events are skipped; a message error stops the call with its topic, rows before it delivered and nothing after it lost', async () => {
    const topic = unique('native-errors');
    const missing = unique('native-missing');
    await createTopic(topic, 2);
    await produceSimple(topic, 2, 500, 100);
    const m = member(unique('native-errors'), topic, {
      maxMsgs: 100,
      subscribe: [topic, missing],
      rdkafka: { 'enable.partition.eof': true, 'allow.auto.create.topics': false, 'topic.metadata.refresh.interval.ms': 1000 },
      collectErrors: true,
    });
    await m.connect();
    m.start();
    await waitFor('every record and an error for the missing topic', () => (m.records.length >= 1000 && m.errors.length > 0) || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await m.stop();
    expectExactlyOnce(m.records, [500, 500]);
    for (const error of m.errors) {
      expect(error).to.deep.include({ code: ERRORS.ERR_UNKNOWN_TOPIC_OR_PART, topic: missing });
      expect(error.message).to.be.a('string').and.not.equal('');
    }
  });

  it('offsetsStore + commitSync: a new consumer of the group resumes right after the committed offsets', async () => {
    const topic = unique('native-commit');
    await createTopic(topic, 3);
    const perPartition = 1000;
    await produceSimple(topic, 3, perPartition);
    const group = unique('native-commit');
    const first = member(group, topic, { maxMsgs: 200 });
    await first.connect();
    await waitFor('about half of the records', async () => (await first.consumeOnce(), first.records.length >= 1500 || undefined), 60_000, 1);
    const committed = first.delivered(3);
    first.storeDelivered();
    first.consumer.commitSync(null);
    // A partition with nothing delivered has nothing stored, so no committed offset (-1001).
    expect(await committedOffsets(group, topic, 3)).to.deep.equal(committed.map((o) => (o === 0 ? -1001 : o)));
    await first.disconnect();

    const second = member(group, topic, { maxMsgs: 200 });
    await second.connect();
    second.start();
    await waitFor('the rest', () => first.records.length + second.records.length >= 3 * perPartition || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await second.stop();
    for (let p = 0; p < 3; p++) {
      const firstOfSecond = second.records.find((r) => r.partition === p);
      if (committed[p]! < perPartition) expect(firstOfSecond?.offset, `partition ${p} resumes at the committed offset`).to.equal(committed[p]);
    }
    expectExactlyOnce([...first.records, ...second.records], [perPartition, perPartition, perPartition]);
  });

  it('one call at a time per consumer; release is refused during a call', async () => {
    const topic = unique('native-busy');
    await createTopic(topic, 1);
    const m = member(unique('native-busy'), topic);
    await m.connect();
    const call = m.consumeOnce(undefined, undefined, 1_000);
    expect(() => native().addon.consume(m.id, new Uint8Array(10), 0, new Uint32Array(4000), new Float64Array(2000), new Uint32Array(2000), 1000, 0, 0, () => undefined)).to.throw(
      Error,
      `consume: a call for ${m.id} is already in flight; wait for its callback`,
    );
    expect(() => native().addon.release(m.id)).to.throw(Error, /release: a consume call for .* is in flight/);
    await call;
    expect(() => native().addon.release(m.id)).not.to.throw();
  });

  it('after disconnect a call errors cleanly; reconnected, the consumer is registered again', async () => {
    const topic = unique('native-gone');
    await createTopic(topic, 1);
    await produceSimple(topic, 1, 10);
    const m = member(unique('native-gone'), topic);
    await m.connect();
    await waitFor('records', async () => (await m.consumeOnce(), m.records.length >= 10 || undefined));
    await m.disconnect();
    const err = await m.consumeOnce().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal(`no Kafka consumer registered as ${m.id}`);
    expect(() => native().addon.release(m.id)).not.to.throw();
    await m.connect();
    const result = await waitFor('a call after reconnecting', async () => {
      const r = await m.consumeOnce();
      return m.assigned.size > 0 ? r : undefined;
    });
    expect(result.error).to.equal(null);
  });

  it('disconnect while a call is in flight waits for it (no crash), and the call ends cleanly', async () => {
    const topic = unique('native-race');
    await createTopic(topic, 1);
    const m = member(unique('native-race'), topic);
    await m.connect();
    await waitFor('assigned', async () => (await m.consumeOnce(), m.assigned.size > 0 || undefined));
    const call = m.consumeOnce(undefined, undefined, 3_000).then(
      (r) => r,
      (e: Error) => e,
    );
    await m.close();
    const outcome = await call;
    if (outcome instanceof Error) expect(outcome.message).to.equal(`no Kafka consumer registered as ${m.id}`);
    else expect(outcome.count).to.equal(0);
  });

  for (const released of [true, false]) {
    it(`${released ? 'release() then disconnect' : 'disconnect without release()'} with kept records does not hang`, async () => {
      const topic = unique('native-kept');
      await createTopic(topic, 1);
      await produceSimple(topic, 1, 500, 100);
      const m = member(unique('native-kept'), topic, { room: 300, maxMsgs: 100 });
      await m.connect();
      await waitFor('a call that keeps records', async () => ((await m.consumeOnce()).needBytes > 0 || undefined));
      if (released) native().addon.release(m.id);
      const started = Date.now();
      await m.close();
      expect(Date.now() - started).to.be.below(15_000);
    });
  }
});
