import { IndexTemplateError } from './errors.js';

/**
 * Compiles `index.name` templates such as `logs-{topic}-{yyyy.MM.dd}` once into a function.
 * Tokens: `{topic}`, `{partition}`, and date patterns built from yyyy, yy, MM, dd, HH (UTC) with any
 * separators, e.g. `{yyyy.MM.dd}`, `{yyyy.MM}`, `{yyyy-MM-dd-HH}`. Elasticsearch index names must be
 * lowercase, so the topic is lowercased.
 */
export interface IndexRouter {
  /** True when the name depends on the record's time, so the caller must supply it. */
  readonly usesDate: boolean;
  name(topic: string, partition: number, timeMs: number): string;
}

/** A literal, `{topic}`, `{partition}`, or a date pattern such as `yyyy.MM.dd`. */
type Part = { literal: string } | { topic: true } | { partition: true } | { date: string };

const DATE_TOKEN = /yyyy|yy|MM|dd|HH/g;
const INVALID_INDEX_CHARS = /[\\/*?"<>| ,#:]/;

export function compileIndexTemplate(template: string): IndexRouter {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    parts.push({ literal: template.slice(last, m.index) });
    last = m.index + m[0].length;
    const token = m[1] ?? '';
    if (token === 'topic') parts.push({ topic: true });
    else if (token === 'partition') parts.push({ partition: true });
    else if (token !== '' && token.replace(DATE_TOKEN, '').replace(/[.\-_]/g, '') === '' && token.match(DATE_TOKEN)) {
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
  if (parts.every((p) => 'literal' in p)) return { usesDate: false, name: () => literal };

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

  return {
    usesDate,
    name(topic, partition, timeMs) {
      const d = usesDate ? formatDates(timeMs) : dates;
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as Part;
        out += 'literal' in p ? p.literal : 'topic' in p ? topic.toLowerCase() : 'partition' in p ? String(partition) : (d[i] ?? '');
      }
      return out;
    },
  };
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
