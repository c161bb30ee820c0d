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

describe('decoders: no silent change of data', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  const badJson = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);

  it('json: invalid UTF-8 is an error by default, U+FFFD with invalidUtf8 replace', () => {
    expect(run('json', badJson)).to.deep.equal({ ok: false, reason: 'invalid UTF-8 in JSON value' });
    expect(run('json', '{"s":"a real \ufffd stays"}')).to.deep.include({ ok: true, doc: { s: 'a real \ufffd stays' } });
    expect(createDecoder('json', { invalidUtf8: 'replace' })(badJson, 0, badJson.length)).to.deep.include({ ok: true, doc: { name: 'caf\ufffd' } });
  });

  it('json and text: a leading UTF-8 BOM is skipped', () => {
    expect(run('json', Buffer.concat([BOM, Buffer.from('{"a":"ü"}')]))).to.deep.equal({ ok: true, doc: { a: 'ü' }, text: '{"a":"ü"}' });
    expect(run('text', Buffer.concat([BOM, Buffer.from('hello')]))).to.deep.equal({ ok: true, doc: { message: 'hello' } });
    const shared = Buffer.concat([Buffer.from('xx'), BOM, Buffer.from('{"k":1}')]);
    expect(createDecoder('json')(shared, 2, shared.length)).to.deep.include({ ok: true, text: '{"k":1}' });
  });

  it('text: invalid UTF-8 becomes U+FFFD with invalidUtf8 replace', () => {
    const b = Buffer.from([0x66, 0xff, 0x67]);
    expect(createDecoder('text', { invalidUtf8: 'replace' })(b, 0, b.length)).to.deep.equal({ ok: true, doc: { message: 'f\ufffdg' } });
  });

  it('msgpack int64: safe values are numbers, larger ones exact BigInts', () => {
    const out = run('msgpack', pack({ small: 5n, big: 2n ** 63n - 1n, top: 2n ** 64n - 1n, edge: 2n ** 53n }));
    expect(out).to.deep.equal({ ok: true, doc: { small: 5, big: 2n ** 63n - 1n, top: 2n ** 64n - 1n, edge: 2 ** 53 } });
  });
});
