import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '../machine.js';

/**
 * Rounds of a per-record micro-benchmark, for before/after comparisons on a noisy machine: each case
 * runs once unmeasured (warm-up: the JIT settles), then MICRO_ROUNDS rounds of MICRO_SECONDS each,
 * the cases interleaved (and rotated) within each round so that load from other work falls on all of
 * them alike. A round's figure is CPU ns per item (this process's user + system time, as
 * compression.ts measures it: a thread that is descheduled costs wall time, not CPU); the median of
 * the rounds is the result and min–max its spread. Wall ns per item is kept beside it.
 */
export const ROUNDS = Number(process.env['MICRO_ROUNDS'] ?? 7);
export const SECONDS = Number(process.env['MICRO_SECONDS'] ?? 1);

/** One measured operation: does one unit of work (a batch) and returns how many items it handled. */
export interface MicroCase {
  name: string;
  run: () => number | Promise<number>;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CaseResult {
  name: string;
  cpuNsPerItem: Spread;
  wallNsPerItem: Spread;
  /** CPU ns per item of each round, in round order (compare.sh pools these over runs). */
  cpuNs: number[];
  wallNs: number[];
  /** Items handled over all measured rounds. */
  items: number;
}

export async function runRounds(cases: readonly MicroCase[]): Promise<CaseResult[]> {
  for (const c of cases) await round(c);
  const raw = cases.map(() => ({ cpuNs: [] as number[], wallNs: [] as number[], items: 0 }));
  for (let r = 0; r < ROUNDS; r++) {
    process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
    for (let k = 0; k < cases.length; k++) {
      const i = (r + k) % cases.length;
      const m = await round(cases[i] as MicroCase);
      const into = raw[i] as (typeof raw)[number];
      into.cpuNs.push(m.cpuNs);
      into.wallNs.push(m.wallNs);
      into.items += m.items;
    }
  }
  return cases.map((c, i) => {
    const m = raw[i] as (typeof raw)[number];
    return { name: c.name, cpuNsPerItem: spread(m.cpuNs), wallNsPerItem: spread(m.wallNs), ...m };
  });
}

async function round(c: MicroCase): Promise<{ cpuNs: number; wallNs: number; items: number }> {
  let items = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  let t = t0;
  do {
    const n = c.run();
    // A synchronous case is not charged a microtask per operation.
    items += typeof n === 'number' ? n : await n;
    t = performance.now();
  } while (t < until);
  const cpu = process.cpuUsage(cpu0);
  return { cpuNs: ((cpu.user + cpu.system) * 1000) / items, wallNs: ((t - t0) * 1e6) / items, items };
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

/** A markdown table: median and min–max of CPU ns per item, wall ns per item, and any extra columns. */
export function formatTable(results: readonly CaseResult[], item: string, extra: Array<{ header: string; value: (r: CaseResult) => string }> = []): string {
  const ns = (v: number): string => v.toFixed(v < 100 ? 1 : 0);
  return [
    `| case | CPU ns / ${item} (median) | min–max | wall ns / ${item} (median) |${extra.map((e) => ` ${e.header} |`).join('')}`,
    `|---|--:|--:|--:|${extra.map(() => '--:|').join('')}`,
    ...results.map(
      (r) =>
        `| ${r.name} | ${ns(r.cpuNsPerItem.median)} | ${ns(r.cpuNsPerItem.min)}–${ns(r.cpuNsPerItem.max)} | ${ns(r.wallNsPerItem.median)} |${extra.map((e) => ` ${e.value(r)} |`).join('')}`,
    ),
  ].join('\n');
}

/** Writes `bench/results/<date>-<host>-micro-<name>.json` (machine, configuration, figures), as compression.ts does. */
export function writeResult(name: string, config: Record<string, unknown>, results: readonly CaseResult[]): string {
  const dir = join(fileURLToPath(new URL('../../../bench/results', import.meta.url)));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}-${hostname()}-micro-${name}.json`);
  const body = { machine: describeMachine('n/a'), config: { rounds: ROUNDS, seconds: SECONDS, ...config }, results };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
