import { isUtf8 } from 'node:buffer';
import { Unpackr, type Options } from 'msgpackr';

/**
 * A decoded record value, or why it could not be decoded. JSON input also returns its `text`, so a
 * document that no transform changes is sent exactly as it arrived, without serializing it again.
 */
export type Decoded = { ok: true; doc: Record<string, unknown>; text?: string } | { ok: false; reason: string };

export type Decoder = (bytes: Buffer, start: number, end: number) => Decoded;

export interface DecodeOptions {
  /** `fail` (default): a value that is not valid UTF-8 is an error; `replace`: bad bytes become U+FFFD. */
  invalidUtf8?: 'fail' | 'replace';
}

/**
 * Decoders for `input.format`. Each returns a plain object (the document before transform): a
 * top-level value that is not an object is an error, since Elasticsearch indexes only objects.
 * Bytes are never changed silently: invalid UTF-8 fails unless replacement was asked for, and
 * msgpack integers keep every digit (see below). A leading UTF-8 BOM is not data and is skipped.
 */
export function createDecoder(format: 'json' | 'msgpack' | 'text', options: DecodeOptions = {}): Decoder {
  const replace = options.invalidUtf8 === 'replace';
  switch (format) {
    case 'json':
      return (bytes, start, end) => {
        start = skipBom(bytes, start, end);
        const text = bytes.toString('utf8', start, end);
        // `toString` turns each invalid sequence into U+FFFD without a word. Only a text holding U+FFFD
        // can hide one (the bytes may also spell a real U+FFFD), so only such a text has its bytes
        // validated: the common path pays one scan of the string, no allocation.
        if (!replace && text.includes('\uFFFD') && !isUtf8(bytes.subarray(start, end))) return { ok: false, reason: 'invalid UTF-8 in JSON value' };
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
        }
        const decoded = asObject(value, 'JSON');
        if (decoded.ok) decoded.text = text;
        return decoded;
      };
    case 'msgpack': {
      // int64/uint64 values: msgpackr's default BigInt for every one of them would break documents that
      // fit JavaScript numbers; `auto` gives numbers within ±2^53 (exact) and BigInt beyond, which the
      // processor serializes as exact JSON numbers. (`auto` is in msgpackr 2.1's README, not its types.)
      const unpackr = new Unpackr({ mapsAsObjects: true, useRecords: false, int64AsType: 'auto' as Options['int64AsType'] });
      return (bytes, start, end) => {
        let value: unknown;
        try {
          value = unpackr.unpack(bytes.subarray(start, end));
        } catch (err) {
          return { ok: false, reason: `invalid msgpack: ${(err as Error).message}` };
        }
        return asObject(value, 'msgpack');
      };
    }
    case 'text': {
      // TextDecoder skips a leading BOM itself (ignoreBOM is false).
      const utf8 = new TextDecoder('utf-8', { fatal: !replace });
      return (bytes, start, end) => {
        try {
          return { ok: true, doc: { message: utf8.decode(bytes.subarray(start, end)) } };
        } catch {
          return { ok: false, reason: 'invalid UTF-8 in text value' };
        }
      };
    }
  }
}

/** Where the value starts once a leading UTF-8 byte order mark (EF BB BF) is skipped. */
function skipBom(bytes: Buffer, start: number, end: number): number {
  return end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf ? start + 3 : start;
}

function asObject(value: unknown, what: string): Decoded {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    return { ok: true, doc: value as Record<string, unknown> };
  }
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return { ok: false, reason: `top-level ${what} value must be an object (got ${got})` };
}
