/**
 * Where the integration and fault suites find their servers: the local ones that
 * `test/services/services.sh` starts, or others named by SLUICE_TEST_KAFKA / SLUICE_TEST_ES.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAFKA_BROKERS = process.env['SLUICE_TEST_KAFKA'] ?? `127.0.0.1:${process.env['SLUICE_KAFKA_PORT'] ?? '9092'}`;
export const ES_URL = process.env['SLUICE_TEST_ES'] ?? `http://127.0.0.1:${process.env['SLUICE_ES_PORT'] ?? '9200'}`;

// The local broker's authenticated and encrypted listeners (test/services/lib/kafka.sh). No
// SLUICE_TEST_* override: a broker elsewhere would have its own users and CA.
export const KAFKA_SASL_BROKERS = `127.0.0.1:${process.env['SLUICE_KAFKA_SASL_PORT'] ?? '9094'}`;
export const KAFKA_SSL_BROKERS = `127.0.0.1:${process.env['SLUICE_KAFKA_SSL_PORT'] ?? '9095'}`;
/** The one SASL user, for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (the same values as in kafka.sh). */
export const KAFKA_TEST_USER = 'sluice';
export const KAFKA_TEST_PASSWORD = 'sluice-test-secret';

// Found the way common.sh and kafka.sh find it: the services dir defaults to .services at the
// repository root (this file runs as dist/test/support/env.js); a relative setting is relative
// to the working directory, as in the shell.
const SERVICES_DIR = process.env['SLUICE_SERVICES_DIR'] || fileURLToPath(new URL('../../../.services', import.meta.url));
/** PEM file of the test CA that signed the SSL listener's certificate (for `ssl.ca.location`). */
export const KAFKA_CA_FILE = resolve(process.env['SLUICE_KAFKA_DATA_DIR'] || join(SERVICES_DIR, 'kafka'), 'tls', 'ca.pem');

/** A name no earlier run used, so suites never see each other's data. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Polls `condition` until it holds, failing with `what` at the deadline (no sleeps as synchronisation). */
export async function waitFor<T>(what: string, condition: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
