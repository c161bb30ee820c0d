#!/usr/bin/env node
import './threadpool.js';
import { readFileSync } from 'node:fs';
import { parseCommandLine } from './cli/args.js';
import { runCommand } from './cli/run.js';
import { loadConfig } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { redriveConfig } from './config/redrive.js';
import { ConfigErrors, SluiceError } from './common/errors.js';
import { createLogger } from './common/logger.js';
import { loadTransform } from './common/transform/load.js';

async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv);
  if (line.kind === 'exit') {
    if (line.stdout) process.stdout.write(line.stdout);
    if (line.stderr) process.stderr.write(line.stderr);
    return line.code;
  }
  if (line.kind === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`sluice ${pkg.version}\n`);
    return 0;
  }

  let config;
  try {
    config = loadConfig({ file: line.configFile, overrides: line.overrides });
    if (line.command === 'redrive') config = redriveConfig(config);
    await loadTransform(config.transform);
  } catch (err) {
    if (err instanceof SluiceError) {
      const lines = err instanceof ConfigErrors ? err.errors.map((e) => e.message) : [err.message];
      process.stderr.write(`sluice: invalid configuration\n${lines.map((l) => `  - ${l}`).join('\n')}\n`);
      return 2;
    }
    throw err;
  }

  switch (line.command) {
    case 'config':
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return 0;
    case 'check': {
      // Logs (token refresh and the like) go to stderr; the report is stdout. Loaded here: the check
      // brings the Elasticsearch client into this thread, which a run leaves to its workers.
      const { checkConfig } = await import('./check.js');
      const lines = await checkConfig(config, createLogger('warn', {}, 2));
      const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
      for (const l of lines) process.stdout.write(`${mark[l.level]}  ${l.message}\n`);
      const problems = lines.filter((l) => l.level === 'fail').length;
      const warnings = lines.filter((l) => l.level === 'warn').length;
      process.stdout.write(`${problems === 0 ? 'ready to run' : `${problems} problem(s)`}${warnings > 0 ? `, ${warnings} warning(s)` : ''}\n`);
      return problems === 0 ? 0 : 1;
    }
    case 'run':
      return runCommand(config, line);
    case 'redrive':
      return runCommand(config, { ...line, redrive: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
