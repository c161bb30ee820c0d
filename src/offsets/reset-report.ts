import type { Logger } from 'pino';
import { resetImpact, type LagTracker, type OffsetReset } from './lag.js';
import { tpKey } from './watermark.js';

export interface ResetReportOptions {
  isAssigned: (tp: { topic: string; partition: number }) => boolean;
  lags: Pick<LagTracker, 'reset'>;
  /** The partition's log start and end. */
  watermarks: (topic: string, partition: number, timeoutMs: number) => Promise<{ low: number; high: number }>;
  onReset?: (reset: OffsetReset) => void;
  logger: Logger;
}

/**
 * librdkafka found a partition's offset out of range (its records were deleted by retention) and
 * moved it where `kafka.startFrom` says, silently: with `latest` a whole backlog is skipped. This
 * says so, with how many records were lost or will be read again. The log's range is read right
 * after the reset, so under a busy producer `resumedAt` and `skipped` may count the few records
 * written in between.
 */
export function createResetReport(options: ResetReportOptions): (reset: OffsetReset) => Promise<void> {
  const { logger } = options;
  return async (reset) => {
    if (!options.isAssigned(reset)) return;
    options.lags.reset(tpKey(reset.topic, reset.partition));
    options.onReset?.(reset);
    const where = { topic: reset.topic, partition: reset.partition, offset: reset.offset, startFrom: reset.to };
    const msg = 'offset out of range: records were deleted before Sluice read them; resumed where kafka.startFrom says';
    try {
      const { low, high } = await options.watermarks(reset.topic, reset.partition, 10_000);
      logger.warn({ ...where, ...resetImpact(reset, low, high), logStart: low, logEnd: high }, msg);
    } catch (err) {
      logger.warn({ ...where, err: (err as Error).message }, msg);
    }
  };
}
