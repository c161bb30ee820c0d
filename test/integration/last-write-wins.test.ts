import { expect } from 'chai';
import { rejectShare, startBulkProxy } from '../support/bulk-proxy.js';
import { createIndex, es } from '../support/elasticsearch.js';
import { ES_URL, unique } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { runToEnd, testConfig, type SluiceProcess } from '../support/sluice.js';

/**
 * Many records per document (`key` and `field:` ids) under real concurrency: several workers, many
 * batches of one partition in flight, several bodies per batch, retried items. Whatever order the
 * writes land in, each document must end as its key's last record made it (DESIGN.md, invariant 9).
 */
describe('last write wins: keyed updates under concurrency and retries', function () {
  this.timeout(600_000);

  const PARTITIONS = 4;

  /**
   * `n` updates spread over `ids` ids, each id always in the same partition; every value carries the
   * id's own sequence number. Returns the last sequence number of each id.
   */
  async function seedUpdates(topic: string, n: number, ids: number, record: (id: string, seq: number) => OutRecord): Promise<Map<string, number>> {
    await createTopic(topic, PARTITIONS);
    const last = new Map<string, number>();
    await produce(
      topic,
      (function* (): Generator<OutRecord> {
        for (let i = 0; i < n; i++) {
          const id = `id-${i % ids}`;
          const seq = (last.get(id) ?? -1) + 1;
          last.set(id, seq);
          yield record(id, seq);
        }
      })(),
    );
    return last;
  }

  const partitionOf = (id: string): number => Number(id.slice(3)) % PARTITIONS;

  /** Every document of the index, by id, read after the run ended (no write can still arrive). */
  async function documents(index: string): Promise<Map<string, { seq: number }>> {
    await es.indices.refresh({ index });
    const res = await es.search<{ seq: number }>({ index, size: 1000, query: { match_all: {} } });
    return new Map(res.hits.hits.map((h) => [h._id as string, h._source as { seq: number }]));
  }

  function expectLastWrites(docs: Map<string, { seq: number }>, last: Map<string, number>): void {
    const stale = [...last].filter(([id, seq]) => docs.get(id)?.seq !== seq).map(([id, seq]) => `${id}: holds ${docs.get(id)?.seq} of ${seq}`);
    expect(stale, `${stale.length} of ${last.size} documents stale`).to.deep.equal([]);
    expect(docs.size).to.equal(last.size);
  }

  async function expectCommittedToEnd(group: string, topic: string): Promise<void> {
    expect(await committedOffsets(group, topic, PARTITIONS)).to.deep.equal(await endOffsets(topic, PARTITIONS));
  }

  /** Small batches and bodies, so that many batches of one partition and many bodies of one batch are in flight. */
  const concurrent = { pipeline: { workers: 4, maxInFlightBulks: 16, batchDocs: 500, bulkMaxBytes: 4096, lingerMs: 5 } };

  const keyed = (topic: string) => (id: string, seq: number): OutRecord => ({ partition: partitionOf(id), key: id, value: JSON.stringify({ key: id, seq, topic }) });

  it('idStrategy key: 200,000 updates over 50 keys, 4 workers, 16 bulks in flight → each document holds its key\'s last record', async () => {
    const topic = unique('lww-key');
    const group = unique('g');
    await createIndex(topic, { seq: { type: 'long' }, key: { type: 'keyword' } });
    const last = await seedUpdates(topic, 200_000, 50, keyed(topic));

    const run = await runToEnd(testConfig(topic, group, { index: { idStrategy: 'key' }, ...concurrent }), [], 480_000);
    expect(run.logs('stopped')[0]?.['indexed']).to.equal(200_000);
    expectLastWrites(await documents(topic), last);
    await expectCommittedToEnd(group, topic);
  });

  it('idStrategy key: 100,000 updates over 50 keys with a quarter of bulk items answered 429 by a proxy → each document holds its key\'s last record', async () => {
    const topic = unique('lww-429');
    const group = unique('g');
    await createIndex(topic, { seq: { type: 'long' }, key: { type: 'keyword' } });
    const last = await seedUpdates(topic, 100_000, 50, keyed(topic));
    const proxy = await startBulkProxy(ES_URL, rejectShare(0.25));
    let run: SluiceProcess;
    try {
      run = await runToEnd(testConfig(topic, group, { elasticsearch: { node: proxy.url }, index: { idStrategy: 'key' }, errors: { backoffMs: 20, maxBackoffMs: 500 }, ...concurrent }), [], 480_000);
    } finally {
      await proxy.close();
    }
    console.log(`      [scenario] 429 proxy: ${proxy.refused()} items refused, ${proxy.forwarded()} forwarded, ${proxy.conflicts()} version conflicts`);
    expect(run.logs('stopped')[0]?.['indexed']).to.equal(100_000, 'every record indexed, version conflicts included');
    expectLastWrites(await documents(topic), last);
    await expectCommittedToEnd(group, topic);
    // The scenario must really have happened for the test to mean anything.
    expect(proxy.refused()).to.be.greaterThan(5_000, 'items refused with 429');
    expect(proxy.conflicts()).to.be.greaterThan(0, 'retried items that landed after a newer write of their id');
  });

  it('idStrategy field:<path>: 30,000 updates over 20 ids → each document holds its id\'s last record', async () => {
    const topic = unique('lww-field');
    const group = unique('g');
    await createIndex(topic, { seq: { type: 'long' } });
    // No Kafka key: the id comes from the value; each id still stays in one partition.
    const last = await seedUpdates(topic, 30_000, 20, (id, seq) => ({ partition: partitionOf(id), value: JSON.stringify({ user: { id }, seq }) }));

    const run = await runToEnd(testConfig(topic, group, { index: { idStrategy: 'field:user.id' }, ...concurrent }), [], 300_000);
    expect(run.logs('stopped')[0]?.['indexed']).to.equal(30_000);
    expectLastWrites(await documents(topic), last);
    await expectCommittedToEnd(group, topic);
  });
});
