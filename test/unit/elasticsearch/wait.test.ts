import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answering, rootOf, type Answer } from './search-root.js';

const CLI = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));

/**
 * `sluice run` against a tiny HTTP server: the start-up wait reads `GET /` before anything touches
 * Kafka (the broker here is a closed port). Resolves once the process exits or logs `until`.
 */
async function runAgainst(answer: Answer, until?: string): Promise<{ url: string; code: number | null; stderr: string; logs: Array<Record<string, unknown>> }> {
  const { url, server } = await answering(answer);
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-start-')), 'sluice.json');
  writeFileSync(file, JSON.stringify({ kafka: { brokers: '127.0.0.1:1', groupId: 'g', topics: ['t'] }, elasticsearch: { node: url }, log: { level: 'info' } }));
  const child = spawn(process.execPath, [CLI, 'run', '--config', file], { env: { PATH: process.env['PATH'] }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const logs = (): Array<Record<string, unknown>> => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  try {
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (until !== undefined && logs().some((l) => l['msg'] === until)) resolve(null);
      });
      child.on('exit', (c) => resolve(c));
    });
    return { url, code, stderr, logs: logs() };
  } finally {
    child.kill('SIGKILL');
    server.close();
  }
}

describe('pipeline start-up: which search server answered', function () {
  this.timeout(20_000);

  it('gets past the wait on an OpenSearch node (no X-Elastic-Product header) and logs what answered', async () => {
    const r = await runAgainst(rootOf.opensearch('2.19.5'), 'elasticsearch reachable');
    expect(r.logs.filter((l) => l['msg'] === 'elasticsearch not reachable yet')).to.deep.equal([]);
    expect(r.logs.find((l) => l['msg'] === 'elasticsearch reachable')).to.include({ server: 'OpenSearch 2.19.5', cluster: 'logs' });
  });

  it('exits 1 at once naming Elasticsearch 6', async () => {
    const r = await runAgainst(rootOf.elasticsearch('6.8.23'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(
      `sluice: elasticsearch ${r.url}: Elasticsearch 6.8.23 is not supported: Sluice speaks to Elasticsearch 7.x, 8.x and 9.x and OpenSearch 2.x and 3.x\n`,
    );
  });

  it('exits 1 at once on a plain HTTP server (404), naming what answered', async () => {
    const r = await runAgainst({ status: 404, headers: { 'content-type': 'text/html', server: 'nginx/1.27.0' }, body: '<html>404 Not Found</html>' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(`sluice: elasticsearch ${r.url}: the server is not Elasticsearch or OpenSearch: GET / answered HTTP 404 (text/html, server nginx/1.27.0)\n`);
    expect(r.logs.filter((l) => l['msg'] === 'elasticsearch not reachable yet')).to.deep.equal([]);
  });

  // The worker that asks `GET /` sends its status across as data: the wait's decisions rest on it.
  it('exits 1 at once when the credentials are refused (401)', async () => {
    const r = await runAgainst({ status: 401, body: JSON.stringify({ error: { type: 'security_exception' }, status: 401 }) });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal('sluice: Elasticsearch refuses the credentials (401): check elasticsearch.auth\n');
  });

  it('goes on with plain JSON when GET / is forbidden (403: no monitor privilege)', async () => {
    const r = await runAgainst({ status: 403, body: JSON.stringify({ error: { type: 'security_exception' }, status: 403 }) }, 'elasticsearch reachable');
    expect(r.logs.map((l) => l['msg'])).to.include('cannot read the server product and version (403: the credentials lack the monitor cluster privilege); sending plain JSON');
    expect(r.logs.find((l) => l['msg'] === 'elasticsearch reachable')).to.include({ server: 'an unknown server' });
  });

  it('waits, logging each attempt, while the server answers 503', async () => {
    const r = await runAgainst({ status: 503, body: JSON.stringify({ error: { type: 'master_not_discovered_exception' }, status: 503 }) }, 'elasticsearch not reachable yet');
    const waiting = r.logs.find((l) => l['msg'] === 'elasticsearch not reachable yet');
    // The first backoff step: up to 500 ms, with jitter.
    expect(waiting?.['retryInMs']).to.be.within(1, 500);
    expect(String(waiting?.['err'])).to.include('master_not_discovered_exception');
  });
});
