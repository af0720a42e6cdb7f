// Logical clusters. Each has its own resource registry (built-ins plus its CRDs), discovery and
// namespaces; all share one store, isolated by key prefix. State is made on first use: the
// default namespaces are created and the cluster's CRDs loaded from the store.
import type { IncomingMessage } from 'node:http';
import { errors, StatusError } from '../errors.ts';
import type { ResourceInfo } from '../registry/types.ts';
import { ResourceRegistry } from '../registry/registry.ts';
import type { KVStore } from '../storage/kv.ts';
import { buildDiscovery } from '../discovery/index.ts';
import type { KObject } from './objects.ts';
import { decodeStored, resourcePrefix } from './objects.ts';
import type { RequestInfo } from './request.ts';
import type { NamespaceCheck, RestStorage, Scope } from './rest.ts';
import { PolicyCache, rbacGroup } from '../authz/policy.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../authz/bootstrap.ts';

export const defaultNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

export interface Requester {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type VirtualHandler = (
  cluster: ClusterState,
  info: ResourceInfo,
  body: KObject,
  ctx: { req: IncomingMessage; user: Requester; namespace?: string },
) => Promise<object>;

export class ClusterState {
  readonly name: string;
  readonly registry: ResourceRegistry;
  #discovery: ReturnType<typeof buildDiscovery> | undefined;
  readonly #virtual: Map<string, VirtualHandler>;
  readonly policy: PolicyCache;

  constructor(name: string, virtual: Map<string, VirtualHandler>, kv: KVStore) {
    this.name = name;
    this.registry = new ResourceRegistry();
    this.#virtual = virtual;
    this.policy = new PolicyCache(async (plural) => {
      const info = this.resourceByPlural(rbacGroup, plural);
      if (!info) return [];
      const out: object[] = [];
      let startAfter: string | undefined;
      for (;;) {
        const r = await kv.range(resourcePrefix(info, name), { limit: 1000, startAfter });
        for (const item of r.items) out.push(decodeStored(item));
        if (!r.more || !r.items.length) return out;
        startAfter = r.items[r.items.length - 1]!.key;
      }
    });
  }

  #docs(): ReturnType<typeof buildDiscovery> {
    return (this.#discovery ??= buildDiscovery(this.registry));
  }

  invalidate(): void {
    this.#discovery = undefined;
  }

  resource(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.registry.lookup(group, version, plural);
  }

  resourceByPlural(group: string, plural: string): ResourceInfo | undefined {
    return this.registry.lookupPreferred(group, plural);
  }

  resourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.registry.lookupKind(apiVersion, kind);
  }

  allResources(): readonly ResourceInfo[] {
    return this.registry.all();
  }

  discovery(info: RequestInfo, aggregated: 'v2' | 'v2beta1' | undefined): object | undefined {
    const d = this.#docs();
    if (info.prefix === 'api') {
      if (!info.version) return aggregated ? d.aggregatedCore(aggregated) : d.apiVersions();
      return d.resourceList('', info.version);
    }
    if (!info.group) return aggregated ? d.aggregatedGroups(aggregated) : d.apiGroupList();
    if (!info.version) return d.apiGroup(info.group);
    return d.resourceList(info.group, info.version);
  }

  openapi(path: string, q: URLSearchParams): object | undefined {
    const d = this.#docs();
    if (path === '/openapi/v2') return d.openapiV2();
    if (path === '/openapi/v3' || path === '/openapi/v3/') return d.openapiV3Index();
    return d.openapiV3(path.slice('/openapi/v3/'.length), q.get('hash') ?? undefined);
  }

  async virtualCreate(
    info: ResourceInfo,
    body: KObject,
    ctx: { req: IncomingMessage; user: Requester; namespace?: string },
  ): Promise<object> {
    const h = this.#virtual.get(`${info.group}/${info.kind}`);
    if (!h) throw new StatusError(405, 'MethodNotAllowed', `${info.kind} is not served by this server yet`);
    return h(this, info, body, ctx);
  }
}

export class Clusters implements NamespaceCheck {
  readonly #kv: KVStore;
  readonly #states = new Map<string, Promise<ClusterState>>();
  readonly #nsCache = new Map<string, { terminating: boolean; at: number }>();
  readonly virtual = new Map<string, VirtualHandler>();
  #rest: RestStorage | undefined;

  constructor(kv: KVStore) {
    this.#kv = kv;
  }

  attach(rest: RestStorage): void {
    this.#rest = rest;
  }

