import { expect } from 'chai';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import rdkafka from 'node-rdkafka';
import { loadNativeConsumer, NATIVE_CONSUMER_FILE, nativeConsumerProperties, NULL_REF, readHeaders, type NativeConsumerAddon } from '../../../src/kafka/native-consume.js';

/** The addon's header serialization: per header u32 name length, name, u32 value length (NULL_REF: null), value. */
function serialize(headers: Array<[string | Buffer, Buffer | string | null]>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  for (const [name, value] of headers) {
    const n = Buffer.isBuffer(name) ? name : Buffer.from(name);
    parts.push(u32(n.length), n);
    if (value === null) parts.push(u32(NULL_REF));
    else {
      const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
      parts.push(u32(v.length), v);
    }
  }
  return Buffer.concat(parts);
}

describe('native consume: readHeaders', () => {
  it('gives node-rdkafka’s shape: one single-key object per header, in order, duplicates kept', () => {
    const bytes = serialize([
      ['trace', 'abc'],
      ['bin', Buffer.from([0, 255, 10])],
      ['trace', 'second'],
      ['ünï', 'x'],
    ]);
    expect(readHeaders(bytes, 0, bytes.length)).to.deep.equal([
      { trace: Buffer.from('abc') },
      { bin: Buffer.from([0, 255, 10]) },
      { trace: Buffer.from('second') },
      { ünï: Buffer.from('x') },
    ]);
  });

  it('a null value is an empty Buffer (as node-rdkafka gives it), an empty value too; an empty name is a key', () => {
    const bytes = serialize([
      ['n', null],
      ['e', ''],
      ['', 'v'],
    ]);
    const headers = readHeaders(bytes, 0, bytes.length);
    expect(headers).to.deep.equal([{ n: Buffer.alloc(0) }, { e: Buffer.alloc(0) }, { '': Buffer.from('v') }]);
    expect(Buffer.isBuffer(headers[0]?.['n'])).to.equal(true);
  });

  it('reads the range only, at any position of a (shared) buffer, and copies the values', () => {
    const record = serialize([['k', 'value']]);
    const data = new Uint8Array(new SharedArrayBuffer(64));
    data.set(record, 10);
    const headers = readHeaders(data.subarray(0), 10, 10 + record.length);
    data.fill(0);
    expect(headers).to.deep.equal([{ k: Buffer.from('value') }]);
    // a view starting inside its buffer
    const view = new Uint8Array(new ArrayBuffer(40), 8, 30);
    view.set(record, 3);
    expect(readHeaders(view, 3, 3 + record.length)).to.deep.equal([{ k: Buffer.from('value') }]);
  });

  it('an empty range is a record with an empty header list', () => {
    expect(readHeaders(new Uint8Array(4), 2, 2)).to.deep.equal([]);
  });

  it('assigns names as node-rdkafka does (a header named __proto__ sets the prototype, no own key)', () => {
    const bytes = serialize([['__proto__', 'x']]);
    const [header] = readHeaders(bytes, 0, bytes.length);
    expect(Object.keys(header ?? {})).to.deep.equal([]);
  });

  it('refuses truncated or out-of-range input', () => {
    const bytes = serialize([['name', 'value']]);
    expect(() => readHeaders(bytes, 0, bytes.length - 1)).to.throw(RangeError, /malformed headers/);
    expect(() => readHeaders(bytes, 0, 6)).to.throw(RangeError, /malformed headers/);
    expect(() => readHeaders(bytes, 0, 2)).to.throw(RangeError, /malformed headers/);
    expect(() => readHeaders(bytes, 0, bytes.length + 1)).to.throw(RangeError, /outside data/);
  });
});

describe('native consume: loader', () => {
  const present = join(mkdtempSync(join(tmpdir(), 'sluice-kafka-')), 'sluice_kafka.node');
  writeFileSync(present, '');
  const fake: NativeConsumerAddon = { librdkafka: rdkafka.librdkafkaVersion, consume: () => undefined, release: () => undefined, attach: () => undefined, produce: () => undefined };

  it('SLUICE_NATIVE=0: reason, nothing loaded', () => {
    let loads = 0;
    expect(loadNativeConsumer({ env: { SLUICE_NATIVE: '0' }, file: present, load: () => (loads++, fake) })).to.deep.equal({ reason: 'SLUICE_NATIVE=0' });
    expect(loads).to.equal(0);
  });

  it('a missing build names the file', () => {
    const result = loadNativeConsumer({ env: {}, file: join(tmpdir(), 'no-such-dir', 'sluice_kafka.node') });
    expect(result).to.have.property('reason').that.matches(/^build missing: .*no-such-dir\/sluice_kafka\.node/);
  });

  it('a load error, an addon without the API and a different librdkafka give their reasons', () => {
    expect(loadNativeConsumer({ env: {}, file: present, load: () => { throw new Error('undefined symbol: rd_kafka_foo'); } })).to.deep.equal({ reason: 'load error: undefined symbol: rd_kafka_foo' });
    expect(loadNativeConsumer({ env: {}, file: present, load: () => ({ librdkafka: rdkafka.librdkafkaVersion }) })).to.deep.equal({ reason: 'load error: the addon has no consume function' });
    expect(loadNativeConsumer({ env: {}, file: present, load: () => ({ ...fake, produce: undefined }) })).to.deep.equal({ reason: 'load error: the addon has no produce function' });
    expect(loadNativeConsumer({ env: {}, file: present, load: () => ({ ...fake, librdkafka: '0.0.1' }) })).to.deep.equal({
      reason: `load error: the addon runs on librdkafka 0.0.1, node-rdkafka on ${rdkafka.librdkafkaVersion}`,
    });
  });

  it('a path librdkafka cannot take as a plugin path is refused', () => {
    const odd = join(mkdtempSync(join(tmpdir(), 'sluice;kafka-')), 'sluice_kafka.node');
    writeFileSync(odd, '');
    expect(loadNativeConsumer({ env: {}, file: odd, load: () => fake })).to.have.property('reason').that.matches(/holds a ';'/);
  });

  it('a working addon comes with its plugin path', () => {
    expect(loadNativeConsumer({ env: {}, file: present, load: () => fake })).to.deep.equal({ addon: fake, pluginPath: present });
  });

  it('the plugin properties come in the order librdkafka needs', () => {
    expect(Object.keys(nativeConsumerProperties('/x/sluice_kafka.node', 'c1'))).to.deep.equal(['plugin.library.paths', 'sluice.native.id']);
  });
});

