import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { backoffDelay, sleep } from '../common/backoff.js';
import { ElasticsearchAuthError, UnsupportedServerError } from '../common/errors.js';
import type { ProbeOutcome, ServerInfo } from '../common/server.js';
import { targetName } from './server.js';

/**
 * Waits for Elasticsearch or OpenSearch to answer (it may start after Sluice), logging each failed
 * attempt. A server Sluice does not speak to (a version, or not a search engine at all) ends the run.
 * `probe` asks `GET /` (a worker thread does, with its client: the main thread does not load one).
 */
export async function waitForElasticsearch(config: SluiceConfig, logger: Logger, probe: () => Promise<ProbeOutcome>): Promise<ServerInfo> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await probe();
    if (outcome.ok) return outcome.server;
    if (outcome.unsupported) {
      throw new UnsupportedServerError(outcome.unsupported.problem, { statusCode: outcome.unsupported.statusCode, target: targetName(config.elasticsearch) });
    }
    if (outcome.statusCode === 401) throw new ElasticsearchAuthError({ endpoint: 'GET /', statusCode: 401 }, { cause: new Error(outcome.message) });
    if (outcome.statusCode === 403) {
      // A write-only role may lack the `monitor` privilege that `GET /` needs. Plain JSON works on
      // every supported server, so the product need not be known to write.
      logger.warn({ node: config.elasticsearch.node.map(redactUrl) }, 'cannot read the server product and version (403: the credentials lack the monitor cluster privilege); sending plain JSON');
      return { product: 'unknown', version: 'unknown', major: 0, clusterName: '' };
    }
    const delay = Math.round(backoffDelay(attempt, 500, 30_000));
    logger.warn({ node: config.elasticsearch.node.map(redactUrl), err: outcome.message, retryInMs: delay }, 'elasticsearch not reachable yet');
    await sleep(delay);
  }
}
