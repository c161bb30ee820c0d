import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createLogger } from '../src/common/logger.js';
import { compatHeaders, createClient, probeOutcome } from '../src/common/es-client.js';
import { BatchReader } from '../src/common/batch-layout.js';
import { documentId, getPath, idProblem, parseIdStrategy, recordKey } from '../src/common/ids.js';
import { actionExtras, parsePipeline, parseRouting, routeProblem, routeValue, type RouteOption, type ValueSource } from '../src/common/routing.js';
import { Outcome, type BatchResult, type BatchStats, type BatchTask, type RecordFailure, type ServerKind, type WorkerInit, type WorkerSignal } from '../src/common/protocol.js';
import type { ProbeOutcome } from '../src/common/server.js';
import { nativeStatus, ScanStatus, type NativeStatus } from '../src/common/native.js';
import { countAckDelays } from '../src/common/freshness.js';
import { createDecoder } from './decode.js';
import { createPassthrough, type PassthroughScan } from './passthrough.js';
import { BufferPool, createActionLines, KafkaIdActions, NdjsonEncoder } from './bulk/encoder.js';
import { HaltMonitor } from './bulk/halt.js';
import { Semaphore } from './bulk/semaphore.js';
import { createBulkSink } from './bulk/sink.js';
import { compileIndexTemplate, parseTimestamp } from '../src/common/index-name.js';
import { loadTransform } from '../src/common/transform/load.js';
import type { Document, TransformResult } from '../src/common/transform/types.js';

type Problem = { stage: RecordFailure['stage']; reason: string };

/**
 * Everything a worker does with a batch: decode each record, transform it, route it to an index,
 * give it an id, encode its NDJSON once, index the batch, and report one outcome per record.
 * The sink is injected so the record path can be tested without a server; `native` (the process's
 * native status by default) too, so that both JSON passthroughs can be compared.
 */
