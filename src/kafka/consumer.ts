import rdkafka, { type ConsumerGlobalConfig, type KafkaConsumer, type LibrdKafkaError, type Message, type TopicPartition, type TopicPartitionOffset } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import { KafkaConnectError, KafkaFatalError, type KafkaError } from '../common/errors.js';
import type { TokenSource } from './auth.js';
import { baseProperties } from './base-config.js';
import { parseOffsetReset, type OffsetReset } from '../offsets/lag.js';
import { formatRecordAt, formatTp } from '../common/coordinates.js';
import { INTERNAL_TOPICS_BLACKLIST, isTopicPattern } from './topic-pattern.js';
import type { FetchedRows } from '../dispatch/batch.js';
import type { ChunkPool } from '../dispatch/chunks.js';
import { nativeConsumerProperties, type NativeConsume } from './native-consume.js';

const { CODES } = rdkafka;

export interface ConsumerHooks {
  /** Partitions were assigned; returns those to pause at once (when the pipeline is over budget or stopping). */
  onAssign(tps: TopicPartition[]): TopicPartition[];
  /** Partitions are being revoked: finish their work and commit before they are released. */
  onRevoke(tps: TopicPartition[]): Promise<void>;
  /** Records of the JS consume path, as node-rdkafka's message objects. */
  onRecords(records: Message[]): void;
  /** Records of the native consume path: one call's rows, grouped by partition. */
  onRows(rows: FetchedRows): void;
  /**
   * A consume call came back short, empty included: librdkafka had nothing more waiting, so what
   * was gathered need not wait for more (after `onRecords` for its records, if any).
   */
  onDrained?(): void;
  /** A consume call returned (after `onRecords` and `onDrained`). */
  onPolled?(): void;
  onStats?(stats: RdkafkaStats): void;
  /** librdkafka applied `auto.offset.reset` because the offset it fetched from is out of range. */
  onOffsetReset?(reset: OffsetReset): void;
  /**
   * librdkafka raised a fatal error: this client can never consume again (for instance the broker
   * refused it because another member uses its `group.instance.id`). Called once.
   */
  onFatal?(err: KafkaError): void;
}

/** The part of librdkafka's statistics JSON that Sluice reads (STATISTICS.md; unknown offsets are negative). */
export interface RdkafkaStats {
  topics?: Record<string, { partitions?: Record<string, RdkafkaPartitionStats> }>;
}

export interface RdkafkaPartitionStats {
  hi_offset?: number;
  /** Last stable offset: the end a read_committed consumer can read up to. */
  ls_offset?: number;
  lo_offset?: number;
  /** The group's committed offset (fetched at assignment, then updated by each commit). */
  committed_offset?: number;
  /** One past the last message or control record the application dequeued. */
  app_offset?: number;
}

export interface ConsumerTuning {
  /**
   * Per-message wait of one `consume(n)` call while idle (the previous call got nothing): it returns
   * at the first gap this long. node-rdkafka applies the timeout to each message, not to the call.
   */
  consumeTimeoutMs: number;
  /**
   * The same wait once records flow (the previous call got some): a gap this long means nothing more
   * is waiting, so the call returns short and what was gathered is sealed at once (`onDrained`).
   * Short, because producers send in bursts a few ms apart: with the idle wait a steady trickle never
   * leaves a gap, every call fills, and each batch waits for `lingerMs`.
   */
  gapTimeoutMs: number;
  minBatch: number;
  maxBatch: number;
  /** A `consume(n)` call taking longer than this shrinks n (a trickle must not hold records back). */
  targetCallMs: number;
  statsIntervalMs: number;
  /** librdkafka's prefetch queue, kept within the byte budget. */
  queuedMaxKbytes: number;
}

/**
 * What one `consume(n)` call that asked for `asked` records and got `got` in `tookMs` says: the
 * `n` of the next call (grown while calls fill quickly, shrunk when a trickle makes a call run
 * long), whether librdkafka had nothing more waiting (the call returned at a gap before it was
 * full), and the per-message wait of the next call (short while records flow, longer while idle).
 */
export function assessCall(
  call: { asked: number; got: number; tookMs: number },
  tuning: Pick<ConsumerTuning, 'minBatch' | 'maxBatch' | 'targetCallMs' | 'consumeTimeoutMs' | 'gapTimeoutMs'>,
): { next: number; drained: boolean; timeoutMs: number } {
  const { asked, got, tookMs } = call;
  let next = asked;
  if (got === asked && tookMs < tuning.targetCallMs) next = Math.min(tuning.maxBatch, asked * 2);
  else if (tookMs > tuning.targetCallMs) next = Math.max(tuning.minBatch, asked >> 1);
  return { next, drained: got < asked, timeoutMs: got > 0 ? tuning.gapTimeoutMs : tuning.consumeTimeoutMs };
}

