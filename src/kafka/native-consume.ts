import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NULL_REF } from '../common/batch-layout.js';

export { NULL_REF };

/**
 * The native consume path (native/kafka/): an addon built from source when `npm ci` runs, which
 * drains a node-rdkafka consumer's queue into caller-owned typed arrays, one call per batch instead
 * of one JS object per message. node-rdkafka keeps its `rd_kafka_t` to itself, so the addon is also a
 * librdkafka plugin: a consumer created with `nativeConsumerProperties(pluginPath, id)` among its
 * global properties is registered under `id` when it connects and unregistered when it disconnects.
 * A producer registered so writes dead letters through the addon, its header values byte for byte
 * (src/dlq/producer.ts). Without the addon, or with `SLUICE_NATIVE=0`, Sluice consumes through
 * node-rdkafka's `consume(n)` and produces through its `produce`.
 */

/*
 * A call's rows are the batch layout's (src/common/batch-layout.ts): [valueStart, valueEnd, keyStart,
 * keyEnd] in `index` (INDEX_STRIDE, NULL_REF start and end for null), [offset, timestamp] in `coords`
 * (COORD_STRIDE; the timestamp -1 when the record has none), and [start, end) of the serialized
 * headers in `headers` (NULL_REF both when it has none).
 */

/** Rows [start, end) of one topic-partition, in offset order. */
export interface ConsumeRun {
  topic: string;
  partition: number;
  start: number;
  end: number;
}

/** A message error that stopped a call (librdkafka's error code and message). */
export interface ConsumeMessageError {
  /** rd_kafka_resp_err_t, as node-rdkafka's CODES.ERRORS. */
  code: number;
  message: string;
  topic?: string;
  partition?: number;
}

export interface ConsumeResult {
  /** Records written: rows 0..count-1 of index, coords and headers. */
  count: number;
  /** One past the last byte written into data (>= at). */
  end: number;
  /** Each topic-partition's rows, contiguous, covering 0..count-1. */
  runs: ConsumeRun[];
  /**
   * > 0: a message did not fit between `end` and data.length and is kept (with all after it) for the
   * next call, which needs at least this many bytes of room; 0: nothing was kept for lack of room.
   */
  needBytes: number;
  /** The message error that stopped the call (rows before it are delivered, messages after it kept). */
  error: ConsumeMessageError | null;
}

/** The addon's API (native/kafka/sluice_kafka.cc). */
export interface NativeConsumerAddon {
  /** rd_kafka_version_str() of the librdkafka it runs on. */
  librdkafka: string;
  /**
   * Fills `data` from `at` and rows 0.. of the tables with the consumer's records, as async work on
   * the libuv pool: kept messages first (those of partitions no longer assigned are dropped: their
   * next owner reads them from the committed offset), then one `rd_kafka_consumer_poll` waiting up
   * to `firstTimeoutMs` (0 when kept ones were delivered), then one batch call taking up to
   * `maxMsgs` in all within `fillTimeoutMs`. `data` may be a view of a SharedArrayBuffer; no array may be detached
   * while the call runs. Throws on bad arguments and on a second call for `id` before the first's
   * callback; calls back with an Error when no consumer is registered as `id`, or when the poll
   * itself failed and nothing was consumed.
   */
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
  /** Destroys the messages kept for `id` (call it before disconnecting). Idempotent; throws while a call is in flight. */
  release(id: string): void;
  /**
   * Where the outcomes of `produce(id, …)` go: `code` 0 when Kafka acknowledged the message, else
   * librdkafka's error (rd_kafka_resp_err_t) and its text. Once per producer, after it connected;
   * the function does not keep the process alive.
   */
  attach(id: string, onDelivery: (token: number, code: number, message: string) => void): void;
  /**
   * Produces one message (copied) through the producer registered as `id`, its header values
   * byte for byte (node-rdkafka's `produce` turns them into text). Its outcome goes to the attached
   * function with `token`. Throws an Error with librdkafka's `code` when librdkafka refuses it at
   * once (a full queue, a message too large); no outcome comes for it then.
   */
  produce(
    id: string,
    topic: string,
    value: Uint8Array | null,
    key: Uint8Array | null,
    timestamp: number,
    headerNames: string[],
    headerValues: Array<Uint8Array | string>,
    token: number,
  ): void;
}

export type NativeConsumerLoad = { addon: NativeConsumerAddon; pluginPath: string } | { reason: string };

/** Where `npm ci` leaves the addon (this file runs from dist/src/kafka/). */
export const NATIVE_CONSUMER_FILE = fileURLToPath(new URL('../../../native/kafka/build/Release/sluice_kafka.node', import.meta.url));

export interface LoadNativeConsumerOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  load?: (file: string) => unknown;
}

/**
 * Loads the addon unless `SLUICE_NATIVE=0`, after node-rdkafka (whose librdkafka it shares), and
 * returns it with the path librdkafka must load as a plugin; otherwise the reason. Never throws.
 */
