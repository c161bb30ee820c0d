import type { SluiceConfig } from '../config/schema.js';
import { createLogger } from '../common/logger.js';
import { startPipeline, type Progress } from '../pipeline/start.js';

/**
 * `sluice run`, and `sluice redrive` (`redrive`, with the configuration from `redriveConfig`): the
 * pipeline until a signal, the end of the backlog (`--until-caught-up`) or a fatal error. The first
 * SIGTERM/SIGINT stops gracefully; a second exits at once. Exit status 0 after a clean stop, 1 after
 * an error.
 */
export async function runCommand(config: SluiceConfig, flags: { untilCaughtUp: boolean; progress: boolean; redrive?: boolean }): Promise<number> {
  const logger = createLogger(config.log.level);
  const pipeline = await startPipeline(config, {
    logger,
    untilCaughtUp: flags.untilCaughtUp,
    redrive: flags.redrive === true,
    ...(flags.progress ? { onProgress: printProgress } : {}),
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now; uncommitted records will be consumed again');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    // Every stage of the stop has its own deadline; this one guards against a stage that still hangs
    // (a client call that never returns): nothing uncommitted is lost, it is consumed again.
    const graceMs = config.shutdown.timeoutMs + 20_000;
    setTimeout(() => {
      logger.error({ graceMs }, 'the stop did not finish in time; exiting now: uncommitted records will be consumed again');
      process.exit(1);
    }, graceMs).unref();
    void pipeline.stop(`${signal} received`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await pipeline.done;
    if (flags.progress) process.stderr.write('\n');
    logger.flush();
    return 0;
  } catch (err) {
    if (flags.progress) process.stderr.write('\n');
    logger.fatal({ err }, 'sluice stopped on an error');
    process.stderr.write(`sluice: ${(err as Error).message}\n`);
    return 1;
  }
}

function printProgress(p: Progress): void {
  const mb = (p.bufferedBytes / 1048576).toFixed(1);
  const line =
    `indexed ${p.indexed.toLocaleString('en-US')}  ${Math.round(p.docsPerSecond).toLocaleString('en-US')} docs/s  ` +
    `lag ${p.lag === undefined ? '?' : p.lag.toLocaleString('en-US')}  in flight ${p.inFlightBatches} batches, ${mb} MB buffered` +
    (p.failed > 0 ? `  failed ${p.failed}` : '') +
    (p.paused ? '  (paused: budget)' : '');
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
}
