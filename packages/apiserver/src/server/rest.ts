// The generic REST storage: one implementation of get/list/create/update/patch/delete for every
// kind in the registry, over the revisioned key-value contract.
import { randomUUID } from 'node:crypto';
import type { AdmissionOperation, AdmissionPlugin, AdmissionUser } from '../admission/types.ts';
import { runAdmission } from '../admission/types.ts';
import { errors, StatusError } from '../errors.ts';
import type { FieldCause, ResourceInfo } from '../registry/types.ts';
import { apiVersionOf } from '../registry/types.ts';
import type { KVStore, KeyValue } from '../storage/kv.ts';
import {
  CompactedError,
  ConflictError,
  KeyExistsError,
  KeyNotFoundError,
  UnavailableError,
} from '../storage/kv.ts';
import type { KObject } from './objects.ts';
import {
  decodeStored,
  encodeStored,
  generateSuffix,
  jsonEqual,
  nowRFC3339,
  objectKey,
  resourcePrefix,
} from './objects.ts';
import { hasStatusSubresource, prepareForCreate, prepareForUpdate, specOf } from './strategy.ts';
import { serverSideApply, type ApplyOptions } from '../patch/apply.ts';

export interface Scope {
  cluster: string;
  info: ResourceInfo;
  /** Set for namespaced requests; undefined lists across namespaces. */
  namespace?: string;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface Validation {
  /** Schema and metadata validation; returns every problem found. */
  validate(
    scope: Scope,
    obj: KObject,
    opts: { strict: boolean },
  ): { causes: FieldCause[]; unknownFields: string[] };
  /** Applies a patch document to an object (json, merge or strategic). */
  applyPatch(scope: Scope, contentType: string, original: KObject, body: string): KObject;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Filled with warnings to return in Warning headers. */
  warnings?: string[];
  /** The requesting user, for admission; undefined for the server's own in-process calls. */
  user?: AdmissionUser;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export interface ListOptions {
  limit?: number;
  continue?: string;
  filter?: (obj: KObject) => boolean;
  /** True when the filter needs parsed objects; false lets the list skip parsing. */
}

export interface ListResult {
  items: KeyValue[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface NamespaceCheck {
  /** Throws 404 when the namespace is missing, 403 when it is terminating. */
  assertWritable(cluster: string, namespace: string): Promise<void>;
}

export interface RestDeps {
  kv: KVStore;
  clock: () => number;
  validation: Validation;
  namespaces: NamespaceCheck;
  /** Called after a CRD was written so the cluster serves its kinds at once. */
  onWritten?: (scope: Scope, obj: KObject | undefined, deleted: boolean) => void;
  /** Admission plugins, run in order on create/update/patch/delete (dry runs too). */
  admission?: readonly AdmissionPlugin[];
}

interface AdmitRequest {
  operation: AdmissionOperation;
  scope: Scope;
  name: string;
  object?: KObject;
  oldObject?: KObject;
  subresource?: string;
  opts: WriteOptions;
}

const maxUpdateRetries = 16;

const namespacesInfo: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  verbs: [],
  protobuf: true,
};

function target(scope: Scope, name?: string) {
  return { group: scope.info.group, resource: scope.info.plural, name };
}

export function mapStorageError(err: unknown, scope: Scope, name?: string): never {
  if (err instanceof StatusError) throw err;
  if (err instanceof KeyExistsError) throw errors.alreadyExists(target(scope, name));
  if (err instanceof KeyNotFoundError) throw errors.notFound(target(scope, name));
  if (err instanceof ConflictError)
    throw errors.conflict(
      target(scope, name),
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  if (err instanceof CompactedError)
    throw errors.gone(`too old resource version: ${err.requested} (${err.compacted + 1})`);
  if (err instanceof UnavailableError) throw errors.unavailable(`storage is unavailable: ${err.message}`);
  throw err;
}

interface ContinueToken {
  rv: number;
  start: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'kaas.dev/v1', rv: t.rv, start: t.start })).toString('base64url');
}

export function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (t.v !== 'kaas.dev/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('shape');
    return { rv: t.rv, start: t.start };
  } catch {
    throw errors.badRequest(
      `invalid continue token ${JSON.stringify(s.slice(0, 64))}: start the list again without it`,
    );
  }
}