export function loadNativeConsumer(options: LoadNativeConsumerOptions = {}): NativeConsumerLoad {
  const env = options.env ?? process.env;
  const file = options.file ?? NATIVE_CONSUMER_FILE;
  if (env['SLUICE_NATIVE'] === '0') return { reason: 'SLUICE_NATIVE=0' };
  if (!existsSync(file)) return { reason: `build missing: ${file} (npm ci builds it; it needs a C++ compiler and node-rdkafka's librdkafka)` };
  // plugin.library.paths is a ;-separated list.
  if (file.includes(';')) return { reason: `its path holds a ';', which librdkafka's plugin.library.paths cannot take: ${file}` };
  try {
    const require = createRequire(import.meta.url);
    const rdkafka = require('node-rdkafka') as { librdkafkaVersion: string };
    const addon = (options.load ?? require)(file) as Partial<NativeConsumerAddon>;
    for (const name of ['consume', 'release', 'attach', 'produce'] as const) {
      if (typeof addon[name] !== 'function') throw new TypeError(`the addon has no ${name} function`);
    }
    // Two librdkafka copies would each have their own clients: the plugin would never see node-rdkafka's.
    if (addon.librdkafka !== rdkafka.librdkafkaVersion) {
      throw new TypeError(`the addon runs on librdkafka ${String(addon.librdkafka)}, node-rdkafka on ${rdkafka.librdkafkaVersion}`);
    }
    return { addon: addon as NativeConsumerAddon, pluginPath: file };
  } catch (err) {
    return { reason: `load error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The consumer's global properties that load the plugin and register the client as `id` (unique per
 * consumer in the process). In this order: librdkafka hands `sluice.native.id` to the plugin only
 * once the plugin is loaded, and node-rdkafka sets properties in the object's key order.
 */
export function nativeConsumerProperties(pluginPath: string, id: string): { 'plugin.library.paths': string; 'sluice.native.id': string } {
  return { 'plugin.library.paths': pluginPath, 'sluice.native.id': id };
}

/**
 * A record's headers as node-rdkafka gives them (`message.headers`): one single-key object per
 * header, in order, its value a Buffer (a copy), a null value as an empty Buffer, the name decoded as
 * UTF-8. Parses the addon's serialization of `data[start, end)`: per header, u32 name length, name,
 * u32 value length (NULL_REF: null), value, little-endian.
 */
export function readHeaders(data: Uint8Array, start: number, end: number): Array<Record<string, Buffer>> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const need = (at: number, n: number): void => {
    if (at + n > end) throw new RangeError(`malformed headers at ${at}: ${n} bytes needed before ${end}`);
  };
  if (start < 0 || end > data.length || start > end) throw new RangeError(`headers range [${start}, ${end}) is outside data (${data.length} bytes)`);
  const headers: Array<Record<string, Buffer>> = [];
  let at = start;
  while (at < end) {
    need(at, 4);
    const nameLength = view.getUint32(at, true);
    need(at + 4, nameLength);
    const name = bytes.toString('utf8', at + 4, at + 4 + nameLength);
    at += 4 + nameLength;
    need(at, 4);
    const valueLength = view.getUint32(at, true);
    at += 4;
    let value: Buffer;
    if (valueLength === NULL_REF) {
      value = Buffer.alloc(0);
    } else {
      need(at, valueLength);
      value = Buffer.copyBytesFrom(data, at, valueLength);
      at += valueLength;
    }
    // Assigned, not defined, as node-rdkafka sets it (a name such as __proto__ behaves the same).
    const header: Record<string, Buffer> = {};
    header[name] = value;
    headers.push(header);
  }
  return headers;
}

/** The loaded addon and the path librdkafka loads it from as a plugin. */
export type NativeConsume = { addon: NativeConsumerAddon; pluginPath: string };

/** Which consume path runs, and why. */
export type NativeConsumeStatus = { path: 'native'; detail: string; native: NativeConsume } | { path: 'js'; detail: string };

let loaded: NativeConsumeStatus | undefined;

/** The process's consume path, the addon loaded once. */
export function nativeConsumeStatus(): NativeConsumeStatus {
  if (!loaded) {
    const load = loadNativeConsumer();
    loaded = 'reason' in load ? { path: 'js', detail: load.reason } : { path: 'native', detail: `librdkafka ${load.addon.librdkafka}`, native: load };
  }
  return loaded;
}

/** The start-up log line: `native consume: on|off (why)`. */
export function logNativeConsumeStatus(logger: { info(fields: object, message: string): void }, status: NativeConsumeStatus = nativeConsumeStatus()): void {
  logger.info({ consumePath: status.path, detail: status.detail }, `native consume: ${status.path === 'native' ? 'on' : 'off'} (${status.detail})`);
}
