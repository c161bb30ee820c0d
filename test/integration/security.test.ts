import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, singleShardTemplate } from '../support/elasticsearch.js';
import { KAFKA_CA_FILE, KAFKA_SASL_BROKERS, KAFKA_SSL_BROKERS, KAFKA_TEST_PASSWORD, KAFKA_TEST_USER, unique } from '../support/env.js';
import { seedTopic } from '../support/data.js';
import { localServers } from '../support/services.js';
import { configFile, runToEnd, sluiceCommand, testConfig } from '../support/sluice.js';

/**
 * Sluice's own Kafka security options against the local broker's SASL_PLAINTEXT and SSL listeners
 * (test/services): a whole run over each, the secret read from a file and never logged.
 */
describe('kafka security options end to end', function () {
  this.timeout(180_000);
  before(function () {
    // The authenticated listeners and their users exist on the local broker only.
    if (!localServers) this.skip();
    return singleShardTemplate('sec-*');
  });

  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-secret-'));
  const passwordFile = join(dir, 'kafka-password');
  writeFileSync(passwordFile, `${KAFKA_TEST_PASSWORD}\n`);

  async function runOver(prefix: string, kafka: Record<string, unknown>): Promise<string> {
    const topic = unique(prefix);
    const N = 2_000;
    await seedTopic(topic, 2, N);
    const p = await runToEnd(testConfig(topic, unique('g'), { kafka }));
    expect(await count(topic)).to.equal(N);
    expect(p.logs('stopped')[0]).to.deep.include({ indexed: N, failed: 0 });
    return p.output();
  }

  it('SASL SCRAM-SHA-512 with the password from a file: every record indexed, the password never logged', async () => {
    const output = await runOver('sec-scram', { brokers: KAFKA_SASL_BROKERS, sasl: { mechanism: 'scram-sha-512', username: KAFKA_TEST_USER, passwordFile } });
    expect(output).not.to.include(KAFKA_TEST_PASSWORD);
  });

  it('TLS verified against the test CA: every record indexed', async () => {
    await runOver('sec-tls', { brokers: KAFKA_SSL_BROKERS, tls: { enabled: true, ca: KAFKA_CA_FILE } });
  });

  it('OAUTHBEARER: the token comes from the client-credentials endpoint, every record indexed, the client secret never logged', async () => {
    const clientSecret = 'oauth-client-Secret-never-logged';
    const grants: URLSearchParams[] = [];
    // An identity provider issuing unsigned JWTs, which the test broker's default validator accepts.
    const idp: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        grants.push(form);
        if (form.get('client_secret') !== clientSecret) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
        const token = `${part({ alg: 'none' })}.${part({ sub: form.get('client_id'), iat: now, exp: now + 3600 })}.`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    try {
      const tokenEndpoint = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/token`;
      const output = await runOver('sec-oauth', { brokers: KAFKA_SASL_BROKERS, sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint, clientId: 'sluice', clientSecret } } });
      expect(grants.length).to.be.at.least(1);
      expect(grants[0]?.get('grant_type')).to.equal('client_credentials');
      expect(output).not.to.include(clientSecret);

      const refused = await sluiceCommand([
        'check',
        '--config',
        configFile(testConfig(unique('sec-x'), unique('g'), { kafka: { brokers: KAFKA_SASL_BROKERS, sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint, clientId: 'sluice', clientSecret: 'wrong' } } } })),
      ]);
      expect(refused.code).to.equal(1);
      expect(refused.stdout).to.match(new RegExp(`^FAIL {2}kafka ${KAFKA_SASL_BROKERS}: cannot connect \\(OAuth token endpoint ${tokenEndpoint} answered 401`, 'm'));
    } finally {
      idp.close();
    }
  });

  it('sluice check names a refused SASL password', async () => {
    const wrong = await sluiceCommand([
      'check',
      '--config',
      configFile(testConfig(unique('sec-x'), unique('g'), { kafka: { brokers: KAFKA_SASL_BROKERS, sasl: { mechanism: 'plain', username: KAFKA_TEST_USER, password: 'not-the-password' } } })),
    ]);
    expect(wrong.code).to.equal(1, wrong.stdout);
    expect(wrong.stdout).to.match(new RegExp(`^FAIL {2}kafka ${KAFKA_SASL_BROKERS}: cannot connect \\(.*SASL authentication error: Authentication failed`, 'm'));
    expect(wrong.stdout + wrong.stderr).not.to.include('not-the-password');
  });
});
