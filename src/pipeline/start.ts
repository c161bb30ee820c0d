import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { TopicPartition } from 'node-rdkafka';
import type { SluiceConfig } from '../config/schema.js';
import { createConsumer } from '../kafka/consumer.js';
import { DeadLetterWindow } from '../dlq/breaker.js';
import { createDeadLetterProducer } from '../dlq/producer.js';
import { createDispatcher } from '../dispatch/dispatcher.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import { createClient } from '../shared/es-client.js';
import { probeServer, serverName, targetName, type ServerInfo } from '../elasticsearch/server.js';
import { redactUrl } from '../config/redact.js';
import { SluiceError, UnsupportedServerError } from '../shared/errors.js';
import { HealthWatch, type Readiness } from '../observe/health.js';
import { createTokenSource } from '../kafka/auth.js';
import type { Registry } from 'prom-client';
import { createMetrics, type PartitionView } from '../observe/metrics.js';
import { LagTracker, resetImpact, type OffsetReset } from '../offsets/lag.js';
import { StuckWatch } from '../offsets/stuck.js';
import { parseTpKey, tpKey, WatermarkTracker } from '../offsets/watermark.js';
import { startStatusServer } from '../observe/status-server.js';
import { failureClass, type BatchResult, type BatchTask, type WorkerInit, type WorkerSignal } from '../shared/protocol.js';

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

export interface RunOptions {
  logger: Logger;
  /** Stop once every assigned partition is indexed up to its end (backfills, the demo). */
  untilCaughtUp?: boolean;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
}

export interface RunSummary {
  indexed: number;
  skipped: number;
  failed: number;
  deadLettered: number;
  /** Wall time of the run, start-up included. */
  seconds: number;
  /** From the first record fetched to the stop: the time spent indexing. */
  activeSeconds: number;
  reason: string;
}

/**
 * Wires the pieces of DESIGN.md together: the consumer feeds the dispatcher, the dispatcher runs
 * batches on the worker pool, completed batches move per-partition watermarks, and watermarks
 * become stored (then auto-committed) offsets. Also owns the byte budget, halts on failed records,
 * rebalances and the graceful stop.
 */
