import pino, { type Logger } from 'pino';

/** Structured JSON logs on stdout; secrets in config-shaped fields are redacted. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: ['*.password', '*.apiKey', '*.bearer', 'config.elasticsearch.auth'], censor: '[redacted]' },
  });
}
