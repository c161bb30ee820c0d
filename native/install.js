// Sluice's npm `install` script: compiles the native fast path (binding.gyp beside this file) from the
// sources of its npm dependencies, with the node-gyp that npm brings and the Node headers npm's
// configuration points to (npm hands both to the scripts it runs; node-gyp started by hand would try
// to download headers). It never fails the install: a failed build prints one warning line, keeps
// the compiler's output in build/install.log, and Sluice runs on the JS path.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const log = join(here, 'build', 'install.log');
const shown = relative(process.cwd(), log) || log;
const warn = (why) => process.stderr.write(`sluice: WARNING: native fast path not built (${why}); Sluice will run on the JS path\n`);

if (process.env.SLUICE_NATIVE === '0') {
  process.stderr.write('sluice: native fast path not built (SLUICE_NATIVE=0)\n');
} else if (!process.env.npm_config_node_gyp) {
  warn('run this script through npm, e.g. npm run install, which provides node-gyp');
} else {
  const build = spawnSync(process.execPath, [process.env.npm_config_node_gyp, 'rebuild', '--jobs=max'], {
    cwd: here,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  try {
    mkdirSync(dirname(log), { recursive: true });
    writeFileSync(log, `${build.stdout ?? ''}${build.stderr ?? ''}${build.error ? `${build.error.message}\n` : ''}`);
  } catch {
    // The log is a courtesy: failing to write it must not fail the install either.
  }
  if (build.error) warn(`node-gyp could not run: ${build.error.message}`);
  else if (build.status !== 0) warn(`node-gyp exited with ${build.status ?? build.signal}; see ${shown}`);
  else process.stderr.write('sluice: native fast path built (native/build/Release/sluice_native.node)\n');
}
