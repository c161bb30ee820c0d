import { expect } from 'chai';
import { compatHeaders, createClient, probeServer } from '../../../src/common/es-client.js';
import { serverName } from '../../../src/common/server.js';
import { UnsupportedServerError } from '../../../src/common/errors.js';
import { answering, rootOf, type Answer } from './search-root.js';

const settings = (url: string) => ({ node: [url], cloudId: undefined, auth: {}, tls: { ca: undefined, rejectUnauthorized: true }, requestTimeoutMs: 5000 });

async function probe(answer: Answer) {
  const { url, server } = await answering(answer);
  const client = createClient(settings(url), 1);
  try {
    return await probeServer(client);
  } finally {
    await client.close();
    server.close();
  }
}

async function refusal(answer: Answer): Promise<UnsupportedServerError> {
  const err = await probe(answer).then(
    (info) => new Error(`accepted: ${JSON.stringify(info)}`),
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(UnsupportedServerError);
  expect((err as UnsupportedServerError).code).to.equal('SLUICE_ES_UNSUPPORTED');
  return err as UnsupportedServerError;
}

describe('search server detection (GET /)', () => {
  it('reads Elasticsearch 7.17, 8.19 and 9.x: product, version, major and cluster', async () => {
    expect(await probe(rootOf.elasticsearch('7.17.29'))).to.deep.equal({ product: 'elasticsearch', version: '7.17.29', major: 7, clusterName: 'logs' });
    expect(await probe(rootOf.elasticsearch('8.19.21'))).to.deep.equal({ product: 'elasticsearch', version: '8.19.21', major: 8, clusterName: 'logs' });
    expect(await probe(rootOf.elasticsearch('9.5.3'))).to.deep.equal({ product: 'elasticsearch', version: '9.5.3', major: 9, clusterName: 'logs' });
  });

  it('reads OpenSearch 2.x and 3.x, which send no X-Elastic-Product header (the client product check is off)', async () => {
    expect(await probe(rootOf.opensearch('2.19.5'))).to.deep.equal({ product: 'opensearch', version: '2.19.5', major: 2, clusterName: 'logs' });
    expect(await probe(rootOf.opensearch('3.3.0'))).to.deep.equal({ product: 'opensearch', version: '3.3.0', major: 3, clusterName: 'logs' });
  });

  it('names the server for logs and sluice check', () => {
    expect(serverName({ product: 'elasticsearch', version: '7.17.29' })).to.equal('Elasticsearch 7.17.29');
    expect(serverName({ product: 'opensearch', version: '2.19.5' })).to.equal('OpenSearch 2.19.5');
  });

  it('refuses Elasticsearch 6 and older, and 10, naming the version that answered', async () => {
    expect((await refusal(rootOf.elasticsearch('6.8.23'))).message).to.equal(
      'Elasticsearch 6.8.23 is not supported: Sluice speaks to Elasticsearch 7.x, 8.x and 9.x and OpenSearch 2.x and 3.x',
    );
    expect((await refusal(rootOf.elasticsearch('5.6.16'))).message).to.match(/^Elasticsearch 5\.6\.16 is not supported/);
    expect((await refusal(rootOf.elasticsearch('10.0.0'))).message).to.match(/^Elasticsearch 10\.0\.0 is not supported/);
  });

  it('refuses OpenSearch 1.x (end of life, untested)', async () => {
    expect((await refusal(rootOf.opensearch('1.3.20'))).message).to.match(/^OpenSearch 1\.3\.20 is not supported/);
  });

  it('refuses an HTTP server that is not a search engine, naming what answered', async () => {
    const html = await refusal({ status: 200, headers: { 'content-type': 'text/html', server: 'nginx/1.27.0' }, body: '<html>Welcome to nginx!</html>' });
    expect(html.message).to.equal('the server is not Elasticsearch or OpenSearch: GET / answered HTTP 200 (text/html, server nginx/1.27.0) without a search engine version');
    const notFound = await refusal({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'no such route' });
    expect(notFound.message).to.equal('the server is not Elasticsearch or OpenSearch: GET / answered HTTP 404 (text/plain)');
    const otherJson = await refusal({ status: 200, body: JSON.stringify({ status: 'ok', version: '1.0' }) });
    expect(otherJson.message).to.equal('the server is not Elasticsearch or OpenSearch: GET / answered HTTP 200 (application/json; charset=UTF-8) without a search engine version');
  });

  it('leaves 5xx and connection errors to the start-up wait (a node or proxy still starting)', async () => {
    const err = await probe({ status: 503, body: JSON.stringify({ error: { type: 'master_not_discovered_exception' }, status: 503 }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.not.equal(undefined);
    expect(err).to.not.be.instanceOf(UnsupportedServerError);
    expect((err as { statusCode?: number }).statusCode).to.equal(503);
  });
});

describe('media types per server', () => {
  it("Elasticsearch 8.x and 9.x get the client's compatible-with=8; 7.x, OpenSearch and an unknown server plain JSON", () => {
    const plain = { accept: 'application/json', 'content-type': 'application/x-ndjson' };
    expect(compatHeaders({ product: 'elasticsearch', major: 8 })).to.equal(undefined);
    expect(compatHeaders({ product: 'elasticsearch', major: 9 })).to.equal(undefined);
    expect(compatHeaders({ product: 'elasticsearch', major: 7 })).to.deep.equal(plain);
    expect(compatHeaders({ product: 'opensearch', major: 2 })).to.deep.equal(plain);
    expect(compatHeaders({ product: 'unknown', major: 0 })).to.deep.equal(plain);
  });

  it('a _bulk to OpenSearch goes out as plain NDJSON and its answer is read without the product check', async () => {
    const { url, server, seen } = await answering({ status: 200, body: JSON.stringify({ errors: true, items: [{ index: { status: 201 } }] }) });
    const client = createClient(settings(url), 1);
    try {
      const headers = compatHeaders({ product: 'opensearch', major: 2 });
      const res = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: '{"index":{}}\n{}\n' }, headers ? { headers } : {});
      expect(res).to.deep.equal({ errors: true, items: [{ index: { status: 201 } }] });
      expect(seen[0]).to.include({ accept: 'application/json', 'content-type': 'application/x-ndjson' });
    } finally {
      await client.close();
      server.close();
    }
  });
});
