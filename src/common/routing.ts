import { getPath } from './ids.js';
import type { Document } from './transform/types.js';

/**
 * `index.pipeline` and `index.routing`: the ingest pipeline and the shard routing value each index
 * or create action line carries. The config validates the text; the worker reads each record with it.
 * `field:<path>` mirrors `index.idStrategy`'s: a dotted path into the document.
 */
export type ValueSource = { kind: 'fixed'; value: string } | { kind: 'field'; path: readonly string[] } | { kind: 'key' };

export type RouteOption = 'index.pipeline' | 'index.routing';

/** A pipeline: a fixed name or `field:<path>`; undefined when the option is not set. */
export function parsePipeline(value: string | undefined): ValueSource | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith('field:')) return { kind: 'field', path: value.slice('field:'.length).split('.') };
  return { kind: 'fixed', value };
}

/** A routing value: `field:<path>` or `key` (the record key); undefined when the option is not set. */
export function parseRouting(value: string | undefined): ValueSource | undefined {
  if (value === undefined) return undefined;
  if (value === 'key') return { kind: 'key' };
  return { kind: 'field', path: value.slice('field:'.length).split('.') };
}

/**
 * The value for one document (or, with `doc` undefined, for a tombstone), or null when there is none.
 * A pipeline is a non-empty string. A routing value may also be a whole number, made text only when
 * exact (as `_id`s are): a double beyond ±2^53 would send two records to one arbitrary shard.
 */
export function routeValue(option: RouteOption, source: ValueSource, doc: Document | undefined, key: string | null): string | null {
  switch (source.kind) {
    case 'fixed':
      return source.value;
    case 'key':
      return key === null || key === '' ? null : key;
    case 'field': {
      if (doc === undefined) return null;
      const v = getPath(doc, source.path);
      if (typeof v === 'string') return v === '' ? null : v;
      if (option === 'index.pipeline') return null;
      return Number.isSafeInteger(v) || typeof v === 'bigint' ? String(v) : null;
    }
  }
}

/** Why `routeValue` found nothing (the failure path only); `doc` undefined for a tombstone. */
export function routeProblem(option: RouteOption, source: ValueSource, doc: Document | undefined): string {
  const fallback = option === 'index.pipeline' ? 'index.pipelineDefault' : 'index.routingDefault';
  if (source.kind === 'key') return `record has no key, and ${option} is key (set ${fallback} for such records)`;
  const path = source.kind === 'field' ? source.path.join('.') : '';
  if (doc === undefined) {
    return `tombstone has no document to read ${option} field:${path} from (set ${fallback}, or index.routing key)`;
  }
  const what = option === 'index.pipeline' ? 'non-empty string' : 'non-empty string or whole number within ±(2^53 − 1)';
  return `document has no ${what} at ${path} for ${option} (set ${fallback} for such documents)`;
}

/**
 * The fields an action line gains, `,"pipeline":"…","routing":"…"`, JSON-escaped; undefined when
 * there are none, so that the line is built exactly as without these options.
 */
export function actionExtras(pipeline: string | undefined, routing: string | undefined): string | undefined {
  if (pipeline === undefined) return routing === undefined ? undefined : `,"routing":${JSON.stringify(routing)}`;
  const p = `,"pipeline":${JSON.stringify(pipeline)}`;
  return routing === undefined ? p : `${p},"routing":${JSON.stringify(routing)}`;
}
