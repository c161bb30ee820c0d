// Sluice's npm `install` script: compiles the two native addons from the sources of its npm
// dependencies, each its own node-gyp project so that one failing never costs the other:
//   native/        the JSON passthrough scan (simdjson), used by the workers
//   native/kafka/  the native Kafka path (batch consume, dead letters with exact header bytes), a
//                  librdkafka plugin linked against node-rdkafka's librdkafka
// It uses the node-gyp that npm brings and the Node headers npm's configuration points to (npm hands
// both to the scripts it runs; node-gyp started by hand would try to download headers). It never
// fails the install: a failed build prints one warning line saying which path Sluice will use,
// keeps the compiler's output in that project's build/install.log, and Sluice runs without it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const projects = [
  { dir: here, name: 'native fast path', addon: 'sluice_native.node', fallback: 'Sluice will run on the JS path' },
  {
    dir: join(here, 'kafka'),
    name: 'native Kafka path',
    addon: 'sluice_kafka.node',
    fallback: "Sluice will consume through node-rdkafka's consume(n), and write dead letters' header values that are not text as base64",
  },
];

function build({ dir, name, addon, fallback }) {
  const log = join(dir, 'build', 'install.log');
  const shown = relative(process.cwd(), log) || log;
  const warn = (why) => process.stderr.write(`sluice: WARNING: ${name} not built (${why}); ${fallback}\n`);
  if (!process.env.npm_config_node_gyp) return warn('run this script through npm, e.g. npm run install, which provides node-gyp');
  const result = spawnSync(process.execPath, [process.env.npm_config_node_gyp, 'rebuild', '--jobs=max'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  try {
    mkdirSync(dirname(log), { recursive: true });
    writeFileSync(log, `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `${result.error.message}\n` : ''}`);
  } catch {
    // The log is a courtesy: failing to write it must not fail the install either.
  }
  if (result.error) warn(`node-gyp could not run: ${result.error.message}`);
  else if (result.status !== 0) warn(`node-gyp exited with ${result.status ?? result.signal}; see ${shown}`);
  else process.stderr.write(`sluice: ${name} built (${relative(dirname(here), join(dir, 'build', 'Release', addon))})\n`);
}

if (process.env.SLUICE_NATIVE === '0') {
  process.stderr.write('sluice: native fast path and native Kafka path not built (SLUICE_NATIVE=0)\n');
} else {
  for (const project of projects) build(project);
}
