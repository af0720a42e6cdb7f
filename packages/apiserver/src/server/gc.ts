// In-process controllers that kube-apiserver's companions run: the garbage collector
// (ownerReferences with Background/Foreground/Orphan propagation), the namespace lifecycle
// controller (a terminating namespace deletes its contents) and CRD cleanup. Driven by one watch
// over the whole keyspace, level-triggered: every decision re-reads the store.
import type { KVStore, WatchEvent, WatchHandle } from '../storage/kv.ts';
import { StatusError } from '../errors.ts';
import type { ResourceInfo } from '../registry/types.ts';
import type { KObject, OwnerReference } from './objects.ts';
import { decodeStored, parseKey, registryRoot, resourcePrefix } from './objects.ts';
import type { RestStorage, Scope } from './rest.ts';
import type { Clusters } from './clusters.ts';
import { crdCleanupFinalizer } from './strategy.ts';

export interface GcDeps {
  kv: KVStore;
  rest: RestStorage;
  clusters: Clusters;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Delay before retrying work that is waiting on something else. */
  requeueMs?: number;
}

type Work =
  { kind: 'owner' | 'dependent'; key: string } | { kind: 'namespace'; cluster: string; name: string };

export class GarbageCollector {
  readonly #d: GcDeps;
  /** ownerUid -> keys of objects that name it in ownerReferences */
  readonly #dependents = new Map<string, Set<string>>();
  /** key -> owner uids it references */
  readonly #ownersOf = new Map<string, string[]>();
  /** uid -> key for every object */
  readonly #uids = new Map<string, string>();
  readonly #queue = new Map<string, Work>();
  #watch: WatchHandle | undefined;
  #running = false;
  #stopped = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #idle: (() => void)[] = [];

