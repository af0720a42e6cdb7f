// A TTL cache whose loader runs at most once per key at a time: concurrent callers of a missing
// key share one in-flight load (singleflight). A load that throws is not cached; every waiter
// gets the error and the next caller loads again.
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export interface Loaded<V> {
  value: V;
  /** how long the value may be served from the cache; <= 0 means not at all */
  ttlMs: number;
}

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** callers that joined a load already in flight */
  joined: number;
  loads: number;
  loadErrors: number;
  evictions: number;
}

export class SingleflightCache<V> {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inflight = new Map<string, { promise: Promise<V>; stale: boolean }>();
  readonly stats: CacheStats = { hits: 0, misses: 0, joined: 0, loads: 0, loadErrors: 0, evictions: 0 };

  constructor(opts: { clock?: Clock; maxEntries?: number } = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#maxEntries = opts.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value, or undefined when absent or expired. */
  peek(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAtMs <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  async get(key: string, load: () => Promise<Loaded<V>>): Promise<V> {
    const cached = this.peek(key);
    if (cached !== undefined) {
      this.stats.hits++;
      return cached;
    }
    const inflight = this.#inflight.get(key);
    if (inflight) {
      this.stats.joined++;
      return inflight.promise;
    }
    this.stats.misses++;
    this.stats.loads++;
    const flight: { promise: Promise<V>; stale: boolean } = {
      promise: Promise.resolve() as Promise<V>,
      stale: false,
    };
    flight.promise = (async () => {
      try {
        // a microtask first, so that `flight` is registered before the loader can settle
        await Promise.resolve();
        const { value, ttlMs } = await load();
        if (ttlMs > 0 && !flight.stale) this.#set(key, value, ttlMs);
        return value;
      } catch (e) {
        this.stats.loadErrors++;
        throw e;
      } finally {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, flight);
    return flight.promise;
  }

  #set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs: this.#clock.now() + ttlMs });
    if (this.#entries.size > this.#maxEntries) this.#evict();
  }

  #evict(): void {
    const now = this.#clock.now();
    for (const [k, e] of this.#entries) if (e.expiresAtMs <= now) this.#entries.delete(k);
    // then the oldest insertions (Map keeps insertion order)
    for (const k of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(k);
      this.stats.evictions++;
    }
  }

  /**
   * Drops a key. A load in flight for it keeps running for the callers already waiting, but its
   * result is not cached and new callers start a fresh load.
   */
  delete(key: string): void {
    this.#entries.delete(key);
    const flight = this.#inflight.get(key);
    if (flight) {
      flight.stale = true;
      this.#inflight.delete(key);
    }
  }

  /** Drops every key that matches. */
  deleteWhere(match: (key: string) => boolean): void {
    for (const k of [...this.#entries.keys(), ...this.#inflight.keys()]) if (match(k)) this.delete(k);
  }

  clear(): void {
    this.deleteWhere(() => true);
  }
}
