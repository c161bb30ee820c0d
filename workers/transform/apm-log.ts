import type { Document, TransformRecord } from './types.js';

/**
 * The `apm-log` transform: APM log records (`timestamp, service_name, environment, trace_id,
 * span_id, level, message, http_method, http_path, http_status_code, labels`) become documents with
 * `@timestamp` (from `timestamp`, an ISO string or epoch milliseconds; the Kafka timestamp when it
 * is missing or invalid), `type: "log"`, `labels` flattened to a string→string map and
 * `ingestedAt`. The `timestamp` field itself is not kept; every other field is.
 */
export function createApmLogTransform(now: () => string = () => new Date().toISOString()) {
  return function apmLog(record: TransformRecord): Document {
    const { timestamp, labels, ...rest } = record.value;
    const doc: Document = rest;
    doc['@timestamp'] = toIsoTimestamp(timestamp) ?? new Date(record.timestamp).toISOString();
    doc['type'] = 'log';
    if (labels !== undefined && labels !== null) doc['labels'] = flattenLabels(labels);
    doc['ingestedAt'] = now();
    return doc;
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
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || v === undefined) continue;
      const key = prefix ? `${prefix}.${k}` : k;
      if (typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, key);
      else out[key] = typeof v === 'string' ? v : Array.isArray(v) ? JSON.stringify(v) : String(v);
    }
  };
  walk(labels as Record<string, unknown>, '');
  return out;
}
