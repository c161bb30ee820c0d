import { expect } from 'chai';
import rdkafka, { type LibrdKafkaError } from 'node-rdkafka';
import { count, createIndex, es } from '../support/elasticsearch.js';
import { KAFKA_BROKERS, unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { readDeadLetters } from '../support/dlq.js';
import { exitWithin, expectCleanExit, reportScenario, runToEnd, startSluice, statusPort, testConfig, type SluiceProcess } from '../support/sluice.js';

/** One series of `/metrics`, or undefined when absent. */
async function metric(port: number, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function readyz(port: number): Promise<{ status: number; ready: boolean; reasons: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await res.json()) as { ready: boolean; reasons: string[] };
  return { status: res.status, ...body };
}

/** Waits until `/readyz` is unready with a `halted:` reason starting with `prefix`, and returns that reason. */
async function haltedWith(p: SluiceProcess, port: number, prefix: string, timeoutMs: number): Promise<string> {
  return waitFor(
    `/readyz to say "halted: ${prefix}…"`,
    async () => {
      if (p.child.exitCode !== null) throw new Error(`sluice exited:\n${p.output().slice(-3000)}`);
      const r = await readyz(port);
      return (r.status === 503 && r.reasons.find((s) => s.startsWith(`halted: ${prefix}`))) || undefined;
    },
    timeoutMs,
    250,
  );
}

/** A topic with its own `max.message.bytes` (the test broker's default is about 1 MB). */
async function createTopicWithLimit(topic: string, maxMessageBytes: number): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': KAFKA_BROKERS });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: 1, replication_factor: 1, config: { 'max.message.bytes': String(maxMessageBytes) } }, 30_000, (err: LibrdKafkaError | undefined) =>
        err ? reject(err) : resolve(),
      ),
    );
  } finally {
    admin.disconnect();
  }
}

