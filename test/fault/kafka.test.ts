import { expect } from 'chai';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets } from '../support/kafka.js';
import { countPartition, seedTopic, waitIndexedAbove } from '../support/data.js';
import { localServers, services } from '../support/services.js';
import { startEsGate, type EsGate } from '../support/es-gate.js';
import { sample, scrape } from '../support/metrics.js';
import { expectCleanExit, groupChanges, ownershipViolations, reportScenario, runToEnd, startSluice, statusPort, testConfig, type SluiceProcess } from '../support/sluice.js';

describe('faults: Kafka, signals and rebalances', function () {
  this.timeout(600_000);
  before(function () {
    if (!localServers) this.skip();
    return singleShardTemplate('fk-*');
  });

  it('the broker restarted midway → resumes; exactly N documents', async () => {
    const topic = unique('fk-restart');
    const N = 100_000;
    await seedTopic(topic, 4, N);
    const started = Date.now();
    const p = startSluice(testConfig(topic, unique('g'), { pipeline: { workers: 1, batchDocs: 1000, maxInFlightBulks: 2 } }), ['--until-caught-up']);
    await waitIndexedAbove(topic, N / 10);
    services('restart', 'kafka');
    await expectCleanExit(p);
    expect(await count(topic)).to.equal(N);
    reportScenario('Kafka broker restarted midway', started, [p]);
  });

  it('SIGTERM midway → committed offsets equal what was indexed; a restart finishes with exactly N', async () => {
    const topic = unique('fk-term');
    const group = unique('g');
    const N = 120_000;
    const ends = await seedTopic(topic, 3, N);
    const config = testConfig(topic, group, { pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 } });
    const started = Date.now();
    const p = startSluice(config);
    await waitIndexedAbove(topic, N / 5);
    p.child.kill('SIGTERM');
    await expectCleanExit(p, 60_000);
    const committed = await committedOffsets(group, topic, 3);
    expect(committed.reduce((a, b) => a + Math.max(0, b), 0)).to.be.below(N, 'stopped midway');
    for (let partition = 0; partition < 3; partition++) {
      // -1001: nothing committed yet for the partition, so nothing of it may be indexed either.
      expect(await countPartition(topic, partition)).to.equal(Math.max(0, committed[partition]!), `partition ${partition}: indexed = committed`);
    }
    const restarted = await runToEnd(config);
    expect(await count(topic)).to.equal(N);
    expect(await committedOffsets(group, topic, 3)).to.deep.equal(ends);
    reportScenario('SIGTERM midway, then a restart', started, [p, restarted]);
  });

  it('a rebalance while every partition is paused by the budget with bulks in flight (a member joins, then leaves) → exactly N, every partition committed to its end, no member commits a partition it does not own', async () => {
    const topic = unique('fk-rebalance');
    const group = unique('g');
    const N = 150_000;
    const ends = await seedTopic(topic, 6, N);
    // Each member reaches Elasticsearch through its own gate, which holds bulks while closed: a
    // closed gate keeps bulks in flight and, with a budget of a few batches, pauses every
    // partition. The revoke then waits for those bulks until its deadline (half of
    // max.poll.interval.ms, 10 s) and releases its partitions still paused, with bulks in flight.
    const gateA = await startEsGate();
    const gateB = await startEsGate();
    const config = (gate: EsGate): Record<string, unknown> =>
      testConfig(topic, group, {
        kafka: { rdkafka: { 'max.poll.interval.ms': 20_000 } },
        elasticsearch: { node: gate.url },
        pipeline: { workers: 1, batchDocs: 500, batchBytes: '256KiB', maxInFlightBulks: 2, maxBufferedBytes: '1MiB' },
        metrics: { port: 0, host: '127.0.0.1' },
        log: { level: 'debug' },
      });
    const paused = async (p: SluiceProcess): Promise<string> => {
      const text = await scrape(await waitFor('the status server', () => statusPort(p), 60_000));
      return `${sample(text, 'sluice_partitions_paused')} of ${sample(text, 'sluice_partitions_assigned')} paused`;
    };
    const assignedSome = (p: SluiceProcess): boolean => p.logs('partitions assigned').some((l) => (l['partitions'] as string[]).length > 0);
    const started = Date.now();
    const a = startSluice(config(gateA));
    let b: SluiceProcess | undefined;
    try {
      await waitIndexedAbove(topic, N / 10);
      gateA.close();
      await waitFor('a over its budget: every partition paused, bulks held', async () => (gateA.held() > 0 && (await paused(a)) === '6 of 6 paused') || undefined, 60_000, 250);

      b = startSluice(config(gateB));
      await waitFor('a revokes partitions for b', () => a.logs('partitions revoked; finishing their batches').length > 0 || undefined, 60_000);
      expect(await paused(a)).to.equal('6 of 6 paused', 'paused at the moment of the revoke');
      const revoked = (a.logs('partitions revoked; finishing their batches')[0]?.['partitions'] as string[]).map((tp) => Number(/\[(\d+)\]$/.exec(tp)?.[1]));
      const kept = [0, 1, 2, 3, 4, 5].filter((partition) => !revoked.includes(partition));
      expect(revoked).to.have.length(3);
      await waitFor('a releases them at the revoke deadline, still paused', () => a.logs('partitions released').length > 0 || undefined, 60_000);
      // Their late results arrive once the gate opens; they must not touch offsets b now owns.
      gateA.open();
      const bOut = b;
      await waitFor('b gets the revoked partitions', () => assignedSome(bOut) || undefined, 60_000);
      await waitFor('b indexes some', () => bOut.output().includes('"msg":"offsets committed"') || undefined, 60_000);
      // b holds its partitions midway while a finishes its own and goes idle (below its budget):
      // nothing pauses them in a when they come back.
      gateB.close();
      await waitFor("a's partitions committed to their ends", async () => {
        const c = await committedOffsets(group, topic, 6);
        return kept.every((partition) => c[partition] === ends[partition]) || undefined;
      }, 240_000, 500);
      const atLeave = await committedOffsets(group, topic, 6);
      expect(revoked.filter((partition) => atLeave[partition] === ends[partition]), 'b leaves with a backlog on its partitions').to.deep.equal([]);

      b.child.kill('SIGTERM');
      gateB.open();
      await expectCleanExit(b, 60_000);
      // The partitions b gives back were still paused in a when a released them: librdkafka keeps
      // that pause across unassign and assign, so a must resume them when they come back.
      await waitFor('every partition committed to its end: a fetches again the partitions it released while paused', async () => {
        const c = await committedOffsets(group, topic, 6);
        return c.every((o, partition) => o === ends[partition]) || undefined;
      }, 120_000, 1_000);
      a.child.kill('SIGTERM');
      await expectCleanExit(a, 60_000);
    } finally {
      for (const p of [a, b]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
      await gateA.stop();
      await gateB.stop();
    }
    expect(await count(topic)).to.equal(N);
    expect(ownershipViolations([a, b])).to.deep.equal([]);
    expect(groupChanges(a)).to.deep.equal({ assigned: 2, revoked: 1 }, 'a gave partitions to b, and got them back');
    reportScenario('a member joins and leaves while every partition is paused by the budget', started, [a, b]);
  });
});
