import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native consumer's contract (native/kafka/): a librdkafka plugin that takes the messages of node-rdkafka's own consumer. */
export interface ConsumeResult {
  count: number;
  end: number;
  runs: Array<{ topic: string; partition: number; start: number; end: number }>;
  needBytes: number;
  error: { code: number; message: string; topic?: string; partition?: number } | null;
}

export interface KafkaAddon {
  librdkafka: string;
  consume(
    id: string,
    data: Uint8Array,
    at: number,
    index: Uint32Array,
    coords: Float64Array,
    headers: Uint32Array,
    maxMsgs: number,
    firstTimeoutMs: number,
    fillTimeoutMs: number,
    callback: (err: Error | null, result?: ConsumeResult) => void,
  ): void;
  release(id: string): void;
}

export interface NativeConsume {
  addon: KafkaAddon;
  pluginPath: string;
}

/** Which consume path runs, and why. */
export type NativeConsumeStatus =
  | { path: 'native'; reason: 'loaded'; detail: string; native: NativeConsume }
  | { path: 'js'; reason: 'disabled' | 'missing' | 'load_error'; detail: string };

/** Where `npm ci` leaves the addon (this file runs from dist/src/kafka/). */
export const KAFKA_ADDON_FILE = fileURLToPath(new URL('../../../native/kafka/build/Release/sluice_kafka.node', import.meta.url));

export interface LoadNativeConsumeOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  load?: (file: string) => unknown;
}

/**
 * Loads the native consumer unless `SLUICE_NATIVE=0`, after node-rdkafka (whose librdkafka it
 * uses: the plugin runs inside node-rdkafka's client). Never throws: any failure means the JS path.
 */
export function loadNativeConsume(options: LoadNativeConsumeOptions = {}): NativeConsumeStatus {
  const env = options.env ?? process.env;
  const file = options.file ?? KAFKA_ADDON_FILE;
  if (env['SLUICE_NATIVE'] === '0') return { path: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' };
  if (!existsSync(file)) return { path: 'js', reason: 'missing', detail: `build missing: ${file} (npm ci builds it; it needs a C++ compiler and node-rdkafka's librdkafka)` };
  try {
    const load = options.load ?? createRequire(import.meta.url);
    if (!options.load) load('node-rdkafka');
    const addon = load(file) as Partial<KafkaAddon>;
    if (typeof addon.consume !== 'function' || typeof addon.release !== 'function') throw new TypeError('the addon has no consume/release');
    const full = addon as KafkaAddon;
    return { path: 'native', reason: 'loaded', detail: `loaded: librdkafka ${full.librdkafka}`, native: { addon: full, pluginPath: file } };
  } catch (err) {
    return { path: 'js', reason: 'load_error', detail: `load error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

let loaded: NativeConsumeStatus | undefined;

/** The process's status, loaded once. */
export function nativeConsumeStatus(): NativeConsumeStatus {
  loaded ??= loadNativeConsume();
  return loaded;
}

/** The start-up log line: `native consume: on|off (reason)`, with its facts as fields. */
export function logNativeConsumeStatus(logger: { info(fields: object, message: string): void }, status: NativeConsumeStatus = nativeConsumeStatus()): void {
  logger.info({ consumePath: status.path, reason: status.reason, detail: status.detail }, `native consume: ${status.path === 'native' ? 'on' : 'off'} (${status.detail})`);
}
