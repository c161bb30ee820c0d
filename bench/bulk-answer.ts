/**
 * What Elasticsearch answers to a `_bulk` request whose every action succeeded, worked out from the
 * body's bytes: lines are found by their newlines and each action line is told apart by the first
 * letter of its only key, never parsed. The answer has one item per action, in order, shaped as
 * Elasticsearch 8 shapes them and cut down by the `filter_path` the client asked for, as
 * Elasticsearch would cut it. Items do not echo the action's `_index` and `_id`: clients match items
 * to their documents by position.
 */
export interface BulkAnswer {
  /** Actions in the body: documents indexed, created, updated or deleted. */
  docs: number;
  /** The JSON response. */
  text: string;
}

type Op = 'index' | 'create' | 'update' | 'delete';

const ITEM: Readonly<Record<Op, Record<string, unknown>>> = {
  index: created(),
  create: created(),
  update: { ...created(), result: 'updated', status: 200 },
  delete: { ...created(), result: 'deleted', status: 200 },
};

function created(): Record<string, unknown> {
  return {
    _index: 'null-sink',
    _id: 'null-sink',
    _version: 1,
    result: 'created',
    _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 0,
    _primary_term: 1,
    status: 201,
  };
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** `filterPath` is the request's `filter_path` query parameter, if any. */
export function answerBulk(body: Buffer, filterPath: string | undefined): BulkAnswer {
  const filter = parseFilter(filterPath);
  const runs: Array<{ op: Op; n: number }> = [];
  let docs = 0;
  let start = 0;
  let expectSource = false;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    if (end > start) {
      if (expectSource) expectSource = false;
      else {
        const op = opAt(body, start, end);
        expectSource = op !== 'delete';
        docs++;
        const last = runs[runs.length - 1];
        if (last?.op === op) last.n++;
        else runs.push({ op, n: 1 });
      }
    }
    start = end + 1;
  }
  const parts: string[] = [];
  if (filter.took) parts.push('"took":0');
  if (filter.errors) parts.push('"errors":false');
  if (filter.items !== undefined) {
    const items = runs.map(({ op, n }) => `${itemJson(op, filter.items as ItemFields)},`.repeat(n)).join('');
    parts.push(`"items":[${items.slice(0, -1)}]`);
  }
  return { docs, text: `{${parts.join(',')}}` };
}

/** The action of the line `[start, end)`: its first key, `{"index":{…}}`, read by its first letter. */
function opAt(body: Buffer, start: number, end: number): Op {
  const q = body.indexOf(QUOTE, start);
  switch (q >= 0 && q < end ? body[q + 1] : undefined) {
    case 0x63: // c
      return 'create';
    case 0x75: // u
      return 'update';
    case 0x64: // d
      return 'delete';
    default:
      return 'index';
  }
}

/** Item fields kept: all of them, or the named ones. */
type ItemFields = 'all' | ReadonlySet<string>;

interface Filter {
  took: boolean;
  errors: boolean;
  /** Undefined: no items at all. */
  items: ItemFields | undefined;
}

/**
 * The part of `filter_path` that clients send to `_bulk`: top-level `took`, `errors`, `items`, and
 * item fields as `items.*.<field>` (deeper paths keep the field they start with, which success items
 * have whole or not at all, like `error`).
 */
function parseFilter(filterPath: string | undefined): Filter {
  if (filterPath === undefined || filterPath.trim() === '') return { took: true, errors: true, items: 'all' };
  const paths = filterPath.split(',').map((p) => p.trim());
  const fields = new Set<string>();
  let all = false;
  for (const p of paths) {
    const [top, any, field] = p.split('.');
    if (top !== 'items' && top !== '*') continue;
    if (any === undefined || (any === '*' && (field === undefined || field === '*'))) all = true;
    else if (any === '*' && field !== undefined) fields.add(field);
  }
  return {
    took: paths.includes('took') || paths.includes('*'),
    errors: paths.includes('errors') || paths.includes('*'),
    items: all ? 'all' : fields.size > 0 ? fields : undefined,
  };
}

const cache = new Map<string, string>();

function itemJson(op: Op, fields: ItemFields): string {
  const key = `${op}:${fields === 'all' ? '*' : [...fields].join(',')}`;
  let json = cache.get(key);
  if (json === undefined) {
    const full = ITEM[op];
    const kept = fields === 'all' ? full : Object.fromEntries(Object.entries(full).filter(([k]) => fields.has(k)));
    json = JSON.stringify({ [op]: kept });
    cache.set(key, json);
  }
  return json;
}
