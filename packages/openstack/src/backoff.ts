// When to try again: capped exponential backoff with jitter, or the server's Retry-After
// when it sent one (capped too: a cloud asking for 10 minutes fails the call rather than hang it).

export interface RetryPolicy {
  /** tries in all, the first included (default 5) */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** [0, 1); injected for tests */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  random: Math.random,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined if absent or garbled. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The delay before try number `attempt + 1` (attempt counts from 1). */
export function retryDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // "equal jitter": at least half the ceiling, so that retries of a conflict do spread out
  return Math.floor(ceiling / 2 + (policy.random() * ceiling) / 2);
}