/**
 * librdkafka's global properties for the run's consumer (callbacks aside). Under the classic group
 * protocol the members assign partitions, with the cooperative-sticky assignor so a rebalance moves
 * only the partitions that change owner. Under `consumer` (KIP-848) the broker assigns them, always
 * incrementally, and librdkafka refuses any client-side assignor setting.
 */
export function consumerProperties(config: SluiceConfig, tuning: ConsumerTuning): ConsumerGlobalConfig {
  return baseProperties(config.kafka, 'sluice', {
    'group.id': config.kafka.groupId,
    ...(config.kafka.groupInstanceId ? { 'group.instance.id': config.kafka.groupInstanceId } : {}),
    ...(config.kafka.groupProtocol === 'consumer' ? { 'group.protocol': 'consumer' } : { 'partition.assignment.strategy': 'cooperative-sticky' }),
    'enable.auto.commit': true,
    'auto.commit.interval.ms': 1000,
    'enable.auto.offset.store': false,
    'statistics.interval.ms': tuning.statsIntervalMs,
    'queued.max.messages.kbytes': tuning.queuedMaxKbytes,
    // One fetch response at most the size of the prefetch queue (librdkafka keeps the first
    // message of a larger one deliverable), within librdkafka's 1 MiB to 50 MiB range.
    'fetch.max.bytes': Math.max(1 << 20, Math.min(50 << 20, tuning.queuedMaxKbytes * 1024)),
    'fetch.queue.backoff.ms': 50,
    'socket.keepalive.enable': true,
    // A pattern's new topics are seen only at a metadata refresh: librdkafka's 5 minutes is long.
    ...(config.kafka.topics.some(isTopicPattern) ? { 'topic.metadata.refresh.interval.ms': config.kafka.metadataRefreshMs, 'topic.blacklist': INTERNAL_TOPICS_BLACKLIST } : {}),
  });
}

/** Consumers created by this process, for the native consumer's ids. */
let consumersCreated = 0;

/**
 * The librdkafka consumer on the main thread: `consume(n)` batch mode with exactly one call
 * outstanding, incremental rebalancing through our own rebalance callback, offsets stored
 * explicitly (`enable.auto.offset.store=false`) and committed by librdkafka's background
 * auto-commit. The loop keeps polling while partitions are paused, revoked or draining: that serves
 * rebalance and commit callbacks and keeps the member within `max.poll.interval.ms`.
 */