export async function startPipeline(config: SluiceConfig, options: RunOptions) {
  const { logger } = options;
  const started = Date.now();
  const health = new HealthWatch(config.health.stallSeconds * 1000);
  let readiness: Readiness = { ready: false, reasons: ['starting'] };
  // Up before anything else, so that a member waiting for its servers already answers /healthz.
  let registry: Registry | undefined;
  const status =
    config.metrics.port === undefined
      ? undefined
      : await startStatusServer({ host: config.metrics.host, port: config.metrics.port, metrics: () => registry, readiness: () => readiness, logger }).catch((err: unknown) => {
          throw new SluiceError(`cannot serve metrics on ${config.metrics.host}:${config.metrics.port}: ${(err as Error).message}`, { cause: err });
        });
  const tokens = config.kafka.sasl.mechanism === 'oauthbearer' ? createTokenSource(config.kafka, logger) : undefined;
  let server: ServerInfo;
  try {
    server = await waitForElasticsearch(config, logger);
    await tokens?.start();
  } catch (err) {
    tokens?.close();
    await status?.close();
    throw err;
  }
  logger.info({ server: serverName(server), version: server.version, cluster: server.clusterName }, 'elasticsearch reachable');

  const workers = config.pipeline.workers;
  const perWorker = Math.max(1, Math.ceil(config.pipeline.maxInFlightBulks / workers));
  const init: WorkerInit = {
    elasticsearch: { ...config.elasticsearch, server: { product: server.product, major: server.major } },
    index: config.index,
    inputFormat: config.input.format,
    invalidUtf8: config.input.invalidUtf8,
    transform: config.transform,
    onNull: config.errors.onNull,
    maxDocBytes: config.pipeline.maxDocBytes,
    bulkMaxBytes: config.pipeline.bulkMaxBytes,
    compression: config.elasticsearch.compression,
    maxConcurrentBulks: perWorker,
    retry: { maxRetries: config.errors.maxRetries, backoffMs: config.errors.backoffMs, maxBackoffMs: config.errors.maxBackoffMs },
    logLevel: config.log.level,
  };
  const pool = new Piscina<BatchTask, BatchResult>({
    filename: new URL('../../workers/worker.js', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: perWorker,
    // Sync atomics would freeze the keep-alive sockets and timers of an idle worker.
    atomics: 'disabled',
    workerData: init,
  });

  const tracker = new WatermarkTracker();
  const stuck = new StuckWatch(tracker, config.health.stallSeconds * 1000, logger);
  const assigned = new Map<string, TopicPartition>();
  const paused = new Set<string>();
  /** Partitions stopped before a failed record (policy `fail`), until restart. */
  const blocked = new Map<string, { offset: number; reason: string }>();
  /** Workers whose writes are refused for a reason only an operator can fix. */
  const halts = new Map<number, Extract<WorkerSignal, { kind: 'halt' }>>();
  let lastHaltLog = 0;
  /** Why the dead-letter topic refuses writes, while it does (every partition paused). */
  let deadLetterHalt: string | undefined;
  let lastDeadLetterHaltLog = 0;
  /** Why the dead-letter circuit breaker tripped: every partition paused, failed records held, until restart. */
  let breakerTrip: string | undefined;
  const breaker = config.errors.dlqTopic && config.errors.dlqMaxRatio < 1 ? new DeadLetterWindow(config.errors.dlqWindowRecords, config.errors.dlqMaxRatio) : undefined;
  /** Finished records the breaker's window has seen. */
  let breakerSeen = 0;
  let deadLettered = 0;
  const lags = new LagTracker({
    startFrom: config.kafka.startFrom,
    readCommitted: config.kafka.rdkafka['isolation.level'] !== 'read_uncommitted',
    watermark: (key) => tracker.committable(key),
  });
  let overBudget = false;
  let stopping = false;
  let stopReason = '';
  let fatal: SluiceError | undefined;
  let firstRecordAt: number | undefined;
  const budget = config.pipeline.maxBufferedBytes;

  const metrics = createMetrics({
    counters: () => dispatcher.counters,
    budgetBytes: budget,
    bufferedBytes: () => dispatcher.bufferedBytes(),
    inFlightBytes: () => dispatcher.inFlightBytes(),
    inFlightBatches: () => dispatcher.inFlight(),
    queuedBatches: () => dispatcher.queued(),
    partitions,
    halted: () => halts.size > 0 || deadLetterHalt !== undefined || breakerTrip !== undefined,
    haltedBy: () => ({ elasticsearch: halts.size > 0, dead_letter_topic: deadLetterHalt !== undefined, dead_letter_ratio: breakerTrip !== undefined }),
    deadLetterRatio: () => breaker?.ratio(),
    ready: () => readiness.ready,
    workers: () => pool.threads,
  });
  registry = metrics.registry;

  const dlq = config.errors.dlqTopic
    ? createDeadLetterProducer(config, logger, {
        tokens,
        onHalt(reason) {
          const first = deadLetterHalt === undefined;
          deadLetterHalt = reason;
          lastDeadLetterHaltLog = Date.now();
          logger.error({ dlqTopic: config.errors.dlqTopic, reason }, first ? 'halted: the dead-letter topic refuses writes; every partition paused, polling goes on, retrying until it accepts them' : 'still halted: the dead-letter topic refuses writes');
          if (first) applyPauses();
        },
        onResume() {
          deadLetterHalt = undefined;
          logger.info({ dlqTopic: config.errors.dlqTopic }, 'resumed: the dead-letter topic accepts writes again');
          applyPauses();
        },
      })
    : undefined;
  pool.on('message', (signal: WorkerSignal) => onWorkerSignal(signal));
  // A worker that dies with no task in flight (e.g. a transform's stray unhandled rejection) is
  // replaced by Piscina, which emits 'error': unheard, that event would crash the main thread.
  pool.on('error', (err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'worker thread failed; it is replaced'));

  const dispatcher = createDispatcher({
    run: (task, transferList) => pool.run(task, { transferList }),
    // Not Piscina's abort signal: it gives an abortable task a worker of its own, which would end
    // the overlap of several tasks' bulk I/O in one worker. Terminating the thread ourselves fails
    // its tasks and Piscina starts a replacement (minThreads).
    taskDeadline: {
      timeoutMs: config.pipeline.taskTimeoutMs,
      terminateWorker: (threadId) => void pool.threads.find((w) => w.threadId === threadId)?.terminate(),
    },
    tracker,
    limits: config.pipeline,
    logger,
    onCommittable(tp, offset) {
      const { topic, partition } = parseTpKey(tp);
      consumer.store([{ topic, partition, offset }]);
    },
    onFailed(record, failure) {
      const cls = failureClass(failure.stage);
      metrics.failed(cls);
      const policy = cls === 'null' ? 'dlq' : cls === 'malformed' ? config.errors.onMalformed : config.errors.onRejected;
      const where = { topic: record.topic, partition: record.partition, offset: record.offset, stage: failure.stage, status: failure.status, errorType: failure.errorType, reason: failure.reason };
      if (policy === 'skip' && cls !== 'null') {
        logger.warn({ ...where, policy }, 'record skipped: it could not be indexed');
        metrics.skipped(cls);
        return 'done';
      }
      if (policy === 'dlq' && dlq && !admitDeadLetter(record, cls)) {
        const tp = tpKey(record.topic, record.partition);
        if (!blocked.has(tp)) {
          blocked.set(tp, { offset: record.offset, reason: breakerTrip as string });
          logger.warn(where, 'record held by the dead-letter circuit breaker; its partition stops before it until restart');
        }
        return 'block';
      }
      if (policy === 'dlq' && dlq) {
        logger.warn({ ...where, dlqTopic: dlq.topic }, 'record sent to the dead-letter topic');
        return dlq.send(record, failure).then(() => {
          deadLettered++;
          metrics.deadLettered(cls);
        });
      }
      const tp = tpKey(record.topic, record.partition);
      logger.error({ ...where, policy: 'fail' }, 'record could not be indexed; its partition stops before it until restart');
      if (!blocked.has(tp)) {
        blocked.set(tp, { offset: record.offset, reason: failure.reason });
        applyPauses();
        if (options.untilCaughtUp) {
          fatal ??= new SluiceError(`record ${record.topic}[${record.partition}]@${record.offset} could not be indexed: ${failure.reason}`);
          void stop('a record could not be indexed');
        }
      }
      return 'block';
    },
    onSettled: checkBudget,
    onStats: (stats) => metrics.batch(stats),
  });

  const consumer = createConsumer(
    config,
    {
      onAssign(tps) {
        metrics.rebalance('assign');
        const toPause = [];
        for (const tp of tps) {
          const key = tpKey(tp.topic, tp.partition);
          tracker.assign(key);
          lags.assign(key);
          assigned.set(key, tp);
          blocked.delete(key);
          if (shouldPause(key)) {
            paused.add(key);
            toPause.push(tp);
          }
        }
        return toPause;
      },
      async onRevoke(tps) {
        metrics.rebalance('revoke');
        const keys = new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)));
        // librdkafka fetches nothing while a revoke is unanswered, hence a short deadline; during a
        // stop the drain has already waited, and this close-time revoke only hands the partitions over.
        const timeoutMs = stopping ? 0 : config.kafka.revokeTimeoutMs;
        const settled = await dispatcher.release(keys, timeoutMs);
        if (!settled && !stopping) logger.warn({ timeoutMs }, 'revoked partitions still had batches in flight at the deadline; their records will be indexed again by the next owner');
        const offsets = committable([...keys]);
        if (!stopping) {
          consumer.store(offsets);
          consumer.commitSync(offsets);
        }
        for (const key of keys) {
          tracker.revoke(key);
          assigned.delete(key);
          paused.delete(key);
          blocked.delete(key);
          lags.revoke(key);
        }
      },
      onRecords(records) {
        firstRecordAt ??= Date.now();
        lags.received(records);
        dispatcher.add(records);
        checkBudget();
      },
      onPolled: () => lags.polled(),
      onStats: (stats) => lags.stats(stats),
      onOffsetReset: (reset) => void reportReset(reset),
      onFatal(err) {
        fatal ??= err;
        void stop('the Kafka client failed');
      },
    },
    {
      consumeTimeoutMs: 20,
      minBatch: 64,
      maxBatch: 4096,
      targetCallMs: Math.max(20, config.pipeline.lingerMs),
      statsIntervalMs: 1000,
      // librdkafka's prefetch counts against the same memory: a quarter of the budget, at most 64 MiB.
      queuedMaxKbytes: Math.max(1024, Math.min(65536, Math.floor(budget / 4 / 1024))),
    },
    logger,
    tokens,
  );

  function committable(keys: string[]) {
    const out = [];
    for (const key of keys) {
      const offset = tracker.committable(key);
      if (offset !== undefined) out.push({ ...parseTpKey(key), offset });
    }
    return out;
  }

  /**
   * A partition is paused while the pipeline stops, is over its byte budget or halted, or while
   * the partition itself is blocked at a failed record. Polling goes on regardless.
   */
  function shouldPause(key: string): boolean {
    return stopping || overBudget || halts.size > 0 || deadLetterHalt !== undefined || breakerTrip !== undefined || blocked.has(key);
  }

  function applyPauses(): void {
    const pause = [];
    const resume = [];
    for (const [key, tp] of assigned) {
      const want = shouldPause(key);
      if (want && !paused.has(key)) {
        paused.add(key);
        pause.push(tp);
      } else if (!want && paused.has(key)) {
        paused.delete(key);
        resume.push(tp);
      }
    }
    consumer.pause(pause);
    consumer.resume(resume);
  }

  /**
   * The dead-letter circuit breaker, fed on the main thread from record outcomes: every record
   * finished since the previous failed one went without a dead letter. Answers whether `record`
   * may go to the dead-letter topic; the first one that would pass `errors.dlqMaxRatio` trips it,
   * and from then on no failed record does.
   */
  function admitDeadLetter(record: KafkaRecord, cls: 'malformed' | 'rejected' | 'null'): boolean {
    if (breakerTrip !== undefined) return false;
    if (!breaker) return true;
    const c = dispatcher.counters;
    const finished = c.indexed + c.skipped + c.failed;
    // The dispatcher counts a failed record before asking about it.
    breaker.passed(Math.max(0, finished - 1 - breakerSeen));
    breakerSeen = finished;
    if (cls === 'null') {
      breaker.passed(1);
      return true;
    }
    const wouldBe = breaker.admit();
    if (wouldBe === undefined) return true;
    breakerTrip = `dead-letter circuit breaker: ${wouldBe} of the last ${breaker.size} finished records failed, more than errors.dlqMaxRatio ${breaker.maxRatio}; failed records are held, restart to resume`;
    logger.error(
      { topic: record.topic, partition: record.partition, offset: record.offset, deadLettered: wouldBe, window: breaker.size, maxRatio: breaker.maxRatio },
      'halted: too many records dead-lettered; every partition paused and failed records held until restart',
    );
    applyPauses();
    if (options.untilCaughtUp) {
      fatal ??= new SluiceError(breakerTrip);
      void stop('the dead-letter circuit breaker tripped');
    }
    return false;
  }

  /** Over the budget: pause; below half of it: resume. */
  function checkBudget(): void {
    const buffered = dispatcher.bufferedBytes();
    if (!overBudget && buffered > budget) {
      overBudget = true;
      logger.debug({ buffered, budget }, 'over the byte budget; partitions paused');
      applyPauses();
    } else if (overBudget && buffered < budget / 2) {
      overBudget = false;
      logger.debug({ buffered, budget }, 'below the byte budget; partitions resumed');
      applyPauses();
    }
  }

  function onWorkerSignal(signal: WorkerSignal): void {
    if (signal.kind === 'started' || signal.kind === 'encoded') {
      dispatcher.signal(signal);
    } else if (signal.kind === 'halt') {
      const first = halts.size === 0;
      halts.set(signal.threadId, signal);
      if (first) {
        lastHaltLog = Date.now();
        logger.error({ status: signal.status, errorType: signal.errorType, reason: signal.reason }, 'halted: Elasticsearch refuses writes; every partition paused, polling goes on, retrying until it accepts them');
        applyPauses();
      }
    } else if (halts.delete(signal.threadId) && halts.size === 0) {
      logger.info('resumed: Elasticsearch accepts writes again');
      applyPauses();
    }
  }

  /** One clear line per interval while halted; forgets halts of workers that no longer exist. */
  function reportHalt(): void {
    if (halts.size === 0) return;
    const live = new Set(pool.threads.map((t) => t.threadId));
    for (const id of halts.keys()) if (!live.has(id)) halts.delete(id);
    if (halts.size === 0) return applyPauses();
    if (Date.now() - lastHaltLog >= 10_000) {
      lastHaltLog = Date.now();
      const h = halts.values().next().value;
      logger.error({ status: h?.status, errorType: h?.errorType, reason: h?.reason, workers: halts.size }, 'still halted: Elasticsearch refuses writes');
    }
  }

  function lag(): number | undefined {
    return lags.total(assigned.keys());
  }

  /**
   * librdkafka found the partition's offset out of range (its records were deleted by retention)
   * and moved it where `kafka.startFrom` says, silently: with `latest` a whole backlog is skipped.
   * The log's range is read right after the reset, so under a busy producer `resumedAt` and
   * `skipped` may count the few records written in between.
   */
  async function reportReset(reset: OffsetReset): Promise<void> {
    const key = tpKey(reset.topic, reset.partition);
    if (!assigned.has(key)) return;
    lags.reset(key);
    metrics.offsetReset(reset.topic, reset.partition, reset.to);
    const where = { topic: reset.topic, partition: reset.partition, offset: reset.offset, startFrom: reset.to };
    const msg = 'offset out of range: records were deleted before Sluice read them; resumed where kafka.startFrom says';
    try {
      const { low, high } = await consumer.watermarks(reset.topic, reset.partition, 10_000);
      logger.warn({ ...where, ...resetImpact(reset, low, high), logStart: low, logEnd: high }, msg);
    } catch (err) {
      logger.warn({ ...where, err: (err as Error).message }, msg);
    }
  }

  function partitions(): PartitionView[] {
    return [...assigned].map(([key, tp]) => {
      const { highWatermark, committed } = lags.offsets(key);
      const since = tracker.oldestRunningSince(key);
      return {
        topic: tp.topic,
        partition: tp.partition,
        paused: paused.has(key),
        blocked: blocked.has(key),
        watermark: tracker.committable(key),
        highWatermark,
        committed,
        lag: lags.lag(key),
        oldestBatchSeconds: since === undefined ? undefined : (Date.now() - since) / 1000,
        stuck: stuck.has(key),
      };
    });
  }

  function haltReason(): string | undefined {
    const es = halts.size > 0 ? (halts.values().next().value?.reason ?? 'halted') : undefined;
    const reasons = [es, deadLetterHalt, breakerTrip].filter((r) => r !== undefined);
    return reasons.length > 0 ? reasons.join('; ') : undefined;
  }

  /** Re-evaluated every second and on each /readyz; turns are logged. */
  function checkReadiness(): Readiness {
    const c = dispatcher.counters;
    const next = health.evaluate({ assigned: assigned.size, halted: haltReason(), blocked: blocked.size, stopping, lag: lag(), done: c.indexed + c.skipped + c.failed, stuck: stuck.check(assigned.keys()) });
    if (next.ready !== readiness.ready) {
      if (next.ready) logger.info('ready');
      else logger.warn({ reasons: next.reasons }, 'not ready');
    }
    readiness = next;
    return next;
  }

  let lastDone = 0;
  let lastTick = Date.now();
  function progress(): Progress {
    const c = dispatcher.counters;
    const done = c.indexed + c.skipped + c.failed;
    const t = Date.now();
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
      inFlightBatches: dispatcher.inFlight(),
      bufferedBytes: dispatcher.bufferedBytes(),
      paused: overBudget,
      halted: haltReason(),
      blocked: blocked.size,
      deadLettered,
      assigned: assigned.size,
      readiness,
    };
  }

  const ticker = setInterval(() => {
    reportHalt();
    if (deadLetterHalt !== undefined && Date.now() - lastDeadLetterHaltLog >= 10_000) {
      lastDeadLetterHaltLog = Date.now();
      logger.error({ dlqTopic: config.errors.dlqTopic, reason: deadLetterHalt, pending: dispatcher.counters.deadLetterPending }, 'still halted: the dead-letter topic refuses writes');
    }
    checkReadiness();
    const p = progress();
    options.onProgress?.(p);
    if (options.untilCaughtUp && !stopping && p.lag === 0 && dispatcher.idle()) void stop('caught up');
  }, options.progressIntervalMs ?? 1000);

  let resolveDone!: (s: RunSummary) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<RunSummary>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  let stopPromise: Promise<void> | undefined;
  function stop(reason: string): Promise<void> {
    stopPromise ??= (async () => {
      stopping = true;
      stopReason = reason;
      clearInterval(ticker);
      checkReadiness();
      logger.info({ reason, inFlight: dispatcher.inFlight() }, 'stopping: finishing in-flight batches');
      applyPauses();
      const drained = await dispatcher.drain(config.shutdown.timeoutMs);
      if (!drained) logger.warn({ timeoutMs: config.shutdown.timeoutMs }, 'batches still in flight at the shutdown deadline; their records will be indexed again on restart');
      const offsets = committable([...assigned.keys()]);
      consumer.store(offsets);
      consumer.commitSync(offsets);
      dispatcher.close();
      await consumer.close();
      await dlq?.close();
      await pool.destroy();
      const c = dispatcher.counters;
      const end = Date.now();
      const summary: RunSummary = {
        indexed: c.indexed,
        skipped: c.skipped,
        failed: c.failed,
        deadLettered,
        seconds: (end - started) / 1000,
        activeSeconds: (end - (firstRecordAt ?? end)) / 1000,
        reason,
      };
      logger.info(summary, 'stopped');
      if (fatal) rejectDone(fatal);
      else resolveDone(summary);
    })()
      .catch((err: unknown) => rejectDone(err))
      .finally(() => {
        tokens?.close();
        return status?.close();
      });
    return stopPromise;
  }

  try {
    await dlq?.connect();
    await consumer.connect(30_000);
  } catch (err) {
    clearInterval(ticker);
    tokens?.close();
    await Promise.all([pool.destroy(), status?.close()]);
    throw err;
  }
  consumer.start();
  logger.info({ topics: config.kafka.topics, groupId: config.kafka.groupId, workers, perWorker }, 'consuming');

  return {
    /** Resolves with the totals once stopped; rejects when the run ended on an error. */
    done,
    stop,
    progress,
    get stopReason() {
      return stopReason;
    },
  };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

