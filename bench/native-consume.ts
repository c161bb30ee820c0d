import rdkafka from 'node-rdkafka';
import { produceDataSet } from './dataset.js';
import { loadNativeConsumer, nativeConsumerProperties, type ConsumeResult, type NativeConsumerAddon } from '../src/kafka/native-consume.js';

/**
 * What consuming costs on the main thread's side of the Kafka boundary, per record: draining one
 * backlog of APM records (bench/apm-data.ts, ~900 B) from the beginning with node-rdkafka's
 * `consume(n)` (a JS object and copied Buffers per message; the loop touches each value's length, as
 * the kafka-ceiling runner does) and with the native consume addon (one call per batch into a
 * SharedArrayBuffer; the loop reads the row count). CPU is this process's user + system time
 * (process.cpuUsage: main thread, libuv pool and librdkafka's threads) from subscribe to the last
 * record, per record; each round drains the topic once per path under a fresh group, the order
 * alternating between rounds.
 *
 *   node dist/bench/native-consume.js   BENCH_DOCS (200000), BENCH_PARTITIONS (4), BENCH_ROUNDS (3),
 *                                       SLUICE_TEST_KAFKA or 127.0.0.1:9092
 */
const BROKERS = process.env['SLUICE_TEST_KAFKA'] ?? '127.0.0.1:9092';
const DOCS = Number(process.env['BENCH_DOCS'] ?? 200_000);
const PARTITIONS = Number(process.env['BENCH_PARTITIONS'] ?? 4);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 10_000;
const WAIT_MS = 20;

interface Drain {
  path: string;
  cpuUs: number;
  wallMs: number;
  records: number;
}

function consumerConfig(group: string, extra: Record<string, string> = {}) {
  return { 'metadata.broker.list': BROKERS, 'group.id': group, 'enable.auto.commit': false, 'enable.auto.offset.store': false, ...extra };
}

async function measure(path: string, drain: () => Promise<number>): Promise<Drain> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const records = await drain();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { path, cpuUs: used.user + used.system, wallMs, records };
}

async function drainRdkafka(topic: string, round: number): Promise<Drain> {
  const consumer = new rdkafka.KafkaConsumer(consumerConfig(`bench-native-consume-rdkafka-${topic}-${round}`), { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.setDefaultConsumeTimeout(WAIT_MS);
  const result = await measure('node-rdkafka consume(n)', async () => {
    consumer.subscribe([topic]);
    let seen = 0;
    let bytes = 0;
    while (seen < DOCS) {
      const messages = await new Promise<rdkafka.Message[]>((resolve, reject) => consumer.consume(BATCH, (err, ms) => (err ? reject(err) : resolve(ms))));
      for (const m of messages) bytes += m.value?.length ?? 0;
      seen += messages.length;
    }
    if (bytes === 0) throw new Error('no value bytes read');
    return seen;
  });
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return result;
}

async function drainNative(addon: NativeConsumerAddon, pluginPath: string, topic: string, round: number): Promise<Drain> {
  const id = `bench-native-consume-${topic}-${round}`;
  const consumer = new rdkafka.KafkaConsumer(consumerConfig(id, nativeConsumerProperties(pluginPath, id)), { 'auto.offset.reset': 'earliest' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  const data = new Uint8Array(new SharedArrayBuffer(16 << 20));
  const index = new Uint32Array(4 * BATCH);
  const coords = new Float64Array(2 * BATCH);
  const headers = new Uint32Array(2 * BATCH);
  const result = await measure('native consume', async () => {
    consumer.subscribe([topic]);
    let seen = 0;
    while (seen < DOCS) {
      const r = await new Promise<ConsumeResult>((resolve, reject) =>
        addon.consume(id, data, 0, index, coords, headers, BATCH, WAIT_MS, 0, (err, res) => (err || !res ? reject(err ?? new Error('no result')) : resolve(res))),
      );
      if (r.error) throw new Error(`message error ${r.error.code}: ${r.error.message}`);
      seen += r.count;
    }
    return seen;
  });
  addon.release(id);
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return result;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const loaded = loadNativeConsumer();
  if ('reason' in loaded) throw new Error(`the native consume addon is not available: ${loaded.reason}`);
  const topic = `bench-native-consume-${Date.now().toString(36)}`;
  process.stderr.write(`producing ${DOCS} records to ${topic} (${PARTITIONS} partitions)\n`);
  const set = await produceDataSet(BROKERS, topic, DOCS, PARTITIONS, 42, () => undefined);
  process.stderr.write(`${(set.valueBytes / DOCS).toFixed(0)} B per value on average; librdkafka ${loaded.addon.librdkafka}\n`);
  const drains: Drain[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['native', 'rdkafka'] : ['rdkafka', 'native'];
    for (const path of order) {
      const d = path === 'native' ? await drainNative(loaded.addon, loaded.pluginPath, topic, round) : await drainRdkafka(topic, round);
      if (d.records < DOCS) throw new Error(`${d.path} read ${d.records} of ${DOCS}`);
      drains.push(d);
      process.stderr.write(`round ${round + 1} ${d.path}: ${(d.cpuUs / d.records).toFixed(2)} CPU µs/record, ${((d.records / d.wallMs) * 1000).toFixed(0)} records/s\n`);
    }
  }
  const lines = ['| path | CPU µs / record (median, min–max) | records / s (median) |', '|---|--:|--:|'];
  for (const path of ['node-rdkafka consume(n)', 'native consume']) {
    const mine = drains.filter((d) => d.path === path);
    const cpu = mine.map((d) => d.cpuUs / d.records);
    const rate = mine.map((d) => (d.records / d.wallMs) * 1000);
    lines.push(`| ${path} | ${median(cpu).toFixed(2)} (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}) | ${median(rate).toFixed(0)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
