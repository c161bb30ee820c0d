import pino, { type Logger } from 'pino';

/** Field names that hold secrets, wherever they appear in a log line's objects. */
const SECRET_KEYS = ['password', 'apiKey', 'bearer', 'clientSecret', 'keyPassword', 'authorization'];
/** librdkafka property names (with dots) that hold secrets. */
const SECRET_PROPERTIES = ['sasl.password', 'ssl.key.password', 'sasl.oauthbearer.client.secret', 'ssl.keystore.password'];

/** Each secret key at the top level and up to four objects deep, plus the client's request headers. */
export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`, `*.*.*.*.${key}`]),
  ...SECRET_PROPERTIES.flatMap((key) => [`*["${key}"]`, `*.*["${key}"]`, `*.*.*["${key}"]`]),
  'config.elasticsearch.auth',
  'err.meta.meta.request.params.headers',
];

/** Structured JSON logs (stdout unless another file descriptor is given), secrets redacted. */
export function createLogger(level: string, base: Record<string, unknown> = {}, fd = 1): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    fd === 1 ? undefined : pino.destination(fd),
  );
}
