// An in-memory KVStore with full MVCC history: the fake for unit tests (fast, no disk) and the
// executable reference for the contract. Not for production: nothing survives the process.
import type {
  KVStore,
  KeyValue,
  RangeOptions,
  RangeResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './kv.ts';
import { CompactedError, ConflictError, KeyExistsError, KeyNotFoundError } from './kv.ts';

interface Rev {
  revision: number;
  key: string;
  kv: KeyValue | undefined; // undefined = deleted at this revision
  prev: KeyValue | undefined;
}

export class MemoryStore implements KVStore {
  readonly name = 'memory';
  #rev = 0;
  #compacted = 0;
  readonly #latest = new Map<string, KeyValue>();
  readonly #log: Rev[] = [];
  readonly #watchers = new Set<{ prefix: string; opts: WatchOptions; after: number; closed: boolean }>();
  #progress: NodeJS.Timeout | undefined;

  async get(key: string) {
    return { kv: this.#latest.get(key), revision: this.#rev };
  }

  #at(revision: number): Map<string, KeyValue> {
    if (revision < this.#compacted) throw new CompactedError(revision, this.#compacted);
    if (revision >= this.#rev) return this.#latest;
    const m = new Map<string, KeyValue>();
    for (const r of this.#log) {
      if (r.revision > revision) break;
      if (r.kv) m.set(r.key, r.kv);
      else m.delete(r.key);
    }
    return m;
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const revision = opts.revision ?? this.#rev;
    const source = this.#at(revision);
    const keys = [...source.keys()]
      .filter((k) => k.startsWith(prefix) && (opts.startAfter === undefined || k > opts.startAfter))
      .sort();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : keys.length;
    const items = keys.slice(0, limit).map((k) => source.get(k)!);
    return { items, revision, more: keys.length > limit, remaining: Math.max(0, keys.length - limit) };
  }

  async count(prefix: string) {
    let n = 0;
    for (const k of this.#latest.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }

  #commit(key: string, kv: KeyValue | undefined, prev: KeyValue | undefined): number {
    const r: Rev = { revision: this.#rev, key, kv, prev };
    this.#log.push(r);
    if (kv) this.#latest.set(key, kv);
    else this.#latest.delete(key);
    const event: WatchEvent = kv
      ? { type: 'put', kv, prevKv: prev, created: !prev }
      : { type: 'delete', kv: { ...prev!, modRevision: this.#rev }, prevKv: prev };
    for (const w of this.#watchers) {
      if (!w.closed && key.startsWith(w.prefix) && this.#rev > w.after) {
        w.after = this.#rev;
        queueMicrotask(() => {
          if (!w.closed) w.opts.onEvents([event]);
        });
      }
    }
    return this.#rev;
  }

  async create(key: string, value: string) {
    if (this.#latest.has(key)) throw new KeyExistsError(key);
    const rev = ++this.#rev;
    const kv = { key, value, createRevision: rev, modRevision: rev };
    this.#commit(key, kv, undefined);
    return kv;
  }

  async update(key: string, value: string, expectedModRevision: number) {
    const cur = this.#latest.get(key);
    if (!cur) throw new KeyNotFoundError(key);
    if (cur.modRevision !== expectedModRevision) throw new ConflictError(key, cur);
    const rev = ++this.#rev;
    const kv = { key, value, createRevision: cur.createRevision, modRevision: rev };
    this.#commit(key, kv, cur);
    return kv;
  }

  async delete(key: string, expectedModRevision?: number) {
    const cur = this.#latest.get(key);
    if (!cur) throw new KeyNotFoundError(key);
    if (expectedModRevision !== undefined && cur.modRevision !== expectedModRevision)
      throw new ConflictError(key, cur);
    const rev = ++this.#rev;
    this.#commit(key, undefined, cur);
    return { prev: cur, revision: rev };
  }

  watch(prefix: string, opts: WatchOptions): WatchHandle {
    const w = { prefix, opts, after: opts.afterRevision, closed: false };
    if (opts.afterRevision < this.#compacted) {
      queueMicrotask(() => opts.onError(new CompactedError(opts.afterRevision, this.#compacted)));
      return { close: () => undefined };
    }
    const backlog: WatchEvent[] = [];
    for (const r of this.#log) {
      if (r.revision <= opts.afterRevision || !r.key.startsWith(prefix)) continue;
      backlog.push(
        r.kv
          ? { type: 'put', kv: r.kv, prevKv: r.prev, created: !r.prev }
          : { type: 'delete', kv: { ...r.prev!, modRevision: r.revision }, prevKv: r.prev },
      );
    }
    w.after = Math.max(w.after, this.#rev);
    this.#watchers.add(w);
    if (backlog.length) queueMicrotask(() => !w.closed && opts.onEvents(backlog));
    if (opts.onProgress && !this.#progress) {
      this.#progress = setInterval(() => {
        for (const x of this.#watchers) if (!x.closed) x.opts.onProgress?.(this.#rev);
      }, 1000);
      this.#progress.unref();
    }
    return {
      close: () => {
        w.closed = true;
        this.#watchers.delete(w);
      },
    };
  }

  async compact(revision: number) {
    const upTo = Math.min(revision, this.#rev);
    // Keep, for each key, the newest record at or below upTo so that reads at upTo still work.
    const keep = new Map<string, Rev>();
    const rest: Rev[] = [];
    for (const r of this.#log) {
      if (r.revision <= upTo) keep.set(r.key, r);
      else rest.push(r);
    }
    this.#log.length = 0;
    this.#log.push(
      ...[...keep.values()].filter((r) => r.kv).sort((a, b) => a.revision - b.revision),
      ...rest,
    );
    this.#compacted = Math.max(this.#compacted, upTo);
  }

  async currentRevision() {
    return this.#rev;
  }

  async compactedRevision() {
    return this.#compacted;
  }

  async close() {
    if (this.#progress) clearInterval(this.#progress);
    for (const w of this.#watchers) w.closed = true;
    this.#watchers.clear();
  }
}
