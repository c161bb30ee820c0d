import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SluiceConfig } from '../config/schema.js';
import type { KafkaRecord } from '../dispatch/batch.js';
import { createDispatchCounters, createDispatcher } from '../dispatch/dispatcher.js';
import { ChunkPool } from '../dispatch/chunks.js';
import { createWorkerPool, type PoolSize, type WorkerPool } from '../dispatch/pool.js';
import { DeadLetterWindow } from '../dlq/breaker.js';
import { readOrigin } from '../dlq/origin.js';
import { createDeadLetterProducer, type DeadLetterHooks } from '../dlq/producer.js';
import { serverName, type ProbeOutcome, type ServerInfo } from '../common/server.js';
import { waitForElasticsearch } from '../elasticsearch/wait.js';
import { createTokenSource, type TokenSource } from '../kafka/auth.js';
import { createConsumer, type Consumer, type ConsumerTuning } from '../kafka/consumer.js';
import { logNativeConsumeStatus, nativeConsumeStatus, type NativeConsumeStatus } from '../kafka/native-consume.js';
import { HealthWatch, type Readiness } from '../observe/health.js';
import { createMetrics } from '../observe/metrics.js';
import { startStatusServer } from '../observe/status-server.js';
import { LagTracker } from '../offsets/lag.js';
import { createResetReport } from '../offsets/reset-report.js';
import { StuckWatch } from '../offsets/stuck.js';
import { WatermarkTracker } from '../offsets/watermark.js';
import { MetricsListenError, type SluiceError } from '../common/errors.js';
import { logNativeStatus } from '../common/native.js';
import type { ServerKind, WorkerInit, WorkerSignal } from '../common/protocol.js';
import { workerInit } from '../common/worker-init.js';
import { FlowControl } from './flow-control.js';
import { createRebalance, committableOffsets } from './rebalance.js';
import { createRecordFate } from './record-fate.js';
import { createReport, type Progress } from './report.js';

export type { Progress } from './report.js';

