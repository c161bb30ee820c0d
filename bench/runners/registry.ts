import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnerName } from '../config.js';
import type { RunnerSpec } from './protocol.js';

/**
 * Where a runner's `_bulk` requests go: Elasticsearch, the null sink, or nowhere (kafka-ceiling).
 * It decides how the bench counts the runner's progress and how it checks correctness.
 */
export type Sink = 'es' | 'null' | 'none';

export interface RunnerDef {
  name: RunnerName;
  /** One line for the report. */
  what: string;
  sink: Sink;
  /** Takes part in the steady-rate latency phase. */
  latency: boolean;
  /** Runs under the naive-await time cap instead of draining the backlog. */
  capped: boolean;
  /** The Sluice runner the report's "Sluice ÷ this" ratios take: same sink, same documents. */
  reference: RunnerName;
  /** The command line (and environment added to the bench's); `untilDone` asks a runner that can to stop by itself once caught up. */
  command(spec: RunnerSpec, workDir: string, untilDone: boolean): { args: string[]; ipc: boolean; readyLine?: string; env?: Record<string, string> };
}

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const script = (file: string): string => fileURLToPath(new URL(`./${file}.js`, import.meta.url));

interface SluiceOptions {
  idStrategy?: 'none';
  compression?: 'gzip';
  transform?: 'none';
  /** Added to the process's environment. */
  env?: Record<string, string>;
}

/** Sluice as a user runs it: the CLI with its defaults, the apm-log transform unless told, a config file. */
function sluice(name: RunnerName, what: string, sink: Sink, reference: RunnerName, options: SluiceOptions = {}): RunnerDef {
  const { idStrategy, compression, transform, env } = options;
  return {
    name,
    what,
    sink,
    latency: true,
    capped: false,
    reference,
    command(spec, workDir, untilDone) {
      const file = join(workDir, `${spec.groupId}.json`);
      const config = {
        kafka: { brokers: spec.brokers, groupId: spec.groupId, topics: [spec.topic] },
        elasticsearch: { node: spec.esNode, ...(compression ? { compression } : {}) },
        index: { name: spec.index, ...(idStrategy ? { idStrategy } : {}) },
        transform: transform ?? 'apm-log',
      };
      writeFileSync(file, JSON.stringify(config, null, 2));
      const args = [CLI, 'run', '--config', file, ...(untilDone ? ['--until-caught-up'] : [])];
      return { args, ipc: false, readyLine: '"msg":"partitions assigned"', ...(env ? { env } : {}) };
    },
  };
}

interface ProgramOptions {
  latency: boolean;
  capped?: boolean;
  /** Command-line arguments after the script (the variant of a runner program). */
  args?: string[];
}

function program(name: RunnerName, file: string, what: string, sink: Sink, reference: RunnerName, options: ProgramOptions): RunnerDef {
  const args = [script(file), ...(options.args ?? [])];
  return { name, what, sink, latency: options.latency, capped: options.capped ?? false, reference, command: () => ({ args, ipc: true }) };
}

export const RUNNERS: Readonly<Record<RunnerName, RunnerDef>> = {
  sluice: sluice('sluice', 'Sluice, default configuration (ids `<topic>-<partition>-<offset>`), transform apm-log', 'es', 'sluice'),
  'sluice-autoid': sluice('sluice-autoid', 'Sluice with index.idStrategy: none (Elasticsearch ids)', 'es', 'sluice', { idStrategy: 'none' }),
  'sluice-gzip': sluice('sluice-gzip', 'Sluice with elasticsearch.compression: gzip (bodies gzipped in the workers)', 'es', 'sluice', { compression: 'gzip' }),
  'sluice-passthrough': sluice('sluice-passthrough', 'Sluice with transform: none: each record value indexed as it is', 'es', 'sluice-passthrough', { transform: 'none' }),
  'sluice-js': sluice('sluice-js', 'the sluice-passthrough run with SLUICE_NATIVE=0 in its environment: the JavaScript record path instead of the native one', 'es', 'sluice-passthrough', {
    transform: 'none',
    env: { SLUICE_NATIVE: '0' },
  }),
  'kafkajs-helpers-bulk': program('kafkajs-helpers-bulk', 'kafkajs-helpers-bulk', 'KafkaJS eachBatch (partitionsConsumedConcurrently = partitions) + client.helpers.bulk, commit after each flush', 'es', 'sluice', {
    latency: true,
  }),
  'kafkajs-helpers-bulk-passthrough': program(
    'kafkajs-helpers-bulk-passthrough',
    'kafkajs-helpers-bulk',
    'kafkajs-helpers-bulk indexing each record value as it is (JSON.parse, no transform): the counterpart of sluice-passthrough',
    'es',
    'sluice-passthrough',
    { latency: true, args: ['--passthrough'] },
  ),
  'naive-await': program('naive-await', 'naive-await', 'KafkaJS eachMessage awaiting a per-record enqueue that resolves when its bulk flushes (1,000 docs or 1 s)', 'es', 'sluice', {
    latency: false,
    capped: true,
  }),
  'es-ceiling': program('es-ceiling', 'es-ceiling', 'pre-built NDJSON bodies sent straight to _bulk at the best concurrency of 1/2/4/8', 'es', 'sluice', { latency: false }),
  'kafka-ceiling': program('kafka-ceiling', 'kafka-ceiling', 'node-rdkafka consume(n) of the topic, nothing else', 'none', 'sluice', { latency: false }),
  'sluice-null': sluice('sluice-null', 'Sluice, default configuration, against the null sink', 'null', 'sluice-null'),
  'sluice-null-gzip': sluice('sluice-null-gzip', 'Sluice with elasticsearch.compression: gzip, against the null sink', 'null', 'sluice-null', { compression: 'gzip' }),
  'kafkajs-helpers-bulk-null': program('kafkajs-helpers-bulk-null', 'kafkajs-helpers-bulk', 'kafkajs-helpers-bulk against the null sink', 'null', 'sluice-null', { latency: true }),
};
