/**
 * APM log records of the shape the `apm-log` transform reads, sized ~300 B to ~2 KB, each with a
 * unique trace id and a few labels. Deterministic for a seed, so every runner of a benchmark and
 * every demo run sees the same data.
 */
export interface ApmRecord {
  timestamp: string;
  service_name: string;
  environment: string;
  trace_id: string;
  span_id: string;
  level: string;
  message: string;
  http_method: string;
  http_path: string;
  http_status_code: number;
  labels: Record<string, unknown>;
}

const SERVICES = ['checkout', 'cart', 'payments', 'search', 'catalog', 'auth', 'shipping', 'recommendations'];
const ENVIRONMENTS = ['prod', 'prod', 'prod', 'staging'];
const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'warn', 'error'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/orders', '/api/v1/cart/items', '/api/v1/payments/authorize', '/search', '/api/v1/products/{id}', '/login', '/api/v2/shipments'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 400, 404, 429, 500, 502, 503];
const WORDS = 'request completed handler upstream latency cache miss retry timeout connection pool database query user session token payload validation failed succeeded downstream service span trace checkout payment inventory shipment'.split(' ');

/** xorshift32: fast, seedable, good enough for test data. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export function createApmGenerator(seed = 42, startMs = Date.now() - 3_600_000) {
  const rand = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const hex = (n: number): string => {
    let s = '';
    while (s.length < n) s += Math.floor(rand() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return s.slice(0, n);
  };
  let i = 0;
  return function next(): ApmRecord {
    i++;
    // Message length is skewed: most records are small, some carry long messages (stack traces).
    const words = 8 + Math.floor(rand() ** 3 * 260);
    const message = Array.from({ length: words }, () => pick(WORDS)).join(' ');
    const labels: Record<string, unknown> = { region: pick(['eu-west-1', 'us-east-1', 'ap-south-1']), pod: `${pick(SERVICES)}-${Math.floor(rand() * 20)}` };
    if (rand() < 0.5) labels['build'] = { version: `1.${Math.floor(rand() * 40)}.${Math.floor(rand() * 10)}`, commit: hex(7) };
    if (rand() < 0.3) labels['customer_tier'] = pick(['free', 'pro', 'enterprise']);
    return {
      timestamp: new Date(startMs + i * 3).toISOString(),
      service_name: pick(SERVICES),
      environment: pick(ENVIRONMENTS),
      trace_id: `${hex(24)}${i.toString(16).padStart(8, '0')}`,
      span_id: hex(16),
      level: pick(LEVELS),
      message,
      http_method: pick(METHODS),
      http_path: pick(PATHS),
      http_status_code: pick(STATUSES),
      labels,
    };
  };
}
