import { expect } from 'chai';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets } from '../support/kafka.js';
import { countPartition, seedTopic, waitIndexedAbove, waitIndexedAndCommitted } from '../support/data.js';
import { localServers, services } from '../support/services.js';
import { expectCleanExit, reportScenario, runToEnd, startSluice, testConfig, type SluiceProcess } from '../support/sluice.js';

/**
 * Commits that a member made of a partition after another member had been assigned it: the stale
 * commits that could move a new owner's offsets. (A member's own revoke and unassign commit its
 * stored offsets before the partition can go to anyone else, so those are fine.)
 */
function ownershipViolations(members: SluiceProcess[]): string[] {
  type Event = { time: number; member: number; msg: string; tps: string[] };
  const events: Event[] = [];
  members.forEach((m, member) => {
    for (const line of m.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as { time: number; msg?: string; partitions?: string[]; offsets?: string[] };
      if (e.msg === 'partitions assigned') events.push({ time: e.time, member, msg: 'assigned', tps: e.partitions ?? [] });
      if (e.msg === 'offsets committed') events.push({ time: e.time, member, msg: 'committed', tps: (e.offsets ?? []).map((o) => o.slice(0, o.lastIndexOf('@'))) });
    }
  });
  events.sort((a, b) => a.time - b.time);
  const owner = new Map<string, number>();
  const violations: string[] = [];
  for (const e of events) {
    for (const tp of e.tps) {
      if (e.msg === 'assigned') owner.set(tp, e.member);
      else if (owner.get(tp) !== e.member) violations.push(`member ${e.member} committed ${tp} at ${e.time}, owned by member ${owner.get(tp)}`);
    }
  }
  return violations;
}

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

  it('a rebalance while bulks are in flight (a member joins, then leaves) → exactly N, and no member commits a partition it does not own', async () => {
    const topic = unique('fk-rebalance');
    const group = unique('g');
    const N = 150_000;
    const ends = await seedTopic(topic, 6, N);
    const config = testConfig(topic, group, { pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 }, log: { level: 'debug' } });
    const started = Date.now();
    const a = startSluice(config);
    await waitIndexedAbove(topic, N / 10);
    const b = startSluice(config);
    await waitFor('the joining member gets partitions', () => b.logs('partitions assigned').length > 0 || undefined, 60_000);
    await waitFor('a revoked partitions for b', () => a.logs('partitions revoked; finishing their batches').length > 0 || undefined, 60_000);
    await waitFor('b indexes some', () => b.output().includes('"msg":"offsets committed"') || undefined, 60_000);
    b.child.kill('SIGTERM');
    await expectCleanExit(b, 60_000);
    await waitIndexedAndCommitted(topic, N, group, ends);
    a.child.kill('SIGTERM');
    await expectCleanExit(a, 60_000);
    expect(await count(topic)).to.equal(N);
    expect(ownershipViolations([a, b])).to.deep.equal([]);
    expect(b.logs('partitions revoked; finishing their batches').length).to.be.at.least(1);
    reportScenario('a member joins and leaves while bulks are in flight', started, [a, b]);
  });
});
