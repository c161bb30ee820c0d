import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Message, TopicPartition, TopicPartitionOffset } from 'node-rdkafka';
import pino from 'pino';
import { validateConfig } from '../../../src/config/validate.js';
import type { WorkerPool } from '../../../src/dispatch/pool.js';
import type { ConsumerHooks } from '../../../src/kafka/consumer.js';
import { redriveConfig } from '../../../src/config/redrive.js';
import type { KafkaRecord } from '../../../src/dispatch/batch.js';
import { startPipeline, type PipelineConsumer, type PipelineDeps } from '../../../src/pipeline/start.js';
import { waitForElasticsearch } from '../../../src/elasticsearch/wait.js';
import { BatchReader } from '../../../src/common/batch-layout.js';
import { emptyStats, Outcome, type BatchResult, type BatchTask, type RecordFailure, type WorkerInit } from '../../../src/common/protocol.js';

const logger = pino({ level: 'silent' });
const tp = (partition: number): TopicPartition => ({ topic: 'logs', partition });

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const message = (partition: number, offset: number, value = '{"a":1}'): Message => ({ topic: 'logs', partition, offset, value: Buffer.from(value), size: value.length, timestamp: 0 }) as Message;

/** A pool whose tasks answer at once: every record indexed unless `fails` says otherwise. */
function fakePool(fails: (partition: number, offset: number) => boolean) {
  const events = new EventEmitter();
  const log: string[] = [];
  const tasks: BatchTask[] = [];
  let init: WorkerInit | undefined;
  const pool: WorkerPool = {
    async run(task: BatchTask): Promise<BatchResult> {
      tasks.push(task);
      const batch = new BatchReader(task);
      const n = batch.count;
      const outcomes = new Uint8Array(n);
      const failures = [];
      for (const slice of task.slices) {
        for (let r = slice.start; r < slice.end; r++) {
          const offset = batch.offset(r);
          const failed = fails(slice.partition, offset);
          outcomes[r] = failed ? Outcome.Failed : Outcome.Indexed;
          if (failed) failures.push({ record: r, stage: 'index' as const, reason: 'bad field', status: 400, errorType: 'document_parsing_exception' });
        }
      }
      return { outcomes, failures, stats: { ...emptyStats(), docs: n } };
    },
    async probe() {
      log.push('probe');
      return { ok: true, server: { product: 'opensearch', version: '2.19.5', major: 2, clusterName: 'c' } } as const;
    },
    threads: [],
    on(event: string, listener: (arg: unknown) => void) {
      events.on(event, listener);
      return pool;
    },
    async destroy() {
      log.push('pool destroyed');
    },
  };
  return { pool, tasks, emit: (signal: unknown) => events.emit('message', signal), log, init: () => init, setInit: (i: WorkerInit) => (init = i) };
}

function fakeConsumer(log: string[]) {
  let hooks: ConsumerHooks | undefined;
  const stored = new Map<string, number>();
  const committed: TopicPartitionOffset[][] = [];
  const consumer: PipelineConsumer = {
    async connect(h: ConsumerHooks) {
      hooks = h;
      log.push('consumer connected');
    },
    start: () => void log.push('consumer started'),
    pause: (tps) => void (tps.length > 0 && log.push(`pause ${tps.map((t) => t.partition).join(',')}`)),
    resume: (tps) => void (tps.length > 0 && log.push(`resume ${tps.map((t) => t.partition).join(',')}`)),
    store: (offsets) => offsets.forEach((o) => stored.set(`${o.topic}[${o.partition}]`, o.offset)),
    commitSync: (offsets) => void committed.push(offsets),
    watermarks: async () => ({ low: 0, high: 0 }),
    close: async () => void log.push('consumer closed'),
  };
  return {
    consumer,
    stored,
    committed,
    hooks(): ConsumerHooks {
      if (!hooks) throw new Error('not connected');
      return hooks;
    },
  };
}

