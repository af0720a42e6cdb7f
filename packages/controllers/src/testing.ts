// Helpers for this package's tests: a real ApiServer over a store, polling, fixtures.
import { ApiServer, MemoryStore, UnavailableError } from '@kaas/apiserver';
import type { KVStore, RangeOptions, WatchHandle, WatchOptions } from '@kaas/apiserver';

export const admin = { username: 'admin', groups: ['system:masters'] };

export async function startServer(
  kv: KVStore = new MemoryStore(),
  o: { leaseDurationMs?: number; leaseRetryMs?: number } = {},
): Promise<{ server: ApiServer; kv: KVStore; close: () => Promise<void> }> {
  const server = new ApiServer({ kv, anonymousAs: admin, ...o });
  await server.start();
  return {
    server,
    kv,
    close: async () => {
      await server.close();
    },
  };
}

export async function until(
  pred: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function configMap(name: string, data: Record<string, string> = {}, namespace = 'default') {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/**
 * A store wrapper that records the keys of every write and can cut its watches: `cutWatches()`
 * closes them silently (events are lost, as on a broken connection) and `failWatches()` then
 * reports the failure to their owners.
 */
export class InstrumentedKV implements KVStore {
  readonly name: string;
  readonly inner: KVStore;
  readonly writes: string[] = [];
  /** While true every call fails, as if the network to the store were cut. */
  partitioned = false;
  readonly #watches = new Set<{ opts: WatchOptions; handle: WatchHandle; cut: boolean }>();

  constructor(inner: KVStore) {
    this.inner = inner;
    this.name = `instrumented-${inner.name}`;
  }

  async get(key: string) {
    this.#check();
    return this.inner.get(key);
  }
  async range(prefix: string, opts?: RangeOptions) {
    this.#check();
    return this.inner.range(prefix, opts);
  }
  async count(prefix: string) {
    this.#check();
    return this.inner.count(prefix);
  }
  async create(key: string, value: string) {
    this.#check();
    this.writes.push(key);
    return this.inner.create(key, value);
  }
  async update(key: string, value: string, expectedModRevision: number) {
    this.#check();
    this.writes.push(key);
    return this.inner.update(key, value, expectedModRevision);
  }
  async delete(key: string, expectedModRevision?: number) {
    this.#check();
    this.writes.push(key);
    return this.inner.delete(key, expectedModRevision);
  }
  #check(): void {
    if (this.partitioned) throw new UnavailableError('partitioned from the store (test)');
  }
  watch(prefix: string, opts: WatchOptions): WatchHandle {
    const w = { opts, handle: this.inner.watch(prefix, opts), cut: false };
    this.#watches.add(w);
    return {
      close: () => {
        w.handle.close();
        this.#watches.delete(w);
      },
    };
  }
  /** Watches open and not cut. */
  liveWatches(): number {
    return [...this.#watches].filter((w) => !w.cut).length;
  }
  cutWatches(): void {
    for (const w of this.#watches) {
      w.handle.close();
      w.cut = true;
    }
  }
  failWatches(err: Error = new Error('watch connection lost')): void {
    for (const w of [...this.#watches]) {
      if (!w.cut) continue;
      this.#watches.delete(w);
      w.opts.onError(err);
    }
  }
  compact(revision: number) {
    return this.inner.compact(revision);
  }
  currentRevision() {
    return this.inner.currentRevision();
  }
  compactedRevision() {
    return this.inner.compactedRevision();
  }
  close() {
    return this.inner.close();
  }
}
