// Token buckets for the credential-exchange endpoint: one per user name and one per source
// address, so that neither guessing one user's password from many addresses nor many users'
// passwords from one address goes fast.
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export interface BucketOptions {
  /** burst size */
  capacity: number;
  /** sustained rate */
  refillPerSecond: number;
}

export interface Decision {
  allowed: boolean;
  /** when a request would be allowed again (0 when allowed) */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TokenBucketLimiter {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: BucketOptions & { clock?: Clock; maxKeys?: number }) {
    if (!(opts.capacity >= 1)) throw new Error('capacity: must be >= 1');
    if (!(opts.refillPerSecond > 0)) throw new Error('refillPerSecond: must be > 0');
    this.#capacity = opts.capacity;
    this.#refillPerMs = opts.refillPerSecond / 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #current(key: string, now: number): Bucket {
    const b = this.#buckets.get(key);
    if (!b) return { tokens: this.#capacity, updatedMs: now };
    const elapsed = Math.max(0, now - b.updatedMs);
    return { tokens: Math.min(this.#capacity, b.tokens + elapsed * this.#refillPerMs), updatedMs: now };
  }

  /** Would `cost` tokens be available now? Takes nothing. */
  check(key: string, cost = 1): Decision {
    const b = this.#current(key, this.#clock.now());
    if (b.tokens >= cost) return { allowed: true, retryAfterMs: 0 };
    return { allowed: false, retryAfterMs: Math.ceil((cost - b.tokens) / this.#refillPerMs) };
  }

  /** Takes `cost` tokens if available. */
  take(key: string, cost = 1): Decision {
    const now = this.#clock.now();
    const b = this.#current(key, now);
    if (b.tokens < cost)
      return { allowed: false, retryAfterMs: Math.ceil((cost - b.tokens) / this.#refillPerMs) };
    b.tokens -= cost;
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) this.#prune(now);
    return { allowed: true, retryAfterMs: 0 };
  }

  /** Full buckets carry no information: drop them, then the least recently used. */
  #prune(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + (now - b.updatedMs) * this.#refillPerMs >= this.#capacity) this.#buckets.delete(k);
    }
    for (const k of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxKeys) break;
      this.#buckets.delete(k);
    }
  }
}

export interface ExchangeDecision extends Decision {
  limitedBy?: 'user' | 'source';
}

/**
 * Both buckets must allow a request, and a request refused by one takes nothing from the other.
 * User keys are case-folded: keystone names are case-insensitive with MySQL's collation.
 */
export class ExchangeRateLimiter {
  readonly perUser: TokenBucketLimiter;
  readonly perSource: TokenBucketLimiter;

  constructor(opts: { perUser?: BucketOptions; perSource?: BucketOptions; clock?: Clock; maxKeys?: number }) {
    const common = {
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.maxKeys ? { maxKeys: opts.maxKeys } : {}),
    };
    this.perUser = new TokenBucketLimiter({
      ...(opts.perUser ?? { capacity: 5, refillPerSecond: 1 / 12 }),
      ...common,
    });
    this.perSource = new TokenBucketLimiter({
      ...(opts.perSource ?? { capacity: 20, refillPerSecond: 1 }),
      ...common,
    });
  }

  /** `user`: the name or id the request claims (domain-qualified if any); `source`: client address. */
  take(req: { user: string; source: string }): ExchangeDecision {
    const user = req.user.normalize('NFC').toLowerCase();
    const source = normalizeAddress(req.source);
    const u = this.perUser.check(user);
    const s = this.perSource.check(source);
    if (!u.allowed || !s.allowed) {
      const limitedBy = !s.allowed ? 'source' : 'user';
      return { allowed: false, retryAfterMs: Math.max(u.retryAfterMs, s.retryAfterMs), limitedBy };
    }
    this.perUser.take(user);
    this.perSource.take(source);
    return { allowed: true, retryAfterMs: 0 };
  }
}

/** IPv4-mapped IPv6 is the IPv4 address; an IPv6 client counts per /64 (one host usually has one). */
export function normalizeAddress(addr: string): string {
  const a = addr.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
