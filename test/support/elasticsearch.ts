import { Client } from '@elastic/elasticsearch';
import { ES_URL } from './env.js';

export const es = new Client({ node: ES_URL, requestTimeout: 60_000 });

export async function count(index: string): Promise<number> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const res = await es.count({ index, ignore_unavailable: true, allow_no_indices: true });
  return res.count;
}

/** Creates an index that bulk-loads well on one node: 1 shard, no replica (the cluster stays green). */
export async function createIndex(index: string, mappings?: Record<string, unknown>): Promise<void> {
  await es.indices.create({
    index,
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    ...(mappings ? { mappings: { properties: mappings } } : {}),
  } as never);
}

/** Index templates so that indices Sluice auto-creates get 1 shard and no replica. */
export async function singleShardTemplate(pattern: string): Promise<void> {
  await es.indices.putIndexTemplate({
    name: `sluice-test-${pattern.replace(/[^a-z0-9]/g, '')}`,
    index_patterns: [pattern],
    template: { settings: { number_of_shards: 1, number_of_replicas: 0 } },
  });
}