/** Produces uncompressed records of any size (the shared helper compresses and keeps librdkafka's 1 MB limit). */
async function produceLarge(topic: string, records: OutRecord[]): Promise<void> {
  const producer = new rdkafka.Producer({ 'metadata.broker.list': KAFKA_BROKERS, 'message.max.bytes': 8 * 1024 * 1024, dr_cb: true });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(20);
  try {
    let acked = 0;
    const done = new Promise<void>((resolve, reject) =>
      producer.on('delivery-report', (err) => {
        if (err) reject(err);
        else if (++acked === records.length) resolve();
      }),
    );
    for (const r of records) producer.produce(topic, r.partition, r.value === null ? null : Buffer.from(r.value), r.key === undefined || r.key === null ? null : Buffer.from(r.key));
    await done;
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

describe('dead-letter faults: the dead-letter path never stalls silently', function () {
  this.timeout(600_000);

  it('a missing dead-letter topic halts with the reason; once it exists the dead letters arrive, every good record is indexed and offsets reach the end', async () => {
    const topic = unique('dlf-missing');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    await createTopic(topic, 2);
    const records: OutRecord[] = [];
    const bad = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const key = `r${i}`;
      const broken = i % 40 === 17;
      if (broken) bad.add(key);
      records.push({ partition: i % 2, key, value: broken ? `not json ${i}` : JSON.stringify({ i }) });
    }
    await produce(topic, records);
    const ends = await endOffsets(topic, 2);

    const p = startSluice(testConfig(topic, group, { errors: { dlqTopic }, metrics: { port: 0, host: '127.0.0.1' } }));
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      // librdkafka declares a topic missing after topic.metadata.propagation.max.ms (30 s).
      const reason = await haltedWith(p, port, `dead-letter topic ${dlqTopic}`, 120_000);
      expect(reason).to.include('does not exist');
      expect(await metric(port, 'sluice_halted')).to.equal(1);
      expect(await metric(port, 'sluice_halted_by{cause="dead_letter_topic"}')).to.equal(1);
      expect(await metric(port, 'sluice_halted_by{cause="elasticsearch"}')).to.equal(0);
      expect(await metric(port, 'sluice_partitions_paused')).to.equal(2);
      expect(p.logs('halted: the dead-letter topic refuses writes; every partition paused, polling goes on, retrying until it accepts them')).to.have.length(1);
      // Nothing was committed past a record waiting for its dead letter (all of them are in partition 1).
      const firstBad = records.filter((r) => r.partition === 1).findIndex((r) => bad.has(r.key as string));
      expect(firstBad).to.be.greaterThan(0);
      expect((await committedOffsets(group, topic, 2))[1]).to.be.at.most(firstBad);

      await createTopic(dlqTopic, 1);
      const letters = await readDeadLetters(dlqTopic, bad.size);
      expect(letters.map((l) => l.key).sort()).to.deep.equal([...bad].sort(), 'exactly the bad records, each once');
      for (const l of letters) expect(l.headers['sluice.error.stage']).to.equal('decode');
      await waitFor('every good record indexed and the offsets committed to the end', async () => {
        return ((await count(topic)) === records.length - bad.size && JSON.stringify(await committedOffsets(group, topic, 2)) === JSON.stringify(ends)) || undefined;
      }, 120_000, 500);
      await waitFor('ready again', async () => (await readyz(port)).ready || undefined, 30_000);
      expect(await metric(port, 'sluice_halted')).to.equal(0);
      expect(p.logs('resumed: the dead-letter topic accepts writes again')).to.have.length(1);
      p.child.kill('SIGTERM');
      await expectCleanExit(p, 60_000);
    } finally {
      p.child.kill('SIGKILL');
    }
    expect(await count(topic)).to.equal(records.length - bad.size);
  });

  it('a record over 1 MB failing as size reaches the dead-letter topic cut to fit, with a header giving its length, and its partition moves on', async () => {
    const topic = unique('dlf-big');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    await createTopicWithLimit(topic, 8 * 1024 * 1024);
    await createTopic(dlqTopic, 1);
    const big = JSON.stringify({ blob: 'x'.repeat(1_500_000) });
    const records: OutRecord[] = Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: `r${i}`, value: i === 7 ? big : JSON.stringify({ i }) }));
    await produceLarge(topic, records);

    await runToEnd(testConfig(topic, group, { errors: { dlqTopic }, pipeline: { maxDocBytes: '1MiB' } }), [], 240_000);
    const [letter, ...others] = await readDeadLetters(dlqTopic, 1);
    expect(others).to.have.length(0);
    expect(letter?.key).to.equal('r7');
    expect(letter?.headers['sluice.error.stage']).to.equal('size');
    expect(letter?.headers['sluice.value.truncated']).to.equal(String(Buffer.byteLength(big)));
    const value = letter?.value ?? '';
    // Cut to what the topic takes (about 1 MB by default), not to nothing.
    expect(value.length).to.be.within(500_000, 1_048_576);
    expect(big.startsWith(value)).to.equal(true, 'the value is the start of the original');
    expect(await count(topic)).to.equal(19);
    expect(await committedOffsets(group, topic, 1)).to.deep.equal(await endOffsets(topic, 1));
  });

  it('SIGTERM while the dead-letter topic is unwritable exits 0 within shutdown.timeoutMs and commits nothing past the waiting records', async () => {
    const topic = unique('dlf-stop');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    await createTopic(topic, 1);
    const record = (i: number): OutRecord => ({ partition: 0, key: `r${i}`, value: i === 100 || i === 200 ? `not json ${i}` : JSON.stringify({ i }) });
    await produce(topic, Array.from({ length: 100 }, (_, i) => record(i)));
    const timeoutMs = 8_000;
    const p = startSluice(testConfig(topic, group, { errors: { dlqTopic }, metrics: { port: 0, host: '127.0.0.1' }, shutdown: { timeoutMs } }));
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      // Offsets move by whole batches: the first 100 records are committed before the bad ones arrive.
      await waitFor('the first 100 records committed', async () => ((await committedOffsets(group, topic, 1))[0] === 100) || undefined, 60_000, 500);
      await produce(topic, Array.from({ length: 200 }, (_, i) => record(100 + i)));
      await haltedWith(p, port, `dead-letter topic ${dlqTopic}`, 120_000);
      const stopAt = Date.now();
      p.child.kill('SIGTERM');
      const code = await exitWithin(p, timeoutMs + 15_000);
      expect(code, p.output().slice(-3000)).to.equal(0);
      expect(Date.now() - stopAt).to.be.below(timeoutMs + 15_000);
      reportScenario('SIGTERM while the dead-letter topic is missing: from the signal to the exit', stopAt, [p]);
    } finally {
      p.child.kill('SIGKILL');
    }
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([100]);
    expect(p.logs('stopped')).to.have.length(1);
  });

  it('the circuit breaker halts a topic whose every record fails mapping after one window, holds the rest, and a restart with the mapping fixed indexes them', async () => {
    const topic = unique('dlf-breaker');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    const N = 2_000;
    const window = 100;
    await createTopic(topic, 1);
    await createTopic(dlqTopic, 1);
    await createIndex(topic, { n: { type: 'long' } });
    await produce(topic, Array.from({ length: N }, (_, i) => ({ partition: 0, key: `r${i}`, value: JSON.stringify({ n: `text ${i}` }) })));
    // One batch in flight at a time: records finish in offset order, so the window and the held
    // record are exact.
    const config = testConfig(topic, group, {
      errors: { dlqTopic, dlqWindowRecords: window },
      pipeline: { maxInFlightBulks: 1, batchDocs: 200 },
      metrics: { port: 0, host: '127.0.0.1' },
    });

    const p = startSluice(config);
    try {
      const port = await waitFor('the status server', () => statusPort(p), 60_000);
      const reason = await haltedWith(p, port, 'dead-letter circuit breaker', 120_000);
      expect(reason).to.include(`${window} of the last ${window} finished records`);
      expect(await metric(port, 'sluice_halted')).to.equal(1);
      expect(await metric(port, 'sluice_halted_by{cause="dead_letter_ratio"}')).to.equal(1);
      expect(await metric(port, 'sluice_dead_letter_ratio')).to.equal(1);
      expect(await metric(port, 'sluice_partitions_paused')).to.equal(1);
      // The window's last record trips it: the ones before it are dead letters, it and the rest are held.
      await waitFor('the dead-lettered records committed', async () => ((await committedOffsets(group, topic, 1))[0] === window - 1) || undefined, 60_000, 500);
      expect(p.logs('halted: too many records dead-lettered; every partition paused and failed records held until restart')).to.have.length(1);
      p.child.kill('SIGTERM');
      await expectCleanExit(p, 60_000);
    } finally {
      p.child.kill('SIGKILL');
    }
    const letters = await readDeadLetters(dlqTopic, window - 1);
    expect(letters.map((l) => l.key)).to.have.members(Array.from({ length: window - 1 }, (_, i) => `r${i}`));
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([window - 1]);

    // The fix: a mapping that takes text. The held records are read again from the commit.
    await es.indices.delete({ index: topic });
    await createIndex(topic, { n: { type: 'keyword' } });
    await runToEnd(config, [], 240_000);
    expect(await count(topic)).to.equal(N - (window - 1));
    // Default ids are `<topic>-<partition>-<offset>`: exactly the held record and every one after it.
    const found = await es.search({ index: topic, size: N, _source: false, query: { match_all: {} } });
    const ids = found.hits.hits.map((h) => h._id as string);
    expect(new Set(ids)).to.deep.equal(new Set(Array.from({ length: N - (window - 1) }, (_, i) => `${topic}-0-${i + window - 1}`)));
    expect(await committedOffsets(group, topic, 1)).to.deep.equal([N]);
    expect(await readDeadLetters(dlqTopic, window - 1)).to.have.length(window - 1, 'no dead letter after the fix');
  });
});
