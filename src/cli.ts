#!/usr/bin/env node
import './threadpool.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { checkConfig } from './check.js';
import { ConfigError, ConfigErrors, SluiceError } from './shared/errors.js';
import { createLogger } from './shared/logger.js';
import { startPipeline, type Progress } from './pipeline/start.js';
import { loadTransform } from './shared/transform/load.js';

const USAGE = `Usage: sluice run --config <file> [options]
       sluice check --config <file> [options]
       sluice config --config <file> [options]

run     consumes Kafka topics and indexes every record into Elasticsearch until stopped
        (SIGTERM/SIGINT drain in-flight batches and commit; a second signal exits at once)
check   validates the configuration, then connects to Kafka (brokers, topics, the group's
        committed offsets) and Elasticsearch (version, health, target indices, write
        permission) and reports every problem; it writes nothing
config  prints the effective configuration (file, environment and flags), secrets redacted

Options:
  -c, --config <file>       YAML or JSON configuration file
      --brokers <list>      kafka.brokers
      --group-id <id>       kafka.groupId
      --topics <list>       kafka.topics (comma-separated)
      --es-node <url>       elasticsearch.node
      --index <template>    index.name
      --workers <n>         pipeline.workers
      --log-level <level>   log.level
      --set <path=value>    any option, e.g. --set pipeline.batchDocs=2000 (repeatable)
      --until-caught-up     stop once every assigned partition is indexed to its end
      --progress            print a progress line on stderr every second
  -h, --help                this text
      --version             the version of sluice

Environment: SLUICE_<PATH> overrides the file, e.g. SLUICE_KAFKA_GROUP_ID, SLUICE_PIPELINE_WORKERS.
Exit status: 0 stopped cleanly (check: no problem), 1 failed while running (check: a problem
found), 2 invalid configuration or usage.`;

const FLAG_PATHS: Record<string, string> = {
  brokers: 'kafka.brokers',
  'group-id': 'kafka.groupId',
  topics: 'kafka.topics',
  'es-node': 'elasticsearch.node',
  index: 'index.name',
  workers: 'pipeline.workers',
  'log-level': 'log.level',
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        set: { type: 'string', multiple: true },
        'until-caught-up': { type: 'boolean' },
        progress: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        ...Object.fromEntries(Object.keys(FLAG_PATHS).map((k) => [k, { type: 'string' as const }])),
      },
    });
  } catch (err) {
    process.stderr.write(`sluice: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`sluice ${pkg.version}\n`);
    return 0;
  }
  const command = positionals[0];
  if ((command !== 'run' && command !== 'check' && command !== 'config') || positionals.length > 1) {
    process.stderr.write(`sluice: expected the command "run", "check" or "config"${command ? ` (got "${positionals.join(' ')}")` : ''}\n\n${USAGE}\n`);
    return 2;
  }

  const overrides: Array<[string, string]> = [];
  for (const [flag, path] of Object.entries(FLAG_PATHS)) {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === 'string') overrides.push([path, v]);
  }
  for (const s of values.set ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`sluice: --set takes path=value (got "${s}")\n`);
      return 2;
    }
    overrides.push([s.slice(0, eq), s.slice(eq + 1)]);
  }

  let config;
  try {
    config = loadConfig({ file: values.config, overrides });
    await loadTransform(config.transform);
  } catch (err) {
    if (err instanceof ConfigErrors || err instanceof ConfigError || err instanceof SluiceError) {
      const lines = err instanceof ConfigErrors ? err.errors.map((e) => e.message) : [err.message];
      process.stderr.write(`sluice: invalid configuration\n${lines.map((l) => `  - ${l}`).join('\n')}\n`);
      return 2;
    }
    throw err;
  }

  if (command === 'config') {
    process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    return 0;
  }

  if (command === 'check') {
    // Logs (token refresh and the like) go to stderr; the report is stdout.
    const lines = await checkConfig(config, createLogger('warn', {}, 2));
    const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
    for (const l of lines) process.stdout.write(`${mark[l.level]}  ${l.message}\n`);
    const problems = lines.filter((l) => l.level === 'fail').length;
    const warnings = lines.filter((l) => l.level === 'warn').length;
    process.stdout.write(`${problems === 0 ? 'ready to run' : `${problems} problem(s)`}${warnings > 0 ? `, ${warnings} warning(s)` : ''}\n`);
    return problems === 0 ? 0 : 1;
  }

  const logger = createLogger(config.log.level);
  const showProgress = values.progress === true;
  const pipeline = await startPipeline(config, {
    logger,
    untilCaughtUp: values['until-caught-up'] === true,
    ...(showProgress ? { onProgress: printProgress } : {}),
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now; uncommitted records will be consumed again');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    // Every stage of the stop has its own deadline; this one guards against a stage that still hangs
    // (a client call that never returns): nothing uncommitted is lost, it is consumed again.
    const graceMs = config.shutdown.timeoutMs + 20_000;
    setTimeout(() => {
      logger.error({ graceMs }, 'the stop did not finish in time; exiting now: uncommitted records will be consumed again');
      process.exit(1);
    }, graceMs).unref();
    void pipeline.stop(`${signal} received`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    const summary = await pipeline.done;
    if (showProgress) process.stderr.write('\n');
    logger.flush();
    void summary;
    return 0;
  } catch (err) {
    if (showProgress) process.stderr.write('\n');
    logger.fatal({ err }, 'sluice stopped on an error');
    process.stderr.write(`sluice: ${(err as Error).message}\n`);
    return 1;
  }
}

function printProgress(p: Progress): void {
  const mb = (p.bufferedBytes / 1048576).toFixed(1);
  const line =
    `indexed ${p.indexed.toLocaleString('en-US')}  ${Math.round(p.docsPerSecond).toLocaleString('en-US')} docs/s  ` +
    `lag ${p.lag === undefined ? '?' : p.lag.toLocaleString('en-US')}  in flight ${p.inFlightBatches} batches, ${mb} MB buffered` +
    (p.failed > 0 ? `  failed ${p.failed}` : '') +
    (p.paused ? '  (paused: budget)' : '');
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
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
