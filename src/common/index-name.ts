import { IndexTemplateError } from './errors.js';

/**
 * Compiles `index.name` templates such as `logs-{topic}-{yyyy.MM.dd}` once into a function.
 * Tokens: `{topic}`, `{partition}`, and date patterns built from yyyy, yy, MM, dd, HH (UTC) with any
 * separators, e.g. `{yyyy.MM.dd}`, `{yyyy.MM}`, `{yyyy-MM-dd-HH}`, and `{field:<dotted path>}`, a
 * document's value (a non-empty string, or a whole number within ±(2^53 − 1) as its decimal text).
 * Elasticsearch index names must be lowercase, so the topic and field values are lowercased.
 */
export interface IndexRouter {
  /** True when the name depends on the record's time, so the caller must supply it. */
  readonly usesDate: boolean;
  /** The distinct paths of the `{field:…}` tokens, split on their dots, in order; empty without any. */
  readonly fields: readonly (readonly string[])[];
  /** The name of a template without field tokens; field tokens, whose values it lacks, give `*`. */
  name(topic: string, partition: number, timeMs: number): string;
  /**
   * With field tokens: the name for the values found at `fields` (same order), or why the record
   * has none: a value missing or of the wrong type, or a name Elasticsearch refuses.
   */
  nameFor(topic: string, partition: number, timeMs: number, values: readonly unknown[]): string | { reason: string };
  /** How many names the field-value cache holds (at most MAX_CACHED_NAMES). */
  cachedNames(): number;
}

/** The most distinct `{field:}` paths a template may hold (the native scan follows eight paths in all). */
export const MAX_NAME_FIELDS = 4;

/** Names kept per router for field templates: a high-cardinality field must not grow memory without bound. */
export const MAX_CACHED_NAMES = 1_000;

/** A literal, `{topic}`, `{partition}`, a date pattern such as `yyyy.MM.dd`, or the index of a field path. */
type Part = { literal: string } | { topic: true } | { partition: true } | { date: string } | { field: number };

