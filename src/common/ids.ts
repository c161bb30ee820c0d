import { isUtf8 } from 'node:buffer';
import type { Document } from './transform/types.js';

/**
 * `index.idStrategy`: where a document's `_id` comes from. The config validates the text; the
 * worker turns each record into an id with it.
 */
export type IdStrategy =
  | { kind: 'kafka' }
  | { kind: 'key' }
  | { kind: 'none' }
  | { kind: 'field'; path: readonly string[] };

export function parseIdStrategy(value: string): IdStrategy {
  if (value.startsWith('field:')) return { kind: 'field', path: value.slice('field:'.length).split('.') };
  return { kind: value as 'kafka' | 'key' | 'none' };
}

/**
 * The record key as the string that ids, deletes and transforms see. A key that is valid UTF-8 and does
 * not start with `b64:` is used as it is; any other becomes `b64:` + unpadded base64url of its bytes
 * (binary keys such as big-endian longs would otherwise collapse into U+FFFD). The mapping is injective:
 * UTF-8 decoding is one-to-one on valid UTF-8, base64url is one-to-one, and only the second kind starts
 * with `b64:` — so two different keys never share an id.
 */
export function recordKey(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString('utf8', start, end);
  // Lossy decoding shows as U+FFFD, so only a key holding one has its bytes validated (they may spell
  // a real U+FFFD): the common path allocates nothing more than the string.
  if (!text.startsWith('b64:') && (!text.includes('\uFFFD') || isUtf8(bytes.subarray(start, end)))) return text;
  return `b64:${bytes.toString('base64url', start, end)}`;
}

/**
 * The `_id` for a document; undefined lets Elasticsearch choose; null when the strategy has no value.
 * A number makes an id only when it is exact: a safe integer, or a BigInt (a msgpack int64 beyond
 * ±2^53); `String()` of a larger double would give two different records one id.
 */
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
      if (typeof v === 'string') return v === '' ? null : v;
      return Number.isSafeInteger(v) || typeof v === 'bigint' ? String(v) : null;
    }
  }
}

/** Why `documentId` found no id (the failure path only). */
export function idProblem(ids: IdStrategy, doc: Document): string {
  if (ids.kind !== 'field') return 'record has no key, and index.idStrategy is key';
  const path = ids.path.join('.');
  return typeof getPath(doc, ids.path) === 'number'
    ? `the number at ${path} cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string`
    : `document has no string or number at ${path} for index.idStrategy`;
}

/** The value at a dotted path of a document (split into its names), or undefined. */
export function getPath(doc: Document, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
