/**
 * The step of exponential backoff: `baseMs` doubled `attempt` times (attempt 0 is `baseMs`),
 * capped at `maxMs`. The exponent stops at 30: a long outage's attempt count never turns it into
 * Infinity (or NaN with a base of 0).
 */
export function backoffStep(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * Exponential backoff with equal jitter: half the step fixed, half random, so retries of many
 * clients spread out instead of arriving together. Between half the step and the whole step.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = backoffStep(attempt, baseMs, maxMs);
  return step / 2 + random() * (step / 2);
}

/**
 * Resolves after `ms`; rejects with the signal's reason as soon as `signal` aborts (at once if it
 * already has), clearing the timer so a stopped caller leaves nothing pending.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
