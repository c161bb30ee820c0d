import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { backoffDelay, sleep } from '../common/backoff.js';
import { createClient } from '../common/es-client.js';
import { ElasticsearchAuthError, SluiceError, UnsupportedServerError } from '../common/errors.js';
import { probeServer, targetName, type ServerInfo } from './server.js';

/**
 * Waits for Elasticsearch or OpenSearch to answer (it may start after Sluice), logging each failed
 * attempt. A server Sluice does not speak to (a version, or not a search engine at all) ends the run.
 */
export async function waitForElasticsearch(config: SluiceConfig, logger: Logger): Promise<ServerInfo> {
  const client = createClient(config.elasticsearch, 1);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await probeServer(client);
      } catch (err) {
        if (err instanceof UnsupportedServerError) throw err.at(targetName(config.elasticsearch));
        if (err instanceof SluiceError) throw err;
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 401) throw new ElasticsearchAuthError({ endpoint: 'GET /', statusCode: 401 }, { cause: err });
        if (status === 403) {
          // A write-only role may lack the `monitor` privilege that `GET /` needs. Plain JSON works on
          // every supported server, so the product need not be known to write.
          logger.warn({ node: config.elasticsearch.node.map(redactUrl) }, 'cannot read the server product and version (403: the credentials lack the monitor cluster privilege); sending plain JSON');
          return { product: 'unknown', version: 'unknown', major: 0, clusterName: '' };
        }
        const delay = Math.round(backoffDelay(attempt, 500, 30_000));
        logger.warn({ node: config.elasticsearch.node.map(redactUrl), err: (err as Error).message, retryInMs: delay }, 'elasticsearch not reachable yet');
        await sleep(delay);
      }
    }
  } finally {
    await client.close();
  }
}
