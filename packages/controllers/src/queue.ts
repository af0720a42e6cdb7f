// A work queue of keys, as client-go's workqueue: a key is queued at most once, never handed to
// two workers at once, and a key added while it is being processed is queued again when done.
// Delays and per-key exponential backoff live here too, so a reconciler only says "again".

/** The clock and timers the queue uses; inject a fake to test delays without waiting. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** First retry delay of addRateLimited (default 5 ms). */
  baseDelayMs?: number;
  /** Upper bound of the backoff (default 5 minutes). */
  maxDelayMs?: number;
  /** Fraction of the delay that is randomised away, 0..1 (default 0.2). */
  jitter?: number;
  /** Injected randomness in [0, 1) for tests (default Math.random). */
  random?: () => number;
  timers?: Timers;
}

interface Pending {
  at: number;
  timer: unknown;
}

/**
 * The backoff of the n-th consecutive failure (n from 0):
 *   min(maxDelayMs, baseDelayMs * 2^n) * (1 - jitter * random())
 * so a delay is never above the cap and never below (1 - jitter) of the exponential value.
 */
export function backoffDelayMs(
  failures: number,
  o: Required<Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>>,
  random: () => number,
): number {
  const exp = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(failures, 62));
  return exp * (1 - o.jitter * random());
}

export class WorkQueue<K extends string = string> {
  readonly #o: Required<Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>>;
  readonly #random: () => number;
  readonly #t: Timers;
  /** Keys waiting for a worker, in order. */
  #queue: K[] = [];
  /** Keys that must be (re)processed: queued, or added again while processing. */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #pending = new Map<K, Pending>();
  #waiters: ((k: K | undefined) => void)[] = [];
  #idle: (() => void)[] = [];
  #shutdown = false;

  constructor(o: WorkQueueOptions = {}) {
    this.#o = {
      baseDelayMs: o.baseDelayMs ?? 5,
      maxDelayMs: o.maxDelayMs ?? 5 * 60_000,
      jitter: Math.min(1, Math.max(0, o.jitter ?? 0.2)),
    };
    this.#random = o.random ?? Math.random;
    this.#t = o.timers ?? realTimers;
  }

  get shuttingDown(): boolean {
    return this.#shutdown;
  }

  /** Keys waiting for a worker (not counting those in flight or delayed). */
  len(): number {
    return this.#queue.length;
  }

  /** Keys handed to a worker and not yet done. */
  inFlight(): number {
    return this.#processing.size;
  }

  /** Keys waiting for their delay (addAfter, addRateLimited). */
  delayed(): number {
    return this.#pending.size;
  }

  add(key: K): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const w = this.#waiters.shift();
    if (w) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      w(key);
    } else this.#queue.push(key);
  }

  /** The next key; waits for one. Undefined once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks a key's processing finished; a key added meanwhile is queued again. */
  done(key: K): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key) && !this.#shutdown) {
      this.#dirty.delete(key);
      this.add(key);
    }
    if (this.#processing.size === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const r of idle) r();
    }
  }

  /** Adds the key after a delay; of several pending delays for one key the earliest wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shutdown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.#t.now() + delayMs;
    const cur = this.#pending.get(key);
    if (cur && cur.at <= at) return;
    if (cur) this.#t.clearTimeout(cur.timer);
    const timer = this.#t.setTimeout(() => {
      this.#pending.delete(key);
      this.add(key);
    }, delayMs);
    this.#pending.set(key, { at, timer });
  }

  /** Adds the key after its backoff, which doubles with every call until forget(key). */
  addRateLimited(key: K): void {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    this.addAfter(key, backoffDelayMs(n, this.#o, this.#random));
  }

  /** Resets the key's backoff (call after a success). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Stops handing out keys: waiting get() calls resolve undefined, delayed keys are dropped and
   * their timers cleared. With waitForInFlight, resolves once every key in flight is done.
   */
  async shutdown(o: { waitForInFlight?: boolean } = {}): Promise<void> {
    if (!this.#shutdown) {
      this.#shutdown = true;
      for (const p of this.#pending.values()) this.#t.clearTimeout(p.timer);
      this.#pending.clear();
      this.#queue = [];
      this.#dirty.clear();
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w(undefined);
    }
    if (o.waitForInFlight && this.#processing.size > 0) await new Promise<void>((r) => this.#idle.push(r));
  }
}
