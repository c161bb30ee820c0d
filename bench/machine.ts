import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import rdkafka from 'node-rdkafka';

export interface Machine {
  host: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  librdkafka: string;
  kafka: string;
  elasticsearch: string;
  sluiceCommit: string;
}

/** What the figures were measured on; the Kafka version is the one the local services run. */
export function describeMachine(elasticsearch: string): Machine {
  return {
    host: hostname(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    librdkafka: rdkafka.librdkafkaVersion,
    kafka: kafkaVersion(),
    elasticsearch,
    sluiceCommit: gitCommit(),
  };
}

function kafkaVersion(): string {
  try {
    const pom = readFileSync(new URL('../../test/services/kafka/pom.xml', import.meta.url), 'utf8');
    return /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workers'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} (src/workers modified)` : commit;
  } catch {
    return 'unknown';
  }
}
