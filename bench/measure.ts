import { readFileSync } from 'node:fs';

/**
 * Measures a runner from outside, as the kernel sees it. Worker threads are threads of the same
 * process, so process-level figures include them.
 *
 * CPU comes from the parent's own `cutime + cstime` (/proc/self/stat): the kernel adds a child's
 * whole user + system time there when the child is reaped, so nothing between the last sample and
 * the exit is missed. Runners are run one at a time, so the difference across one run is that
 * runner's CPU. Memory is sampled from /proc/<pid>/status.
 */
/** USER_HZ: /proc reports times in 1/100 s on every Linux architecture Node.js runs on. */
const TICKS = 100;

/** CPU seconds of every reaped child of this process so far. */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('/proc/self/stat');
  return (Number(f[13]) + Number(f[14])) / TICKS;
}

/** CPU seconds a live process has used so far (all its threads). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const f = statFields(`/proc/${pid}/stat`);
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** Resident set size now and its peak (VmHWM), in bytes; undefined once the process is gone or a zombie. */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb('VmRSS');
  const peak = kb('VmHWM');
  return rss === undefined || peak === undefined ? undefined : { rss, peak };
}

/**
 * Bytes a live process has written so far (`wchar` of /proc/<pid>/io): counted by write() and
 * writev(), which Node's sockets and stdout use, so it is the runner's HTTP requests (`_bulk`
 * bodies, as on the wire) plus its log output. librdkafka sends with sendmsg(), which is not counted.
 */
export function processWrittenBytes(pid: number): number | undefined {
  try {
    const m = /^wchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of a /proc stat line after the command name (which may hold spaces): index 0 is `state`. */
function statFields(path: string): string[] {
  const line = readFileSync(path, 'utf8');
  return line.slice(line.lastIndexOf(')') + 2).split(' ');
}
