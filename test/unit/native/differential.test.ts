import { expect } from 'chai';
import pino from 'pino';
import { BatchBuilder, packTask, type KafkaRecord } from '../../../src/dispatch/batch.js';
import { tpKey } from '../../../src/offsets/watermark.js';
import { loadNative, scanStride, ScanStatus, type JsonScanner, type NativeAddon, type NativeStatus } from '../../../src/common/native.js';
import { NULL_REF } from '../../../src/common/batch-layout.js';
import type { BatchResult, BatchTask, WorkerInit } from '../../../src/common/protocol.js';
import type { EncodedBatch } from '../../../workers/bulk/encoder.js';
import type { SinkResult } from '../../../workers/bulk/sink.js';
import { createBatchProcessor } from '../../../workers/processor.js';
import { seededRandom } from '../../support/random.js';
import { forWorker, testWorkerInit } from '../../support/worker-init.js';

// The same records through the worker's two JSON passthroughs, the native scan and the JS decoder
// (native forced off as SLUICE_NATIVE=0 does): outcomes, failure reasons and NDJSON bytes must be
// identical. Each case also says whether the native scan should take the record or leave it to JS,
// so that a scan refusing everything cannot pass for a faithful one.

const logger = pino({ level: 'silent' });
const built = loadNative({ env: {} });
const jsOnly = loadNative({ env: { SLUICE_NATIVE: '0' } });
// maxDocBytes above the 1 MB values of the cases.
const init = (over: Parameters<typeof testWorkerInit>[0] = {}): WorkerInit => testWorkerInit({ maxDocBytes: 2 << 20, ...over });


/** A record value, and whether the native scan should accept it (undefined: either is fine). */
type Case = [value: string | Buffer | null, native: boolean | undefined, key?: string];

function task(cases: readonly Case[]) {
  const b = new BatchBuilder();
  cases.forEach(([value, , key], i) => {
    const r: KafkaRecord = {
      topic: 'Logs',
      partition: i % 2,
      offset: 100 + i,
      timestamp: Date.UTC(2026, 10, 22, 12),
      value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
      key: key === undefined ? null : Buffer.from(key),
    };
    b.add(tpKey(r.topic, r.partition), r, 0);
  });
  return forWorker(packTask([...b.runs.values()]).task);
}

/**
 * The same task as the native consumer lays it out: the bytes in a SharedArrayBuffer chunk at
 * other positions, with unrelated bytes (JSON-like, so that reading past a record's end shows)
 * before, between and after them.
 */
function inChunk(packed: BatchTask): BatchTask {
  const from = Buffer.from(packed.data);
  const filler = Buffer.from(',"next":{"x":[1,2,3]}}\n{"y":');
  const chunk = new SharedArrayBuffer(filler.length * (1 + packed.index.length) + from.length);
  const to = Buffer.from(chunk);
  const index = new Uint32Array(packed.index.length);
  let at = filler.copy(to, 0);
  for (let i = 0; i < packed.index.length; i += 2) {
    const start = packed.index[i] as number;
    if (start === NULL_REF) {
      index[i] = NULL_REF;
      index[i + 1] = NULL_REF;
      continue;
    }
    index[i] = at;
    at += from.copy(to, at, start, packed.index[i + 1]);
    index[i + 1] = at;
    at += filler.copy(to, at);
  }
  return { ...packed, data: chunk, index };
}

interface Run {
  result: BatchResult;
  ndjson: string;
  docStarts: number[];
  docRecords: number[];
}

async function run(config: WorkerInit, native: NativeStatus, cases: readonly Case[], layout: 'packed' | 'chunk' = 'packed'): Promise<Run> {
  const sent: EncodedBatch[] = [];
  const sink = {
    async index(batch: EncodedBatch): Promise<SinkResult> {
      sent.push({ ...batch, buffer: Buffer.from(batch.buffer) });
      return { failures: new Map(), bulkRequests: 1, bulkBytes: batch.buffer.length, bulkMs: [1], retries: {} };
    },
  };
  const processor = await createBatchProcessor(config, { sink, logger, native });
  const packed = task(cases);
  const result = await processor.process(layout === 'chunk' ? inChunk(packed) : packed);
  // Acknowledgement delays are measured time, not content: two runs never share them.
  result.stats.ackDelays = { counts: [], sum: 0 };
  const encoded = sent[0];
  return {
    result,
    // Latin-1 keeps every byte, invalid UTF-8 included, in a string chai can compare and show.
    ndjson: encoded ? encoded.buffer.toString('latin1') : '',
    docStarts: encoded ? Array.from(encoded.docStarts) : [],
    docRecords: encoded ? Array.from(encoded.docRecords) : [],
  };
}