function setup(options: { errors?: Record<string, unknown>; redrive?: Record<string, unknown>; fails?: (partition: number, offset: number) => boolean } = {}) {
  const config = validateConfig({
    kafka: { brokers: 'localhost:9092', groupId: 'g', topics: ['logs'] },
    pipeline: { lingerMs: 1, workers: 2, maxInFlightBulks: 4 },
    errors: options.errors ?? {},
    redrive: options.redrive ?? {},
  });
  const pool = fakePool(options.fails ?? (() => false));
  const kafka = fakeConsumer(pool.log);
  const deadLetters: Array<{ topic: string; record: KafkaRecord; failure: RecordFailure }> = [];
  const deps: PipelineDeps = {
    waitForServer: waitForElasticsearch,
    createPool: (init) => {
      pool.setInit(init);
      return pool.pool;
    },
    createConsumer: () => kafka.consumer,
    createDeadLetters: (c) => {
      const topic = c.errors.dlqTopic as string;
      return { topic, connect: async () => undefined, close: async () => undefined, send: async (record, failure) => void deadLetters.push({ topic, record, failure }) };
    },
  };
  return { config, deps, pool, kafka, deadLetters };
}

describe('pipeline wiring', () => {
  it('records flow from the consumer through the pool to stored offsets; the stop commits, then closes the consumer before the workers', async () => {
    const { config, deps, pool, kafka } = setup();
    const pipeline = await startPipeline(config, { logger }, deps);
    expect(pool.init()?.maxConcurrentBulks).to.equal(2);
    expect(pool.log).to.deep.equal(['probe', 'consumer connected', 'consumer started']);
    expect(kafka.hooks().onAssign([tp(0), tp(1)])).to.deep.equal([]);
    kafka.hooks().onRecords([0, 1, 2].flatMap((o) => [message(0, o), message(1, o + 10)]));
    await waitUntil(() => kafka.stored.get('logs[0]') === 3 && kafka.stored.get('logs[1]') === 13);
    await pipeline.stop('test over');
    const summary = await pipeline.done;
    expect(summary).to.include({ indexed: 6, failed: 0, reason: 'test over' });
    expect(kafka.committed.at(-1)).to.deep.equal([
      { topic: 'logs', partition: 0, offset: 3 },
      { topic: 'logs', partition: 1, offset: 13 },
    ]);
    expect(pool.log.slice(-3)).to.deep.equal(['pause 0,1', 'consumer closed', 'pool destroyed']);
    // A worker asked the server first; every batch names what answered, for its media types.
    expect(pool.tasks.length).to.be.greaterThan(0);
    for (const task of pool.tasks) expect(task.server).to.deep.equal({ product: 'opensearch', major: 2 });
  });

  it('a server the start-up wait refuses ends the start with its error, and the workers that asked it are stopped', async () => {
    const { config, deps, pool } = setup();
    pool.pool.probe = async () => {
      pool.log.push('probe');
      return { ok: false, unsupported: { problem: 'Elasticsearch 6.8.23 is not supported', statusCode: undefined } };
    };
    const err = await startPipeline(config, { logger }, deps).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal('elasticsearch http://127.0.0.1:9200: Elasticsearch 6.8.23 is not supported');
    expect(pool.log).to.deep.equal(['probe', 'pool destroyed']);
  });

  it('a worker halt pauses every partition until that worker resumes', async () => {
    const { config, deps, pool, kafka } = setup();
    const pipeline = await startPipeline(config, { logger }, deps);
    kafka.hooks().onAssign([tp(0), tp(1)]);
    pool.emit({ kind: 'halt', threadId: 7, reason: 'cluster_block_exception' });
    expect(pipeline.progress().halted).to.equal('cluster_block_exception');
    pool.emit({ kind: 'resume', threadId: 7 });
    expect(pipeline.progress().halted).to.equal(undefined);
    expect(pool.log.slice(3)).to.deep.equal(['pause 0,1', 'resume 0,1']);
    await pipeline.stop('done');
  });

  it('policy fail with --until-caught-up: the run ends and rejects naming the record; offsets stay before it', async () => {
    const { config, deps, kafka } = setup({ errors: { onRejected: 'fail' }, fails: (p, o) => p === 0 && o === 1 });
    const pipeline = await startPipeline(config, { logger, untilCaughtUp: true }, deps);
    kafka.hooks().onAssign([tp(0)]);
    kafka.hooks().onRecords([message(0, 0), message(0, 1), message(0, 2)]);
    let error: Error | undefined;
    await pipeline.done.catch((err: Error) => (error = err));
    expect(error?.message).to.equal('record logs[0]@1 could not be indexed: bad field');
    expect(pipeline.stopReason).to.equal('a record could not be indexed');
    expect(kafka.committed.at(-1)).to.deep.equal([{ topic: 'logs', partition: 0, offset: 1 }]);
  });

  it('redrive: each dead letter arrives with the origin its headers name, crosses to the worker with it, and fails again into the re-drive\'s topic', async () => {
    const { config, deps, pool, kafka, deadLetters } = setup({
      errors: { dlqTopic: 'logs-dlq', onRejected: 'skip' },
      redrive: { deadLetterTopic: 'logs-dlq-2' },
      fails: (_, offset) => offset === 1,
    });
    const pipeline = await startPipeline(redriveConfig(config), { logger, redrive: true }, deps);
    kafka.hooks().onAssign([{ topic: 'logs-dlq', partition: 0 }]);
    const letter = (offset: number, headers: Array<Record<string, Buffer>>): Message => ({ topic: 'logs-dlq', partition: 0, offset, value: Buffer.from('{}'), size: 2, timestamp: 5, headers }) as Message;
    const source = (partition: string, offset: string): Array<Record<string, Buffer>> => [{ 'sluice.source.topic': Buffer.from('logs') }, { 'sluice.source.partition': Buffer.from(partition) }, { 'sluice.source.offset': Buffer.from(offset) }];
    kafka.hooks().onRecords([letter(0, source('3', '70')), letter(1, source('1', '12')), letter(2, [])]);
    await waitUntil(() => kafka.stored.get('logs-dlq[0]') === 3);
    const origins = pool.tasks.flatMap((t) => {
      const reader = new BatchReader(t);
      return Array.from({ length: reader.count }, (_, r) => reader.origins?.problem(r) ?? [reader.origins?.topic(r), reader.origins?.partition(r), reader.origins?.offset(r)]);
    });
    expect(origins).to.deep.equal([['logs', 3, 70], ['logs', 1, 12], 'the dead letter has no sluice.source.topic, sluice.source.partition, sluice.source.offset header: the original record is unknown']);
    // errors.onRejected skip is the main run's: a re-driven record that fails again is never dropped.
    expect(deadLetters.map((d) => [d.topic, d.record.offset, d.record.origin])).to.deep.equal([['logs-dlq-2', 1, { topic: 'logs', partition: 1, offset: 12 }]]);
    await pipeline.stop('test over');
    expect(await pipeline.done).to.include({ indexed: 2, failed: 1, deadLettered: 1 });
  });

  it('a fatal Kafka client error ends the run with that error', async () => {
    const { config, deps, kafka } = setup();
    const pipeline = await startPipeline(config, { logger }, deps);
    const { KafkaError } = await import('../../../src/common/errors.js');
    kafka.hooks().onFatal?.(new KafkaError('the Kafka client failed and cannot recover: fenced', -150));
    let error: Error | undefined;
    await pipeline.done.catch((err: Error) => (error = err));
    expect(error?.message).to.equal('the Kafka client failed and cannot recover: fenced');
    expect(pipeline.stopReason).to.equal('the Kafka client failed');
  });
});
