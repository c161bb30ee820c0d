import { readFileSync } from 'node:fs';

/** The part of V8's `.cpuprofile` format this summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  fn: string;
  where: string;
  selfShare: number;
}

/**
 * Functions by self time (samples where they were on top of the stack), highest first, as shares
 * of the thread's busy samples; `idleShare` is how much of the time the thread waited. The program
 * and garbage-collector pseudo-frames are kept.
 */
export function hotSpots(file: string, top: number): { spots: HotSpot[]; sampledMs: number; idleShare: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; hits: number }>();
  let busy = 0;
  let idle = 0;
  for (const id of profile.samples ?? []) {
    const node = byNode.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle++;
      continue;
    }
    const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = self.get(key) ?? { fn: functionName || '(anonymous)', where, hits: 0 };
    entry.hits++;
    self.set(key, entry);
    busy++;
  }
  const spots = [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfShare: busy > 0 ? e.hits / busy : 0 }));
  const sampledMs = (profile.timeDeltas ?? []).reduce((a, b) => a + b, 0) / 1000;
  return { spots, sampledMs, idleShare: busy + idle > 0 ? idle / (busy + idle) : 0 };
}