/**
 * Waits for Elasticsearch or OpenSearch to answer (it may start after Sluice), logging each failed
 * attempt. A server Sluice does not speak to (a version, or not a search engine at all) ends the run.
 */
async function waitForElasticsearch(config: SluiceConfig, logger: Logger): Promise<ServerInfo> {
  const client = createClient(config.elasticsearch, 1);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await probeServer(client);
      } catch (err) {
        if (err instanceof UnsupportedServerError) throw new UnsupportedServerError(`elasticsearch ${targetName(config.elasticsearch)}: ${err.message}`, { cause: err });
        if (err instanceof SluiceError) throw err;
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 401) throw new SluiceError(`Elasticsearch refuses the credentials (401): check elasticsearch.auth`, { cause: err });
        if (status === 403) {
          // A write-only role may lack the `monitor` privilege that `GET /` needs. Plain JSON works on
          // every supported server, so the product need not be known to write.
          logger.warn({ node: config.elasticsearch.node.map(redactUrl) }, 'cannot read the server product and version (403: the credentials lack the monitor cluster privilege); sending plain JSON');
          return { product: 'unknown', version: 'unknown', major: 0, clusterName: '' };
        }
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        logger.warn({ node: config.elasticsearch.node.map(redactUrl), err: (err as Error).message, retryInMs: delay }, 'elasticsearch not reachable yet');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  } finally {
    await client.close();
  }
}
