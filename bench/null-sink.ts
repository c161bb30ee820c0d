import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from './measure.js';
import type { SinkMessage, SinkQuery, SinkRequest } from './null-sink-server.js';

export type Percentiles = { p50: number; p99: number; samples: number } | undefined;

export interface NullSink {
  url: string;
  /** Starts a new count; with `latency`, records per-document latency too (see bulk-observer.ts). */
  reset(latency: boolean): Promise<void>;
  /** Documents acknowledged since the last reset. */
  docs(): Promise<number>;
  percentiles(): Promise<Percentiles>;
  /** CPU seconds the sink's process has used so far: user + system, all its threads. */
  cpuSeconds(): number | undefined;
  close(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./null-sink-server.js', import.meta.url));

/** Starts the null sink (null-sink-server.ts) in its own process and talks to it over IPC. */
export async function startNullSink(): Promise<NullSink> {
  const child = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pid = child.pid as number;
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the null sink exited with status ${code} before listening`)));
    child.on('message', (m: SinkMessage) => {
      if (m.type === 'listening') resolve(m.url);
      else pending.get(m.id)?.(m.value);
      if (m.type === 'answer') pending.delete(m.id);
    });
  });
  const ask = (query: SinkRequest): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ ...query, id } satisfies SinkQuery, (err) => {
        if (err) {
          pending.delete(id);
          reject(err);
        }
      });
    });
  return {
    url,
    reset: async (latency) => void (await ask({ op: 'reset', latency })),
    docs: async () => (await ask({ op: 'docs' })) as number,
    percentiles: async () => (await ask({ op: 'percentiles' })) as Percentiles,
    cpuSeconds: () => processCpuSeconds(pid),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.disconnect();
      await exited;
    },
  };
}
