import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { redactConfig } from '../../../src/config/redact.js';
import { validateConfig } from '../../../src/config/validate.js';
import { messages, minimal } from './support.js';
import { securityProperties } from '../../../src/kafka/auth.js';
import { REDACT_PATHS } from '../../../src/common/logger.js';
import pino from 'pino';
import { Writable } from 'node:stream';

function withKafka(kafka: Record<string, unknown>): Record<string, unknown> {
  return { kafka: { ...minimal.kafka, ...kafka } };
}

describe('security options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-security-'));
  const pem = join(dir, 'ca.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n');

  it('maps kafka.tls and kafka.sasl to librdkafka properties', () => {
    const plain = validateConfig(minimal);
    expect(securityProperties(plain.kafka)).to.deep.equal({ 'security.protocol': 'plaintext' });

    const scram = validateConfig(withKafka({ tls: { enabled: true, ca: pem }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } }));
    expect(securityProperties(scram.kafka)).to.deep.equal({
      'security.protocol': 'sasl_ssl',
      'enable.ssl.certificate.verification': true,
      'ssl.ca.location': pem,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
    });

    const oauth = validateConfig(withKafka({ sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint: 'https://idp/token', clientId: 'c', clientSecret: 's' } } }));
    expect(securityProperties(oauth.kafka)).to.deep.equal({ 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'OAUTHBEARER' });
  });

  it('names incomplete or contradictory Kafka security settings', () => {
    expect(messages(() => validateConfig(withKafka({ sasl: { mechanism: 'plain', username: 'u' } })))).to.deep.equal(['kafka.sasl.password is required with kafka.sasl.mechanism plain']);
    expect(messages(() => validateConfig(withKafka({ sasl: { username: 'u', password: 'p' } })))).to.have.members([
      'kafka.sasl.username is set, but kafka.sasl.mechanism is not',
      'kafka.sasl.password is set, but kafka.sasl.mechanism is not',
    ]);
    expect(messages(() => validateConfig(withKafka({ sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint: 'idp', clientId: 'c' } } })))).to.have.members([
      'kafka.sasl.oauthbearer.clientSecret is required with kafka.sasl.mechanism oauthbearer',
      'kafka.sasl.oauthbearer.tokenEndpoint must be an http:// or https:// URL (got "idp")',
    ]);
    expect(messages(() => validateConfig(withKafka({ sasl: { mechanism: 'kerberos' } })))).to.deep.equal([
      'kafka.sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512, oauthbearer (got "kerberos")',
    ]);
    expect(messages(() => validateConfig(withKafka({ tls: { ca: pem } })))).to.deep.equal(['kafka.tls.ca is set, but kafka.tls.enabled is false']);
    const missing = join(dir, 'missing.pem');
    expect(messages(() => validateConfig(withKafka({ tls: { enabled: true, cert: missing } })))).to.have.members([
      `kafka.tls.cert cannot be read: ENOENT: no such file or directory, open '${missing}'`,
      'kafka.tls needs both cert and key for a client certificate',
    ]);
  });

  it('reads a secret from its …File option, from the file or the environment', () => {
    const secretFile = join(dir, 'es-password');
    writeFileSync(secretFile, 'from-a-file\n');
    const c = validateConfig({ ...minimal, elasticsearch: { auth: { username: 'elastic', passwordFile: secretFile } } });
    expect(c.elasticsearch.auth.password).to.equal('from-a-file');

    const saslFile = join(dir, 'sasl-password');
    writeFileSync(saslFile, 'sasl-secret');
    const env = { SLUICE_KAFKA_SASL_MECHANISM: 'plain', SLUICE_KAFKA_SASL_USERNAME: 'u', SLUICE_KAFKA_SASL_PASSWORD_FILE: saslFile };
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'kafka: { brokers: b:9092, groupId: g, topics: [t] }\n');
    expect(loadConfig({ file, env }).kafka.sasl.password).to.equal('sasl-secret');
  });

  it('names a secret file that cannot be read, is empty, or competes with the value itself', () => {
    const missing = join(dir, 'nope');
    expect(messages(() => validateConfig({ ...minimal, elasticsearch: { auth: { apiKeyFile: missing } } }))).to.deep.equal([
      `elasticsearch.auth.apiKeyFile cannot be read: ENOENT: no such file or directory, open '${missing}'`,
    ]);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(messages(() => validateConfig({ ...minimal, elasticsearch: { auth: { bearerFile: empty } } }))).to.deep.equal([`elasticsearch.auth.bearerFile names an empty file (${empty})`]);
    expect(messages(() => validateConfig({ ...minimal, elasticsearch: { auth: { bearer: 'b', bearerFile: empty } } }))).to.deep.equal([
      'elasticsearch.auth.bearerFile and elasticsearch.auth.bearer are both set; give only one',
    ]);
  });

  it('takes an Elastic Cloud id instead of node URLs, never both', () => {
    const cloud = validateConfig({ ...minimal, elasticsearch: { cloudId: 'deployment:ZXhhbXBsZS5jb20kYWJjJGRlZg==' } });
    expect(cloud.elasticsearch.node).to.deep.equal([]);
    expect(messages(() => validateConfig({ ...minimal, elasticsearch: { cloudId: 'x:eQ==', node: 'http://es:9200' } }))).to.deep.equal([
      'elasticsearch.cloudId and elasticsearch.node are both set; give only one',
    ]);
  });

  it('redacts every secret of the effective configuration, wherever it came from', () => {
    const c = validateConfig({
      kafka: {
        ...minimal.kafka,
        tls: { enabled: true, ca: pem, cert: pem, key: pem, keyPassword: 'k-secret' },
        sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint: 'https://idp/token', clientId: 'c', clientSecret: 'o-secret' } },
        rdkafka: { 'sasl.oauthbearer.client.secret': 'r-secret', 'ssl.keystore.password': 'ks-secret' },
      },
      elasticsearch: { auth: { apiKey: 'a-secret' } },
    });
    const printed = JSON.stringify(redactConfig(c));
    for (const secret of ['k-secret', 'o-secret', 'r-secret', 'ks-secret', 'a-secret']) expect(printed).not.to.include(secret);
    expect(printed).to.include('"clientId":"c"');
  });

  it('keeps secrets out of log lines, however deep they sit', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    logger.info({ config: { elasticsearch: { auth: { username: 'u', password: 'l-secret-1' } } } }, 'a');
    logger.info({ kafka: { sasl: { password: 'l-secret-2', oauthbearer: { clientSecret: 'l-secret-3' } } } }, 'b');
    logger.info({ rdkafka: { 'sasl.password': 'l-secret-4' } }, 'c');
    logger.error({ err: { message: 'Response Error', meta: { meta: { request: { params: { headers: { authorization: 'ApiKey l-secret-5' } } } } } } }, 'd');
    const text = lines.join('');
    expect(lines).to.have.length(4);
    for (let i = 1; i <= 5; i++) expect(text).not.to.include(`l-secret-${i}`);
  });
});
