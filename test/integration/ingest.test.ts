import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { committedOffsets } from '../support/kafka.js';
import { expectEachRecordOnce, seedTopic, waitIndexedAbove, waitIndexedAndCommitted } from '../support/data.js';
import { runToEnd, startSluice, testConfig } from '../support/sluice.js';

describe('ingester: every record exactly once, offsets committed to the end', function () {
  this.timeout(300_000);
  before(() => singleShardTemplate('it-*'));

  it('N records over P partitions with several workers → exactly N documents with kafka ids; commits equal log-end offsets', async () => {
    const topic = unique('it-basic');
    const group = unique('g');
    const N = 20_000;
    const ends = await seedTopic(topic, 4, N);
    expect(ends.reduce((a, b) => a + b, 0)).to.equal(N);

    const run = await runToEnd(testConfig(topic, group, { pipeline: { workers: 2, batchDocs: 1000 } }));
    await expectEachRecordOnce(topic, ends);
    expect(await committedOffsets(group, topic, 4)).to.deep.equal(ends);

    const doc = await es.get<{ partition: number; i: number }>({ index: topic, id: `${topic}-2-${ends[2]! - 1}` });
    expect(doc._source?.partition).to.equal(2);
    const stopped = run.logs('stopped')[0];
    expect(stopped?.['indexed']).to.equal(N);
    expect(stopped?.['reason']).to.equal('caught up');
  });

  it('SIGKILL midway, then a restart → still exactly N documents, no partition has a gap', async () => {
    const topic = unique('it-kill');
    const group = unique('g');
    const N = 60_000;
    const ends = await seedTopic(topic, 4, N);
    const config = testConfig(topic, group, { pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 } });

    const first = startSluice(config);
    await waitIndexedAbove(topic, N / 10);
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal(137);
    const partial = await count(topic);
    expect(partial).to.be.lessThan(N, 'the kill must land midway for this test to mean anything');

    await runToEnd(config);
    await expectEachRecordOnce(topic, ends);
    expect(await committedOffsets(group, topic, 4)).to.deep.equal(ends);
  });

  it('two processes in one group, one stopped with SIGTERM midway → exactly N documents', async () => {
    const topic = unique('it-group');
    const group = unique('g');
    const N = 60_000;
    const ends = await seedTopic(topic, 6, N);
    const config = testConfig(topic, group, { pipeline: { workers: 1, batchDocs: 500, maxInFlightBulks: 2 } });

    const a = startSluice(config);
    const b = startSluice(config);
    await waitFor('both members own partitions', () => a.logs('partitions assigned').length > 0 && b.logs('partitions assigned').length > 0, 60_000);
    await waitIndexedAbove(topic, N / 5);
    b.child.kill('SIGTERM');
    expect(await b.exited).to.equal(0, b.output().slice(-2000));
    expect(b.logs('stopped')[0]?.['reason']).to.equal('SIGTERM received');

    // The survivor takes over b's partitions and finishes the topic.
    await waitIndexedAndCommitted(topic, N, group, ends);
    a.child.kill('SIGTERM');
    expect(await a.exited).to.equal(0);
    await expectEachRecordOnce(topic, ends);
  });
});
