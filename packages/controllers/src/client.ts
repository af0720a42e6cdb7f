// A typed-enough client for reconcilers running in the API server's process. Every write goes
// through RestStorage, the same code an HTTP request reaches, so validation, defaulting,
// generation, finalizers and the garbage collector apply exactly as they do for kubectl; only
// authentication, authorization and the wire encoding are skipped.
import { StatusError, decodeStored } from '@kaas/apiserver';
import type { ApiServer, KObject, ResourceInfo } from '@kaas/apiserver';

/** The parts of an ApiServer the client needs. */
export type ServerHandle = Pick<ApiServer, 'rest' | 'clusters'>;
type RestStorage = ApiServer['rest'];
type Scope = Parameters<RestStorage['get']>[0];
export type WriteOptions = NonNullable<Parameters<RestStorage['create']>[2]>;
export type DeleteOptions = NonNullable<Parameters<RestStorage['delete']>[2]>;

export interface TypeRef {
  cluster: string;
  apiVersion: string;
  kind: string;
}

export interface ObjectRef extends TypeRef {
  /** Required for namespaced kinds, ignored for cluster-scoped ones. */
  namespace?: string;
  name: string;
}

export interface ListRequest extends TypeRef {
  /** Undefined lists every namespace. */
  namespace?: string;
  /** Only objects carrying every one of these labels (equality; use an informer for more). */
  labels?: Record<string, string>;
}

export interface ObjectList {
  items: KObject[];
  resourceVersion: string;
}

export function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

export function isConflict(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409;
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists';
}

/** `await client.get(ref).catch(ignoreNotFound)` yields undefined for a missing object. */
export function ignoreNotFound(e: unknown): undefined {
  if (isNotFound(e)) return undefined;
  throw e;
}

function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export class InProcessClient {
  readonly #s: ServerHandle;

  constructor(server: ServerHandle) {
    this.#s = server;
  }

  /** The resource of a kind in a cluster (404 when the cluster does not serve it, e.g. no CRD yet). */
  async resourceInfo(cluster: string, apiVersion: string, kind: string): Promise<ResourceInfo> {
    const state = await this.#s.clusters.get(cluster);
    const info = state.resourceByKind(apiVersion, kind);
    if (!info || info.virtual) {
      throw new StatusError(
        404,
        'NotFound',
        `the server could not find the requested resource: no kind ${kind} in ${apiVersion} in cluster ${cluster}`,
        { group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '', kind },
      );
    }
    return info;
  }

  async #scope(ref: TypeRef & { namespace?: string }, needNamespace: boolean): Promise<Scope> {
    const info = await this.resourceInfo(ref.cluster, ref.apiVersion, ref.kind);
    if (!info.namespaced) return { cluster: ref.cluster, info };
    if (needNamespace && !ref.namespace)
      throw badRequest(`${info.plural} is namespaced: a namespace is required`);
    return { cluster: ref.cluster, info, namespace: ref.namespace };
  }

  async get(ref: ObjectRef): Promise<KObject> {
    checkName(ref.name);
    return this.#s.rest.get(await this.#scope(ref, true), ref.name);
  }

  async list(req: ListRequest): Promise<ObjectList> {
    const scope = await this.#scope(req, false);
    const want = Object.entries(req.labels ?? {});
    const filter = want.length
      ? (o: KObject) => want.every(([k, v]) => o.metadata.labels?.[k] === v)
      : undefined;
    const r = await this.#s.rest.list(scope, { filter });
    return { items: r.items.map(decodeStored), resourceVersion: r.resourceVersion };
  }

  /** Creates `obj` (apiVersion, kind and, for namespaced kinds, metadata.namespace required). */
  async create(cluster: string, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    const scope = await this.#scope(objectRef(cluster, obj, false), true);
    return this.#s.rest.create(scope, structuredClone(obj), opts);
  }

  /**
   * Replaces the object. With metadata.resourceVersion set the write is conditional and a
   * concurrent change fails with 409; status is kept for kinds with a status subresource.
   */
  async update(cluster: string, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    const ref = objectRef(cluster, obj, true);
    const r = await this.#s.rest.update(await this.#scope(ref, true), ref.name, structuredClone(obj), opts);
    return r.obj;
  }

  /** Writes only `status` (the status subresource), conditional on metadata.resourceVersion. */
  async updateStatus(cluster: string, obj: KObject, opts: WriteOptions = {}): Promise<KObject> {
    const ref = objectRef(cluster, obj, true);
    const scope = await this.#scope(ref, true);
    if (!scope.info.subresources?.includes('status'))
      throw new StatusError(404, 'NotFound', `${scope.info.plural} has no status subresource`);
    const r = await this.#s.rest.update(scope, ref.name, structuredClone(obj), {
      ...opts,
      subresource: 'status',
    });
    return r.obj;
  }

  /** JSON merge patch (RFC 7386); `subresource: 'status'` patches status only. */
  async patch(
    ref: ObjectRef,
    patch: object,
    opts: WriteOptions & { subresource?: 'status' } = {},
  ): Promise<KObject> {
    checkName(ref.name);
    const scope = await this.#scope(ref, true);
    if (opts.subresource && !scope.info.subresources?.includes(opts.subresource))
      throw new StatusError(404, 'NotFound', `${scope.info.plural} has no ${opts.subresource} subresource`);
    const r = await this.#s.rest.patch(
      scope,
      ref.name,
      'application/merge-patch+json',
      JSON.stringify(patch),
      opts,
    );
    return r.obj;
  }

  /**
   * Server-side apply of `obj` as `fieldManager` (creates it when missing); `force` takes over
   * fields other managers own instead of failing with 409. A no-op apply writes nothing.
   */
  async apply(
    cluster: string,
    obj: KObject,
    opts: WriteOptions & { fieldManager: string; force?: boolean },
  ): Promise<{ obj: KObject; created: boolean }> {
    const ref = objectRef(cluster, obj, true);
    return this.#s.rest.apply(await this.#scope(ref, true), ref.name, structuredClone(obj), opts);
  }

  /**
   * Deletes (or, with finalizers, marks for deletion). `deleted` says whether the object is gone
   * from storage; `obj` is its last state.
   */
  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<{ obj: KObject; deleted: boolean }> {
    checkName(ref.name);
    return this.#s.rest.delete(await this.#scope(ref, true), ref.name, opts);
  }
}

function checkName(name: string): void {
  if (!name || name.includes('/') || name.includes('%') || name === '.' || name === '..')
    throw badRequest(`invalid resource name ${JSON.stringify(name)}`);
}

function objectRef(cluster: string, obj: KObject, needName: boolean): ObjectRef {
  if (!obj || typeof obj !== 'object') throw badRequest('the object must be an object');
  if (!obj.apiVersion || !obj.kind) throw badRequest('the object must name its apiVersion and kind');
  const name = obj.metadata?.name ?? '';
  if (needName) checkName(name);
  return {
    cluster,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata?.namespace,
    name,
  };
}
