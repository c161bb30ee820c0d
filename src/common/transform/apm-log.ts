import type { Document, TransformRecord } from './types.js';

/**
 * The `apm-log` transform: APM log records (`timestamp, service_name, environment, trace_id,
 * span_id, level, message, http_method, http_path, http_status_code, labels`) become documents with
 * `@timestamp` (from `timestamp`, an ISO string or epoch milliseconds; the Kafka timestamp when it
 * is missing or invalid), `type: "log"`, `labels` flattened to a string→string map and
 * `ingestedAt`. The `timestamp` field itself is not kept; every other field is.
 *
 * It runs once per record on the worker's hot path, so it avoids per-record date formatting:
 * `ingestedAt` comes from a clock that formats each millisecond once (still exact to the
 * millisecond), and a `timestamp` already in canonical form is kept as it is.
 */
export function createApmLogTransform(now: () => string = cachedIsoClock()) {
  const iso = createIsoTimestamp();
  return function apmLog(record: TransformRecord): Document {
    const value = record.value;
    // A plain copy without `timestamp` and `labels`: cheaper than object rest (`{ a, ...rest }`).
    const doc: Document = {};
    for (const k in value) {
      if (k === 'timestamp' || k === 'labels' || !Object.hasOwn(value, k)) continue;
      if (k === '__proto__') Object.defineProperty(doc, k, { value: value[k], enumerable: true, writable: true, configurable: true });
      else doc[k] = value[k];
    }
    doc['@timestamp'] = iso(value['timestamp']) ?? new Date(record.timestamp).toISOString();
    doc['type'] = 'log';
    const labels = value['labels'];
    if (labels !== undefined && labels !== null) doc['labels'] = flattenLabels(labels);
    doc['ingestedAt'] = now();
    return doc;
  };
}

/** `new Date().toISOString()`, formatting each millisecond once: exact, and ~20× cheaper per call. */
export function cachedIsoClock(clock: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let last = '';
  return () => {
    const ms = clock();
    if (ms !== lastMs) {
      lastMs = ms;
      last = new Date(ms).toISOString();
    }
    return last;
  };
}

export function toIsoTimestamp(value: unknown): string | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && value !== '') ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  else return undefined;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  return new Date(ms).toISOString();
}

const CANONICAL_LENGTH = 24; // YYYY-MM-DDTHH:mm:ss.sssZ

/**
 * `toIsoTimestamp` that returns a string already in canonical form (`2026-11-22T10:00:00.123Z`,
 * what `toISOString` gives) as it is, without parsing and formatting it again. Records of a batch
 * share an hour: the `YYYY-MM-DDTHH` part is validated once (by a full round trip), then only
 * minutes, seconds and milliseconds are checked. Any other form goes through `toIsoTimestamp`.
 */
export function createIsoTimestamp(): (value: unknown) => string | undefined {
  let validHour = '';
  return (value) => {
    if (typeof value === 'string' && value.length === CANONICAL_LENGTH && validHour !== '' && value.startsWith(validHour) && canonicalTail(value)) return value;
    const out = toIsoTimestamp(value);
    if (out !== undefined && out === value) validHour = out.slice(0, 13);
    return out;
  };
}

/** `:mm:ss.sssZ` after a validated hour, with minutes and seconds below 60. */
function canonicalTail(s: string): boolean {
  return (
    s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(19) === 46 &&
    s.charCodeAt(23) === 90 &&
    sixty(s.charCodeAt(14), s.charCodeAt(15)) &&
    sixty(s.charCodeAt(17), s.charCodeAt(18)) &&
    digit(s.charCodeAt(20)) &&
    digit(s.charCodeAt(21)) &&
    digit(s.charCodeAt(22))
  );
}

const digit = (c: number): boolean => c >= 48 && c <= 57;
const sixty = (tens: number, ones: number): boolean => tens >= 48 && tens <= 53 && digit(ones);

/**
 * `{a: {b: 1}, c: [1, 2], d: true}` → `{"a.b": "1", "c": "[1,2]", "d": "true"}`. Nulls are left out;
 * a non-object `labels` becomes `{ value: String(labels) }` so nothing is dropped.
 */
export function flattenLabels(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    out['value'] = Array.isArray(labels) ? JSON.stringify(labels) : String(labels);
    return out;
  }
  walk(labels as Record<string, unknown>, '', out);
  return out;
}

function walk(obj: Record<string, unknown>, prefix: string, out: Record<string, string>): void {
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    const v = obj[k];
    if (v === null || v === undefined) continue;
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, key, out);
    else if (key === '__proto__') Object.defineProperty(out, key, { value: stringOf(v), enumerable: true, writable: true, configurable: true });
    else out[key] = stringOf(v);
  }
}

const stringOf = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? JSON.stringify(v) : String(v));