export class RestStorage {
  readonly #d: RestDeps;

  constructor(deps: RestDeps) {
    this.#d = deps;
  }

  key(scope: Scope, name: string): string {
    return objectKey(scope.info, scope.cluster, scope.namespace, name);
  }

  async getKV(scope: Scope, name: string): Promise<KeyValue> {
    const { kv } = await this.#d.kv
      .get(this.key(scope, name))
      .catch((e: unknown) => mapStorageError(e, scope, name));
    if (!kv) throw errors.notFound(target(scope, name));
    return kv;
  }

  async get(scope: Scope, name: string): Promise<KObject> {
    return decodeStored(await this.getKV(scope, name));
  }

  async list(scope: Scope, opts: ListOptions): Promise<ListResult> {
    const prefix = resourcePrefix(
      scope.info,
      scope.cluster,
      scope.info.namespaced ? scope.namespace : undefined,
    );
    let startAfter: string | undefined;
    let revision: number | undefined;
    if (opts.continue) {
      const t = decodeContinue(opts.continue);
      startAfter = prefix + t.start;
      revision = t.rv;
      if (!t.start || t.start.includes('..'))
        throw errors.badRequest('invalid continue token: bad start key');
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KeyValue[] = [];
    let more = false;
    let readRev = revision;
    let lastKey: string | undefined;
    let remaining: number | undefined;
    // With a filter, keep reading pages until `limit` matches are found, as upstream does.
    for (;;) {
      const pageSize = limit ? Math.max(limit - items.length, opts.filter ? 500 : 0) : 0;
      const r = await this.#d.kv
        .range(prefix, { limit: pageSize, startAfter, revision: readRev })
        .catch((e: unknown) => {
          if (e instanceof CompactedError && opts.continue) {
            throw errors.gone(
              'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
            );
          }
          return mapStorageError(e, scope);
        });
      readRev = r.revision;
      let i = 0;
      for (; i < r.items.length; i++) {
        const kv = r.items[i]!;
        lastKey = kv.key;
        if (!opts.filter || opts.filter(decodeStored(kv))) {
          items.push(kv);
          if (limit && items.length >= limit) {
            i++;
            break;
          }
        }
      }
      const exhaustedPage = i >= r.items.length;
      if (limit && items.length >= limit) {
        more = !exhaustedPage || r.more;
        if (!opts.filter && r.remaining !== undefined) remaining = r.remaining + (r.items.length - i);
        break;
      }
      if (!r.more) break;
      startAfter = lastKey;
    }
    const res: ListResult = { items, resourceVersion: String(readRev) };
    if (more && lastKey) {
      res.continue = encodeContinue({ rv: readRev, start: lastKey.slice(prefix.length) });
      if (remaining !== undefined && remaining > 0) res.remainingItemCount = remaining;
    }
    return res;
  }

  #checkTypeMeta(scope: Scope, obj: KObject): void {
    const want = apiVersionOf(scope.info);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw errors.badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== scope.info.kind) {
      throw errors.badRequest(
        `the kind in the data (${obj.kind}) does not match the expected kind (${scope.info.kind})`,
      );
    }
    obj.apiVersion = want;
    obj.kind = scope.info.kind;
  }

  #validate(scope: Scope, obj: KObject, opts: WriteOptions): void {
    const mode = opts.fieldValidation ?? 'Warn';
    const { causes, unknownFields } = this.#d.validation.validate(scope, obj, { strict: mode !== 'Ignore' });
    if (unknownFields.length) {
      if (mode === 'Strict') {
        throw errors.badRequest(
          `${scope.info.kind} in version "${scope.info.version}" cannot be handled as a ${scope.info.kind}: strict decoding error: ${unknownFields
            .map((f) => `unknown field "${f}"`)
            .join(', ')}`,
        );
      }
      if (mode === 'Warn') for (const f of unknownFields) opts.warnings?.push(`unknown field "${f}"`);
    }
    if (causes.length)
      throw errors.invalid(scope.info.kind, scope.info.group, obj.metadata.name ?? '', causes);
  }

  /** Runs the admission chain after defaulting and before validation and storage. */
  async #admit(r: AdmitRequest): Promise<void> {
    const plugins = this.#d.admission;
    if (!plugins?.length) return;
    const { scope, opts } = r;
    await runAdmission(plugins, {
      operation: r.operation,
      cluster: scope.cluster,
      namespace: scope.info.namespaced ? scope.namespace : undefined,
      name: r.name,
      resource: scope.info,
      subresource: r.subresource,
      object: r.object,
      oldObject: r.oldObject,
      user: opts.user,
      dryRun: opts.dryRun ?? false,
      getNamespace: async (name) => {
        const nsScope: Scope = { cluster: scope.cluster, info: namespacesInfo };
        const { kv } = await this.#d.kv
          .get(`${resourcePrefix(namespacesInfo, scope.cluster)}${name}`)
          .catch((e: unknown) => mapStorageError(e, nsScope, name));
        return kv ? decodeStored(kv) : undefined;
      },
      // A retried update admits again: say each warning once.
      warn: (message) => {
        if (opts.warnings && !opts.warnings.includes(message)) opts.warnings.push(message);
      },
    });
  }

  async create(scope: Scope, input: unknown, opts: WriteOptions = {}): Promise<KObject> {
    const obj = asObject(input);
    this.#checkTypeMeta(scope, obj);
    const meta = obj.metadata;
    if (scope.info.namespaced) {
      if (meta.namespace && scope.namespace && meta.namespace !== scope.namespace) {
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = scope.namespace ?? meta.namespace;
      if (!meta.namespace)
        throw errors.badRequest('a namespace must be specified to create a namespaced object');
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + generateSuffix();
    if (meta.resourceVersion) {
      throw errors.badRequest('resourceVersion should not be set on objects to be created');
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRFC3339(this.#d.clock);
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    prepareForCreate(scope.info, obj, meta.creationTimestamp);
    const s = { ...scope, namespace: meta.namespace };
    await this.#admit({ operation: 'CREATE', scope: s, name: meta.name ?? '', object: obj, opts });
    this.#validate(scope, obj, opts);
    if (scope.info.namespaced) await this.#d.namespaces.assertWritable(scope.cluster, meta.namespace!);
    if (opts.dryRun) return obj;
    const kv = await this.#d.kv
      .create(this.key(s, meta.name!), encodeStored(obj))
      .catch((e: unknown) => mapStorageError(e, s, meta.name));
    meta.resourceVersion = String(kv.modRevision);
    this.#d.onWritten?.(s, obj, false);
    return obj;
  }

  /**
   * Read-modify-write with compare-and-swap, retried on conflicts. `mutate` gets a fresh copy
   * each attempt; returning the same object unchanged makes no write.
   */
  async guaranteedUpdate(
    scope: Scope,
    name: string,
    mutate: (current: KObject) => KObject | Promise<KObject>,
    opts: WriteOptions & { retryOnConflict?: boolean; subresource?: string } = {},
  ): Promise<{ obj: KObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const curKV = await this.getKV(scope, name);
      const current = decodeStored(curKV);
      const next = await mutate(decodeStored(curKV));
      try {
        return await this.#commitUpdate(scope, curKV, current, next, opts);
      } catch (e) {
        if (e instanceof ConflictError && opts.retryOnConflict !== false && attempt < maxUpdateRetries)
          continue;
        mapStorageError(e, scope, name);
      }
    }
  }

  async #commitUpdate(
    scope: Scope,
    curKV: KeyValue,
    current: KObject,
    input: KObject,
    opts: WriteOptions & { subresource?: string },
  ): Promise<{ obj: KObject; deleted: boolean }> {
    const obj = asObject(input);
    this.#checkTypeMeta(scope, obj);
    const meta = obj.metadata;
    const cur = current.metadata;
    if (meta.name !== undefined && meta.name !== cur.name) {
      throw errors.badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${cur.name})`,
      );
    }
    if (scope.info.namespaced && meta.namespace && meta.namespace !== cur.namespace) {
      throw errors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (meta.resourceVersion && meta.resourceVersion !== cur.resourceVersion) {
      throw new ConflictError(curKV.key, curKV);
    }
    let next: KObject;
    if (opts.subresource === 'status') {
      next = { ...current, status: obj.status };
    } else {
      next = obj;
      if (hasStatusSubresource(scope.info)) {
        if (current.status === undefined) delete next.status;
        else next.status = current.status;
      }
      // System fields are not the client's to change.
      next.metadata = {
        ...meta,
        name: cur.name,
        namespace: cur.namespace,
        uid: cur.uid,
        creationTimestamp: cur.creationTimestamp,
        generation: cur.generation,
      };
      // a write that does not send managedFields keeps them (upstream): only apply changes them
      if (meta.managedFields === undefined && cur.managedFields !== undefined)
        next.metadata.managedFields = cur.managedFields;
      if (cur.deletionTimestamp) {
        next.metadata.deletionTimestamp = cur.deletionTimestamp;
        next.metadata.deletionGracePeriodSeconds = cur.deletionGracePeriodSeconds;
        const added = (next.metadata.finalizers ?? []).filter((f) => !(cur.finalizers ?? []).includes(f));
        if (added.length) {
          throw errors.invalid(scope.info.kind, scope.info.group, cur.name ?? '', [
            {
              reason: 'FieldValueForbidden',
              field: 'metadata.finalizers',
              message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            },
          ]);
        }
      } else {
        delete next.metadata.deletionTimestamp;
        delete next.metadata.deletionGracePeriodSeconds;
      }
      if (!scope.info.namespaced) delete next.metadata.namespace;
      if (!jsonEqual(specOf(next), specOf(current))) next.metadata.generation = (cur.generation ?? 0) + 1;
      if (scope.info.group === '' && scope.info.kind === 'Namespace') next.status = current.status;
      prepareForUpdate(scope.info, next, current);
    }
    await this.#admit({
      operation: 'UPDATE',
      scope: { ...scope, namespace: cur.namespace },
      name: cur.name ?? '',
      object: next,
      oldObject: current,
      subresource: opts.subresource,
      opts,
    });
    this.#validate(scope, next, opts);
    next.metadata.resourceVersion = cur.resourceVersion;
    if (jsonEqual(next, current)) return { obj: current, deleted: false };
    if (opts.dryRun) return { obj: next, deleted: false };
    if (next.metadata.deletionTimestamp && finalizersDone(scope.info, next)) {
      await this.#d.kv.delete(curKV.key, curKV.modRevision);
      this.#d.onWritten?.(scope, next, true);
      return { obj: next, deleted: true };
    }
    const kv = await this.#d.kv.update(curKV.key, encodeStored(next), curKV.modRevision);
    next.metadata.resourceVersion = String(kv.modRevision);
    this.#d.onWritten?.(scope, next, false);
    return { obj: next, deleted: false };
  }

  async update(
    scope: Scope,
    name: string,
    input: unknown,
    opts: WriteOptions & { subresource?: string } = {},
  ): Promise<{ obj: KObject; deleted: boolean }> {
    const obj = asObject(input);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    // An update that names a resourceVersion is conditional: no retry on conflict.
    const conditional = Boolean(obj.metadata.resourceVersion);
    return this.guaranteedUpdate(scope, name, () => structuredClone(obj), {
      ...opts,
      retryOnConflict: !conditional,
    });
  }

  async patch(
    scope: Scope,
    name: string,
    contentType: string,
    body: string,
    opts: WriteOptions & { subresource?: string } = {},
  ): Promise<{ obj: KObject; deleted: boolean }> {
    return this.guaranteedUpdate(
      scope,
      name,
      (current) => {
        const patched = this.#d.validation.applyPatch(scope, contentType, current, body);
        if (!patched || typeof patched !== 'object' || Array.isArray(patched)) {
          throw errors.badRequest('the patch produced something that is not an object');
        }
        const rv = patched.metadata?.resourceVersion;
        if (rv !== undefined && rv !== current.metadata.resourceVersion) {
          throw errors.conflict(
            target(scope, name),
            'the object has been modified; please apply your changes to the latest version and try again',
          );
        }
        return patched;
      },
      opts,
    );
  }

  /**
   * Server-side apply (patch/apply.ts): merges `config` into the object as `fieldManager`,
   * creating it when it does not exist. A no-op apply writes nothing.
   */
  async apply(
    scope: Scope,
    name: string,
    config: unknown,
    opts: WriteOptions & { fieldManager: string; force?: boolean },
  ): Promise<{ obj: KObject; created: boolean }> {
    const cfg = asObject(config);
    if (cfg.metadata.name !== undefined && cfg.metadata.name !== name)
      throw errors.badRequest(
        `the name of the object (${cfg.metadata.name}) does not match the name on the URL (${name})`,
      );
    const applyOpts = (): ApplyOptions => ({
      fieldManager: opts.fieldManager,
      force: opts.force ?? false,
      kind: scope.info.kind,
      now: nowRFC3339(this.#d.clock),
      ignoreStatus: hasStatusSubresource(scope.info),
    });
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.guaranteedUpdate(
          scope,
          name,
          (cur) => serverSideApply(cur, cfg, applyOpts()),
          opts,
        );
        return { obj: r.obj, created: false };
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404) || attempt > 0) throw e;
      }
      const fresh = serverSideApply(undefined, { ...cfg, metadata: { ...cfg.metadata, name } }, applyOpts());
      try {
        return { obj: await this.create(scope, fresh, opts), created: true };
      } catch (e) {
        // created by someone else meanwhile: apply to theirs
        if (!(e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists')) throw e;
      }
    }
  }

  /** Returns the object as it is after the call and whether it is gone from storage. */
  async delete(
    scope: Scope,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ obj: KObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const curKV = await this.getKV(scope, name);
      const current = decodeStored(curKV);
      const meta = current.metadata;
      if (opts.preconditions?.uid && opts.preconditions.uid !== meta.uid) {
        throw errors.conflict(
          target(scope, name),
          `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${meta.uid}`,
        );
      }
      if (
        opts.preconditions?.resourceVersion &&
        opts.preconditions.resourceVersion !== meta.resourceVersion
      ) {
        throw errors.conflict(
          target(scope, name),
          `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
        );
      }
      await this.#admit({
        operation: 'DELETE',
        scope: { ...scope, namespace: meta.namespace },
        name,
        oldObject: current,
        opts,
      });
      const next = structuredClone(current);
      const finalizers = new Set(next.metadata.finalizers ?? []);
      const policy = opts.propagationPolicy;
      if (policy === 'Foreground') {
        finalizers.delete('orphan');
        finalizers.add('foregroundDeletion');
      } else if (policy === 'Orphan') {
        finalizers.delete('foregroundDeletion');
        finalizers.add('orphan');
      }
      if (finalizers.size) next.metadata.finalizers = [...finalizers];
      const isNamespace = scope.info.group === '' && scope.info.kind === 'Namespace';
      if (isNamespace) next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      if (finalizersDone(scope.info, next)) {
        if (opts.dryRun) return { obj: current, deleted: true };
        try {
          await this.#d.kv.delete(curKV.key, curKV.modRevision);
          this.#d.onWritten?.(scope, current, true);
          return { obj: current, deleted: true };
        } catch (e) {
          if (e instanceof ConflictError && attempt < maxUpdateRetries) continue;
          if (e instanceof KeyNotFoundError) throw errors.notFound(target(scope, name));
          mapStorageError(e, scope, name);
        }
      }
      next.metadata.deletionTimestamp ??= nowRFC3339(this.#d.clock);
      next.metadata.deletionGracePeriodSeconds ??= 0;
      if (jsonEqual(next, current)) return { obj: current, deleted: false };
      if (opts.dryRun) return { obj: next, deleted: false };
      try {
        const kv = await this.#d.kv.update(curKV.key, encodeStored(next), curKV.modRevision);
        next.metadata.resourceVersion = String(kv.modRevision);
        this.#d.onWritten?.(scope, next, false);
        return { obj: next, deleted: false };
      } catch (e) {
        if (e instanceof ConflictError && attempt < maxUpdateRetries) continue;
        mapStorageError(e, scope, name);
      }
    }
  }
}

function finalizersDone(info: ResourceInfo, obj: KObject): boolean {
  if ((obj.metadata.finalizers ?? []).length) return false;
  if (info.group === '' && info.kind === 'Namespace')
    return ((obj.spec?.finalizers as string[] | undefined) ?? []).length === 0;
  return true;
}

function asObject(input: unknown): KObject {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw errors.badRequest('the request body must be a JSON or YAML object');
  }
  const obj = input as KObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
    throw errors.badRequest('metadata must be an object');
  }
  return obj;
}
