import { expect } from 'chai';
import { pack } from 'msgpackr';
import { createDecoder } from '../../../workers/decode.js';

const buf = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s);
const run = (format: 'json' | 'msgpack' | 'text', input: string | Buffer) => {
  const b = buf(input);
  return createDecoder(format)(b, 0, b.length);
};

describe('decoders', () => {
  it('json: objects pass with their text; other top-level values and bad JSON are errors', () => {
    const ok = run('json', '{"a":1,"s":"ü"}');
    expect(ok).to.deep.equal({ ok: true, doc: { a: 1, s: 'ü' }, text: '{"a":1,"s":"ü"}' });
    expect(run('json', '[1,2]')).to.deep.equal({ ok: false, reason: 'top-level JSON value must be an object (got an array)' });
    expect(run('json', '42')).to.deep.equal({ ok: false, reason: 'top-level JSON value must be an object (got number)' });
    expect(run('json', 'null')).to.deep.equal({ ok: false, reason: 'top-level JSON value must be an object (got null)' });
    const bad = run('json', '{"a":');
    expect(bad.ok).to.equal(false);
    expect(!bad.ok && bad.reason).to.match(/^invalid JSON: /);
  });

  it('json: decodes a value in the middle of a shared buffer', () => {
    const b = Buffer.from('xx{"k":"v"}yy');
    expect(createDecoder('json')(b, 2, 11)).to.deep.include({ ok: true, doc: { k: 'v' } });
  });

  it('msgpack: maps become objects; other values and garbage are errors', () => {
    expect(run('msgpack', pack({ a: 1, nested: { b: [1, 2] } }))).to.deep.equal({ ok: true, doc: { a: 1, nested: { b: [1, 2] } } });
    expect(run('msgpack', pack('str'))).to.deep.equal({ ok: false, reason: 'top-level msgpack value must be an object (got string)' });
    const bad = run('msgpack', Buffer.from([0x82, 0xa1])); // a map of two entries, cut short
    expect(bad.ok).to.equal(false);
  });

  it('text: the value becomes {message}; invalid UTF-8 is an error', () => {
    expect(run('text', 'hello\nworld')).to.deep.equal({ ok: true, doc: { message: 'hello\nworld' } });
    expect(run('text', Buffer.from([0x66, 0xff, 0xfe]))).to.deep.equal({ ok: false, reason: 'invalid UTF-8 in text value' });
  });
});