const DATE_TOKEN = /yyyy|yy|MM|dd|HH/g;
const INVALID_INDEX_CHARS = /[\\/*?"<>| ,#:]/;

export function compileIndexTemplate(template: string): IndexRouter {
  const parts: Part[] = [];
  const fieldPaths: string[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    parts.push({ literal: template.slice(last, m.index) });
    last = m.index + m[0].length;
    const token = m[1] ?? '';
    if (token === 'topic') parts.push({ topic: true });
    else if (token === 'partition') parts.push({ partition: true });
    else if (token.startsWith('field:')) {
      const path = token.slice('field:'.length);
      if (!/^[^.\s]+(\.[^.\s]+)*$/.test(path)) throw new IndexTemplateError(template, { kind: 'unknown_token', token });
      let at = fieldPaths.indexOf(path);
      if (at < 0) at = fieldPaths.push(path) - 1;
      parts.push({ field: at });
    } else if (token !== '' && token.replace(DATE_TOKEN, '').replace(/[.\-_]/g, '') === '' && token.match(DATE_TOKEN)) {
      parts.push({ date: token });
    } else {
      throw new IndexTemplateError(template, { kind: 'unknown_token', token });
    }
  }
  parts.push({ literal: template.slice(last) });
  const literal = parts.map((p) => ('literal' in p ? p.literal : '')).join('');
  if (/[{}]/.test(literal)) throw new IndexTemplateError(template, { kind: 'unbalanced_braces' });
  if (literal !== literal.toLowerCase() || INVALID_INDEX_CHARS.test(literal)) {
    throw new IndexTemplateError(template, { kind: 'invalid_name' });
  }
  const usesDate = parts.some((p) => 'date' in p);
  const fields = fieldPaths.map((p) => p.split('.'));
  if (parts.every((p) => 'literal' in p)) return { usesDate: false, fields, name: () => literal, nameFor: () => literal, cachedNames: () => 0 };

  // Records of one batch nearly always share an hour: format the date parts once per hour.
  let cachedHour = NaN;
  let dates: string[] = [];
  const formatDates = (timeMs: number): string[] => {
    const hour = Math.floor(timeMs / 3_600_000);
    if (hour !== cachedHour) {
      const iso = new Date(hour * 3_600_000).toISOString();
      const f: Record<string, string> = { yyyy: iso.slice(0, 4), yy: iso.slice(2, 4), MM: iso.slice(5, 7), dd: iso.slice(8, 10), HH: iso.slice(11, 13) };
      dates = parts.map((p) => ('date' in p ? p.date.replace(DATE_TOKEN, (k) => f[k] ?? k) : ''));
      cachedHour = hour;
    }
    return dates;
  };

  const compose = (topic: string, partition: number, timeMs: number, values: readonly string[] | undefined): string => {
    const d = usesDate ? formatDates(timeMs) : dates;
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Part;
      out +=
        'literal' in p ? p.literal : 'topic' in p ? topic.toLowerCase() : 'partition' in p ? String(partition) : 'field' in p ? (values?.[p.field] ?? '*') : (d[i] ?? '');
    }
    return out;
  };
  if (fields.length === 0) {
    // Without field tokens: the name as before, nothing per record beyond it.
    const name = (topic: string, partition: number, timeMs: number): string => {
      const d = usesDate ? formatDates(timeMs) : dates;
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as Part;
        out += 'literal' in p ? p.literal : 'topic' in p ? topic.toLowerCase() : 'partition' in p ? String(partition) : (d[i] ?? '');
      }
      return out;
    };
    return { usesDate, fields, name, nameFor: name, cachedNames: () => 0 };
  }

  // The name composed of the values as found, lowercased and checked once per distinct name; the
  // oldest entry goes when the cache is full.
  const cache = new Map<string, string | { reason: string }>();
  const texts: string[] = [];
  const source = fieldPaths.map((p) => `{field:${p}}`).join(', ');
  return {
    usesDate,
    fields,
    name: (topic, partition, timeMs) => compose(topic, partition, timeMs, undefined),
    nameFor(topic, partition, timeMs, values) {
      for (let f = 0; f < fields.length; f++) {
        const text = fieldText(values[f]);
        if (text === undefined) return { reason: `document has no non-empty string or whole number within ±(2^53 − 1) at ${fieldPaths[f] ?? ''} for index.name {field:${fieldPaths[f] ?? ''}}` };
        texts[f] = text;
      }
      const raw = compose(topic, partition, timeMs, texts);
      let found = cache.get(raw);
      if (found === undefined) {
        const name = raw.toLowerCase();
        const rule = indexNameProblem(name);
        found = rule === undefined ? name : { reason: `index.name ${source} gives ${JSON.stringify(name)}, which Elasticsearch refuses: ${rule}` };
        if (cache.size >= MAX_CACHED_NAMES) cache.delete(cache.keys().next().value as string);
        cache.set(raw, found);
      }
      return found;
    },
    cachedNames: () => cache.size,
  };
}

/** A field value's text for a name: a non-empty string, or a whole number made text only when exact. */
function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  return Number.isSafeInteger(v) || typeof v === 'bigint' ? String(v) : undefined;
}

/** Which of Elasticsearch's index-name rules a lowercase name breaks, or undefined when none. */
export function indexNameProblem(name: string): string | undefined {
  if (name === '.' || name === '..') return `an index name cannot be "." or ".."`;
  const first = name[0];
  if (first === '-' || first === '_' || first === '+') return `an index name cannot start with "${first}"`;
  const bad = INVALID_INDEX_CHARS.exec(name);
  if (bad !== null) return `an index name cannot contain ${bad[0] === ' ' ? 'a space' : JSON.stringify(bad[0])}`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > 255) return `an index name is at most 255 bytes (this one is ${bytes})`;
  return undefined;
}

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years a `{yyyy}` token can show. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;

/**
 * Epoch milliseconds from an ISO string or a number, or undefined when neither or when outside the
 * years 0000–9999. Epoch nanoseconds (≈1.7e18) are beyond what a Date can hold (±8.64e15 ms), and
 * epoch microseconds (≈1.7e15) are a Date in the year ~57,000 whose ISO form (`+057971-…`) would
 * make a nonsense index name: both fall back to the Kafka timestamp, as documented.
 */
export function parseTimestamp(value: unknown): number | undefined {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  return ms >= MIN_MS && ms <= MAX_MS ? ms : undefined;
}