/** The built addon, with a record of what its scans decided (status per record, by scan). */
function watched(addon: NativeAddon): { status: NativeStatus; decisions: number[][] } {
  const decisions: number[][] = [];
  class Watched implements JsonScanner {
    readonly #inner: JsonScanner;
    readonly #stride: number;
    constructor(paths: string[][]) {
      this.#inner = new addon.JsonScanner(paths);
      this.#stride = scanStride(paths.length);
    }
    scan(data: Uint8Array, ranges: Uint32Array, count: number, out: Uint32Array): number {
      const accepted = this.#inner.scan(data, ranges, count, out);
      decisions.push(Array.from({ length: count }, (_, r) => out[r * this.#stride] as number));
      return accepted;
    }
  }
  return { status: { path: 'native', reason: 'loaded', detail: 'watched', addon: { ...addon, JsonScanner: Watched } }, decisions };
}

/** Runs both paths and compares them; checks the native scan's decision where the case states one. */
async function same(config: WorkerInit, cases: readonly Case[]): Promise<Run> {
  if (built.path !== 'native') throw new Error('unreachable: the suite is skipped without the addon');
  const { status, decisions } = watched(built.addon);
  const viaNative = await run(config, status, cases);
  const viaJs = await run(config, jsOnly, cases);
  expect(viaNative).to.deep.equal(viaJs);
  expect(decisions).to.have.length(1);
  // The same through the native consumer's layout, on both paths.
  expect(await run(config, built, cases, 'chunk')).to.deep.equal(viaJs);
  expect(await run(config, jsOnly, cases, 'chunk')).to.deep.equal(viaJs);
  // Records are packed grouped by partition: map each case to its place in the batch.
  const order = [...cases.keys()].filter((i) => i % 2 === 0).concat([...cases.keys()].filter((i) => i % 2 === 1));
  const scanned = order.map((caseIndex, r) => [caseIndex, (decisions[0] as number[])[r] as number] as const);
  for (const [caseIndex, decision] of scanned) {
    const expected = (cases[caseIndex] as Case)[1];
    if (expected === undefined) continue;
    const value = (cases[caseIndex] as Case)[0];
    const shown = value === null ? 'null' : String(value).slice(0, 60);
    expect(decision !== ScanStatus.Js, `case ${caseIndex} (${JSON.stringify(shown)}) taken by the native scan`).to.equal(expected);
  }
  return viaNative;
}

const deep = (n: number): string => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe(`JSON passthrough: native scan and JS decoder give the same results${built.path === 'native' ? '' : ` (SKIPPED: ${built.detail})`}`, function () {
  before(function () {
    // Without the addon (no compiler at npm ci) only the JS path exists: nothing to compare.
    if (built.path !== 'native') this.skip();
  });

  it('the JS side is the one SLUICE_NATIVE=0 selects', () => {
    expect(jsOnly).to.deep.equal({ path: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' });
  });

  it('documents: compact, pretty-printed, CRLF, BOM, big and exotic numbers, duplicate keys, empty, 1 MB', async () => {
    const out = await same(init(), [
      ['{"a":1,"b":"x","c":[true,false,null],"d":{"e":-1.5e-10}}', true],
      ['{\n  "a": 1,\n  "b": [1, 2],\n  "c": "line\\nbreak"\n}\n', true],
      ['{\r\n"a": 1,\r\n"b": {\r\n"c": "\\r\\n"}\r\n}', true],
      ['\r\n\t {"lead":"and trail"} \t\r\n', true],
      [bytes([0xef, 0xbb, 0xbf], '{"bom":"ü"}'), false],
      [bytes([0xef, 0xbb, 0xbf], '{\n"bom":1\n}'), false],
      ['{"n":12345678901234567890,"m":-9223372036854775808,"u":18446744073709551615}', true],
      ['{"n":123456789012345678901234567890}', false],
      ['{"n":-18446744073709551616}', false],
      ['{"x":1e400,"y":-0,"z":0.1e-400}', undefined],
      ['{"a":1,"a":2,"a":{"b":3}}', true],
      ['{}', true],
      [' { } ', true],
      ['{"s":"\\ud83d\\ude80 \\u00e9 é 🚀 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0000"}', true],
      ['{"s":"\\ud800"}', false],
      ['{"s":"\\udc00x\\ud800"}', false],
      ['{"s":"a\u2028b\u2029c"}', true],
      [`{"big":"${'x'.repeat(1 << 20)}"}`, true],
      [`{"big":[${Array.from({ length: 50_000 }, (_, i) => i * 7).join(',')}]}`, true],
      [deep(1000), true],
      [deep(1100), false],
      [null, undefined],
    ]);
    expect(out.result.failures).to.deep.equal([]);
    expect(out.ndjson).to.include('{"n":12345678901234567890,"m":-9223372036854775808,"u":18446744073709551615}');
    expect(out.ndjson).to.include('{"n":123456789012345678901234567890}');
  });

  it('refusals: scalars, arrays and null at the top, invalid JSON, raw control characters in strings', async () => {
    const out = await same(init(), [
      ['1', false],
      ['"text"', false],
      ['[{"a":1}]', false],
      ['null', false],
      ['true', false],
      ['', false],
      ['   ', false],
      ['nope', false],
      ['{"a":1,}', false],
      ['{"a":01}', false],
      ['{"a":1}x', false],
      ['{"a":1}{"b":2}', false],
      ['{"a":"x\ny"}', false],
      ['{"a":"x\ry"}', false],
      ['{"a":"tab\there"}', false],
      ['{"a":1}\u0000', false],
      ["{'a':1}", false],
      ['{"a":NaN}', false],
      ['{"a":"\\x"}', false],
      ['{"a":"\\u12"}', false],
      ['{"a" 1}', false],
      ['{"a":1', false],
      ['{"ok":true}', true],
    ]);
    expect(out.result.failures.map((f) => f.stage)).to.deep.equal(new Array(22).fill('decode'));
  });

  it('invalid UTF-8, failed (input.invalidUtf8: fail) or replaced (replace); a real U+FFFD passes', async () => {
    const cases: Case[] = [
      [bytes('{"name":"caf', [0xe9], '"}'), false],
      [bytes('{"k', [0xff], '":1}'), false],
      [bytes('{"overlong":"', [0xc0, 0xaf], '"}'), false],
      [bytes('{"surrogate":"', [0xed, 0xa0, 0x80], '"}'), false],
      [bytes('{"cut":"', [0xe2, 0x82], '"}'), false],
      [bytes('{"cut":"', [0xe2, 0x82]), false],
      ['{"real":"\ufffd"}', true],
      ['{"fine":"ü"}', true],
    ];
    const failing = await same(init({ invalidUtf8: 'fail' }), cases);
    expect(failing.result.failures.map((f) => f.reason)).to.deep.equal(new Array(6).fill('invalid UTF-8 in JSON value'));
    const replacing = await same(init({ invalidUtf8: 'replace' }), cases);
    expect(replacing.ndjson).to.include('{"name":"caf\u00ef\u00bf\u00bd"}'); // U+FFFD as its UTF-8 bytes, read as Latin-1
  });

  it('date routing from the timestamp field: strings, numbers, missing, duplicates, out of range, other types', async () => {
    const out = await same(init({ index: { name: 'logs-{topic}-{yyyy.MM.dd}' } }), [
      ['{"@timestamp":"2026-01-05T10:00:00Z"}', true],
      ['{"@timestamp" : "2026-01-06T10:00:00+02:00" ,"x":1}', true],
      ['{"@timestamp":1767225600000}', true],
      ['{"@timestamp":1767225600000.5}', true],
      ['{"@timestamp":-1}', true],
      ['{"@timestamp":1767225600000000000}', true],
      ['{"@timestamp":"junk"}', true],
      ['{"@timestamp":""}', true],
      ['{"@timestamp":"2026-02-03"}', true],
      ['{"@timestamp":"\\u0032026-03-04T00:00:00Z"}', true],
      ['{"@timestamp":null}', true],
      ['{"@timestamp":true}', true],
      ['{"@timestamp":{"$date":"2026-01-01"}}', true],
      ['{"@timestamp":["2026-01-01"]}', true],
      ['{"@timestamp":"2026-01-01T00:00:00Z","@timestamp":"2026-02-01T00:00:00Z"}', true],
      ['{"@timestamp":"2026-01-01T00:00:00Z","@timestamp":null}', true],
      ['{"other":"2026-01-01T00:00:00Z"}', true],
      ['{"nested":{"@timestamp":"2026-01-01T00:00:00Z"}}', true],
      ['{"\\u0040timestamp":"2026-01-07T00:00:00Z"}', false],
      ['{"@timestamp":12345678901234567890123}', false],
      ['{}', true],
    ]);
    expect(out.result.failures).to.deep.equal([]);
    expect(out.ndjson).to.include('"_index":"logs-logs-2026.01.05"').and.include('"_index":"logs-logs-2026.02.01"').and.include('"_index":"logs-logs-2026.01.07"');
  });

  it('date routing from a nested timestamp path', async () => {
    await same(init({ index: { name: 'logs-{yyyy.MM}', timestampField: 'event.created' } }), [
      ['{"event":{"created":"2026-04-01T00:00:00Z"}}', true],
      ['{"event":{"created":1767225600000,"id":1}}', true],
      ['{"event":{"other":1}}', true],
      ['{"event":"2026-04-01T00:00:00Z"}', true],
      ['{"event":null}', true],
      ['{"event":7}', true],
      ['{"event.created":"2026-04-01T00:00:00Z"}', true],
      ['{"event":{"created":"2026-04-01T00:00:00Z"},"event":{"x":1}}', true],
      ['{"event":{"x":1},"event":{"created":"2026-05-01T00:00:00Z"}}', true],
      ['{"event":{"created":"2026-04-01T00:00:00Z"},"event":3}', true],
      ['{"event":{"created":{"at":"2026-04-01T00:00:00Z"}}}', true],
      ['{"event":[{"created":"2026-04-01T00:00:00Z"}]}', false],
      ['{"event":{"cre\\u0061ted":"2026-04-01T00:00:00Z"}}', false],
    ]);
  });

  it('date routing through names an object inherits, and through array indexes and length', async () => {
    await same(init({ index: { name: 'x-{yyyy}', timestampField: 'constructor' } }), [
      ['{"a":1}', true],
      ['{"constructor":"2020-01-01T00:00:00Z"}', true],
    ]);
    await same(init({ index: { name: 'x-{yyyy}', timestampField: '__proto__' } }), [
      ['{"a":1}', true],
      ['{"__proto__":"2020-01-01T00:00:00Z"}', true],
    ]);
    await same(init({ index: { name: 'x-{yyyy}', timestampField: 'list.length' } }), [
      ['{"list":[1,2,3]}', false],
      ['{"list":"abc"}', true],
    ]);
    await same(init({ index: { name: 'x-{yyyy}', timestampField: 'list.0' } }), [
      ['{"list":["2021-01-01T00:00:00Z"]}', false],
      ['{"list":{"0":"2022-01-01T00:00:00Z"}}', true],
    ]);
  });

  it('field: ids: strings, numbers, missing, nested, duplicates, inexact numbers, other types', async () => {
    const flat = await same(init({ index: { idStrategy: 'field:id' } }), [
      ['{"id":"u-1"}', true],
      ['{"id":"\\u0075-2 \\"q\\""}', true],
      ['{"id":42}', true],
      ['{"id":-0}', true],
      ['{"id":4.0}', true],
      ['{"id":4.5}', true],
      ['{"id":9007199254740991}', true],
      ['{"id":9007199254740993}', true],
      ['{"id":1e3}', true],
      ['{"id":""}', true],
      ['{"id":null}', true],
      ['{"id":false}', true],
      ['{"id":{"v":1}}', true],
      ['{"id":[1]}', true],
      ['{"id":"a","id":"b"}', true],
      ['{"id":"a","id":7.5}', true],
      ['{"other":1}', true],
      ['{"id":123456789012345678901234567890}', false],
    ]);
    expect(flat.result.failures.map((f) => [f.stage, f.reason])).to.deep.include([
      'route',
      'the number at id cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string',
    ]);
    await same(init({ index: { idStrategy: 'field:user.id', opType: 'create' } }), [
      ['{"user":{"id":"u-9","name":"x"}}', true],
      ['{"user":{"id":12}}', true],
      ['{"user":{}}', true],
      ['{"user":null}', true],
      ['{"user":"u-9"}', true],
      ['{"user":{"id":"first"},"user":{"name":"second"}}', true],
      ['{"user":{"name":"first"},"user":{"id":"second"}}', true],
      ['{"user":{"id":"a","id":"b"}}', true],
      ['{"user":[{"id":"u-1"}]}', false],
      ['{"us\\u0065r":{"id":"u-1"}}', false],
      ['{"user":{"id":"u-1"}', false],
    ]);
    await same(init({ index: { idStrategy: 'field:constructor' } }), [
      ['{"a":1}', true],
      ['{"constructor":"c-1"}', true],
    ]);
  });

  it('a timestamp path and an id path together, sharing a prefix, with versions and every op type', async () => {
    for (const opType of ['index', 'create'] as const) {
      await same(init({ index: { name: 'ev-{yyyy.MM.dd}', timestampField: 'event.created', idStrategy: 'field:event.id', opType } }), [
        ['{"event":{"created":"2026-04-01T00:00:00Z","id":"e-1"}}', true],
        ['{"event":{"id":"e-2","created":1767225600000}}', true],
        ['{"event":{"id":"e-3"}}', true],
        ['{"event":{"created":"2026-04-01T00:00:00Z"}}', true],
        ['{"event":{"id":"e-4"},"event":{"created":"2026-04-01T00:00:00Z","id":"e-5"}}', true],
        ['{"event":"flat"}', true],
        ['{\n  "event": {\n    "id": "e-6",\n    "created": "2026-04-02T00:00:00Z"\n  }\n}', true],
      ]);
    }
    await same(init({ index: { name: 'same-{yyyy}', timestampField: 'id', idStrategy: 'field:id' } }), [
      ['{"id":1767225600000}', true],
      ['{"id":"2026-01-01T00:00:00Z"}', true],
    ]);
  });

  it('index.pipeline and index.routing from fields: strings, numbers, missing, nested, duplicates, other types, defaults', async () => {
    const cases: Case[] = [
      ['{"p":"enrich","t":"tenant-1","id":"a"}', true, 'k-1'],
      ['{"p":"other","t":42,"id":"b"}', true, 'k-2'],
      ['{"t":"tenant-2","id":"c"}', true],
      ['{"p":"enrich","id":"d"}', true],
      ['{"p":"","t":"","id":"e"}', true],
      ['{"p":7,"t":9007199254740993,"id":"f"}', true],
      ['{"p":{"x":1},"t":[1],"id":"g"}', true],
      ['{"p":"a","p":"b","t":"u","t":"v","id":"h"}', true],
      ['{"p":null,"t":true,"id":"i"}', true],
      ['{"p":"\\u0065nrich","t":"t\\"q","id":"j"}', true],
      [null, undefined, 'k-3'],
      [null, undefined],
    ];
    for (const index of [
      { pipeline: 'field:p', routing: 'field:t' },
      { pipeline: 'field:p', pipelineDefault: 'plain', routing: 'field:t', routingDefault: 'shared' },
      { pipeline: 'fixed', routing: 'key' },
      { pipeline: 'field:p', routing: 'field:t', idStrategy: 'field:id', name: 'r-{yyyy}', timestampField: 'ts' },
      { routing: 'field:t', routingDefault: 'shared' },
    ]) {
      await same(init({ index }), cases);
    }
    const deleting = await same(init({ onNull: 'delete', index: { idStrategy: 'key', pipeline: 'field:m.p', routing: 'field:m.t', routingDefault: 'r0' } }), [
      ['{"m":{"p":"enrich","t":"x"}}', true, 'k-1'],
      ['{"m":{"t":"x"}}', true, 'k-2'],
      [null, undefined, 'k-1'],
    ]);
    expect(deleting.ndjson).to.include('{"delete":{"_index":"logs","_id":"k-1","routing":"r0","version":102,"version_type":"external"}}');
    await same(init({ onNull: 'delete', index: { idStrategy: 'key', routing: 'field:t' } }), [[null, undefined, 'k-1'], ['{"t":"x"}', true, 'k-2']]);
  });

  it('index names from {field:} tokens: strings, numbers, missing, nested, duplicates, invalid names, other types', async () => {
    const cases: Case[] = [
      ['{"service":{"name":"Api"},"env":"Prod","id":"a"}', true],
      ['{"service":{"name":"web"},"env":"dev","id":"b"}', true],
      ['{"service":{"name":42},"env":-7,"id":"c"}', true],
      ['{"service":{"name":"a/b"},"env":"x","id":"d"}', true],
      ['{"service":{"name":"_x"},"env":"x","id":"e"}', true],
      ['{"service":{"name":".."},"env":"x","id":"f"}', true],
      [`{"service":{"name":"${'n'.repeat(300)}"},"env":"x","id":"g"}`, true],
      ['{"service":{},"env":"x","id":"h"}', true],
      ['{"service":{"name":""},"env":"x","id":"i"}', true],
      ['{"service":{"name":1.5},"env":"x","id":"j"}', true],
      ['{"service":{"name":9007199254740993},"env":"x","id":"k"}', true],
      ['{"service":{"name":true},"env":null,"id":"l"}', true],
      ['{"service":{"name":{"x":1}},"env":[1],"id":"m"}', true],
      ['{"service":{"name":"a","name":"B"},"env":"x","env":"Y","id":"n"}', true],
      ['{"service":{"name":"\u0041pi"},"env":"x","id":"o"}', true],
      ['{"service":{"name":"Ü ber"},"env":"x","id":"p"}', true],
      ['{"service":"flat","env":"x","id":"q"}', true],
      [null, undefined],
    ];
    const out = await same(init({ index: { name: 'logs-{field:service.name}' } }), cases);
    expect(out.ndjson).to.include('"_index":"logs-api"');
    expect(out.ndjson).to.include('"_index":"logs-42"');
    expect(out.ndjson).to.include('"_index":"logs-b"');
    expect(out.result.failures.map((f) => f.stage)).to.deep.equal(new Array(10).fill('route'));
    for (const index of [
      { name: '{field:service.name}' },
      { name: '{field:env}-{field:service.name}-{topic}-{yyyy.MM}', timestampField: 'ts' },
      { name: '{field:service.name}', idStrategy: 'field:id', pipeline: 'field:env', routing: 'field:service.name' },
    ]) {
      await same(init({ index }), cases);
    }
    // Eight paths, the scanner's most: timestamp, id, pipeline, routing and four name fields.
    const eight = await same(
      init({ index: { name: '{field:a}-{field:b.c}-{field:d}-{field:e}-{yyyy}', timestampField: 'ts', idStrategy: 'field:id', pipeline: 'field:p', routing: 'field:r' } }),
      [
        ['{"a":"A","b":{"c":1},"d":"D","e":"E","ts":"2025-01-02T00:00:00Z","id":"x","p":"pp","r":"rr"}', true],
        ['{"a":"A","b":{"c":1},"d":"D","ts":"2025-01-02T00:00:00Z","id":"y","p":"pp","r":"rr"}', true],
        ...cases,
      ],
    );
    expect(eight.ndjson.split('\n').find((line) => line.includes('a-1-d-e'))).to.equal('{"index":{"_index":"a-1-d-e-2025","_id":"x","pipeline":"pp","routing":"rr","version":100,"version_type":"external"}}');
    expect(eight.result.failures.map((f) => f.reason)).to.include('document has no non-empty string or whole number within ±(2^53 − 1) at e for index.name {field:e}');
  });

  it('key ids, tombstone deletes, kafka and none ids', async () => {
    for (const idStrategy of ['key', 'kafka', 'none']) {
      await same(init({ onNull: 'delete', index: { idStrategy } }), [
        ['{"a":1}', true, 'k-1'],
        ['{"a":2}', true],
        [null, undefined, 'k-1'],
        [null, undefined],
        ['{"a":3}', true, ''],
        ['[1]', false, 'k-2'],
      ]);
    }
  });

  it('records over pipeline.maxDocBytes fail before any scan', async () => {
    const out = await same(init({ maxDocBytes: 20 }), [
      ['{"a":1}', true],
      [`{"big":"${'x'.repeat(50)}"}`, false],
      ['{"b":2}', true],
    ]);
    expect(out.result.failures.map((f) => f.stage)).to.deep.equal(['size']);
  });

  it('seeded random documents and corruptions of them', async () => {
    const random = seededRandom(20261202);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const ws = (): string => (random() < 0.7 ? '' : pick([' ', '\n', '\r\n', '\t', '  \n  ']));
    const scalar = (): string =>
      pick([
        () => JSON.stringify(pick(['', 'x', 'é', '🚀', 'a"b', 'back\\slash', 'nl\nx', '\u0000', '2026-01-05T10:00:00Z'])),
        () => String(Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1)),
        () => pick(['0', '-0', '1.5', '1e3', '-2.5E-3', '12345678901234567890', '123456789012345678901234', '1767225600000']),
        () => pick(['true', 'false', 'null']),
        () => pick(['"\\ud800"', '"\\u00e9"', '"\\ud83d\\ude80"']),
      ])();
    const value = (depth: number): string => {
      const r = random();
      if (depth > 3 || r < 0.5) return scalar();
      if (r < 0.75) return `[${ws()}${Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1)).join(`,${ws()}`)}${ws()}]`;
      return object(depth + 1);
    };
    const object = (depth: number): string => {
      const n = Math.floor(random() * 5);
      const fields = Array.from({ length: n }, () => `${ws()}${JSON.stringify(pick(['@timestamp', 'id', 'user', 'a', 'event', 'created']))}${ws()}:${ws()}${value(depth)}`);
      return `{${fields.join(',')}${ws()}}`;
    };
    const corrupt = (text: string): Buffer => {
      const b = Buffer.from(text);
      if (b.length === 0) return b;
      const at = Math.floor(random() * b.length);
      const mode = random();
      if (mode < 0.3) b[at] = Math.floor(random() * 256);
      else if (mode < 0.6) return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else return Buffer.concat([b.subarray(0, at), Buffer.from(pick(['"', ',', '}', ']', '\\', '\n', '\u00e9', '{"a":'])), b.subarray(at)]);
      return b;
    };
    const cases: Case[] = [];
    for (let i = 0; i < 600; i++) {
      const doc = `${ws()}${object(0)}${ws()}`;
      cases.push([random() < 0.3 ? corrupt(doc) : doc, undefined]);
    }
    for (const config of [
      init(),
      init({ index: { name: 'r-{yyyy.MM.dd}', idStrategy: 'field:user.id' } }),
      init({ invalidUtf8: 'replace', index: { name: 'r-{yyyy}', timestampField: 'event.created', idStrategy: 'field:id' } }),
      init({ index: { name: 'r-{yyyy}', timestampField: 'event.created', idStrategy: 'field:id', pipeline: 'field:user.id', routing: 'field:user.name' } }),
      init({ index: { name: 'r-{field:user.name}-{field:id}', timestampField: 'event.created', idStrategy: 'field:id', pipeline: 'field:user.id', routing: 'field:user.name' } }),
    ]) {
      await same(config, cases);
    }
  });
});

