// A shared cache of one resource across every logical cluster (or one), kept by list-then-watch
// on the store itself: one paged range at a single revision, then a watch from that revision on
// the resource's key prefix (see objects.ts in @kaas/apiserver for the key layout). It works off
// the prefix, not the registry, so it serves custom resources before any cluster has their CRD.
// A failed watch (compaction, a store hiccup) relists and reports what vanished meanwhile as
// deletes, so handlers see a consistent sequence of events whatever happened.
import { decodeStored, parseKey, resourcePrefix } from '@kaas/apiserver';
import type { ApiServer, KObject, KVStore, WatchEvent, WatchHandle } from '@kaas/apiserver';
import { formatKey } from './keys.ts';

export type Logger = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** A resource by group and plural, or by apiVersion and kind (resolved through a registry). */
export type ResourceSelector = { group: string; plural: string } | { apiVersion: string; kind: string };

export interface InformerEvent {
  type: 'add' | 'update' | 'delete';
  /** Cache key: `<cluster>/<namespace>/<name>` or `<cluster>/<name>`. */
  key: string;
  cluster: string;
  /** The object now (for delete: its last known state). Shared with the cache: do not mutate. */
  obj: KObject;
  /** For update: the previous state. */
  oldObj?: KObject;
  /** True for deletes inferred on a relist rather than seen in the watch. */
  synthetic?: boolean;
}

export type EventHandler = (e: InformerEvent) => void;

/** Maps an object to index values; `cluster` is where it lives. */
export type IndexFunc = (obj: KObject, cluster: string) => string[];

export interface InformerOptions {
  kv: KVStore;
  resource: ResourceSelector;
  /** Watch one logical cluster only; default every cluster. */
  cluster?: string;
  /** Resolves apiVersion+kind selectors (pass the ApiServer's clusters); unused for group+plural. */
  clusters?: Pick<ApiServer['clusters'], 'get'>;
  pageSize?: number;
  /** Delay before relisting after a failure (default 500 ms). */
  relistDelayMs?: number;
  log?: Logger;
}

interface Entry {
  cluster: string;
  obj: KObject;
  rev: number;
}

export class Informer {
  readonly #o: InformerOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #handlers = new Set<EventHandler>();
  readonly #indexers = new Map<string, IndexFunc>();
  /** index name -> value -> keys */
  readonly #indices = new Map<string, Map<string, Set<string>>>();
  /** key -> index name -> values it is filed under */
  readonly #indexed = new Map<string, Map<string, string[]>>();
  #prefix: string | undefined;
  #watch: WatchHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  /** Bumped on every (re)start so callbacks of a superseded watch are ignored. */
  #generation = 0;
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #revision = 0;
  #relists = 0;

  constructor(o: InformerOptions) {
    this.#o = o;
  }

  /** A stable identity for sharing: the selector and cluster. */
  static idOf(resource: ResourceSelector, cluster?: string): string {
    const r =
      'plural' in resource
        ? `${resource.group}/${resource.plural}`
        : `${resource.apiVersion}:${resource.kind}`;
    return cluster === undefined ? r : `${r}@${cluster}`;
  }

