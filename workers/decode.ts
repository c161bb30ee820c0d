import { Unpackr } from 'msgpackr';

/**
 * A decoded record value, or why it could not be decoded. JSON input also returns its `text`, so a
 * document that no transform changes is sent exactly as it arrived, without serializing it again.
 */
export type Decoded = { ok: true; doc: Record<string, unknown>; text?: string } | { ok: false; reason: string };

export type Decoder = (bytes: Buffer, start: number, end: number) => Decoded;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decoders for `input.format`. Each returns a plain object (the document before transform): a
 * top-level value that is not an object is an error, since Elasticsearch indexes only objects.
 */
export function createDecoder(format: 'json' | 'msgpack' | 'text'): Decoder {
  switch (format) {
    case 'json':
      return (bytes, start, end) => {
        const text = bytes.toString('utf8', start, end);
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
      const unpackr = new Unpackr({ mapsAsObjects: true, useRecords: false });
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
    case 'text':
      return (bytes, start, end) => {
        try {
          return { ok: true, doc: { message: utf8.decode(bytes.subarray(start, end)) } };
        } catch {
          return { ok: false, reason: 'invalid UTF-8 in text value' };
        }
      };
  }
}

function asObject(value: unknown, what: string): Decoded {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    return { ok: true, doc: value as Record<string, unknown> };
  }
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return { ok: false, reason: `top-level ${what} value must be an object (got ${got})` };
}