export interface RunOptions {
  logger: Logger;
  /** Stop once every assigned partition is indexed up to its end (backfills, the demo). */
  untilCaughtUp?: boolean;
  /**
   * `sluice redrive`: the records are dead letters, each indexed as the original record its
   * `sluice.source.*` headers name (`config` is the re-drive's own, from `redriveConfig`).
   */
  redrive?: boolean;
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

/** What the pipeline needs of the Kafka consumer. */
export type PipelineConsumer = Pick<Consumer, 'connect' | 'start' | 'pause' | 'resume' | 'store' | 'commitSync' | 'watermarks' | 'close'>;

/** What the pipeline needs of the dead-letter producer. */
export interface PipelineDeadLetters {
  readonly topic: string;
  send: ReturnType<typeof createDeadLetterProducer>['send'];
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** The outside world of a pipeline: servers, threads and clients. Tests pass fakes. */
export interface PipelineDeps {
  /** `probe` asks `GET /` of a worker thread. */
  waitForServer(config: SluiceConfig, logger: Logger, probe: () => Promise<ProbeOutcome>): Promise<ServerInfo>;
  createPool(init: WorkerInit, size: PoolSize): WorkerPool;
  /** `headers`: records must arrive with their headers as objects (a re-drive reads them as they arrive). */
  createConsumer(config: SluiceConfig, tuning: ConsumerTuning, logger: Logger, tokens: TokenSource | undefined, needs: { headers: boolean; chunks: ChunkPool }): PipelineConsumer;
  createDeadLetters(config: SluiceConfig, logger: Logger, hooks: DeadLetterHooks): PipelineDeadLetters;
}

export const realDeps: PipelineDeps = {
  waitForServer: waitForElasticsearch,
  createPool: createWorkerPool,
  createConsumer(config, tuning, logger, tokens, needs) {
    // A re-drive reads every record's headers on arrival: node-rdkafka's message objects have them
    // (it is no hot path); the native rows keep them serialized for failures only.
    const status = needs.headers ? undefined : nativeConsumeStatus();
    return createConsumer(config, tuning, logger, tokens, status?.path === 'native' ? { ...status.native, chunks: needs.chunks } : undefined);
  },
  createDeadLetters: createDeadLetterProducer,
};

const STARTING: Readiness = { ready: false, reasons: ['starting'] };

/**
 * Starts Sluice's data path (docs/architecture.md): the consumer feeds the dispatcher, the
 * dispatcher runs batches on the worker pool, completed batches move per-partition watermarks, and
 * watermarks become stored, then committed, offsets. The pieces are built here in start-up order;
 * each owns one concern (flow control, record fate, rebalances, reporting).
 */
export async function startPipeline(config: SluiceConfig, options: RunOptions, deps: PipelineDeps = realDeps) {
  const { logger } = options;
  const started = Date.now();

  // The status server is up before anything else, so that a member still waiting for its servers
  // answers /healthz; what it serves is filled in once the pipeline exists.
  const served: { registry?: Registry; readiness: () => Readiness } = { readiness: () => STARTING };
  const { host, port } = config.metrics;
  const status =
    port === undefined
      ? undefined
      : await startStatusServer({ host, port, metrics: () => served.registry, readiness: () => served.readiness(), logger }).catch((err: unknown) => {
          throw new MetricsListenError(host, port, (err as Error).message, { cause: err });
        });

  // The workers start first: they hold the Elasticsearch client, and one of them asks the server.
  const workers = config.pipeline.workers;
  const perWorker = Math.max(1, Math.ceil(config.pipeline.maxInFlightBulks / workers));
  const pool = deps.createPool(workerInit(config, perWorker), { workers, tasksPerWorker: perWorker });
  // A worker that dies with no task in flight (e.g. a transform's stray unhandled rejection) is
  // replaced by Piscina, which emits 'error': unheard, that event would crash the main thread.
  pool.on('error', (err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'worker thread failed; it is replaced'));

  const tokens = config.kafka.sasl.mechanism === 'oauthbearer' ? createTokenSource(config.kafka, logger) : undefined;
  let server: ServerInfo;
  try {
    server = await deps.waitForServer(config, logger, () => pool.probe());
    await tokens?.start();
  } catch (err) {
    tokens?.close();
    await Promise.all([pool.destroy(), status?.close()]);
    throw err;
  }
  logger.info({ server: serverName(server), version: server.version, cluster: server.clusterName }, 'elasticsearch reachable');
  logNativeStatus(logger);
  // The consumer factory makes the same choice (a re-drive asks it for headers).
  const consumeStatus: NativeConsumeStatus = options.redrive ? { path: 'js', detail: 'a re-drive reads each record’s headers as it arrives' } : nativeConsumeStatus();
  logNativeConsumeStatus(logger, consumeStatus);
  const kind: ServerKind = { product: server.product, major: server.major };

  const budget = config.pipeline.maxBufferedBytes;
  const chunks = ChunkPool.forBudget(budget, config.pipeline.batchBytes);
  const consumer = deps.createConsumer(
    config,
    {
      consumeTimeoutMs: 20,
      // 200 empty calls a second would cost ~1.3 % of a core more than 50 while idle (measured here); the
      // gap applies only while records flow, where it takes p50 latency at 1,000 records/s from ~175 ms to ~20 ms.
      gapTimeoutMs: 5,
      minBatch: 64,
      maxBatch: 4096,
      targetCallMs: Math.max(20, config.pipeline.lingerMs),
      statsIntervalMs: 1000,
      // librdkafka's prefetch counts against the same memory: a quarter of the budget, at most 64 MiB.
      queuedMaxKbytes: Math.max(1024, Math.min(65536, Math.floor(budget / 4 / 1024))),
    },
    logger,
    tokens,
    { headers: options.redrive === true, chunks },
  );

  const tracker = new WatermarkTracker();
  const lags = new LagTracker({
    startFrom: config.kafka.startFrom,
    readCommitted: config.kafka.rdkafka['isolation.level'] !== 'read_uncommitted',
    watermark: (key) => tracker.committable(key),
  });
  const stuck = new StuckWatch(tracker, config.health.stallSeconds * 1000, logger);
  const flow = new FlowControl({ target: consumer, budgetBytes: budget, logger });
  const metrics = createMetrics(undefined, { processMetrics: port !== undefined, consumePath: consumeStatus.path });

  // How a run ends early: the first reason wins, and an error makes the run's promise reject.
  const ending = new AbortController();
  let fatal: SluiceError | undefined;
  const endRun = (reason: string, err?: SluiceError): void => {
    fatal ??= err;
    ending.abort(reason);
  };

  const dlqTopic = config.errors.dlqTopic;
  const dlq = dlqTopic
    ? deps.createDeadLetters(config, logger, {
        tokens,
        onHalt: (reason) => flow.deadLetterTopic(reason, dlqTopic),
        onResume: () => flow.deadLetterTopic(undefined, dlqTopic),
      })
    : undefined;

  const counters = createDispatchCounters();
  const fate = createRecordFate({
    policy: config.errors,
    dlq,
    breaker: dlq && config.errors.dlqMaxRatio < 1 ? new DeadLetterWindow(config.errors.dlqWindowRecords, config.errors.dlqMaxRatio) : undefined,
    finished: () => counters.indexed + counters.skipped + counters.failed,
    flow,
    metrics,
    logger,
    ...(options.untilCaughtUp ? { onFatal: (err: SluiceError, reason: string) => endRun(reason, err) } : {}),
  });

  const dispatcher = createDispatcher({
    counters,
    chunks,
    run: (task, transferList) => pool.run({ ...task, server: kind }, { transferList }),
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
    onCommittable: (tp, offset) => consumer.store([{ ...tp, offset }]),
    onFailed: fate.onFailed,
    onSettled: () => flow.buffered(dispatcher.bufferedBytes()),
    onStats: (stats) => metrics.batch(stats),
    onIndexed: (tp, offset, timestamp) => metrics.indexed(tp, offset, timestamp),
  });
  pool.on('message', (message) => {
    const signal = message as WorkerSignal;
    switch (signal.kind) {
      case 'started':
      case 'encoded':
        return dispatcher.signal(signal);
      case 'halt':
      case 'resume':
        return flow.workerSignal(signal);
    }
  });

  const rebalance = createRebalance({
    tracker,
    lags,
    flow,
    release: (keys, deadlineMs) => dispatcher.release(keys, deadlineMs),
    offsets: consumer,
    revokeTimeoutMs: config.kafka.revokeTimeoutMs,
    logger,
    onEvent: (event) => metrics.rebalance(event),
  });
  const reportReset = createResetReport({
    isAssigned: (tp) => flow.isAssigned(tp),
    lags,
    watermarks: (topic, partition, timeoutMs) => consumer.watermarks(topic, partition, timeoutMs),
    onReset: (reset) => metrics.offsetReset(reset.topic, reset.partition, reset.to),
    logger,
  });

  const report = createReport({
    flow,
    tracker,
    lags,
    stuck,
    health: new HealthWatch(config.health.stallSeconds * 1000),
    dispatch: dispatcher,
    deadLettered: fate.deadLettered,
    logger,
  });
  metrics.watch({
    counters: () => dispatcher.counters,
    budgetBytes: budget,
    bufferedBytes: () => dispatcher.bufferedBytes(),
    inFlightBytes: () => dispatcher.inFlightBytes(),
    inFlightBatches: () => dispatcher.inFlight(),
    queuedBatches: () => dispatcher.queued(),
    partitions: () => report.partitions(),
    halted: () => flow.haltReason() !== undefined,
    haltedBy: () => flow.haltedBy(),
    deadLetterRatio: () => fate.deadLetterRatio(),
    ready: () => report.readiness().ready,
    workers: () => pool.threads,
  });
  served.registry = metrics.registry;
  served.readiness = () => report.readiness();

  let firstRecordAt: number | undefined;
  const ticker = setInterval(() => {
    flow.tick(new Set(pool.threads.map((t) => t.threadId)), dispatcher.counters.deadLetterPending, dlqTopic);
    report.checkReadiness();
    const p = report.progress();
    options.onProgress?.(p);
    if (options.untilCaughtUp && !flow.stopping && p.lag === 0 && dispatcher.idle()) endRun('caught up');
  }, options.progressIntervalMs ?? 1000);

  let resolveDone!: (s: RunSummary) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<RunSummary>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  let stopReason = '';
  let stopping: Promise<void> | undefined;
  /**
   * Stops in the reverse order of start: pauses every partition, lets the batches in flight finish
   * (up to `shutdown.timeoutMs`), commits what is committable, then closes the consumer (leaving the
   * group), the dead-letter producer and the workers.
   */
  function stop(reason: string): Promise<void> {
    stopping ??= (async () => {
      stopReason = reason;
      clearInterval(ticker);
      flow.stop();
      report.checkReadiness();
      logger.info({ reason, inFlight: dispatcher.inFlight() }, 'stopping: finishing in-flight batches');
      const drained = await dispatcher.drain(config.shutdown.timeoutMs);
      if (!drained) logger.warn({ timeoutMs: config.shutdown.timeoutMs }, 'batches still in flight at the shutdown deadline; their records will be indexed again on restart');
      const offsets = committableOffsets(tracker, flow.assigned());
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
        deadLettered: fate.deadLettered(),
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
    return stopping;
  }
  ending.signal.addEventListener('abort', () => void stop(String(ending.signal.reason)), { once: true });

  try {
    await dlq?.connect();
    await consumer.connect(
      {
        onAssign: (tps) => {
          metrics.assigned(tps);
          return rebalance.onAssign(tps);
        },
        onRevoke: rebalance.onRevoke,
        onRecords(records) {
          firstRecordAt ??= Date.now();
          if (options.redrive) for (const r of records as KafkaRecord[]) r.origin = readOrigin(r);
          lags.received(records);
          dispatcher.add(records);
          flow.buffered(dispatcher.bufferedBytes());
        },
        onRows(rows) {
          firstRecordAt ??= Date.now();
          for (const run of rows.runs) lags.receivedRange(run.topic, run.partition, rows.coords[2 * run.start] as number, rows.coords[2 * (run.end - 1)] as number);
          dispatcher.addRows(rows);
          flow.buffered(dispatcher.bufferedBytes());
        },
        // Nothing more waiting in Kafka: what is gathered goes now, not after pipeline.lingerMs.
        onDrained: () => dispatcher.flush(),
        onPolled: () => lags.polled(),
        onStats: (stats) => lags.stats(stats),
        onOffsetReset: (reset) => void reportReset(reset),
        onFatal: (err) => endRun('the Kafka client failed', err),
      },
      30_000,
    );
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
    progress: () => report.progress(),
    get stopReason(): string {
      return stopReason;
    },
  };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;
