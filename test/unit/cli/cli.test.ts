import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));

function sluice(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-cli-')), 'sluice.yaml');
  writeFileSync(file, text);
  return file;
}

describe('sluice CLI', function () {
  this.timeout(20_000);

  it('exits 2 naming each bad option, without a stack trace', () => {
    const r = sluice(['run', '--config', configFile('kafka:\n  brokers: a:1\n  topics: []\npipeline:\n  workers: none\n')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      'sluice: invalid configuration\n  - kafka.topics must not be empty\n  - pipeline.workers must be a whole number (got string "none")\n  - kafka.groupId is required\n',
    );
  });

  it('exits 2 on an unknown command or flag, with the usage', () => {
    const r = sluice(['start']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/expected the command "run", "redrive", "check" or "config" \(got "start"\)[\s\S]*Usage: sluice run/);
    expect(sluice(['run', '--bogus']).code).to.equal(2);
  });

  it('redrive: exits 2 without its dead-letter topics, or when the one it writes is the one it reads, naming both options', () => {
    const base = 'kafka:\n  brokers: a:1\n  groupId: g\n  topics: [t]\n';
    const none = sluice(['redrive', '--config', configFile(base)]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.equal(
      'sluice: invalid configuration\n' +
        '  - errors.dlqTopic is required by sluice redrive: it is the dead-letter topic re-driven\n' +
        '  - redrive.deadLetterTopic is required by sluice redrive: records that fail again go there (a topic other than errors.dlqTopic)\n',
    );
    const same = sluice(['redrive', '--config', configFile(`${base}errors:\n  dlqTopic: t-dlq\nredrive:\n  deadLetterTopic: t-dlq\n`)]);
    expect(same.code).to.equal(2);
    expect(same.stderr).to.equal(
      'sluice: invalid configuration\n  - redrive.deadLetterTopic must differ from errors.dlqTopic (both are "t-dlq"): sluice redrive reads errors.dlqTopic, and records that fail again would land in it and be read again\n',
    );
    // The main run refuses it as well: the two options are for each other.
    expect(sluice(['run', '--config', configFile(`${base}errors:\n  dlqTopic: t-dlq\nredrive:\n  deadLetterTopic: t-dlq\n`)]).code).to.equal(2);
  });

  it('config: prints the effective configuration (file, environment, flags) with secrets redacted', () => {
    const file = configFile(
      'kafka:\n  brokers: a:1\n  groupId: g\n  topics: [t]\n  rdkafka:\n    sasl.password: hunter2\n    fetch.min.bytes: 1\nelasticsearch:\n  node: https://ops:in-the-url@es.example:9200\n  auth:\n    username: elastic\n    password: changeme\n',
    );
    const r = sluice(['config', '--config', file, '--workers', '3'], { SLUICE_INDEX_NAME: 'logs-{yyyy.MM}' });
    expect(r.code).to.equal(0, r.stderr);
    const printed = JSON.parse(r.stdout);
    expect(printed.pipeline.workers).to.equal(3);
    expect(printed.index.name).to.equal('logs-{yyyy.MM}');
    expect(printed.elasticsearch.auth).to.deep.equal({ username: 'elastic', password: '[redacted]' });
    expect(printed.kafka.rdkafka).to.deep.equal({ 'sasl.password': '[redacted]', 'fetch.min.bytes': 1 });
    expect(printed.elasticsearch.node).to.deep.equal(['https://ops:[redacted]@es.example:9200']);
    expect(r.stdout).to.not.include('hunter2').and.not.include('changeme').and.not.include('in-the-url');
  });
});
