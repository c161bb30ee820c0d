import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { createApmGenerator } from './apm-data.js';
import { createTopic, produce, type OutRecord } from './kafka-tools.js';

/**
 * `make demo`: produces a topic of APM logs into the local Kafka, runs `sluice run` on it with a
 * live progress line until every record is indexed, and prints a summary. The servers stay up.
 */
const RECORDS = Number(process.env['DEMO_RECORDS'] ?? 100_000);
const PARTITIONS = Number(process.env['DEMO_PARTITIONS'] ?? 4);
const BROKERS = `127.0.0.1:${process.env['SLUICE_KAFKA_PORT'] ?? '9092'}`;
const ES = `http://127.0.0.1:${process.env['SLUICE_ES_PORT'] ?? '9200'}`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORK = join(process.env['SLUICE_SERVICES_DIR'] ?? join(ROOT, '.services'), 'demo');

async function main(): Promise<number> {
  const runId = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const topic = `sluice-demo-${runId}`;
  const es = new Client({ node: ES });
  // One shard, no replica: a single-node cluster stays green, and bulk loading is not slowed by refreshes.
  await es.indices.putIndexTemplate({
    name: 'sluice-demo',
    index_patterns: ['sluice-demo-*'],
    template: { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '30s' } },
  });

  say(`producing ${RECORDS.toLocaleString('en-US')} APM log records to topic ${topic} (${PARTITIONS} partitions)`);
  await createTopic(BROKERS, topic, PARTITIONS);
  const next = createApmGenerator(7);
  const records = (function* (): Generator<OutRecord> {
    for (let i = 0; i < RECORDS; i++) yield { partition: i % PARTITIONS, key: `k${i}`, value: JSON.stringify(next()) };
  })();
  const t0 = Date.now();
  await produce(BROKERS, topic, records, (n) => progress(`produced ${n.toLocaleString('en-US')}`));
  process.stderr.write('\n');
  say(`produced in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  mkdirSync(join(WORK, 'logs'), { recursive: true });
  const configFile = join(WORK, `${topic}.json`);
  const logFile = join(WORK, 'logs', `${topic}.log`);
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        kafka: { brokers: BROKERS, groupId: `${topic}-indexer`, topics: [topic] },
        elasticsearch: { node: ES },
        index: { name: topic },
        transform: 'apm-log',
      },
      null,
      2,
    ),
  );
  say(`running: sluice run --config ${configFile} --until-caught-up --progress   (logs: ${logFile})`);
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'run', '--config', configFile, '--until-caught-up', '--progress'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? '16' },
  });
  const logs = createWriteStream(logFile);
  let summary: { indexed?: number; seconds?: number; activeSeconds?: number } = {};
  let tail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    logs.write(chunk);
    tail += chunk.toString();
    const lines = tail.split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"msg":"stopped"')) summary = JSON.parse(line) as typeof summary;
    }
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  logs.end();
  if (code !== 0) {
    say(`sluice exited with status ${code}; see ${logFile}`);
    return code;
  }

  await es.indices.refresh({ index: topic });
  const { count } = await es.count({ index: topic });
  const active = summary.activeSeconds ?? 0;
  console.log(`
Summary
  records produced      ${RECORDS.toLocaleString('en-US')}
  documents indexed     ${(summary.indexed ?? 0).toLocaleString('en-US')}
  Elasticsearch count   ${count.toLocaleString('en-US')}${count === RECORDS ? '  (all there)' : '  (MISMATCH)'}
  indexing time         ${active.toFixed(1)} s  (${(summary.seconds ?? 0).toFixed(1)} s with start-up and the final commit)
  throughput            ${active > 0 ? Math.round(RECORDS / active).toLocaleString('en-US') : '?'} docs/s

The servers are still running. Try:
  curl -s '${ES}/${topic}/_search?q=level:error&size=2&pretty'
  curl -s '${ES}/${topic}/_count?pretty'
Stop them with: make services-down`);
  await es.close();
  return count === RECORDS ? 0 : 1;
}

function say(line: string): void {
  process.stderr.write(`[demo] ${line}\n`);
}

function progress(line: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K[demo] ${line}` : `[demo] ${line}\n`);
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