  /**
   * The cluster if it exists (it has served a request, or its namespaces are in the store),
   * without bringing a deleted one back: background work (the garbage collector) uses this, so
   * that tidying up after deleteCluster cannot re-create its default namespaces and roles.
   */
  async existing(name: string): Promise<ClusterState | undefined> {
    const known = this.#states.get(name);
    if (known) return known;
    if (name !== 'root' && (await this.#kv.count(`/registry/core/namespaces/${name}/`)) === 0)
      return undefined;
    return this.get(name);
  }

  get(name: string): Promise<ClusterState> {
    let p = this.#states.get(name);
    if (!p) {
      p = this.#init(name);
      this.#states.set(name, p);
      p.catch(() => this.#states.delete(name));
    }
    return p;
  }

  async #registryOnly(name: string): Promise<ClusterState> {
    const state = new ClusterState(name, this.virtual, this.#kv);
    const crdInfo = state.resourceByPlural('apiextensions.k8s.io', 'customresourcedefinitions');
    if (crdInfo) {
      const r = await this.#kv.range(resourcePrefix(crdInfo, name));
      for (const kv of r.items) this.#applyCRD(state, decodeStored(kv), false);
    }
    return state;
  }

  async #init(name: string): Promise<ClusterState> {
    const state = await this.#registryOnly(name);
    const ignoreExists = (e: unknown) => {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
    };
    const nsInfo = state.resourceByPlural('', 'namespaces')!;
    for (const ns of defaultNamespaces) {
      await this.#rest!.create({ cluster: name, info: nsInfo }, { metadata: { name: ns } }).catch(
        ignoreExists,
      );
    }
    const crInfo = state.resourceByPlural(rbacGroup, 'clusterroles')!;
    const crbInfo = state.resourceByPlural(rbacGroup, 'clusterrolebindings')!;
    for (const r of bootstrapClusterRoles())
      await this.#rest!.create({ cluster: name, info: crInfo }, r).catch(ignoreExists);
    for (const b of bootstrapClusterRoleBindings())
      await this.#rest!.create({ cluster: name, info: crbInfo }, b).catch(ignoreExists);
    state.policy.invalidate();
    return state;
  }

  /**
   * Deletes every object of a logical cluster (its segment under each resource prefix it serves,
   * CRDs' kinds included) straight from the store, and forgets its state, so that a cluster made
   * later under the same name starts from scratch. Returns the number of keys deleted.
   */
  async deleteCluster(name: string): Promise<number> {
    if (name === 'root') throw errors.badRequest('the root cluster cannot be deleted');
    // the served kinds (CRDs included) without #init: a sweep must not make defaults first
    const state = (await this.#states.get(name)?.catch(() => undefined)) ?? (await this.#registryOnly(name));
    let deleted = 0;
    // CRDs last, so that their kinds' objects are found through the registry first
    const infos = [...state.allResources()].filter((i) => !i.virtual);
    infos.sort(
      (a, b) =>
        Number(a.plural === 'customresourcedefinitions') - Number(b.plural === 'customresourcedefinitions'),
    );
    const seen = new Set<string>();
    for (const info of infos) {
      const prefix = resourcePrefix(info, name);
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.#kv.range(prefix, { limit: 500, startAfter });
        startAfter = page.items.at(-1)?.key;
        for (const kv of page.items) {
          await this.#kv.delete(kv.key).then(
            () => deleted++,
            () => undefined, // already gone
          );
        }
        if (!page.more || startAfter === undefined) break;
      }
    }
    this.#states.delete(name);
    for (const k of [...this.#nsCache.keys()]) if (k.startsWith(`${name}/`)) this.#nsCache.delete(k);
    return deleted;
  }

  #applyCRD(state: ClusterState, crd: KObject, deleted: boolean): void {
    const name = crd.metadata.name!;
    if (deleted) state.registry.removeCRD(name);
    else state.registry.addCRD(crd);
    state.invalidate();
  }

  /** Keeps a cluster's registry in step with its CRDs (from this process's writes and the watch). */
  syncCRD(cluster: string, crd: KObject, deleted: boolean): void {
    const p = this.#states.get(cluster);
    if (!p) return;
    void p.then((s) => this.#applyCRD(s, crd, deleted)).catch(() => undefined);
  }

  onWritten(scope: Scope, obj: KObject | undefined, deleted: boolean): void {
    const { info } = scope;
    if (info.group === 'apiextensions.k8s.io' && info.plural === 'customresourcedefinitions' && obj) {
      this.syncCRD(scope.cluster, obj, deleted);
    }
    if (info.group === rbacGroup) this.rbacChanged(scope.cluster);
    if (info.group === '' && info.plural === 'namespaces' && obj) {
      this.#nsCache.delete(`${scope.cluster}/${obj.metadata.name}`);
    }
  }

  /** Any RBAC object of the cluster changed (here or, through the watch, in another process). */
  rbacChanged(cluster: string): void {
    void this.#states.get(cluster)?.then(
      (s) => s.policy.invalidate(),
      () => undefined,
    );
  }

  async assertWritable(cluster: string, namespace: string): Promise<void> {
    const key = `${cluster}/${namespace}`;
    const cached = this.#nsCache.get(key);
    const now = Date.now();
    let terminating: boolean;
    if (cached && now - cached.at < 1000) terminating = cached.terminating;
    else {
      const state = await this.get(cluster);
      const nsInfo = state.resourceByPlural('', 'namespaces')!;
      const ns = await this.#rest!.get({ cluster, info: nsInfo }, namespace).catch((e: unknown) => {
        if (e instanceof StatusError && e.code === 404) return undefined;
        throw e;
      });
      if (!ns) throw errors.notFound({ group: '', resource: 'namespaces', name: namespace });
      terminating = Boolean(ns.metadata.deletionTimestamp);
      this.#nsCache.set(key, { terminating, at: now });
    }
    if (terminating) {
      throw new StatusError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: namespace, kind: 'namespaces' },
      );
    }
  }
}
