import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { validateConfig } from '../../../src/config/validate.js';
import { InternalError, KafkaError, OAuthTokenError } from '../../../src/common/errors.js';
import { createTokenSource } from '../../../src/kafka/auth.js';

const logger = pino({ level: 'silent' });

/** An OAuth token endpoint stand-in: answers the n-th request with `answer(n, form)`. */
async function tokenEndpoint(answer: (n: number, form: URLSearchParams) => { status: number; body: unknown }): Promise<{ url: string; server: Server; forms: URLSearchParams[] }> {
  const forms: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      forms.push(form);
      const a = answer(forms.length, form);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, server, forms };
}

function kafkaWith(tokenEndpointUrl: string) {
  return validateConfig({
    kafka: { brokers: 'b:9092', groupId: 'g', topics: ['t'], sasl: { mechanism: 'oauthbearer', oauthbearer: { tokenEndpoint: tokenEndpointUrl, clientId: 'sluice', clientSecret: 's3cret', scope: 'kafka' } } },
  }).kafka;
}

describe('OAuth token source (kafka.sasl.mechanism oauthbearer)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('fetches a token with the client-credentials grant and hands each refreshed token to every client', async () => {
    const idp = await tokenEndpoint((n) => ({ status: 200, body: { access_token: `token-${n}`, token_type: 'Bearer', expires_in: 0.25 } }));
    server = idp.server;
    const source = createTokenSource(kafkaWith(idp.url), logger);
    await source.start();
    const seen: string[] = [];
    source.attach({ setOauthBearerToken: (t: string) => seen.push(t) });
    expect(seen).to.deep.equal(['token-1']);
    // Refreshed at 80 % of the 250 ms lifetime: wait for two refreshes, however loaded the machine.
    const deadline = Date.now() + 5_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    source.close();
    expect(seen.slice(0, 3)).to.deep.equal(['token-1', 'token-2', 'token-3']);
    expect(Object.fromEntries(idp.forms[0]!)).to.deep.equal({ grant_type: 'client_credentials', client_id: 'sluice', client_secret: 's3cret', scope: 'kafka' });
  });

  it('fails start-up with an error naming the endpoint and its answer', async () => {
    const idp = await tokenEndpoint(() => ({ status: 401, body: { error: 'invalid_client' } }));
    server = idp.server;
    const source = createTokenSource(kafkaWith(idp.url), logger);
    try {
      await source.start();
      expect.fail('start should have failed');
    } catch (err) {
      expect(err).to.be.instanceOf(KafkaError).and.instanceOf(OAuthTokenError);
      expect((err as Error).message).to.equal(`OAuth token endpoint ${idp.url} answered 401: {"error":"invalid_client"}`);
      expect(err).to.deep.include({ code: 'SLUICE_KAFKA_OAUTH', retriable: false, endpoint: idp.url, problem: { kind: 'status', status: 401, body: '{"error":"invalid_client"}' } });
    }
  });

  it('refuses to attach a client before the first token', () => {
    const source = createTokenSource(kafkaWith('http://127.0.0.1:9/token'), logger);
    expect(() => source.attach({ setOauthBearerToken: () => undefined })).to.throw(InternalError, 'token source not started');
  });
});
