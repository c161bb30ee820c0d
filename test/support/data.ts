import { expect } from 'chai';
import { count, es } from './elasticsearch.js';
import { waitFor } from './env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from './kafka.js';

/**
 * A topic of `n` JSON records spread round-robin over `partitions`; each record carries its
 * partition and its per-partition sequence number, which on a fresh topic is its offset.
 */
export async function seedTopic(topic: string, partitions: number, n: number, pad = 100): Promise<number[]> {
  await createTopic(topic, partitions);
  const seq = new Array<number>(partitions).fill(0);
  await produce(
    topic,
    (function* (): Generator<OutRecord> {
      for (let i = 0; i < n; i++) {
        const partition = i % partitions;
        const s = seq[partition]!++;
        yield { partition, key: `k-${partition}-${s}`, value: JSON.stringify({ partition, seq: s, msg: `record ${i}`, pad: 'x'.repeat(i % pad) }) };
      }
    })(),
  );
  return endOffsets(topic, partitions);
}

/** Documents of one partition whose offset is below `offset`. */
export async function countBelow(index: string, partition: number, offset: number): Promise<number> {
  await es.indices.refresh({ index });
  const res = await es.count({ index, query: { bool: { filter: [{ term: { partition } }, { range: { seq: { lt: offset } } }] } } });
  return res.count;
}

export async function countPartition(index: string, partition: number): Promise<number> {
  await es.indices.refresh({ index });
  return (await es.count({ index, query: { term: { partition } } })).count;
}

/** Waits until more than `n` documents of the index are searchable. */
export async function waitIndexedAbove(index: string, n: number): Promise<void> {
  await waitFor(`more than ${n} documents indexed`, async () => (await count(index)) > n || undefined, 120_000, 100);
}

/** Waits until all `n` documents are indexed and the group's commits reach the log ends. */
export async function waitIndexedAndCommitted(index: string, n: number, group: string, ends: number[]): Promise<void> {
  await waitFor(`${n} documents indexed`, async () => (await count(index)) === n || undefined, 240_000, 500);
  await waitFor('commits at the log ends', async () => {
    const c = await committedOffsets(group, index, ends.length);
    return c.every((o, p) => o === ends[p]) || undefined;
  }, 60_000, 500);
}

/**
 * Every record of a `seedTopic` topic is in the index exactly once: per partition as many documents
 * as records, no `seq` twice, and the first and last `seq` where they belong, so each record of
 * each partition is there once (the index must have one shard, as `singleShardTemplate` makes it,
 * for the duplicate search to be exact). A count alone cannot tell a duplicate from a loss.
 */
export async function expectEachRecordOnce(index: string, ends: readonly number[]): Promise<void> {
  await es.indices.refresh({ index });
  const res = await es.search({
    index,
    size: 0,
    aggs: {
      partitions: {
        terms: { field: 'partition', size: 1000 },
        aggs: {
          twice: { terms: { field: 'seq', min_doc_count: 2, size: 5 } },
          first: { min: { field: 'seq' } },
          last: { max: { field: 'seq' } },
        },
      },
    },
  } as never);
  type Bucket = { key: number; doc_count: number; twice: { buckets: Array<{ key: number; doc_count: number }> }; first: { value: number }; last: { value: number } };
  const buckets = (res.aggregations as unknown as { partitions: { buckets: Bucket[] } }).partitions.buckets;
  const seen = ends.map((end, partition) => {
    const b = buckets.find((x) => x.key === partition);
    return { partition, docs: b?.doc_count ?? 0, duplicates: b?.twice.buckets.map((d) => d.key) ?? [], first: end > 0 ? b?.first.value : undefined, last: end > 0 ? b?.last.value : undefined };
  });
  const expected = ends.map((end, partition) => ({ partition, docs: end, duplicates: [], first: end > 0 ? 0 : undefined, last: end > 0 ? end - 1 : undefined }));
  expect(seen).to.deep.equal(expected);
  expect(buckets.filter((b) => b.key >= ends.length), 'documents of partitions the topic does not have').to.deep.equal([]);
}
