import type { Logger } from 'pino';
import type { SluiceConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { backoffStep } from '../common/backoff.js';
import { InternalError, OAuthTokenError } from '../common/errors.js';

type KafkaSettings = SluiceConfig['kafka'];

/**
 * The librdkafka properties for the documented `kafka.tls` and `kafka.sasl` options, shared by the
 * consumer, the dead-letter producer and `sluice check` through their base configuration, which
 * spreads `kafka.rdkafka` after them, so a raw librdkafka property still wins.
 */
export function securityProperties(kafka: KafkaSettings): Record<string, string | boolean> {
  const { tls, sasl } = kafka;
  const props: Record<string, string | boolean> = {
    'security.protocol': `${sasl.mechanism ? 'sasl_' : ''}${tls.enabled ? 'ssl' : 'plaintext'}`,
  };
  if (tls.enabled) {
    props['enable.ssl.certificate.verification'] = tls.rejectUnauthorized;
    if (tls.ca !== undefined) props['ssl.ca.location'] = tls.ca;
    if (tls.cert !== undefined) props['ssl.certificate.location'] = tls.cert;
    if (tls.key !== undefined) props['ssl.key.location'] = tls.key;
    if (tls.keyPassword !== undefined) props['ssl.key.password'] = tls.keyPassword;
  }
  if (sasl.mechanism) {
    props['sasl.mechanisms'] = sasl.mechanism.toUpperCase();
    if (sasl.mechanism !== 'oauthbearer') {
      props['sasl.username'] = sasl.username as string;
      props['sasl.password'] = sasl.password as string;
    }
  }
  return props;
}

/** The part of a node-rdkafka client a token source hands tokens to. */
export interface TokenSink {
  setOauthBearerToken(token: string): unknown;
}

interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  token_type?: unknown;
}

/**
 * OAUTHBEARER tokens for `kafka.sasl.mechanism: oauthbearer`: an OAuth 2 client-credentials grant
 * against `kafka.sasl.oauthbearer.tokenEndpoint`. The first token is fetched before any client
 * connects; each later one at 80 % of the previous token's lifetime, and handed to every client.
 * A failed refresh is retried with backoff while the current token is still valid.
 */
export function createTokenSource(kafka: KafkaSettings, logger: Logger) {
  const ob = kafka.sasl.oauthbearer;
  const endpoint = redactUrl(ob.tokenEndpoint ?? '');
  const sinks = new Set<TokenSink>();
  let current: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function fetchToken(): Promise<{ token: string; lifetimeMs: number }> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: ob.clientId as string, client_secret: ob.clientSecret as string });
    if (ob.scope !== undefined) body.set('scope', ob.scope);
    let response: Response;
    try {
      response = await fetch(ob.tokenEndpoint as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new OAuthTokenError(endpoint, { kind: 'unreachable', detail: (err as Error).message }, { cause: err });
    }
    const text = await response.text();
    if (!response.ok) throw new OAuthTokenError(endpoint, { kind: 'status', status: response.status, body: text });
    let parsed: TokenResponse;
    try {
      parsed = JSON.parse(text) as TokenResponse;
    } catch {
      throw new OAuthTokenError(endpoint, { kind: 'not_json' });
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new OAuthTokenError(endpoint, { kind: 'no_access_token' });
    }
    const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 3600;
    return { token: parsed.access_token, lifetimeMs: seconds * 1000 };
  }

  function schedule(ms: number, validUntil: number, attempt: number): void {
    if (closed) return;
    timer = setTimeout(() => {
      fetchToken().then(
        ({ token, lifetimeMs }) => {
          current = token;
          for (const sink of sinks) sink.setOauthBearerToken(token);
          logger.debug({ lifetimeMs }, 'kafka OAuth token refreshed');
          schedule(lifetimeMs * 0.8, Date.now() + lifetimeMs, 0);
        },
        (err: unknown) => {
          const retryInMs = Math.min(backoffStep(attempt, 1000, 30_000), Math.max(1000, (validUntil - Date.now()) / 2));
          logger.error({ err: (err as Error).message, retryInMs, expiresInMs: validUntil - Date.now() }, 'kafka OAuth token refresh failed');
          schedule(retryInMs, validUntil, attempt + 1);
        },
      );
    }, ms);
    timer.unref();
  }

  return {
    /** Fetches the first token; throws an `OAuthTokenError` (a `KafkaError`) naming the endpoint when that fails. */
    async start(): Promise<void> {
      const { token, lifetimeMs } = await fetchToken();
      current = token;
      schedule(lifetimeMs * 0.8, Date.now() + lifetimeMs, 0);
    },
    /** Gives a client the current token now and every refreshed one later. */
    attach(sink: TokenSink): void {
      if (current === undefined) throw new InternalError('token source not started');
      sink.setOauthBearerToken(current);
      sinks.add(sink);
    },
    detach(sink: TokenSink): void {
      sinks.delete(sink);
    },
    close(): void {
      closed = true;
      clearTimeout(timer);
      sinks.clear();
    },
  };
}

export type TokenSource = ReturnType<typeof createTokenSource>;
