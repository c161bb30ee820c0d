/**
 * Where the integration and fault suites find their servers: the local ones that
 * `test/services/services.sh` starts, or others named by SLUICE_TEST_KAFKA / SLUICE_TEST_ES.
 */
export const KAFKA_BROKERS = process.env['SLUICE_TEST_KAFKA'] ?? `127.0.0.1:${process.env['SLUICE_KAFKA_PORT'] ?? '9092'}`;
export const ES_URL = process.env['SLUICE_TEST_ES'] ?? `http://127.0.0.1:${process.env['SLUICE_ES_PORT'] ?? '9200'}`;

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