export function createConsumer(config: SluiceConfig, tuning: ConsumerTuning, logger: Logger, tokens?: TokenSource, native?: NativeConsume & { chunks: ChunkPool }) {
  // Set by `connect`, before the client connects: no callback of librdkafka runs earlier.
  let hooks!: ConsumerHooks;
  let rebalancing: Promise<void> = Promise.resolve();
  // The native consumer is a librdkafka plugin loaded into this very client: the id tells it which
  // client's handle to take the messages of.
  const nativeId = native && `sluice-${process.pid}-${++consumersCreated}`;
  const consumer: KafkaConsumer = new rdkafka.KafkaConsumer(
    {
      ...consumerProperties(config, tuning),
      ...(native ? nativeConsumerProperties(native.pluginPath, nativeId as string) : {}),
      offset_commit_cb: true,
      rebalance_cb: function (this: KafkaConsumer, err: LibrdKafkaError, assignment: TopicPartition[]) {
        // Runs on the main thread after librdkafka queued the event; librdkafka waits for the
        // (incremental) assign/unassign call, so the revoke may finish its work asynchronously.
        rebalancing = rebalancing.then(() => onRebalance(err, assignment)).catch((e: unknown) => logger.error({ err: e }, 'rebalance handling failed'));
      },
    },
    { 'auto.offset.reset': config.kafka.startFrom },
  );
  consumer.setDefaultConsumeTimeout(tuning.consumeTimeoutMs);

  async function onRebalance(err: LibrdKafkaError, tps: TopicPartition[]): Promise<void> {
    // COOPERATIVE under the classic protocol with the cooperative-sticky assignor, and always under
    // the consumer protocol (incremental only); an eager assignor set through kafka.rdkafka is not.
    const cooperative = consumer.rebalanceProtocol() === 'COOPERATIVE';
    const list = tps.map(({ topic, partition }) => ({ topic, partition }));
    if (err.code === CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      logger.info({ partitions: describe(list), protocol: consumer.rebalanceProtocol() }, 'partitions assigned');
      const toPause = hooks.onAssign(list);
      if (cooperative) consumer.incrementalAssign(list);
      else consumer.assign(list);
      // librdkafka keeps a partition's pause flag across unassign and assign: a partition revoked
      // while paused would come back paused, and never be fetched again, unless resumed here.
      const paused = new Set(toPause.map(formatTp));
      const toResume = list.filter((tp) => !paused.has(formatTp(tp)));
      if (toResume.length > 0) consumer.resume(toResume);
      if (toPause.length > 0) consumer.pause(toPause);
    } else if (err.code === CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      logger.info({ partitions: describe(list) }, 'partitions revoked; finishing their batches');
      try {
        await hooks.onRevoke(list);
      } finally {
        // Always released, even when finishing their work failed: librdkafka waits for the
        // unassign, and a close would wait forever.
        if (cooperative) consumer.incrementalUnassign(list);
        else consumer.unassign();
      }
      logger.info({ partitions: describe(list) }, 'partitions released');
    } else {
      logger.error({ code: err.code, message: err.message }, 'rebalance error');
    }
  }

  consumer.on('event.error', (err) => logger.error({ code: err.code, message: err.message }, 'kafka client error'));
  consumer.on('offset.commit', (err: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]) => {
    // ERR__NO_OFFSET: an auto-commit with nothing new to commit.
    if (err && err.code !== CODES.ERRORS.ERR__NO_OFFSET) logger.warn({ code: err.code, message: err.message }, 'offset commit failed');
    else if (!err) logger.debug({ offsets: offsets.filter((o) => o.offset >= 0).map(formatRecordAt) }, 'offsets committed');
  });
  consumer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
    if (log.fac === 'FATAL') return fatal(log.message.replace(/^\[thrd:[^\]]*\]: /, ''));
    if (log.fac !== 'OFFSET' || !hooks.onOffsetReset) return;
    const reset = parseOffsetReset(log.message);
    if (reset) hooks.onOffsetReset(reset);
  });
  consumer.on('event.stats', (event: { message: string }) => {
    if (!hooks.onStats) return;
    try {
      hooks.onStats(JSON.parse(event.message) as RdkafkaStats);
    } catch (e) {
      logger.warn({ err: e }, 'unreadable librdkafka statistics');
    }
  });

  // After a fatal error the client only returns empty batches: without this the process would look
  // alive with no partitions, forever. librdkafka logs the reason (FATAL) before it returns
  // ERR__FATAL ("Local: Fatal error", no reason) from a consume, but the two reach JavaScript by
  // different queues, in either order: the consume error waits a moment for the log line.
  let fatalReported = false;
  let fatalFallback: NodeJS.Timeout | undefined;
  function fatal(reason: string): void {
    if (fatalReported) return;
    fatalReported = true;
    clearTimeout(fatalFallback);
    logger.error({ reason }, 'the Kafka client failed and cannot recover; stopping');
    hooks.onFatal?.(new KafkaFatalError(reason));
  }

  let running = false;
  let closing = false;
  let loopStopped: Promise<void> = Promise.resolve();
  let batchSize = tuning.minBatch;
  let lastErrorLog = 0;

  /** A consume call failed (nothing consumed) or reported an error after its records. */
  function consumeError(err: { code: number; message: string }): void {
    if (err.code === CODES.ERRORS.ERR__FATAL) fatalFallback ??= setTimeout(() => fatal(err.message), 1000);
    else if (Date.now() - lastErrorLog > 5000) {
      lastErrorLog = Date.now();
      logger.warn({ code: err.code, message: err.message }, 'consume failed; polling again');
    }
  }

  function loop(done: () => void): void {
    if (!running) return done();
    const started = Date.now();
    const n = batchSize;
    consumer.consume(n, (err, messages) => {
      const took = Date.now() - started;
      if (err) {
        consumeError(err);
        setTimeout(() => loop(done), 100);
        return;
      }
      const { next, drained, timeoutMs } = assessCall({ asked: n, got: messages.length, tookMs: took }, tuning);
      batchSize = next;
      consumer.setDefaultConsumeTimeout(timeoutMs);
      if (messages.length > 0) hooks.onRecords(messages);
      if (drained) hooks.onDrained?.();
      hooks.onPolled?.();
      setImmediate(() => loop(done));
    });
  }

  // The native path: each call copies the messages' bytes once into the current chunk and their
  // coordinates into the row arrays below; the rows of the call are then copied out (a few
  // memcpy per call), so the arrays serve the next call. Chunks come from the pool the dispatcher
  // gives them back to once their batches are done.
  let chunk = native ? native.chunks.acquire() : new SharedArrayBuffer(0);
  let chunkView = new Uint8Array(chunk);
  let chunkAt = 0;
  const rowIndex = new Uint32Array(native ? tuning.maxBatch * 4 : 0);
  const rowCoords = new Float64Array(native ? tuning.maxBatch * 2 : 0);
  const rowHeaders = new Uint32Array(native ? tuning.maxBatch * 2 : 0);
  let firstTimeoutMs = tuning.consumeTimeoutMs;

  function nativeLoop(path: NativeConsume & { chunks: ChunkPool }, done: () => void): void {
    if (!running) return done();
    const started = Date.now();
    const n = batchSize;
    path.addon.consume(nativeId as string, chunkView, chunkAt, rowIndex, rowCoords, rowHeaders, n, firstTimeoutMs, tuning.gapTimeoutMs, (err, result) => {
      const took = Date.now() - started;
      if (err || !result) {
        consumeError({ code: (err as { code?: number } | null)?.code ?? CODES.ERRORS.ERR__FAIL, message: err?.message ?? 'no result' });
        setTimeout(() => nativeLoop(path, done), 100);
        return;
      }
      const { count, end, runs, needBytes, error } = result;
      if (count > 0) {
        hooks.onRows({
          data: chunk,
          index: rowIndex.slice(0, count * 4),
          coords: rowCoords.slice(0, count * 2),
          headers: rowHeaders.slice(0, count * 2),
          runs,
        });
      }
      chunkAt = end;
      if (needBytes > 0) {
        // The chunk is full: the batches that hold its rows keep it in use until they are done.
        path.chunks.release(chunk);
        chunk = path.chunks.acquire(needBytes);
        chunkView = new Uint8Array(chunk);
        chunkAt = 0;
      }
      if (error) consumeError(error);
      const assessed = assessCall({ asked: n, got: count, tookMs: took }, tuning);
      batchSize = assessed.next;
      firstTimeoutMs = assessed.timeoutMs;
      // A call cut short by the chunk's end or an error does not say that Kafka had nothing more.
      if (assessed.drained && needBytes === 0 && !error) hooks.onDrained?.();
      hooks.onPolled?.();
      setImmediate(() => nativeLoop(path, done));
    });
  }

  return {
    /** Connects and subscribes; from then on librdkafka's events reach `eventHooks`. */
    async connect(eventHooks: ConsumerHooks, timeoutMs: number): Promise<void> {
      hooks = eventHooks;
      tokens?.attach(consumer);
      await new Promise<void>((resolve, reject) => {
        consumer.connect({ timeout: timeoutMs }, (err) => {
          if (err) reject(new KafkaConnectError('consumer', config.kafka.brokers, err.message, err.code, { cause: err }));
          else resolve();
        });
      });
      // Entries starting with ^ are regular expressions to librdkafka, passed as they are.
      consumer.subscribe(config.kafka.topics);
    },

    start(): void {
      running = true;
      loopStopped = new Promise((resolve) => (native ? nativeLoop(native, resolve) : loop(resolve)));
    },

    // A pause or resume that comes after the stop began (a late batch result) has nothing left to do:
    // the client may already be disconnected, where node-rdkafka throws.
    pause(tps: TopicPartition[]): void {
      if (tps.length > 0 && !closing) consumer.pause(tps);
    },

    resume(tps: TopicPartition[]): void {
      if (tps.length > 0 && !closing) consumer.resume(tps);
    },

    /** Stores offsets (the next record to process) for the background commit. */
    store(offsets: TopicPartitionOffset[]): void {
      if (offsets.length === 0) return;
      try {
        consumer.offsetsStore(offsets);
      } catch (err) {
        // Only for a partition already unassigned: its new owner resumes from the last commit.
        logger.debug({ err, offsets }, 'offsets not stored');
      }
    },

    /** The partition's log start and end (the last stable offset under read_committed). */
    watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ low: number; high: number }> {
      return new Promise((resolve, reject) =>
        consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, w) => (err ? reject(err) : resolve({ low: w.lowOffset, high: w.highOffset }))),
      );
    },

    /** Synchronous commit, for revoke and stop only: it blocks the event loop for a round trip. */
    commitSync(offsets: TopicPartitionOffset[]): void {
      if (offsets.length === 0) return;
      try {
        consumer.commitSync(offsets);
        logger.info({ offsets: offsets.map(formatRecordAt) }, 'offsets committed');
      } catch (err) {
        logger.warn({ err, offsets }, 'commit failed; the partitions resume from their previous commit');
      }
    },

    /** Stops polling (after the outstanding call returns) and leaves the group. */
    async close(): Promise<void> {
      running = false;
      closing = true;
      await loopStopped;
      await rebalancing;
      // Messages the native consumer holds pin their fetch buffers: librdkafka's close waits for them.
      if (native) {
        native.addon.release(nativeId as string);
        native.chunks.release(chunk);
      }
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      tokens?.detach(consumer);
      await rebalancing;
    },
  };
}

export type Consumer = ReturnType<typeof createConsumer>;

function describe(tps: TopicPartition[]): string[] {
  return tps.map(formatTp);
}
