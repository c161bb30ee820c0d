import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The native fast path (native/): an addon built from source when `npm ci` runs. Workers scan a
 * batch's JSON records with it when no transform runs; without it, or with `SLUICE_NATIVE=0`,
 * they take the JS path, with the same results. Both threads may load it: the main thread to
 * report which path runs, each worker to use it.
 */

/** Per record, `scan` writes this many values into `out`: a status, then kind, start, end for each path. */
export const SCAN_STRIDE = 7;
/** The most paths a scanner follows (the timestamp, a `field:` id, pipeline, routing, four index-name fields). */
export const SCAN_MAX_PATHS = 8;
/**
 * Values per record for a scanner of `paths` paths: SCAN_STRIDE up to two paths (so that the common
 * scanners keep their row size), 1 + 3 per path beyond.
 */
export const scanStride = (paths: number): number => 1 + 3 * Math.max(2, paths);
export const ScanStatus = { Js: 0, Ok: 1, OkNewlines: 2 } as const;
export const TokenKind = { Absent: 0, String: 1, Number: 2, Other: 3 } as const;
/** A record start in `ranges` that `scan` skips (left to the JS path). */
export const SCAN_SKIP = 0xffff_ffff;

/** A simdjson scanner of the addon (native/json_scanner.cc); one per thread, it keeps its parser. */
export interface JsonScanner {
  /**
   * Scans `count` records of `data`, `ranges` holding [start, end) per record (start SCAN_SKIP to skip
   * one). Writes `scanStride(paths)` values per record into `out`: ScanStatus (Js: refused or unsure, left
   * to the JS decoder; Ok: a JSON object sendable as it is; OkNewlines: the same holding raw CR/LF),
   * then for each path its TokenKind and the [start, end) of its raw JSON token in `data` (strings
   * and numbers only). Returns how many records are Ok or OkNewlines.
   */
  scan(data: Uint8Array, ranges: Uint32Array, count: number, out: Uint32Array): number;
}

export interface NativeAddon {
  /** At most SCAN_MAX_PATHS paths, each split on its dots; rows of `scanStride(paths.length)` values. */
  JsonScanner: new (paths: string[][]) => JsonScanner;
  simdjsonVersion: string;
  /** simdjson's kernel chosen for this CPU (icelake, haswell, westmere, fallback, …). */
  implementation: string;
}

/** Which path runs, and why. */
export type NativeStatus =
  | { path: 'native'; reason: 'loaded'; detail: string; addon: NativeAddon }
  | { path: 'js'; reason: 'disabled' | 'missing' | 'load_error'; detail: string };

/** Where `npm ci` leaves the addon (this file runs from dist/src/common/). */
export const NATIVE_ADDON_FILE = fileURLToPath(new URL('../../../native/build/Release/sluice_native.node', import.meta.url));

export interface LoadNativeOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  load?: (file: string) => unknown;
}

/** Loads the addon unless `SLUICE_NATIVE=0`, and says which path runs and why. Never throws. */
export function loadNative(options: LoadNativeOptions = {}): NativeStatus {
  const env = options.env ?? process.env;
  const file = options.file ?? NATIVE_ADDON_FILE;
  if (env['SLUICE_NATIVE'] === '0') return { path: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' };
  if (!existsSync(file)) return { path: 'js', reason: 'missing', detail: `build missing: ${file} (npm ci builds it; it needs a C++ compiler)` };
  try {
    const addon = (options.load ?? createRequire(import.meta.url))(file) as Partial<NativeAddon>;
    if (typeof addon.JsonScanner !== 'function') throw new TypeError('the addon has no JsonScanner');
    // A scan of one object proves the build works before any record relies on it.
    const out = new Uint32Array(SCAN_STRIDE);
    if (new addon.JsonScanner([]).scan(Buffer.from('{}'), Uint32Array.of(0, 2), 1, out) !== 1 || out[0] !== ScanStatus.Ok) {
      throw new TypeError('the addon failed its self-test');
    }
    const full = addon as NativeAddon;
    return { path: 'native', reason: 'loaded', detail: `loaded: simdjson ${full.simdjsonVersion}, ${full.implementation} kernel`, addon: full };
  } catch (err) {
    return { path: 'js', reason: 'load_error', detail: `load error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

let loaded: NativeStatus | undefined;

/** The process's status, loaded once per thread. */
export function nativeStatus(): NativeStatus {
  loaded ??= loadNative();
  return loaded;
}

/** The start-up log line: `native fast path: on|off (reason)`, with its facts as fields. */
export function logNativeStatus(logger: { info(fields: object, message: string): void }, status: NativeStatus = nativeStatus()): void {
  logger.info({ fastPath: status.path, reason: status.reason, detail: status.detail }, `native fast path: ${status.path === 'native' ? 'on' : 'off'} (${status.detail})`);
}
