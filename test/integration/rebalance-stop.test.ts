import { expect } from 'chai';
import { count, createIndex, es } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { countBelow, countPartition, seedTopic, waitIndexedAbove, waitIndexedAndCommitted } from '../support/data.js';
import { readDeadLetters } from '../support/dlq.js';
import { startEsGate, type EsGate } from '../support/es-gate.js';
import { joinIdleMember } from '../support/member.js';
import { exitWithin, startSluice, statusPort, testConfig, type SluiceProcess } from '../support/sluice.js';

const HALTED = 'halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them';
const RELEASED = 'partitions released';

/** `count` good records per partition around one record built by `bad` at offset `at` (when given). */
async function produceAround(topic: string, partitions: number, count: number, bad?: { at: number; value: (partition: number) => string }): Promise<number[]> {
  await createTopic(topic, partitions);
  await produce(
    topic,
    (function* (): Generator<OutRecord> {
      for (let partition = 0; partition < partitions; partition++) {
        for (let seq = 0; seq < count; seq++) {
          const value = bad && seq === bad.at ? bad.value(partition) : JSON.stringify({ partition, seq, n: seq });
          yield { partition, value };
        }
      }
    })(),
  );
  return endOffsets(topic, partitions);
}

async function readyz(p: SluiceProcess): Promise<{ ready: boolean; reasons: string[] }> {
  const port = await waitFor('the status server', () => statusPort(p), 30_000);
  return (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as Promise<{ ready: boolean; reasons: string[] }>;
}

async function stopClean(p: SluiceProcess): Promise<void> {
  p.child.kill('SIGTERM');
  const code = await exitWithin(p, 60_000);
  if (code !== 0) throw new Error(`sluice exited with ${code}:\n${p.output().slice(-4000)}`);
}

/**
 * Sluice `p` holds both partitions of `topic`, both paused: a member joins and is given one, `resume`
 * lifts the pause and the partition sluice kept is indexed to its end (within `keptWithinMs`); then
 * the member leaves, and the partition assigned back must be fetched again: all `N` records indexed
 * and committed to `ends`, and a clean stop.
 */
async function revokeAndAssignBack(run: { p: SluiceProcess; topic: string; group: string; N: number; ends: number[]; resume: () => unknown; keptWithinMs: number }): Promise<void> {
  const { p, topic, group, N, ends } = run;
  const member = await joinIdleMember(group, topic);
  await waitFor('sluice released a partition', () => p.logs(RELEASED).length > 0 || undefined, 60_000);
  const kept = member.assigned()[0]!.partition === 0 ? 1 : 0;
  await run.resume();
  await waitFor('the partition sluice kept is indexed to its end', async () => (await countPartition(topic, kept)) === N / 2 || undefined, run.keptWithinMs, 500);
  await member.leave();
  await waitIndexedAndCommitted(topic, N, group, ends);
  await stopClean(p);
  expect(await count(topic)).to.equal(N);
}

describe('rebalances and stops: paused partitions come back, revokes and stops keep their deadlines', function () {
  this.timeout(300_000);
  const running: SluiceProcess[] = [];
  const gates: EsGate[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const g of gates.splice(0)) await g.stop();
  });

  // librdkafka keeps a partition's pause flag across unassign and assign: a partition revoked while
  // paused, and assigned back once nothing pauses it any more, must still be fetched again.
  describe('a partition revoked while paused and assigned back is fetched again', () => {
    it('paused by a halt (writes blocked) at the revoke', async () => {
      const topic = unique('rb-halt');
      const group = unique('g');
      const N = 4_000;
      const ends = await seedTopic(topic, 2, N);
      await createIndex(topic);
      await es.indices.putSettings({ index: topic, settings: { 'index.blocks.write': true } });
      const p = startSluice(testConfig(topic, group));
      running.push(p);
      await waitFor('the halt', () => p.logs(HALTED).length > 0 || undefined, 60_000);
      await revokeAndAssignBack({ p, topic, group, N, ends, resume: () => es.indices.putSettings({ index: topic, settings: { 'index.blocks.write': false } }), keptWithinMs: 60_000 });
    });

    it('paused by the byte budget (bulks held in flight) at the revoke', async () => {
      const topic = unique('rb-budget');
      const group = unique('g');
      const N = 6_000;
      const ends = await seedTopic(topic, 2, N);
      const gate = await startEsGate(false);
      gates.push(gate);
      const p = startSluice(
        testConfig(topic, group, {
          elasticsearch: { node: gate.url },
          pipeline: { workers: 1, batchDocs: 200, batchBytes: 16_384, maxInFlightBulks: 2, maxBufferedBytes: 65_536 },
          log: { level: 'debug' },
        }),
      );
      running.push(p);
      await waitFor('over the budget with bulks held', () => (gate.held() > 0 && p.logs('over the byte budget; partitions paused').length > 0) || undefined, 60_000);
      await revokeAndAssignBack({ p, topic, group, N, ends, resume: () => gate.open(), keptWithinMs: 120_000 });
    });

    it('stopped before a record that failed (policy fail) at the revoke; the record is tried again', async () => {
      const topic = unique('rb-blocked');
      const group = unique('g');
      const per = 100;
      // Twenty fields more than the index allows: rejected until an operator raises the limit.
      const wide = (partition: number): string => JSON.stringify({ partition, seq: per / 2, ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i])) });
      const ends = await produceAround(topic, 2, per, { at: per / 2, value: wide });
      await es.indices.create({ index: topic, settings: { number_of_shards: 1, number_of_replicas: 0, 'index.mapping.total_fields.limit': 10 } } as never);
      const p = startSluice(testConfig(topic, group, { metrics: { port: 0, host: '127.0.0.1' } }));
      running.push(p);
      await waitFor('both partitions stopped before their record', async () => (await readyz(p)).reasons.includes('2 partition(s) stopped before a record that could not be indexed') || undefined, 60_000, 250);
      const member = await joinIdleMember(group, topic);
      await waitFor('sluice released a partition', () => p.logs(RELEASED).length > 0 || undefined, 60_000);
      const away = member.assigned()[0]!.partition;
      const kept = away === 0 ? 1 : 0;
      await es.indices.putSettings({ index: topic, settings: { 'index.mapping.total_fields.limit': 1000 } });
      await member.leave();
      await waitFor('the partition that came back is indexed to its end', async () => (await countPartition(topic, away)) === per || undefined, 60_000, 500);
      await waitFor('and committed to its end', async () => (await committedOffsets(group, topic, 2))[away] === ends[away] || undefined, 30_000, 500);
      // The partition that never left stays stopped before its record until a restart (records after
      // it in the same batch were indexed, but its offsets do not pass it).
      expect((await committedOffsets(group, topic, 2))[kept]).to.equal(per / 2);
      expect((await readyz(p)).reasons).to.include('1 partition(s) stopped before a record that could not be indexed');
      await stopClean(p);
    });
  });

  it('a revoke waits for in-flight batches only until kafka.revokeTimeoutMs; their late results touch nothing', async () => {
    const topic = unique('rb-late');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    const per = 200;
    // `n` is mapped as a number: a text value there is rejected and dead-lettered.
    const ends = await produceAround(topic, 2, per, { at: per / 2, value: (partition) => JSON.stringify({ partition, seq: per / 2, n: 'not a number' }) });
    await createTopic(dlqTopic, 1);
    await createIndex(topic, { n: { type: 'long' }, partition: { type: 'integer' }, seq: { type: 'long' } });
    const gate = await startEsGate(false);
    gates.push(gate);
    const p = startSluice(
      testConfig(topic, group, {
        elasticsearch: { node: gate.url },
        kafka: { revokeTimeoutMs: 2_000 },
        errors: { dlqTopic },
        pipeline: { workers: 1, batchDocs: 1_000, lingerMs: 200 },
        metrics: { port: 0, host: '127.0.0.1' },
      }),
    );
    running.push(p);
    await waitFor('both partitions held in flight', () => gate.held() > 0 || undefined, 60_000);
    const member = await joinIdleMember(group, topic);
    // Released at the deadline while the batches are still held at the gate.
    await waitFor('sluice released a partition at the revoke deadline', () => p.logs(RELEASED).length > 0 || undefined, 30_000);
    expect(gate.held()).to.be.above(0);
    gate.open();
    const away = member.assigned()[0]!.partition;
    const kept = away === 0 ? 1 : 0;
    await waitFor('the kept partition indexed to its end', async () => (await countPartition(topic, kept)) === per - 1 || undefined, 60_000, 500);
    await member.leave();
    await waitIndexedAndCommitted(topic, 2 * (per - 1), group, ends);
    // One dead letter per bad record: the revoked partition's late result wrote none.
    const letters = await readDeadLetters(dlqTopic, 2);
    expect(letters.map((l) => Number(l.headers['sluice.source.partition'])).sort()).to.deep.equal([0, 1]);
    expect(await readyz(p)).to.deep.equal({ ready: true, reasons: [] });
    await stopClean(p);
  });

  it('SIGTERM during a halt exits 0 within shutdown.timeoutMs and keeps what was committed', async () => {
    const topic = unique('rb-term');
    const group = unique('g');
    const N = 60_000;
    await seedTopic(topic, 2, N);
    const timeoutMs = 5_000;
    const p = startSluice(testConfig(topic, group, { shutdown: { timeoutMs }, pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 } }));
    running.push(p);
    await waitIndexedAbove(topic, N / 10);
    await es.indices.putSettings({ index: topic, settings: { 'index.blocks.write': true } });
    await waitFor('the halt', () => p.logs(HALTED).length > 0 || undefined, 60_000);
    p.child.kill('SIGTERM');
    // A few seconds beyond the drain deadline: closing the consumer and the pool.
    expect(await exitWithin(p, timeoutMs + 15_000)).to.equal(0, p.output().slice(-3000));
    await es.indices.putSettings({ index: topic, settings: { 'index.blocks.write': false } });
    // -1001: nothing committed for the partition (none of its records was indexed before the halt).
    const committed = (await committedOffsets(group, topic, 2)).map((c) => Math.max(0, c));
    expect(committed[0]! + committed[1]!, 'what was indexed before the halt is committed').to.be.above(0);
    for (let partition = 0; partition < 2; partition++) {
      // Every record below the commit is indexed (seq = offset on a fresh topic).
      expect(await countBelow(topic, partition, committed[partition]!)).to.equal(committed[partition], `partition ${partition}: all below the commit indexed`);
    }
  });
});
