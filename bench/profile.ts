import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBenchConfig } from './config.js';
import { hotSpots } from './cpu-profile.js';
import { deleteTopics, produceDataSet } from './dataset.js';
import { createEsAdmin } from './es-admin.js';
import { createProgress } from './progress.js';

/**
 * `make profile`: Sluice (default configuration, apm-log transform) drains a bench topic three
 * times — under clinic doctor, under clinic flame, and with V8's --cpu-prof, which also profiles
 * every worker thread (workers inherit the process's execArgv) — then prints where the reports are
 * and the hottest functions of the main thread and of each worker.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const CLINIC = join(ROOT, 'node_modules', 'clinic', 'bin.js');
const INDEX = 'sluice-profile';

async function main(): Promise<void> {
  const config = loadBenchConfig({ BENCH_DOCS: '100000', ...process.env });
  const runId = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const out = join(ROOT, 'bench', '.work', `profile-${runId}`);
  const clinicDir = join(out, 'clinic');
  const cpuDir = join(out, 'cpuprofile');
  mkdirSync(cpuDir, { recursive: true });
  const es = createEsAdmin(config.esNode);
  const progress = createProgress();
  const topic = `sluice-profile-${runId}`;
  progress.start('producing');
  await produceDataSet(config.brokers, topic, config.docs, config.partitions, config.seed, (n) => progress.update(n, config.docs, undefined));
  progress.done(`${config.docs.toLocaleString('en-US')} records in ${topic}`);

  const sluiceArgs = (run: string): string[] => {
    const file = join(out, `${run}.json`);
    const sluiceConfig = {
      kafka: { brokers: config.brokers, groupId: `${topic}-${run}`, topics: [topic] },
      elasticsearch: { node: config.esNode },
      index: { name: INDEX },
      transform: 'apm-log',
    };
    writeFileSync(file, JSON.stringify(sluiceConfig, null, 2));
    return [CLI, 'run', '--config', file, '--until-caught-up', '--progress'];
  };
  // clinic asks to send usage statistics unless NO_INSIGHT is set, and would wait for an answer.
  const clinicEnv = { ...process.env, NO_INSIGHT: '1' };
  try {
    for (const tool of ['doctor', 'flame'] as const) {
      await es.recreate(INDEX);
      say(`clinic ${tool}`);
      await run(process.execPath, [CLINIC, tool, '--open=false', `--dest=${clinicDir}`, '--', process.execPath, ...sluiceArgs(tool)], clinicEnv, ROOT);
    }
    await es.recreate(INDEX);
    say('--cpu-prof (main thread and every worker thread)');
    await run(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${cpuDir}`, ...sluiceArgs('cpuprof')], process.env, ROOT);
  } finally {
    await es.delete(INDEX);
    await deleteTopics(config.brokers, [topic]);
    await es.close();
  }

  // --cpu-prof names each file CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
  for (const file of readdirSync(cpuDir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const thread = Number(file.split('.')[4]);
    const { spots, sampledMs, idleShare } = hotSpots(join(cpuDir, file), 8);
    const name = thread === 0 ? 'main thread' : `worker thread ${thread}`;
    process.stdout.write(`\n${name} — ${file}: ${(sampledMs / 1000).toFixed(1)} s sampled, ${(idleShare * 100).toFixed(0)} % idle; share of busy time:\n`);
    for (const s of spots) process.stdout.write(`  ${(s.selfShare * 100).toFixed(1).padStart(5)} %  ${s.fn}  ${s.where}\n`);
  }
  process.stdout.write(`\nclinic reports (open in a browser): ${clinicDir}/*.html\nV8 CPU profiles (Chrome DevTools → Performance → Load profile): ${cpuDir}\n`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.slice(0, 3).join(' ')} … exited with status ${code}`))));
  });
}

function say(line: string): void {
  process.stderr.write(`[profile] ${line}\n`);
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
