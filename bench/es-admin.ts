import { Client } from '@elastic/elasticsearch';
import { INDEX_SETTINGS } from './config.js';

/** The bench's own dealings with Elasticsearch: a fresh index per runner, progress, the final count. */
export function createEsAdmin(node: string) {
  const es = new Client({ node });
  return {
    async version(): Promise<string> {
      return (await es.info()).version.number;
    },

    /** Deletes the index if it exists and creates it again from INDEX_SETTINGS. */
    async recreate(index: string): Promise<void> {
      await es.indices.delete({ index, ignore_unavailable: true });
      await es.indices.create({ index, settings: INDEX_SETTINGS });
    },

    /**
     * Index operations the primary shard has completed. Unlike `_count` it needs no refresh, so it
     * can be polled while the refresh interval is off.
     */
    async indexed(index: string): Promise<number> {
      const stats = await es.indices.stats({ index, metric: 'indexing', filter_path: '_all.primaries.indexing.index_total' });
      return stats._all.primaries?.indexing?.index_total ?? 0;
    },

    /** Searchable documents once refreshed: the correctness check. */
    async count(index: string): Promise<number> {
      await es.indices.refresh({ index });
      return (await es.count({ index })).count;
    },

    async delete(index: string): Promise<void> {
      await es.indices.delete({ index, ignore_unavailable: true });
    },

    close: () => es.close(),
  };
}

export type EsAdmin = ReturnType<typeof createEsAdmin>;
