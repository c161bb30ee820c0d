import type { SluiceConfig } from './schema.js';
import { getPath, leaves, setPath } from './validate.js';

const REDACTED = '[redacted]';
/** librdkafka properties that carry secrets (SASL passwords, OAuth secrets, private keys). */
const SECRET_RDKAFKA = /(password|secret|token|private|\.key(\.|$)|credentials)/i;

/** A copy of the configuration fit to print: every secret replaced by `[redacted]`. */
export function redactConfig(config: SluiceConfig): SluiceConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const [path, spec] of leaves()) {
    if (spec.kind === 'string' && spec.secret && getPath(copy, path) !== undefined) setPath(copy, path, REDACTED);
  }
  const rdkafka = (copy['kafka'] as { rdkafka: Record<string, unknown> }).rdkafka;
  for (const key of Object.keys(rdkafka)) if (SECRET_RDKAFKA.test(key)) rdkafka[key] = REDACTED;
  const printed = copy as unknown as SluiceConfig;
  printed.elasticsearch.node = printed.elasticsearch.node.map(redactUrl);
  const ob = printed.kafka.sasl.oauthbearer;
  if (ob.tokenEndpoint !== undefined) ob.tokenEndpoint = redactUrl(ob.tokenEndpoint);
  return printed;
}

/** A URL with the password of its user-info part (`https://user:password@host`) redacted. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, `$1:${REDACTED}@`);
}
