import type { Logger } from 'pino';
import type { DispatchCounters } from '../dispatch/dispatcher.js';
import type { HealthWatch, Readiness } from '../observe/health.js';
import type { PartitionView } from '../observe/metrics.js';
import type { LagTracker } from '../offsets/lag.js';
import type { StuckWatch } from '../offsets/stuck.js';
import { tpKey, type WatermarkTracker } from '../offsets/watermark.js';
import type { FlowControl } from './flow-control.js';

export interface Progress {
  /** Records with a final outcome (indexed, skipped or failed) since start. */
  done: number;
  indexed: number;
  skipped: number;
  failed: number;
  docsPerSecond: number;
  /** Records in Kafka beyond the committable offsets of the assigned partitions, when known. */
  lag: number | undefined;
  inFlightBatches: number;
  bufferedBytes: number;
  /** Over the byte budget: every partition paused. */
  paused: boolean;
  /** Why writes are halted (auth, block, missing index), when they are. */
  halted: string | undefined;
  /** Partitions stopped before a failed record (policy `fail`). */
  blocked: number;
  deadLettered: number;
  assigned: number;
  /** The readiness `/readyz` reports. */
  readiness: Readiness;
}

export interface ReportOptions {
  flow: FlowControl;
  tracker: WatermarkTracker;
  lags: LagTracker;
  stuck: StuckWatch;
  health: HealthWatch;
  dispatch: {
    readonly counters: Readonly<DispatchCounters>;
    inFlight(): number;
    bufferedBytes(): number;
  };
  deadLettered: () => number;
  logger: Logger;
  now?: () => number;
}

/**
 * What the pipeline tells about itself: readiness for `/readyz` (its turns are logged), the
 * progress the CLI prints, and one view per assigned partition for the metrics. Reads only.
 */
export function createReport(options: ReportOptions) {
  const { flow, tracker, lags, stuck, health, dispatch, logger } = options;
  const now = options.now ?? Date.now;
  let readiness: Readiness = { ready: false, reasons: ['starting'] };
  let lastDone = 0;
  let lastTick = now();

  const finished = (): number => dispatch.counters.indexed + dispatch.counters.skipped + dispatch.counters.failed;
  const lag = (): number | undefined => lags.total(flow.assignedKeys());

  return {
    /** The readiness last evaluated. */
    readiness: (): Readiness => readiness,

    /** Re-evaluates readiness; called every second and on each `/readyz`. */
    checkReadiness(): Readiness {
      const t = now();
      const next = health.evaluate(
        {
        assigned: flow.assignedCount,
        halted: flow.haltReason(),
        blocked: flow.blockedCount,
        stopping: flow.stopping,
        lag: lag(),
        done: finished(),
          stuck: stuck.check(flow.assigned(), t),
        },
        t,
      );
      if (next.ready !== readiness.ready) {
        if (next.ready) logger.info('ready');
        else logger.warn({ reasons: next.reasons }, 'not ready');
      }
      readiness = next;
      return next;
    },

    /** Totals and the rate since the previous call. */
    progress(): Progress {
      const c = dispatch.counters;
      const done = finished();
      const t = now();
      const rate = t > lastTick ? ((done - lastDone) * 1000) / (t - lastTick) : 0;
      lastDone = done;
      lastTick = t;
      return {
        done,
        indexed: c.indexed,
        skipped: c.skipped,
        failed: c.failed,
        docsPerSecond: rate,
        lag: lag(),
        inFlightBatches: dispatch.inFlight(),
        bufferedBytes: dispatch.bufferedBytes(),
        paused: flow.overBudget,
        halted: flow.haltReason(),
        blocked: flow.blockedCount,
        deadLettered: options.deadLettered(),
        assigned: flow.assignedCount,
        readiness,
      };
    },

    partitions(): PartitionView[] {
      const t = now();
      return [...flow.assigned()].map((tp) => {
        const key = tpKey(tp.topic, tp.partition);
        const { highWatermark, committed } = lags.offsets(key);
        const since = tracker.oldestRunningSince(key);
        return {
          topic: tp.topic,
          partition: tp.partition,
          paused: flow.isPaused(key),
          blocked: flow.isBlocked(key),
          watermark: tracker.committable(key),
          highWatermark,
          committed,
          lag: lags.lag(key),
          oldestBatchSeconds: since === undefined ? undefined : (t - since) / 1000,
          stuck: stuck.has(key),
        };
      });
    },
  };
}