export async function createBatchProcessor(
  init: WorkerInit,
  deps: { sink?: ReturnType<typeof createBulkSink>; logger?: Logger; notify?: (signal: WorkerSignal) => void; threadId?: number; native?: NativeStatus } = {},
) {
  const logger = deps.logger ?? createLogger(init.logLevel, { thread: 'worker' });
  const decode = createDecoder(init.inputFormat, { invalidUtf8: init.invalidUtf8 });
  const transform = await loadTransform(init.transform);
  const router = compileIndexTemplate(init.index.name);
  const ids = parseIdStrategy(init.index.idStrategy);
  // Several records may write one document only with key or field ids: there the record's offset is
  // the document's external version, so the partition's last record wins (DESIGN.md, invariant 9).
  const versioned = ids.kind === 'key' || ids.kind === 'field';
  const op = init.index.opType;
  const timestampPath = init.index.timestampField.split('.');
  const pipeline = parsePipeline(init.index.pipeline);
  const routing = parseRouting(init.index.routing);
  // Neither option, or only a fixed pipeline: the action lines' extras are the same for every document.
  const fixedExtras = routing === undefined && pipeline?.kind !== 'field';
  const constantExtras = actionExtras(pipeline?.kind === 'fixed' ? pipeline.value : undefined, undefined);
  // No transform, JSON input and the native addon: each batch's records are scanned in one call and
  // the valid ones sent as their bytes (workers/passthrough.ts); the others take the decoder below.
  const native = deps.native ?? nativeStatus();
  const passthrough =
    transform === undefined && init.inputFormat === 'json' && native.path === 'native'
      ? createPassthrough(native.addon, {
          timestamp: router.usesDate ? timestampPath : undefined,
          id: ids.kind === 'field' ? ids.path : undefined,
          pipeline: pipeline?.kind === 'field' ? pipeline.path : undefined,
          routing: routing?.kind === 'field' ? routing.path : undefined,
          fields: router.fields.length > 0 ? router.fields : undefined,
        })
      : undefined;
  // documentId and idProblem read a field id from a document; for a scanned record, objects along
  // the id path holding the scanned value stand in for it.
  const idHolder = passthrough && ids.kind === 'field' ? pathHolder(ids.path) : undefined;
  const pipelineHolder = passthrough && pipeline?.kind === 'field' ? pathHolder(pipeline.path) : undefined;
  const routingHolder = passthrough && routing?.kind === 'field' ? pathHolder(routing.path) : undefined;
  // `{field:}` tokens in index.name: the values of a record, refilled per record (emit is synchronous).
  const named = router.fields.length > 0;
  const fieldValues: unknown[] = router.fields.map(() => undefined);
  const actionFor = createActionLines(op);
  // The default: Kafka ids, no pipeline or routing and no `{field:}` in the index name, whose action
  // lines the passthrough writes as bytes.
  const kafkaActions = ids.kind === 'kafka' && fixedExtras && constantExtras === undefined && !named ? new KafkaIdActions(op) : undefined;
  const deleteFor = createActionLines('delete');
  // The key is decoded only where something reads it.
  const needsKey = transform !== undefined || ids.kind === 'key' || init.onNull === 'delete' || routing?.kind === 'key';

  /**
   * The pipeline and routing of a document's action line (`doc` undefined: a tombstone's delete, which
   * takes no pipeline): its extras, or the problem that fails the record.
   */
  const extrasFor = (pipelineDoc: Document | undefined, routingDoc: Document | undefined, key: string | null, tombstone: boolean): string | undefined | Problem => {
    let name: string | undefined;
    if (pipeline !== undefined && !tombstone) {
      const found = resolve('index.pipeline', pipeline, init.index.pipelineDefault, pipelineDoc, key);
      if (typeof found !== 'string') return found;
      name = found;
    }
    let route: string | undefined;
    if (routing !== undefined) {
      const found = resolve('index.routing', routing, init.index.routingDefault, tombstone ? undefined : routingDoc, key);
      if (typeof found !== 'string') return found;
      route = found;
    }
    return actionExtras(name, route);
  };
  const resolve = (option: RouteOption, source: ValueSource, fallback: string | undefined, doc: Document | undefined, key: string | null): string | Problem =>
    routeValue(option, source, doc, key) ?? fallback ?? { stage: 'route', reason: routeProblem(option, source, doc) };
  // One NDJSON buffer per batch this worker runs at once, used again by the next batches; one grown
  // past two bulk bodies (a batch with an outsized record) is not kept.
  const buffers = new BufferPool(init.maxConcurrentBulks, 2 * init.bulkMaxBytes);
  // The client is made now: the start-up wait asks a worker `GET /` (`probe`). The sink is made with
  // the first batch, which names the server the probe found (its media types); tests give their own.
  const client = createClient(init.elasticsearch, init.maxConcurrentBulks + 1);
  let sink = deps.sink;
  const sinkOf = (server: ServerKind): ReturnType<typeof createBulkSink> =>
    (sink ??= createBulkSink({
      client,
      headers: compatHeaders(server),
      opType: op,
      versioned,
      bulkMaxBytes: init.bulkMaxBytes,
      compression: init.compression,
      retry: init.retry,
      semaphore: new Semaphore(init.maxConcurrentBulks),
      halts: new HaltMonitor(deps.threadId ?? 0, deps.notify ?? (() => undefined)),
      logger,
    }));

  /** `GET /` with this worker's client, as data (`ProbeOutcome`): the main thread's start-up wait asks it. */
  const probe = (): Promise<ProbeOutcome> => probeOutcome(client);

  async function process(task: BatchTask): Promise<BatchResult> {
    const batch = new BatchReader(task);
    const { bytes } = batch;
    const outcomes = new Uint8Array(batch.count);
    const failures: RecordFailure[] = [];
    const encoder = new NdjsonEncoder(encodedEstimate(batch), buffers);
    let tombstones = 0;
    let dropped = 0;
    const fail = (record: number, stage: RecordFailure['stage'], reason: string): void => {
      outcomes[record] = Outcome.Failed;
      failures.push({ record, stage, reason });
    };
    /** A record's documents are all-or-nothing: one that cannot be encoded takes back the others. */
    const settle = (record: number, mark: number, problem: Problem | undefined): void => {
      if (problem) {
        encoder.rewind(mark);
        fail(record, problem.stage, problem.reason);
      } else outcomes[record] = Outcome.Indexed;
    };
    const scan = passthrough?.scan(batch, init.maxDocBytes);

    const { origins } = batch;
    for (const slice of batch.slices) {
      let { topic, partition } = slice;
      for (let r = slice.start; r < slice.end; r++) {
        let offset = batch.offset(r);
        // A re-driven dead letter (`sluice redrive`) is indexed as its original record was to be:
        // with that record's topic, partition and offset (ids, index name, version, transform input).
        if (origins !== undefined) {
          const problem = origins.problem(r);
          if (problem !== undefined) {
            fail(r, 'redrive', problem);
            continue;
          }
          topic = origins.topic(r);
          partition = origins.partition(r);
          offset = origins.offset(r);
        }
        const key = needsKey && batch.hasKey(r) ? recordKey(bytes, batch.keyStart(r), batch.keyEnd(r)) : null;
        if (!batch.hasValue(r)) {
          tombstone(r, topic, partition, offset, batch.timestamp(r), key);
          continue;
        }
        const valueStart = batch.valueStart(r);
        const valueEnd = batch.valueEnd(r);
        if (valueEnd - valueStart > init.maxDocBytes) {
          fail(r, 'size', `record of ${valueEnd - valueStart} bytes is larger than pipeline.maxDocBytes (${init.maxDocBytes})`);
          continue;
        }
        if (scan !== undefined && scan.status(r) !== ScanStatus.Js) {
          const mark = encoder.mark();
          let problem: Problem | undefined;
          try {
            problem = emitRaw(scan, r, topic, partition, offset, batch.timestamp(r), key, valueStart, valueEnd);
          } catch (err) {
            problem = { stage: 'route', reason: `routing failed: ${message(err)}` };
          }
          settle(r, mark, problem);
          continue;
        }
        const decoded = decode(bytes, valueStart, valueEnd);
        if (!decoded.ok) {
          fail(r, 'decode', decoded.reason);
          continue;
        }
        const timestamp = batch.timestamp(r);

        let out: TransformResult = decoded.doc;
        let text = decoded.text;
        if (transform) {
          text = undefined;
          let result: ReturnType<typeof transform>;
          try {
            result = transform({ value: decoded.doc, key, topic, partition, offset, timestamp });
          } catch (err) {
            fail(r, 'transform', `transform threw: ${message(err)}`);
            continue;
          }
          // Awaited only when it is a promise: a sync transform costs no microtask per record.
          if (isThenable(result)) {
            try {
              result = await result;
            } catch (err) {
              fail(r, 'transform', `transform rejected: ${message(err)}`);
              continue;
            }
          }
          out = result;
        }
        if (out === null || out === undefined || (Array.isArray(out) && out.length === 0)) {
          outcomes[r] = Outcome.Skipped;
          dropped++;
          continue;
        }
        const docs = Array.isArray(out) ? out : [out];
        const mark = encoder.mark();
        let problem: Problem | undefined;
        try {
          problem = emit(docs, Array.isArray(out), text, r, topic, partition, offset, timestamp, key);
        } catch (err) {
          // Serialization failures are caught inside; what else throws is routing (a getter on the
          // timestamp or id path, a date the index name cannot show): it fails this record only.
          problem = { stage: 'route', reason: `routing failed: ${message(err)}` };
        }
        settle(r, mark, problem);
      }
    }

    const encoded = encoder.finish();
    deps.notify?.({ kind: 'encoded', threadId: deps.threadId ?? 0, task: task.id });
    const stats: BatchStats = { docs: encoder.docs, bulkRequests: 0, bulkBytes: 0, bulkMs: [], retries: {}, tombstones, dropped, ackDelays: { counts: [], sum: 0 } };
    if (encoder.docs > 0) {
      // Not given back if this throws: a request may still be sending bytes of the buffer.
      const result = await sinkOf(task.server).index(encoded);
      encoder.release();
      const ackedAt = Date.now();
      stats.bulkRequests = result.bulkRequests;
      stats.bulkBytes = result.bulkBytes;
      stats.bulkMs = result.bulkMs;
      stats.retries = result.retries;
      for (const [doc, f] of result.failures) {
        const record = encoded.docRecords[doc] as number;
        if (outcomes[record] === Outcome.Failed) continue;
        outcomes[record] = Outcome.Failed;
        const failure: RecordFailure = { record, stage: 'index', reason: f.reason };
        if (f.attempts !== undefined) failure.attempts = f.attempts;
        if (f.status !== undefined) failure.status = f.status;
        if (f.errorType !== undefined) failure.errorType = f.errorType;
        failures.push(failure);
      }
      stats.ackDelays = countAckDelays(batch, outcomes, ackedAt);
    } else encoder.release();
    return { outcomes, failures, stats };

    /** A null value: skipped, a delete of the document the key names, or a failure for the DLQ. */
    function tombstone(record: number, topic: string, partition: number, offset: number, timestamp: number, key: string | null): void {
      if (init.onNull === 'skip') {
        outcomes[record] = Outcome.Skipped;
        tombstones++;
      } else if (init.onNull === 'dlq') {
        fail(record, 'null', 'null value (tombstone)');
      } else if (key === null || key === '') {
        fail(record, 'route', 'tombstone without a key: there is no document id to delete');
      } else {
        const extras = routing === undefined ? undefined : extrasFor(undefined, undefined, key, true);
        if (typeof extras === 'object') {
          fail(record, extras.stage, extras.reason);
          return;
        }
        encoder.appendDelete(deleteFor(router.name(topic, partition, timestamp), key, versioned ? offset : undefined, extras), record);
        outcomes[record] = Outcome.Indexed;
      }
    }

    function emit(
      docs: Document[],
      many: boolean,
      text: string | undefined,
      record: number,
      topic: string,
      partition: number,
      offset: number,
      timestamp: number,
      key: string | null,
    ): Problem | undefined {
      for (let j = 0; j < docs.length; j++) {
        const doc = docs[j];
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
          return { stage: 'transform', reason: 'transform must return an object, an array of objects, or null' };
        }
        const time = router.usesDate ? (parseTimestamp(getPath(doc, timestampPath)) ?? timestamp) : timestamp;
        const id = documentId(ids, doc, topic, partition, offset, key);
        if (id === null) return { stage: 'route', reason: idProblem(ids, doc) };
        const extras = fixedExtras ? constantExtras : extrasFor(doc, doc, key, false);
        if (typeof extras === 'object') return extras;
        let index: string;
        if (named) {
          for (let f = 0; f < fieldValues.length; f++) fieldValues[f] = getPath(doc, router.fields[f] as readonly string[]);
          const found = router.nameFor(topic, partition, time, fieldValues);
          if (typeof found === 'object') return { stage: 'route', reason: found.reason };
          index = found;
        } else index = router.name(topic, partition, time);
        let source = text;
        if (source === undefined) {
          try {
            source = serialize(doc);
          } catch (err) {
            return { stage: 'transform', reason: `document cannot be serialized: ${(err as Error).message}` };
          }
        } else if (source.includes('\n') || source.includes('\r')) {
          // In valid JSON a raw CR or LF is only whitespace between tokens: a space keeps the text one
          // NDJSON line without serializing it again (which would round big integers, drop duplicate keys).
          source = source.replace(RAW_NEWLINES, ' ');
        }
        const suffix = many && id !== undefined ? `-${j}` : '';
        encoder.append(actionFor(index, id === undefined ? undefined : id + suffix, versioned ? offset : undefined, extras), source, record);
      }
      return undefined;
    }

    /**
     * A record the native scan accepted: routed by the values it found with the same functions as
     * `emit`, sent as its bytes (raw CR/LF as spaces), as `emit` sends a decoded text.
     */
    function emitRaw(
      scan: PassthroughScan,
      record: number,
      topic: string,
      partition: number,
      offset: number,
      timestamp: number,
      key: string | null,
      start: number,
      end: number,
    ): Problem | undefined {
      const time = router.usesDate ? (parseTimestamp(scan.timestamp(record)) ?? timestamp) : timestamp;
      if (kafkaActions !== undefined) {
        const head = kafkaActions.head(router.name(topic, partition, time), topic, partition);
        encoder.appendRawWithOffset(head, offset, bytes, start, end, record, scan.status(record) === ScanStatus.OkNewlines);
        return undefined;
      }
      const doc = idHolder ? idHolder.holding(scan.id(record)) : NO_DOCUMENT;
      const id = documentId(ids, doc, topic, partition, offset, key);
      if (id === null) return { stage: 'route', reason: idProblem(ids, doc) };
      const extras = fixedExtras
        ? constantExtras
        : extrasFor(pipelineHolder?.holding(scan.pipeline(record)), routingHolder?.holding(scan.routing(record)), key, false);
      if (typeof extras === 'object') return extras;
      let index: string;
      if (named) {
        for (let f = 0; f < fieldValues.length; f++) fieldValues[f] = scan.field(record, f);
        const found = router.nameFor(topic, partition, time, fieldValues);
        if (typeof found === 'object') return { stage: 'route', reason: found.reason };
        index = found;
      } else index = router.name(topic, partition, time);
      encoder.appendRaw(actionFor(index, id, versioned ? offset : undefined, extras), bytes, start, end, record, scan.status(record) === ScanStatus.OkNewlines);
      return undefined;
    }
  }

  return { process, probe };
}

