import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createApmGenerator } from '../apm-data.js';
import { describeMachine } from '../machine.js';
import { compressBody } from '../../workers/bulk/compression.js';
import { createActionLines, NdjsonEncoder } from '../../workers/bulk/encoder.js';
import { createApmLogTransform } from '../../src/common/transform/apm-log.js';

/**
 * `_bulk` body compression on the bench's APM-log NDJSON: CPU seconds per MB of NDJSON and the
 * ratio, for gzip at levels 1 and 6 (zlib's default) and, for comparison only, brotli (which no
 * target accepts as a request encoding). Bodies are built as a worker builds them (apm-log transform,
 * action lines with `<topic>-<partition>-<offset>` ids) from the default batch of 5,000 records.
 * CPU is this thread's user + system time around synchronous calls, as they run in a worker.
 *
 *   node dist/bench/micro/compression.js            MICRO_DOCS (5000), MICRO_SECONDS (3) per case
 */
const DOCS = Number(process.env['MICRO_DOCS'] ?? 5000);
const SECONDS = Number(process.env['MICRO_SECONDS'] ?? 3);

function buildBody(seed: number): Buffer {
  const next = createApmGenerator(seed, Date.UTC(2026, 10, 22));
  const transform = createApmLogTransform(() => '2026-11-22T10:00:00.000Z');
  const action = createActionLines('index');
  const encoder = new NdjsonEncoder();
  for (let i = 0; i < DOCS; i++) {
    const value = next() as unknown as Record<string, unknown>;
    const doc = transform({ value, key: null, topic: 'logs', partition: i % 4, offset: i, timestamp: 0 });
    encoder.append(action('logs', `logs-${i % 4}-${i}`), JSON.stringify(doc), i);
  }
  return encoder.finish().buffer;
}

interface Case {
  name: string;
  run: (body: Buffer) => Buffer;
}

const CASES: Case[] = [
  { name: 'gzip level 1 (Sluice)', run: (b) => compressBody(b, 'gzip') },
  { name: 'gzip level 6 (zlib default)', run: (b) => gzipSync(b, { level: 6 }) },
  { name: 'brotli quality 1 (not accepted by the targets)', run: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }) },
];

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function measure(c: Case, body: Buffer): { cpuSecondsPerMB: number; mbPerCpuSecond: number; ratio: number; compressedBytes: number; runs: number } {
  const out = c.run(body); // warm-up, and the size
  let runs = 0;
  const cpu0 = cpuSeconds();
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    c.run(body);
    runs++;
  }
  const cpu = cpuSeconds() - cpu0;
  const mb = (body.length * runs) / 1e6;
  return { cpuSecondsPerMB: cpu / mb, mbPerCpuSecond: mb / cpu, ratio: body.length / out.length, compressedBytes: out.length, runs };
}

const body = buildBody(42);
const results = CASES.map((c) => ({ name: c.name, ...measure(c, body) }));
const table = [
  `NDJSON body: ${DOCS} APM-log documents, ${(body.length / 1e6).toFixed(2)} MB`,
  '| codec | CPU ms / MB | MB / CPU s | compressed KB | ratio |',
  '|---|--:|--:|--:|--:|',
  ...results.map((r) => `| ${r.name} | ${(r.cpuSecondsPerMB * 1000).toFixed(2)} | ${r.mbPerCpuSecond.toFixed(0)} | ${(r.compressedBytes / 1000).toFixed(0)} | ${r.ratio.toFixed(2)}× |`),
].join('\n');
process.stdout.write(`${table}\n`);

const dir = join(fileURLToPath(new URL('../../../bench/results', import.meta.url)));
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().slice(0, 10)}-${hostname()}-micro-compression.json`);
writeFileSync(file, `${JSON.stringify({ machine: describeMachine('n/a'), config: { docs: DOCS, seconds: SECONDS, bodyBytes: body.length }, results }, null, 2)}\n`);
process.stdout.write(`written: ${file}\n`);
