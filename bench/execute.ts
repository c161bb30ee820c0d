import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { processCpuSeconds, processMemory, processWrittenBytes, reapedChildrenCpuSeconds } from './measure.js';
import type { Progress } from './progress.js';
import type { RunnerMessage } from './runners/protocol.js';

export interface ExecuteOptions {
  label: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ipc: boolean;
  /** A stdout line that means the consumer owns its partitions (Sluice's log); IPC runners send `ready`. */
  readyLine?: string;
  logFile: string;
  expected: number;
  /** Documents the sink has acknowledged so far; without it, the runner's own `count` messages. */
  counter?: () => Promise<number> | number;
  /** Stop the runner (SIGTERM) this long after it started and report the rate it reached. */
  capSeconds?: number;
  timeoutSeconds: number;
  /** Latency phase: runs once the runner is ready; the runner is stopped once `expected` are counted. */
  onReady?: () => Promise<void>;
  progress: Progress;
}

export interface Execution {
  exitCode: number | null;
  timedOut: boolean;
  capped: boolean;
  /** User + system CPU of the runner process, all threads, from start (or `measure-start`) to exit. */
  cpuSeconds: number;
  peakRssBytes: number;
  /** RSS when a quarter of the documents were counted, and when the last were: flat means bounded. */
  rssAtQuarterBytes: number | undefined;
  rssAtEndBytes: number | undefined;
  /** Bytes the runner process wrote (see measure.ts), at the last sample before it exited. */
  writtenBytes: number;
  counted: number;
  /** From the first sample that saw documents to the sample that saw the final count. */
  window: { seconds: number; docs: number } | undefined;
  /** From the process start to the first documents counted: start-up, group join, first batch. */
  startupSeconds: number | undefined;
  notes: string[];
}

const SAMPLE_MS = 50;
const KILL_AFTER_MS = 30_000;

/**
 * Runs one runner in its own process and measures it from outside: CPU, memory, and progress as
 * the sink sees it, sampled every 50 ms. See measure.ts for how CPU is taken.
 */
export async function execute(o: ExecuteOptions): Promise<Execution> {
  const cpuBase = reapedChildrenCpuSeconds();
  const t0 = performance.now();
  const child = spawn(process.execPath, o.args, { env: o.env, stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid as number;
  const log = createWriteStream(o.logFile);
  const stdout = child.stdout as Readable;
  (child.stderr as Readable).pipe(log, { end: false });

  const result: Execution = {
    exitCode: null,
    timedOut: false,
    capped: false,
    cpuSeconds: 0,
    peakRssBytes: 0,
    rssAtQuarterBytes: undefined,
    rssAtEndBytes: undefined,
    writtenBytes: 0,
    counted: 0,
    window: undefined,
    startupSeconds: undefined,
    notes: [],
  };
  let cpuOffset = 0;
  let ipcCount = 0;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let tail = '';
  stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (!o.readyLine) return;
    tail += chunk.toString('utf8');
    if (tail.includes(o.readyLine)) markReady();
    tail = tail.slice(tail.lastIndexOf('\n') + 1);
  });
  child.on('message', (m: RunnerMessage) => {
    if (m.type === 'ready') markReady();
    else if (m.type === 'count') ipcCount = m.count;
    else if (m.type === 'note') result.notes.push(m.note);
    else if (m.type === 'measure-start') cpuOffset = processCpuSeconds(pid) ?? 0;
  });
  // 'close', not 'exit': the log gets the last output, and the child has been reaped.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  let first: { t: number; count: number } | undefined;
  let last = { t: t0, count: 0 };
  let sampling = false;
  const sample = async (): Promise<void> => {
    if (sampling) return;
    sampling = true;
    try {
      const mem = processMemory(pid);
      result.writtenBytes = Math.max(result.writtenBytes, processWrittenBytes(pid) ?? 0);
      const count = o.counter ? await o.counter() : ipcCount;
      const t = performance.now();
      if (mem) {
        result.peakRssBytes = Math.max(result.peakRssBytes, mem.peak);
        if (result.rssAtQuarterBytes === undefined && count >= o.expected / 4) result.rssAtQuarterBytes = mem.rss;
      }
      if (count > 0 && first === undefined) first = { t, count };
      if (count !== last.count) {
        last = { t, count };
        // RSS as the last documents are acknowledged, before shutdown releases the workers.
        if (mem) result.rssAtEndBytes = mem.rss;
      }
      result.counted = count;
      o.progress.update(count, o.expected, mem?.rss);
    } catch {
      // A failed poll (Elasticsearch busy) is just a missing sample.
    } finally {
      sampling = false;
    }
  };
  const sampler = setInterval(() => void sample(), SAMPLE_MS);

  const stop = (): void => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  const timers: NodeJS.Timeout[] = [
    setTimeout(() => {
      result.timedOut = true;
      stop();
    }, o.timeoutSeconds * 1000),
  ];
  if (o.capSeconds !== undefined) {
    timers.push(
      setTimeout(() => {
        result.capped = true;
        stop();
      }, o.capSeconds * 1000),
    );
  }
  if (o.onReady) {
    const probe = o.onReady;
    void (async () => {
      await Promise.race([ready, exited]);
      if (child.exitCode !== null) return;
      await probe();
      while (child.exitCode === null && result.counted < o.expected) await new Promise((r) => setTimeout(r, SAMPLE_MS));
      if (child.exitCode === null) stop();
    })().catch((err: unknown) => {
      result.notes.push(`latency probe failed: ${String(err)}`);
      stop();
    });
  }

  result.exitCode = await exited;
  timers.forEach(clearTimeout);
  clearInterval(sampler);
  await sample();
  result.cpuSeconds = reapedChildrenCpuSeconds() - cpuBase - cpuOffset;
  if (first !== undefined && last.t > first.t) result.window = { seconds: (last.t - first.t) / 1000, docs: last.count - first.count };
  if (first !== undefined) result.startupSeconds = (first.t - t0) / 1000;
  await new Promise<void>((resolve) => log.end(resolve));
  return result;
}
