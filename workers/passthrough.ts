import type { BatchReader } from '../src/common/batch-layout.js';
import { SCAN_SKIP, scanStride, TokenKind, type NativeAddon } from '../src/common/native.js';

/** What the native scan found for the records of one batch. */
export interface PassthroughScan {
  /** ScanStatus of record `r`: Js (decode it in JS), Ok (send its bytes), OkNewlines (the same, raw CR/LF to spaces). */
  status(r: number): number;
  /** The value at the timestamp path, as JSON.parse of the document would give it (see `valueAt`). */
  timestamp(r: number): unknown;
  /** The value at the `field:` id path, likewise. */
  id(r: number): unknown;
  /** The value at the `index.pipeline` `field:` path, likewise. */
  pipeline(r: number): unknown;
  /** The value at the `index.routing` `field:` path, likewise. */
  routing(r: number): unknown;
  /** The value at the index name's `f`-th `{field:}` path, likewise. */
  field(r: number, f: number): unknown;
}

/**
 * The JSON passthrough of a worker with the native addon (no transform, `input.format: json`): one
 * scan of a batch's records (native/json_scanner.cc) says which ones are JSON objects that can be sent
 * as their bytes, and gives the raw JSON tokens that routing reads (the timestamp field when the index
 * name has dates, the `field:` id path, the `field:` paths of `index.pipeline` and `index.routing`,
 * the index name's `{field:}` paths), which JSON.parse reads here. Records the scan refuses or is
 * unsure of take the JS decoder. Records not to scan (null values, over `maxDocBytes`) are skipped.
 */
export function createPassthrough(
  addon: NativeAddon,
  paths: {
    timestamp?: readonly string[] | undefined;
    id?: readonly string[] | undefined;
    pipeline?: readonly string[] | undefined;
    routing?: readonly string[] | undefined;
    fields?: readonly (readonly string[])[] | undefined;
  },
) {
  const list: string[][] = [];
  const timestampSlot = paths.timestamp ? list.push([...paths.timestamp]) - 1 : -1;
  const idSlot = paths.id ? list.push([...paths.id]) - 1 : -1;
  const pipelineSlot = paths.pipeline ? list.push([...paths.pipeline]) - 1 : -1;
  const routingSlot = paths.routing ? list.push([...paths.routing]) - 1 : -1;
  const fieldSlots = (paths.fields ?? []).map((p) => list.push([...p]) - 1);
  const scanner = new addon.JsonScanner(list);
  const stride = scanStride(list.length);
  let ranges = new Uint32Array(0);

  function scan(batch: BatchReader, maxDocBytes: number): PassthroughScan {
    const n = batch.count;
    if (ranges.length < 2 * n) ranges = new Uint32Array(2 * n);
    for (let r = 0; r < n; r++) {
      const start = batch.hasValue(r) ? batch.valueStart(r) : SCAN_SKIP;
      const end = start === SCAN_SKIP ? SCAN_SKIP : batch.valueEnd(r);
      ranges[2 * r] = start === SCAN_SKIP || end - start > maxDocBytes ? SCAN_SKIP : start;
      ranges[2 * r + 1] = end;
    }
    // Results per batch: a worker runs several tasks at once, so they are not shared between scans.
    const out = new Uint32Array(stride * n);
    scanner.scan(batch.bytes, ranges, n, out);
    const { bytes } = batch;
    return {
      status: (r) => out[stride * r] as number,
      timestamp: (r) => (timestampSlot < 0 ? undefined : valueAt(bytes, out, stride * r + 1 + 3 * timestampSlot)),
      id: (r) => (idSlot < 0 ? undefined : valueAt(bytes, out, stride * r + 1 + 3 * idSlot)),
      pipeline: (r) => (pipelineSlot < 0 ? undefined : valueAt(bytes, out, stride * r + 1 + 3 * pipelineSlot)),
      routing: (r) => (routingSlot < 0 ? undefined : valueAt(bytes, out, stride * r + 1 + 3 * routingSlot)),
      field: (r, f) => {
        const slot = fieldSlots[f];
        return slot === undefined ? undefined : valueAt(bytes, out, stride * r + 1 + 3 * slot);
      },
    };
  }

  return { scan };
}

/**
 * The value of one path from its kind and token. A string or number is its token read by JSON.parse,
 * as the whole document's parse would read it; an absent path is undefined. Any other value (object,
 * array, true, false, null) is given as null: what reads these values (parseTimestamp, documentId,
 * idProblem) treats every value that is neither a string nor a number alike.
 */
function valueAt(bytes: Buffer, out: Uint32Array, at: number): unknown {
  switch (out[at]) {
    case TokenKind.String:
    case TokenKind.Number:
      return JSON.parse(bytes.toString('utf8', out[at + 1], out[at + 2]));
    case TokenKind.Other:
      return null;
    default:
      return undefined;
  }
}
