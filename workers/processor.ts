import type { Logger } from 'pino';
import { createLogger } from '../src/logger.js';
import { compatHeaders, createClient } from '../src/elasticsearch.js';
import { parseIdStrategy, type IdStrategy } from '../src/config/schema.js';
import { COORD_STRIDE, INDEX_STRIDE, NULL_REF, Outcome, type BatchResult, type BatchStats, type BatchTask, type RecordFailure, type WorkerInit, type WorkerSignal } from '../src/protocol.js';
import { createDecoder } from './decode.js';
import { createActionLines, NdjsonEncoder } from './bulk/encoder.js';
import { HaltMonitor } from './bulk/halt.js';
import { Semaphore } from './bulk/semaphore.js';
import { createBulkSink } from './bulk/sink.js';
import { compileIndexTemplate, parseTimestamp } from './route/index-name.js';
import { loadTransform } from './transform/load.js';
import type { Document } from './transform/types.js';

/**
 * Everything a worker does with a batch: decode each record, transform it, route it to an index,
 * give it an id, encode its NDJSON once, index the batch, and report one outcome per record.
 * The sink is injected so the record path can be tested without a server.
 */
export async function createBatchProcessor(
  init: WorkerInit,
  deps: { sink?: ReturnType<typeof createBulkSink>; logger?: Logger; notify?: (signal: WorkerSignal) => void; threadId?: number } = {},
) {
  const logger = deps.logger ?? createLogger(init.logLevel, { thread: 'worker' });
  const decode = createDecoder(init.inputFormat);
  const transform = await loadTransform(init.transform);
  const router = compileIndexTemplate(init.index.name);
  const ids = parseIdStrategy(init.index.idStrategy);
  const op = init.index.opType;
  const timestampPath = init.index.timestampField.split('.');
  const actionFor = createActionLines(op);
  const deleteFor = createActionLines('delete');
  // The key is decoded only where something reads it.
  const needsKey = transform !== undefined || ids.kind === 'key' || init.onNull === 'delete';
  const sink =
    deps.sink ??
    createBulkSink({
      client: createClient(init.elasticsearch, init.maxConcurrentBulks + 1),
      headers: compatHeaders(init.elasticsearch.serverMajor),
      opType: op,
      bulkMaxBytes: init.bulkMaxBytes,
      retry: init.retry,
      semaphore: new Semaphore(init.maxConcurrentBulks),
      halts: new HaltMonitor(deps.threadId ?? 0, deps.notify ?? (() => undefined)),
      logger,
    });

  async function process(task: BatchTask): Promise<BatchResult> {
    const bytes = Buffer.from(task.data);
    const { index, coords } = task;
    const count = coords.length / COORD_STRIDE;
    const outcomes = new Uint8Array(count);
    const failures: RecordFailure[] = [];
    const encoder = new NdjsonEncoder(Math.max(64 * 1024, Math.ceil(bytes.length * 1.25)));
    let tombstones = 0;
    let dropped = 0;
    const fail = (record: number, stage: RecordFailure['stage'], reason: string): void => {
      outcomes[record] = Outcome.Failed;
      failures.push({ record, stage, reason });
    };

    for (const { topic, partition, start, end } of task.slices) {
      for (let r = start; r < end; r++) {
        const at = r * INDEX_STRIDE;
        const valueStart = index[at] as number;
        const keyStart = index[at + 2] as number;
        const key = keyStart === NULL_REF || !needsKey ? null : bytes.toString('utf8', keyStart, index[at + 3] as number);
        if (valueStart === NULL_REF) {
          tombstone(r, topic, partition, coords[r * COORD_STRIDE + 1] as number, key);
          continue;
        }
        const valueEnd = index[at + 1] as number;
        if (valueEnd - valueStart > init.maxDocBytes) {
          fail(r, 'size', `record of ${valueEnd - valueStart} bytes is larger than pipeline.maxDocBytes (${init.maxDocBytes})`);
          continue;
        }
        const decoded = decode(bytes, valueStart, valueEnd);
        if (!decoded.ok) {
          fail(r, 'decode', decoded.reason);
          continue;
        }
        const offset = coords[r * COORD_STRIDE] as number;
        const timestamp = coords[r * COORD_STRIDE + 1] as number;

        let out: Document | Document[] | null | undefined = decoded.doc;
        let text = decoded.text;
        if (transform) {
          text = undefined;
          try {
            out = transform({ value: decoded.doc, key, topic, partition, offset, timestamp });
          } catch (err) {
            fail(r, 'transform', `transform threw: ${err instanceof Error ? err.message : String(err)}`);
            continue;
          }
        }
        if (out === null || out === undefined || (Array.isArray(out) && out.length === 0)) {
          outcomes[r] = Outcome.Skipped;
          dropped++;
          continue;
        }
        const docs = Array.isArray(out) ? out : [out];
        const problem = emit(docs, Array.isArray(out), text, r, topic, partition, offset, timestamp, key);
        if (problem) fail(r, problem.stage, problem.reason);
        else outcomes[r] = Outcome.Indexed;
      }
    }

    const encoded = encoder.finish();
    const stats: BatchStats = { docs: encoder.docs, bulkRequests: 0, bulkBytes: 0, bulkMs: [], retries: {}, tombstones, dropped };
    if (encoder.docs > 0) {
      const result = await sink.index(encoded);
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
    }
    return { outcomes, failures, stats };

    /** A null value: skipped, a delete of the document the key names, or a failure for the DLQ. */
    function tombstone(record: number, topic: string, partition: number, timestamp: number, key: string | null): void {
      if (init.onNull === 'skip') {
        outcomes[record] = Outcome.Skipped;
        tombstones++;
      } else if (init.onNull === 'dlq') {
        fail(record, 'null', 'null value (tombstone)');
      } else if (key === null || key === '') {
        fail(record, 'route', 'tombstone without a key: there is no document id to delete');
      } else {
        encoder.appendDelete(deleteFor(router.name(topic, partition, timestamp), key), record);
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
    ): { stage: RecordFailure['stage']; reason: string } | undefined {
      for (let j = 0; j < docs.length; j++) {
        const doc = docs[j];
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
          return { stage: 'transform', reason: 'transform must return an object, an array of objects, or null' };
        }
        const time = router.usesDate ? (parseTimestamp(getPath(doc, timestampPath)) ?? timestamp) : timestamp;
        const id = documentId(ids, doc, topic, partition, offset, key);
        if (id === null) return { stage: 'route', reason: idProblem(ids) };
        let source = text;
        if (source === undefined || source.includes('\n') || source.includes('\r')) {
          try {
            source = JSON.stringify(doc);
          } catch (err) {
            return { stage: 'transform', reason: `document cannot be serialized: ${(err as Error).message}` };
          }
        }
        const suffix = many && id !== undefined ? `-${j}` : '';
        encoder.append(actionFor(router.name(topic, partition, time), id === undefined ? undefined : id + suffix), source, record);
      }
      return undefined;
    }
  }

  return { process };
}

/** The `_id` for a document; undefined lets Elasticsearch choose; null when the strategy has no value. */
export function documentId(
  ids: IdStrategy,
  doc: Document,
  topic: string,
  partition: number,
  offset: number,
  key: string | null,
): string | undefined | null {
  switch (ids.kind) {
    case 'kafka':
      return `${topic}-${partition}-${offset}`;
    case 'none':
      return undefined;
    case 'key':
      return key === null || key === '' ? null : key;
    case 'field': {
      const v = getPath(doc, ids.path);
      return typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : null;
    }
  }
}

function idProblem(ids: IdStrategy): string {
  return ids.kind === 'key'
    ? 'record has no key, and index.idStrategy is key'
    : `document has no string or number at ${ids.kind === 'field' ? ids.path.join('.') : ''} for index.idStrategy`;
}

function getPath(doc: Document, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
