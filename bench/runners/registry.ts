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
  /** The command line; `untilDone` asks a runner that can to stop by itself once caught up. */
  command(spec: RunnerSpec, workDir: string, untilDone: boolean): { args: string[]; ipc: boolean; readyLine?: string };
}

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const script = (file: string): string => fileURLToPath(new URL(`./${file}.js`, import.meta.url));

/** Sluice as a user runs it: the CLI with its defaults, the apm-log transform, a config file. */
function sluice(name: RunnerName, what: string, sink: Sink, options: { idStrategy?: 'none'; compression?: 'gzip' } = {}): RunnerDef {
  const { idStrategy, compression } = options;
  return {
    name,
    what,
    sink,
    latency: true,
    capped: false,
    command(spec, workDir, untilDone) {
      const file = join(workDir, `${spec.groupId}.json`);
      const config = {
        kafka: { brokers: spec.brokers, groupId: spec.groupId, topics: [spec.topic] },
        elasticsearch: { node: spec.esNode, ...(compression ? { compression } : {}) },
        index: { name: spec.index, ...(idStrategy ? { idStrategy } : {}) },
        transform: 'apm-log',
      };
      writeFileSync(file, JSON.stringify(config, null, 2));
      return { args: [CLI, 'run', '--config', file, ...(untilDone ? ['--until-caught-up'] : [])], ipc: false, readyLine: '"msg":"partitions assigned"' };
    },
  };
}

function program(name: RunnerName, file: string, what: string, sink: Sink, options: { latency: boolean; capped?: boolean }): RunnerDef {
  return { name, what, sink, latency: options.latency, capped: options.capped ?? false, command: () => ({ args: [script(file)], ipc: true }) };
}

export const RUNNERS: Readonly<Record<RunnerName, RunnerDef>> = {
  sluice: sluice('sluice', 'Sluice, default configuration (ids `<topic>-<partition>-<offset>`), transform apm-log', 'es'),
  'sluice-autoid': sluice('sluice-autoid', 'Sluice with index.idStrategy: none (Elasticsearch ids)', 'es', { idStrategy: 'none' }),
  'sluice-gzip': sluice('sluice-gzip', 'Sluice with elasticsearch.compression: gzip (bodies gzipped in the workers)', 'es', { compression: 'gzip' }),
  'kafkajs-helpers-bulk': program('kafkajs-helpers-bulk', 'kafkajs-helpers-bulk', 'KafkaJS eachBatch (partitionsConsumedConcurrently = partitions) + client.helpers.bulk, commit after each flush', 'es', {
    latency: true,
  }),
  'naive-await': program('naive-await', 'naive-await', 'KafkaJS eachMessage awaiting a per-record enqueue that resolves when its bulk flushes (1,000 docs or 1 s)', 'es', {
    latency: false,
    capped: true,
  }),
  'es-ceiling': program('es-ceiling', 'es-ceiling', 'pre-built NDJSON bodies sent straight to _bulk at the best concurrency of 1/2/4/8', 'es', { latency: false }),
  'kafka-ceiling': program('kafka-ceiling', 'kafka-ceiling', 'node-rdkafka consume(n) of the topic, nothing else', 'none', { latency: false }),
  'sluice-null': sluice('sluice-null', 'Sluice, default configuration, against the null sink', 'null'),
  'sluice-null-gzip': sluice('sluice-null-gzip', 'Sluice with elasticsearch.compression: gzip, against the null sink', 'null', { compression: 'gzip' }),
  'kafkajs-helpers-bulk-null': program('kafkajs-helpers-bulk-null', 'kafkajs-helpers-bulk', 'kafkajs-helpers-bulk against the null sink', 'null', { latency: true }),
};
