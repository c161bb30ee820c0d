import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ES_URL, KAFKA_BROKERS } from './env.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface SluiceProcess {
  child: ChildProcess;
  /** Exit code (or 128 + signal number when killed). */
  exited: Promise<number>;
  /** stdout (JSON log lines) and stderr collected so far. */
  output(): string;
  /** Parsed log lines with the given `msg`. */
  logs(msg: string): Array<Record<string, unknown>>;
  /** Highest resident set size seen so far (sampled every 200 ms), in bytes. */
  peakRss(): number;
}

/** A config object for the local servers; `over` is deep-merged on top. */
export function testConfig(topic: string, groupId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    kafka: { brokers: KAFKA_BROKERS, groupId, topics: [topic], rdkafka: { 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 1_000 } },
    elasticsearch: { node: ES_URL },
    index: { name: topic },
    pipeline: { workers: 2, lingerMs: 50 },
    errors: { backoffMs: 50, maxBackoffMs: 2_000 },
    shutdown: { timeoutMs: 20_000 },
    log: { level: 'info' },
  };
  return merge(base, over);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObj(cur) && isObj(v) ? merge(cur, v) : v;
  }
  return out;
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Starts `sluice run` as its own process, as a user would. */
export function startSluice(config: Record<string, unknown>, args: string[] = [], env: NodeJS.ProcessEnv = {}): SluiceProcess {
  return startCommand('run', config, args, env);
}

/** Starts `sluice <command>` (`run` or `redrive`) as its own process. */
export function startCommand(command: 'run' | 'redrive', config: Record<string, unknown>, args: string[] = [], env: NodeJS.ProcessEnv = {}): SluiceProcess {
  const file = configFile(config);
  const child = spawn(process.execPath, [CLI, command, '--config', file, ...args], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '16', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      peak = Math.max(peak, Number(m?.[1] ?? 0) * 1024);
    } catch {
      // exited between samples
    }
  }, 200);
  sampler.unref();
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2));
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    peakRss: () => peak,
    logs: (msg) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        })
        .filter((l) => l['msg'] === msg),
  };
}

/**
 * The consumer-group changes a process went through until it began to stop (leaving the group then
 * revokes everything), from the lines src/kafka/consumer.ts logs on each assignment and each
 * revocation of partitions; a cooperative rebalance also logs empty ones, which change nothing. A
 * member that fell out of the group (its poll loop or heartbeats stopped) has its partitions
 * revoked and assigned again, so it shows here.
 */
export function groupChanges(p: SluiceProcess): { assigned: number; revoked: number } {
  const changes = { assigned: 0, revoked: 0 };
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { msg?: string; partitions?: unknown };
    if (e.msg === 'stopping: finishing in-flight batches') break;
    if (!Array.isArray(e.partitions) || e.partitions.length === 0) continue;
    if (e.msg === 'partitions assigned') changes.assigned++;
    if (e.msg === 'partitions revoked; finishing their batches') changes.revoked++;
  }
  return changes;
}

/**
 * Commits that a member made of a partition after another member had been assigned it: the stale
 * commits that could move a new owner's offsets. (A member's own revoke and unassign commit its
 * stored offsets before the partition can go to anyone else, so those are fine.)
 */
export function ownershipViolations(members: SluiceProcess[]): string[] {
  type Event = { time: number; member: number; msg: string; tps: string[] };
  const events: Event[] = [];
  members.forEach((m, member) => {
    for (const line of m.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as { time: number; msg?: string; partitions?: string[]; offsets?: string[] };
      if (e.msg === 'partitions assigned') events.push({ time: e.time, member, msg: 'assigned', tps: e.partitions ?? [] });
      if (e.msg === 'offsets committed') events.push({ time: e.time, member, msg: 'committed', tps: (e.offsets ?? []).map((o) => o.slice(0, o.lastIndexOf('@'))) });
    }
  });
  events.sort((a, b) => a.time - b.time);
  const owner = new Map<string, number>();
  const violations: string[] = [];
  for (const e of events) {
    for (const tp of e.tps) {
      if (e.msg === 'assigned') owner.set(tp, e.member);
      else if (owner.get(tp) !== e.member) violations.push(`member ${e.member} committed ${tp} at ${e.time}, owned by member ${owner.get(tp)}`);
    }
  }
  return violations;
}

/** The exit code, or 137 after killing a process still running at the deadline. */
export async function exitWithin(p: SluiceProcess, timeoutMs: number): Promise<number> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** Waits for a clean exit (status 0), failing with the process's output otherwise. */
export async function expectCleanExit(p: SluiceProcess, timeoutMs = 240_000): Promise<void> {
  const code = await exitWithin(p, timeoutMs);
  if (code !== 0) throw new Error(`sluice exited with ${code}:\n${p.output().slice(-4000)}`);
}

/** Runs sluice with --until-caught-up and fails with its output when it does not exit 0. */
export async function runToEnd(config: Record<string, unknown>, args: string[] = [], timeoutMs = 120_000): Promise<SluiceProcess> {
  const p = startSluice(config, ['--until-caught-up', ...args]);
  await expectCleanExit(p, timeoutMs);
  return p;
}

/** One line per fault scenario for the report: its duration and each process's peak RSS. */
export function reportScenario(name: string, startedAt: number, processes: SluiceProcess[]): void {
  const rss = processes.map((p) => `${Math.round(p.peakRss() / 1048576)} MiB`).join(', ');
  console.log(`      [scenario] ${name}: ${((Date.now() - startedAt) / 1000).toFixed(0)} s, peak RSS ${rss}`);
}

/** Runs a short sluice command (`check`, `config`) to its end: exit code and output. */
export function sluiceCommand(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Writes a config object to a fresh file and returns its path. */
export function configFile(config: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-config-')), 'sluice.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** The port of the metrics and health server of a running process (`metrics.port: 0`), once it listens. */
export function statusPort(p: SluiceProcess): number | undefined {
  const line = p.logs('metrics and health endpoints listening')[0];
  return typeof line?.['port'] === 'number' ? line['port'] : undefined;
}
