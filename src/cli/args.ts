import { parseArgs } from 'node:util';

export const USAGE = `Usage: sluice run --config <file> [options]
       sluice redrive --config <file> [options]
       sluice check --config <file> [options]
       sluice config --config <file> [options]

run     consumes Kafka topics and indexes every record into Elasticsearch until stopped
        (SIGTERM/SIGINT drain in-flight batches and commit; a second signal exits at once)
redrive consumes the dead-letter topic (errors.dlqTopic) in its own group (redrive.groupId)
        and indexes each record as its original would have been: the id, index and version
        of the record its sluice.source.* headers name. Records that fail again go to
        redrive.deadLetterTopic (required). Offsets, halts and stops as for run; with
        --until-caught-up it stops at the end of the dead-letter topic
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

export const COMMANDS = ['run', 'redrive', 'check', 'config'] as const;
export type Command = (typeof COMMANDS)[number];

/** What the command line asks for, or the exit status and text of a usage problem. */
export type CommandLine =
  | {
      kind: 'command';
      command: Command;
      configFile: string | undefined;
      /** Option path and value, from the flags and `--set`, in order. */
      overrides: Array<[string, string]>;
      untilCaughtUp: boolean;
      progress: boolean;
    }
  | { kind: 'exit'; code: 0 | 2; stdout?: string; stderr?: string }
  | { kind: 'version' };

/** Parses `sluice <command> [options]`; never exits, never reads files. */
export function parseCommandLine(argv: string[]): CommandLine {
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
    return { kind: 'exit', code: 2, stderr: `sluice: ${(err as Error).message}\n\n${USAGE}\n` };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'exit', code: 0, stdout: `${USAGE}\n` };
  if (values.version) return { kind: 'version' };
  const command = positionals[0];
  if (!isCommand(command) || positionals.length > 1) {
    return { kind: 'exit', code: 2, stderr: `sluice: expected the command "run", "redrive", "check" or "config"${command ? ` (got "${positionals.join(' ')}")` : ''}\n\n${USAGE}\n` };
  }

  const overrides: Array<[string, string]> = [];
  for (const [flag, path] of Object.entries(FLAG_PATHS)) {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === 'string') overrides.push([path, v]);
  }
  for (const s of values.set ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) return { kind: 'exit', code: 2, stderr: `sluice: --set takes path=value (got "${s}")\n` };
    overrides.push([s.slice(0, eq), s.slice(eq + 1)]);
  }
  return { kind: 'command', command, configFile: values.config, overrides, untilCaughtUp: values['until-caught-up'] === true, progress: values.progress === true };
}

function isCommand(word: string | undefined): word is Command {
  return (COMMANDS as readonly (string | undefined)[]).includes(word);
}