/** A batch's action line takes about this many bytes; the encoder grows when they take more. */
const ACTION_BYTES_ESTIMATE = 128;

/** The NDJSON size of a batch: its values and an action line each (the batch's bytes may hold more). */
function encodedEstimate(batch: BatchReader): number {
  let bytes = 0;
  for (let r = 0; r < batch.count; r++) if (batch.hasValue(r)) bytes += batch.valueEnd(r) - batch.valueStart(r);
  return Math.max(64 * 1024, bytes + batch.count * ACTION_BYTES_ESTIMATE);
}

/** What kafka, key and none ids are given as the document: they do not read it. */
const NO_DOCUMENT: Document = Object.freeze({});

/**
 * Objects along `path` (without prototypes, so no name is inherited), the last holding a value:
 * getPath(doc, path) gives back exactly that value. Made once, refilled per record.
 */
function pathHolder(path: readonly string[]): { holding(value: unknown): Document } {
  const doc: Document = Object.create(null) as Document;
  let parent = doc;
  for (const name of path.slice(0, -1)) {
    const next = Object.create(null) as Document;
    parent[name] = next;
    parent = next;
  }
  const leaf = path[path.length - 1] as string;
  return {
    holding(value) {
      parent[leaf] = value;
      return doc;
    },
  };
}

const RAW_NEWLINES = /[\r\n]/g;

// A BigInt becomes this marker string and then its bare digits. The marker holds a per-process random
// nonce, so no string of a document can be taken for one.
const BIGINT_MARK = `bigint-${randomBytes(12).toString('hex')}:`;
const BIGINT_MARKED = new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g');
const markBigInt = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? BIGINT_MARK + value.toString() : value);

/**
 * A document's JSON text. A BigInt (msgpack int64 beyond ±2^53) is written as an exact JSON number,
 * which Elasticsearch reads into a `long` without rounding. JSON.stringify throws on a BigInt, so only
 * such documents pay for the second pass with a replacer; anything else that throws, throws again.
 */
function serialize(doc: Document): string {
  try {
    return JSON.stringify(doc);
  } catch {
    return JSON.stringify(doc, markBigInt).replace(BIGINT_MARKED, '$1');
  }
}

function isThenable(value: unknown): value is PromiseLike<TransformResult> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