  constructor(deps: GcDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#watch?.close();
    this.#resetIndexes();
    let startAfter: string | undefined;
    let revision: number | undefined;
    for (;;) {
      const r = await this.#d.kv.range(registryRoot, { limit: 2000, startAfter, revision });
      revision = r.revision;
      for (const kv of r.items) this.#observe(kv.key, decodeStored(kv), true);
      if (!r.more || !r.items.length) break;
      startAfter = r.items[r.items.length - 1]!.key;
    }
    if (this.#stopped) return;
    this.#watch = this.#d.kv.watch(registryRoot, {
      afterRevision: revision,
      onEvents: (events) => this.#onEvents(events),
      onError: (err) => {
        if (this.#stopped) return;
        this.#d.log?.('warn', 'garbage collector watch failed; restarting', { error: err.message });
        this.#watch?.close();
        this.#resetIndexes();
        void this.start();
      },
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.close();
    this.#watch = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.clear();
  }

  /** Resolves when the queue is empty (tests). */
  async idle(): Promise<void> {
    if (!this.#running && this.#queue.size === 0 && this.#timers.size === 0) return;
    await new Promise<void>((r) => this.#idle.push(r));
  }

  #resetIndexes(): void {
    this.#dependents.clear();
    this.#ownersOf.clear();
    this.#uids.clear();
  }

  #onEvents(events: WatchEvent[]): void {
    for (const e of events) {
      const obj = decodeStored(e.kv);
      if (e.type === 'delete') this.#forget(e.kv.key, obj);
      else this.#observe(e.kv.key, obj, false);
    }
  }

  #observe(key: string, obj: KObject, initial: boolean): void {
    const uid = obj.metadata?.uid;
    if (!uid) return;
    this.#uids.set(uid, key);
    const owners = (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
    const before = this.#ownersOf.get(key) ?? [];
    for (const o of before) if (!owners.includes(o)) this.#dependents.get(o)?.delete(key);
    if (owners.length) {
      this.#ownersOf.set(key, owners);
      for (const o of owners) {
        let s = this.#dependents.get(o);
        if (!s) this.#dependents.set(o, (s = new Set()));
        s.add(key);
      }
      // A dependent whose owner does not exist (or never did) is garbage.
      if (owners.some((o) => !this.#uids.has(o))) this.#enqueue({ kind: 'dependent', key });
    } else {
      this.#ownersOf.delete(key);
    }
    const p = parseKey(key);
    if (obj.metadata.deletionTimestamp) {
      if (p?.group === '' && p.plural === 'namespaces')
        this.#enqueue({ kind: 'namespace', cluster: p.cluster, name: p.name });
      else this.#enqueue({ kind: 'owner', key });
    }
    if (p?.group === 'apiextensions.k8s.io' && p.plural === 'customresourcedefinitions') {
      this.#d.clusters.syncCRD(p.cluster, obj, false);
    }
    if (p?.group === 'rbac.authorization.k8s.io' && !initial) this.#d.clusters.rbacChanged(p.cluster);
    if (initial && owners.length) this.#enqueue({ kind: 'dependent', key });
  }

  #forget(key: string, obj: KObject): void {
    const uid = obj.metadata?.uid;
    if (uid && this.#uids.get(uid) === key) this.#uids.delete(uid);
    for (const o of this.#ownersOf.get(key) ?? []) {
      this.#dependents.get(o)?.delete(key);
      // An owner in foreground deletion waits for this dependent to go.
      const ownerKey = this.#uids.get(o);
      if (ownerKey) this.#enqueue({ kind: 'owner', key: ownerKey });
    }
    this.#ownersOf.delete(key);
    if (uid) {
      for (const dep of this.#dependents.get(uid) ?? []) this.#enqueue({ kind: 'dependent', key: dep });
      this.#dependents.delete(uid);
    }
    const p = parseKey(key);
    if (p?.group === 'apiextensions.k8s.io' && p.plural === 'customresourcedefinitions') {
      this.#d.clusters.syncCRD(p.cluster, obj, true);
    }
    if (p?.group === 'rbac.authorization.k8s.io') this.#d.clusters.rbacChanged(p.cluster);
    if (p?.plural === 'namespaces' && p.group === '') return;
    // A namespace waiting for its contents to go re-checks when one goes.
    if (p?.namespace) {
      const nsKey = `${registryRoot}core/namespaces/${p.cluster}/${p.namespace}`;
      if (this.#terminatingNamespaces.has(nsKey))
        this.#enqueue({ kind: 'namespace', cluster: p.cluster, name: p.namespace });
    }
  }

  readonly #terminatingNamespaces = new Set<string>();

  #enqueue(w: Work, delayMs = 0): void {
    if (this.#stopped) return;
    const id = w.kind === 'namespace' ? `ns:${w.cluster}/${w.name}` : `${w.kind}:${w.key}`;
    if (delayMs > 0) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#enqueue(w);
      }, delayMs);
      t.unref?.();
      this.#timers.add(t);
      return;
    }
    this.#queue.set(id, w);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.size && !this.#stopped) {
        const [id, w] = this.#queue.entries().next().value as [string, Work];
        this.#queue.delete(id);
        try {
          await this.#process(w);
        } catch (e) {
          if (!(e instanceof StatusError && e.code === 404)) {
            this.#d.log?.('warn', 'garbage collector work failed; retrying', {
              work: id,
              error: (e as Error).message,
            });
            this.#enqueue(w, this.#d.requeueMs ?? 1000);
          }
        }
      }
    } finally {
      this.#running = false;
      if (this.#queue.size === 0 && this.#timers.size === 0) {
        const waiters = this.#idle;
        this.#idle = [];
        for (const r of waiters) r();
      }
    }
  }

  async #scopeOf(key: string): Promise<{ scope: Scope; name: string } | undefined> {
    const p = parseKey(key);
    if (!p) return undefined;
    const cluster = await this.#d.clusters.existing(p.cluster);
    if (!cluster) return undefined;
    const info = cluster.resourceByPlural(p.group, p.plural);
    if (!info) return undefined;
    return { scope: { cluster: p.cluster, info, namespace: p.namespace }, name: p.name };
  }

  async #process(w: Work): Promise<void> {
    if (w.kind === 'namespace') return this.#namespace(w.cluster, w.name);
    const at = await this.#scopeOf(w.key);
    if (!at) return;
    const { scope, name } = at;
    const { rest } = this.#d;
    const obj = await rest.get(scope, name);
    if (w.kind === 'dependent') return this.#dependent(scope, obj);
    // Owner being deleted.
    const uid = obj.metadata.uid!;
    const finalizers = obj.metadata.finalizers ?? [];
    if (!obj.metadata.deletionTimestamp) return;
    const deps = [...(this.#dependents.get(uid) ?? [])];
    if (finalizers.includes('orphan')) {
      for (const dk of deps) {
        const d = await this.#scopeOf(dk);
        if (!d) continue;
        await rest
          .guaranteedUpdate(d.scope, d.name, (cur) => {
            cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
            if (!cur.metadata.ownerReferences.length) delete cur.metadata.ownerReferences;
            return cur;
          })
          .catch(ignoreNotFound);
      }
      await this.#removeFinalizer(scope, name, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      if (deps.length === 0) {
        await this.#removeFinalizer(scope, name, 'foregroundDeletion');
        return;
      }
      for (const dk of deps) {
        const d = await this.#scopeOf(dk);
        if (!d) continue;
        const dep = await rest.get(d.scope, d.name).catch(ignoreNotFound);
        if (!dep || dep.metadata.deletionTimestamp) continue;
        // Only dependents whose every other owner is gone or going are deleted.
        if (await this.#hasLiveOwnerBesides(d.scope, dep, uid)) {
          await rest
            .guaranteedUpdate(d.scope, d.name, (cur) => {
              cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter(
                (r) => r.uid !== uid,
              );
              return cur;
            })
            .catch(ignoreNotFound);
          continue;
        }
        await rest.delete(d.scope, d.name, { propagationPolicy: 'Foreground' }).catch(ignoreNotFound);
      }
      return;
    }
    if (scope.info.group === 'apiextensions.k8s.io' && scope.info.plural === 'customresourcedefinitions') {
      if (finalizers.includes(crdCleanupFinalizer)) await this.#cleanupCRD(scope, obj);
    }
  }

  async #hasLiveOwnerBesides(scope: Scope, dep: KObject, exceptUid: string): Promise<boolean> {
    for (const ref of dep.metadata.ownerReferences ?? []) {
      if (ref.uid === exceptUid) continue;
      const owner = await this.#getOwner(scope, ref);
      if (owner && !owner.metadata.deletionTimestamp) return true;
    }
    return false;
  }

  async #getOwner(depScope: Scope, ref: OwnerReference): Promise<KObject | undefined> {
    const cluster = await this.#d.clusters.existing(depScope.cluster);
    if (!cluster) return undefined;
    const info = cluster.resourceByKind(ref.apiVersion, ref.kind);
    if (!info) return undefined;
    const scope: Scope = {
      cluster: depScope.cluster,
      info,
      namespace: info.namespaced ? depScope.namespace : undefined,
    };
    const owner = await this.#d.rest.get(scope, ref.name).catch(ignoreNotFound);
    return owner && owner.metadata.uid === ref.uid ? owner : undefined;
  }

  async #dependent(scope: Scope, obj: KObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (!refs.length || obj.metadata.deletionTimestamp) return;
    const dangling: string[] = [];
    let live = 0;
    let waiting = false;
    for (const ref of refs) {
      const owner = await this.#getOwner(scope, ref);
      if (!owner) dangling.push(ref.uid);
      else {
        live++;
        if (owner.metadata.finalizers?.includes('foregroundDeletion')) waiting = true;
      }
    }
    if (!dangling.length) return;
    if (live === 0) {
      await this.#d.rest
        .delete(scope, obj.metadata.name!, { propagationPolicy: 'Background' })
        .catch(ignoreNotFound);
      return;
    }
    if (waiting) return;
    await this.#d.rest
      .guaranteedUpdate(scope, obj.metadata.name!, (cur) => {
        cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter(
          (r) => !dangling.includes(r.uid),
        );
        return cur;
      })
      .catch(ignoreNotFound);
  }

  async #removeFinalizer(scope: Scope, name: string, finalizer: string): Promise<void> {
    await this.#d.rest
      .guaranteedUpdate(scope, name, (cur) => {
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== finalizer);
        if (!cur.metadata.finalizers.length) delete cur.metadata.finalizers;
        return cur;
      })
      .catch(ignoreNotFound);
  }

  async #namespace(clusterName: string, name: string): Promise<void> {
    const cluster = await this.#d.clusters.existing(clusterName);
    if (!cluster) return;
    const nsInfo = cluster.resourceByPlural('', 'namespaces')!;
    const nsScope: Scope = { cluster: clusterName, info: nsInfo };
    const ns = await this.#d.rest.get(nsScope, name).catch(ignoreNotFound);
    const nsKey = `${registryRoot}core/namespaces/${clusterName}/${name}`;
    if (!ns || !ns.metadata.deletionTimestamp) {
      this.#terminatingNamespaces.delete(nsKey);
      return;
    }
    this.#terminatingNamespaces.add(nsKey);
    let remaining = 0;
    for (const info of cluster.allResources()) {
      if (!info.namespaced || info.virtual) continue;
      const scope: Scope = { cluster: clusterName, info, namespace: name };
      const list = await this.#d.kv.range(resourcePrefix(info, clusterName, name));
      for (const kv of list.items) {
        remaining++;
        const o = decodeStored(kv);
        if (o.metadata.deletionTimestamp) continue;
        await this.#d.rest
          .delete(scope, o.metadata.name!, { propagationPolicy: 'Background' })
          .catch(ignoreNotFound);
      }
    }
    if (remaining > 0) {
      // Re-check: objects with finalizers go when their owners let them.
      const left = await this.#countIn(cluster.allResources(), clusterName, name);
      if (left > 0) {
        this.#enqueue({ kind: 'namespace', cluster: clusterName, name }, this.#d.requeueMs ?? 1000);
        return;
      }
    }
    await this.#d.rest
      .guaranteedUpdate(nsScope, name, (cur) => {
        cur.spec = {
          ...(cur.spec ?? {}),
          finalizers: ((cur.spec?.finalizers as string[]) ?? []).filter((f) => f !== 'kubernetes'),
        };
        return cur;
      })
      .catch(ignoreNotFound);
    this.#terminatingNamespaces.delete(nsKey);
  }

  async #countIn(infos: readonly ResourceInfo[], cluster: string, ns: string): Promise<number> {
    let n = 0;
    for (const info of infos) {
      if (!info.namespaced || info.virtual) continue;
      n += await this.#d.kv.count(resourcePrefix(info, cluster, ns));
    }
    return n;
  }

  async #cleanupCRD(scope: Scope, crd: KObject): Promise<void> {
    const cluster = await this.#d.clusters.existing(scope.cluster);
    if (!cluster) return;
    const group = crd.spec?.group as string;
    const plural = crd.spec?.names?.plural as string;
    const info = cluster.resourceByPlural(group, plural);
    if (info) {
      const list = await this.#d.kv.range(resourcePrefix(info, scope.cluster));
      for (const kv of list.items) {
        const o = decodeStored(kv);
        if (o.metadata.deletionTimestamp) continue;
        await this.#d.rest
          .delete({ cluster: scope.cluster, info, namespace: o.metadata.namespace }, o.metadata.name!, {
            propagationPolicy: 'Background',
          })
          .catch(ignoreNotFound);
      }
      if ((await this.#d.kv.count(resourcePrefix(info, scope.cluster))) > 0) {
        this.#enqueue(
          { kind: 'owner', key: this.#uids.get(crd.metadata.uid!) ?? '' },
          this.#d.requeueMs ?? 1000,
        );
        return;
      }
    }
    await this.#removeFinalizer(scope, crd.metadata.name!, crdCleanupFinalizer);
  }
}

function ignoreNotFound(e: unknown): undefined {
  if (e instanceof StatusError && e.code === 404) return undefined;
  throw e;
}
