import { redactUrl } from '../config/redact.js';
import type { ElasticsearchSettings } from '../common/es-client.js';

/** How logs and messages name where Sluice writes: the nodes (credentials redacted) or the cloud id. */
export function targetName(es: Pick<ElasticsearchSettings, 'node' | 'cloudId'>): string {
  return es.cloudId ? `cloud id ${es.cloudId.split(':')[0]}` : es.node.map(redactUrl).join(',');
}
