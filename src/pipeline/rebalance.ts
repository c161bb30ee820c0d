import type { TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { LagTracker } from '../offsets/lag.js';
import { tpKey, type WatermarkTracker } from '../offsets/watermark.js';
import type { FlowControl } from './flow-control.js';

/** What a rebalance needs of the consumer: committing the revoked partitions' offsets. */
export interface OffsetSink {
  store(offsets: TopicPartitionOffset[]): void;
  commitSync(offsets: TopicPartitionOffset[]): void;
}

export interface RebalanceOptions {
  tracker: WatermarkTracker;
  lags: LagTracker;
  flow: FlowControl;
  /** Waits up to `deadlineMs` for the partitions' batches in flight; false if some were still running. */
  release: (keys: ReadonlySet<string>, deadlineMs: number) => Promise<boolean>;
  offsets: OffsetSink;
  revokeTimeoutMs: number;
  logger: Logger;
  onEvent?: (event: 'assign' | 'revoke') => void;
}

/** The committable offsets of `tps`, for those that have one. */
export function committableOffsets(tracker: WatermarkTracker, tps: Iterable<TopicPartition>): TopicPartitionOffset[] {
  const out = [];
  for (const { topic, partition } of tps) {
    const offset = tracker.committable(tpKey(topic, partition));
    if (offset !== undefined) out.push({ topic, partition, offset });
  }
  return out;
}

/**
 * Assignment and revocation. An assigned partition starts a new epoch in the watermark tracker (so
 * late results of a previous ownership never move its offsets) and is paused at once when the
 * pipeline is; a revoked partition's batches get `kafka.revokeTimeoutMs` to finish, then whatever
 * is committable is committed before it is released to its next owner.
 */
export function createRebalance(options: RebalanceOptions) {
  const { tracker, lags, flow, offsets, logger } = options;
  return {
    onAssign(tps: TopicPartition[]): TopicPartition[] {
      options.onEvent?.('assign');
      for (const { topic, partition } of tps) {
        const key = tpKey(topic, partition);
        tracker.assign(key);
        lags.assign(key);
      }
      return flow.assign(tps);
    },

    async onRevoke(tps: TopicPartition[]): Promise<void> {
      options.onEvent?.('revoke');
      const keys = new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)));
      // librdkafka fetches nothing while a revoke is unanswered, hence a short deadline; during a
      // stop the drain has already waited, and this close-time revoke only hands the partitions over.
      const timeoutMs = flow.stopping ? 0 : options.revokeTimeoutMs;
      const settled = await options.release(keys, timeoutMs);
      if (!settled && !flow.stopping) logger.warn({ timeoutMs }, 'revoked partitions still had batches in flight at the deadline; their records will be indexed again by the next owner');
      if (!flow.stopping) {
        const committable = committableOffsets(tracker, tps);
        offsets.store(committable);
        offsets.commitSync(committable);
      }
      for (const key of keys) {
        tracker.revoke(key);
        lags.revoke(key);
      }
      flow.revoke(tps);
    },
  };
}
