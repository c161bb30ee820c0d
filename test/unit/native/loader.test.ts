import { expect } from 'chai';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics } from '../../../src/observe/metrics.js';
import { loadNative, logNativeStatus, NATIVE_ADDON_FILE, nativeStatus, type NativeStatus } from '../../../src/common/native.js';

describe('native fast path loader', () => {
  const present = join(mkdtempSync(join(tmpdir(), 'sluice-native-')), 'addon.node');
  writeFileSync(present, '');
  const fakeAddon = {
    simdjsonVersion: '3.9.4',
    implementation: 'fallback',
    JsonScanner: class {
      scan(_data: Uint8Array, _ranges: Uint32Array, count: number, out: Uint32Array): number {
        out.fill(0);
        out[0] = 1;
        return count;
      }
    },
  };

  it('SLUICE_NATIVE=0 selects the JS path and says so, without loading anything', () => {
    let loads = 0;
    const status = loadNative({ env: { SLUICE_NATIVE: '0' }, file: present, load: () => (loads++, fakeAddon) });
    expect(status).to.deep.equal({ path: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' });
    expect(loads).to.equal(0);
  });

  it('a missing build selects the JS path and names the file', () => {
    const status = loadNative({ env: {}, file: join(tmpdir(), 'no-such-dir', 'sluice_native.node') });
    expect(status).to.include({ path: 'js', reason: 'missing' });
    expect(status.detail).to.match(/^build missing: .*no-such-dir\/sluice_native\.node/);
  });

  it('a load error selects the JS path with its message', () => {
    const status = loadNative({ env: {}, file: present, load: () => { throw new Error('undefined symbol: napi_foo'); } });
    expect(status).to.deep.equal({ path: 'js', reason: 'load_error', detail: 'load error: undefined symbol: napi_foo' });
    expect(loadNative({ env: {}, file: present, load: () => ({}) })).to.deep.include({ reason: 'load_error', detail: 'load error: the addon has no JsonScanner' });
    const broken = { ...fakeAddon, JsonScanner: class { scan(): number { return 0; } } };
    expect(loadNative({ env: {}, file: present, load: () => broken })).to.deep.include({ reason: 'load_error', detail: 'load error: the addon failed its self-test' });
  });

  it('a working addon selects the native path', () => {
    const status = loadNative({ env: { SLUICE_NATIVE: '1' }, file: present, load: () => fakeAddon });
    expect(status).to.include({ path: 'native', reason: 'loaded', detail: 'loaded: simdjson 3.9.4, fallback kernel' });
  });

  it('logs the path once as `native fast path: on|off (reason)` with structured fields', () => {
    const lines: Array<[object, string]> = [];
    const logger = { info: (fields: object, message: string) => void lines.push([fields, message]) };
    logNativeStatus(logger, { path: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' });
    logNativeStatus(logger, loadNative({ env: {}, file: present, load: () => fakeAddon }));
    expect(lines).to.deep.equal([
      [{ fastPath: 'js', reason: 'disabled', detail: 'disabled by SLUICE_NATIVE=0' }, 'native fast path: off (disabled by SLUICE_NATIVE=0)'],
      [{ fastPath: 'native', reason: 'loaded', detail: 'loaded: simdjson 3.9.4, fallback kernel' }, 'native fast path: on (loaded: simdjson 3.9.4, fallback kernel)'],
    ]);
  });

  it('loads the addon that npm ci built', function () {
    if (!existsSync(NATIVE_ADDON_FILE)) this.skip(); // not built here (no compiler at npm ci): the JS path runs
    const status: NativeStatus = loadNative({ env: {} });
    expect(status.path, status.detail).to.equal('native');
    expect(status.detail).to.match(/^loaded: simdjson 3\.9\.4, \w+ kernel$/);
  });

  it('a metric says which path runs: sluice_native{path} 1', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).to.include(`sluice_native{path="${nativeStatus().path}"} 1`);
  });
});