  get id(): string {
    return Informer.idOf(this.#o.resource, this.#o.cluster);
  }

  /** The revision the cache reflects (last list or event). */
  get revision(): number {
    return this.#revision;
  }

  /** Times the informer listed after a watch failure. */
  get relists(): number {
    return this.#relists;
  }

  get running(): boolean {
    return this.#running;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache; rejects when stopped first or on abort. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this.#syncWaiters = this.#syncWaiters.filter((x) => x !== w);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(w);
    });
  }

  /**
   * Adds a handler; returns a function that removes it. A handler added after the first list
   * gets an add event for every cached object, so late subscribers miss nothing.
   */
  addHandler(h: EventHandler): () => void {
    this.#handlers.add(h);
    if (this.#synced) {
      for (const [key, e] of this.#cache) this.#call(h, { type: 'add', key, cluster: e.cluster, obj: e.obj });
    }
    return () => this.#handlers.delete(h);
  }

  /** Adds an index; `byIndex(name, value)` then returns the objects filed under value. */
  addIndexer(name: string, fn: IndexFunc): void {
    if (this.#indexers.has(name)) throw new Error(`indexer ${name} already exists`);
    this.#indexers.set(name, fn);
    this.#indices.set(name, new Map());
    for (const [key, e] of this.#cache) this.#indexOne(name, fn, key, e);
  }

  byIndex(name: string, value: string): KObject[] {
    const idx = this.#indices.get(name);
    if (!idx) throw new Error(`no indexer ${name}`);
    return [...(idx.get(value) ?? [])].map((k) => this.#cache.get(k)!.obj);
  }

  /** An object from the cache by key. Do not mutate it: clone before changing. */
  get(key: string): KObject | undefined {
    return this.#cache.get(key)?.obj;
  }

  /** Cached objects, optionally of one cluster and namespace, in key order. */
  list(cluster?: string, namespace?: string): KObject[] {
    const out: [string, KObject][] = [];
    for (const [key, e] of this.#cache) {
      if (cluster !== undefined && e.cluster !== cluster) continue;
      if (namespace !== undefined && e.obj.metadata.namespace !== namespace) continue;
      out.push([key, e.obj]);
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((x) => x[1]);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  size(): number {
    return this.#cache.size;
  }

  /** Starts listing and watching; resolves when the first list is cached. */
  async start(): Promise<void> {
    if (this.#running) return this.waitForSync();
    this.#running = true;
    await this.#listAndWatch(++this.#generation);
  }

  /** Stops the watch. The cache is kept, but no longer synced: a restart relists. */
  stop(): void {
    this.#running = false;
    this.#generation++;
    this.#watch?.close();
    this.#watch = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#synced = false;
    const w = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const x of w) x.reject(new Error(`informer ${this.id} stopped before it synced`));
  }

  async #resolvePrefix(): Promise<string> {
    if (this.#prefix) return this.#prefix;
    const r = this.#o.resource;
    let gp: { group: string; plural: string };
    if ('plural' in r) gp = r;
    else {
      if (!this.#o.clusters)
        throw new Error(`informer for ${r.kind}: pass clusters to resolve apiVersion+kind`);
      const info = (await this.#o.clusters.get(this.#o.cluster ?? 'root')).resourceByKind(
        r.apiVersion,
        r.kind,
      );
      if (!info) {
        throw new Error(
          `informer: no kind ${r.kind} in ${r.apiVersion}; select custom resources by group and plural`,
        );
      }
      gp = info;
    }
    return (this.#prefix = resourcePrefix(gp, this.#o.cluster));
  }

  async #listAndWatch(gen: number): Promise<void> {
    try {
      const prefix = await this.#resolvePrefix();
      const seen = new Map<string, Entry>();
      let startAfter: string | undefined;
      let revision: number | undefined;
      for (;;) {
        const r = await this.#o.kv.range(prefix, { limit: this.#o.pageSize ?? 500, startAfter, revision });
        if (gen !== this.#generation) return;
        revision = r.revision;
        for (const kv of r.items) {
          const p = parseKey(kv.key);
          if (!p) continue;
          seen.set(formatKey(p), { cluster: p.cluster, obj: decodeStored(kv), rev: kv.modRevision });
        }
        if (!r.more || !r.items.length) break;
        startAfter = r.items[r.items.length - 1]!.key;
      }
      this.#replace(seen, revision);
      this.#watch = this.#o.kv.watch(prefix, {
        afterRevision: revision,
        onEvents: (events) => {
          if (gen === this.#generation) this.#onEvents(events);
        },
        onError: (err) => {
          if (gen !== this.#generation) return;
          this.#o.log?.('warn', 'informer watch failed; relisting', {
            informer: this.id,
            error: err.message,
          });
          this.#retry();
        },
      });
    } catch (e) {
      if (gen !== this.#generation) return;
      this.#o.log?.('warn', 'informer list failed; retrying', {
        informer: this.id,
        error: (e as Error).message,
      });
      this.#retry();
      // The first start resolves only once synced; later failures are retried in the background.
      if (!this.#synced) await this.waitForSync();
    }
  }

  #retry(): void {
    this.#watch?.close();
    this.#watch = undefined;
    const gen = ++this.#generation;
    this.#relists++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#listAndWatch(gen);
    }, this.#o.relistDelayMs ?? 500);
  }

  /** Makes the cache equal to a fresh list, emitting the differences as events. */
  #replace(seen: Map<string, Entry>, revision: number): void {
    for (const [key, old] of this.#cache) {
      if (!seen.has(key))
        this.#apply({ type: 'delete', key, cluster: old.cluster, obj: old.obj, synthetic: true });
    }
    for (const [key, e] of seen) {
      const old = this.#cache.get(key);
      if (!old) this.#apply({ type: 'add', key, cluster: e.cluster, obj: e.obj }, e.rev);
      else if (old.rev !== e.rev || old.obj.metadata.uid !== e.obj.metadata.uid)
        this.#apply({ type: 'update', key, cluster: e.cluster, obj: e.obj, oldObj: old.obj }, e.rev);
    }
    this.#revision = revision;
    if (!this.#synced) {
      this.#synced = true;
      const w = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const x of w) x.resolve();
    }
  }

  #onEvents(events: WatchEvent[]): void {
    for (const ev of events) {
      const p = parseKey(ev.kv.key);
      this.#revision = Math.max(this.#revision, ev.kv.modRevision);
      if (!p) continue;
      const key = formatKey(p);
      const old = this.#cache.get(key);
      if (ev.type === 'delete') {
        if (old) this.#apply({ type: 'delete', key, cluster: p.cluster, obj: old.obj });
        continue;
      }
      const obj = decodeStored(ev.kv);
      if (old && old.rev >= ev.kv.modRevision) continue;
      if (old)
        this.#apply({ type: 'update', key, cluster: p.cluster, obj, oldObj: old.obj }, ev.kv.modRevision);
      else this.#apply({ type: 'add', key, cluster: p.cluster, obj }, ev.kv.modRevision);
    }
  }

  #apply(e: InformerEvent, rev = 0): void {
    if (e.type === 'delete') {
      this.#cache.delete(e.key);
      this.#unindex(e.key);
    } else {
      const entry = { cluster: e.cluster, obj: e.obj, rev };
      this.#cache.set(e.key, entry);
      this.#unindex(e.key);
      for (const [name, fn] of this.#indexers) this.#indexOne(name, fn, e.key, entry);
    }
    for (const h of this.#handlers) this.#call(h, e);
  }

  #call(h: EventHandler, e: InformerEvent): void {
    try {
      h(e);
    } catch (err) {
      this.#o.log?.('error', 'informer handler threw', {
        informer: this.id,
        key: e.key,
        error: (err as Error).message,
      });
    }
  }

  #indexOne(name: string, fn: IndexFunc, key: string, e: Entry): void {
    let values: string[];
    try {
      values = fn(e.obj, e.cluster);
    } catch {
      values = [];
    }
    if (!values.length) return;
    let byKey = this.#indexed.get(key);
    if (!byKey) this.#indexed.set(key, (byKey = new Map()));
    byKey.set(name, values);
    const idx = this.#indices.get(name)!;
    for (const v of values) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(key);
    }
  }

  #unindex(key: string): void {
    const byKey = this.#indexed.get(key);
    if (!byKey) return;
    for (const [name, values] of byKey) {
      const idx = this.#indices.get(name)!;
      for (const v of values) {
        const s = idx.get(v);
        s?.delete(key);
        if (s?.size === 0) idx.delete(v);
      }
    }
    this.#indexed.delete(key);
  }
}

/** An index function over one field path, e.g. `fieldIndex('spec.nodeName')` for pods by node. */
export function fieldIndex(path: string, o: { perCluster?: boolean } = {}): IndexFunc {
  const parts = path.split('.');
  return (obj, cluster) => {
    let v: unknown = obj;
    for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return [];
    if (v === '') return [];
    return [o.perCluster === false ? String(v) : `${cluster}/${String(v)}`];
  };
}