describe('native consume: the built addon', function () {
  const loaded = existsSync(NATIVE_CONSUMER_FILE) ? loadNativeConsumer({ env: {} }) : undefined;
  before(function () {
    if (!loaded) this.skip(); // not built here (no compiler at npm ci): node-rdkafka's consume(n) runs
  });
  const addon = (): NativeConsumerAddon => {
    if (!loaded || !('addon' in loaded)) throw new Error(`not loaded: ${loaded && 'reason' in loaded ? loaded.reason : 'no build'}`);
    return loaded.addon;
  };

  it('loads beside node-rdkafka, on its librdkafka', () => {
    expect(addon().librdkafka).to.equal(rdkafka.librdkafkaVersion);
  });

  // Valid arguments for 10 rows, one replaced per case.
  const valid = (): unknown[] => ['id', new Uint8Array(100), 0, new Uint32Array(40), new Float64Array(20), new Uint32Array(20), 10, 0, 0, () => undefined];
  const call = (i: number, v: unknown) => () => {
    const args = valid();
    args[i] = v;
    (addon().consume as (...a: unknown[]) => void)(...args);
  };

  it('refuses arguments of the wrong kind, naming them', () => {
    expect(call(0, 1)).to.throw(TypeError, /consume: id must be a string/);
    expect(call(1, Buffer.alloc(0).buffer)).to.throw(TypeError, /consume: data must be a Uint8Array/);
    expect(call(1, new Uint16Array(10))).to.throw(TypeError, /consume: data must be a Uint8Array/);
    expect(call(3, new Int32Array(40))).to.throw(TypeError, /consume: index must be a Uint32Array/);
    expect(call(4, new Float32Array(20))).to.throw(TypeError, /consume: coords must be a Float64Array/);
    expect(call(5, [])).to.throw(TypeError, /consume: headers must be a Uint32Array/);
    expect(call(9, null)).to.throw(TypeError, /consume: callback must be a function/);
    expect(() => (addon().consume as (...a: unknown[]) => void)('id')).to.throw(TypeError, /expected 10 arguments/);
  });

  it('refuses out-of-range numbers and tables too short for maxMsgs', () => {
    expect(call(2, 101)).to.throw(RangeError, /consume: at must be a whole number from 0 to data.length \(100\)/);
    expect(call(2, -1)).to.throw(RangeError, /consume: at/);
    expect(call(2, 1.5)).to.throw(RangeError, /consume: at/);
    expect(call(6, 0)).to.throw(RangeError, /consume: maxMsgs/);
    expect(call(6, 11)).to.throw(RangeError, /consume: index must hold at least 4 \* maxMsgs = 44 elements, got 40/);
    expect(call(4, new Float64Array(19))).to.throw(RangeError, /consume: coords must hold at least 2 \* maxMsgs = 20 elements, got 19/);
    expect(call(5, new Uint32Array(19))).to.throw(RangeError, /consume: headers must hold at least 2 \* maxMsgs = 20 elements, got 19/);
    expect(call(7, -1)).to.throw(RangeError, /consume: firstTimeoutMs/);
    expect(call(8, 2 ** 31)).to.throw(RangeError, /consume: fillTimeoutMs/);
    expect(call(7, '5')).to.throw(RangeError, /consume: firstTimeoutMs/);
  });

  it('accepts data at its end (no room) and a view of a SharedArrayBuffer', () => {
    expect(call(2, 100)).not.to.throw();
    expect(call(1, new Uint8Array(new SharedArrayBuffer(64), 8, 32))).not.to.throw();
  });

  it('calls back with an error for an id no consumer is registered as', async () => {
    const err = await new Promise<Error | null>((resolve) =>
      addon().consume('nobody', new Uint8Array(10), 0, new Uint32Array(4), new Float64Array(2), new Uint32Array(2), 1, 0, 0, (e) => resolve(e)),
    );
    expect(err).to.be.instanceOf(Error);
    expect(err?.message).to.equal('no Kafka consumer registered as nobody');
  });

  it('release of an unknown id does nothing; a non-string id is refused', () => {
    expect(() => addon().release('nobody')).not.to.throw();
    expect(() => (addon().release as (id: unknown) => void)(7)).to.throw(TypeError, /release: id must be a string/);
  });
});
