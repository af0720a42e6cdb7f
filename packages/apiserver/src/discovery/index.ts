// Discovery and OpenAPI documents, as pure functions of one cluster's ResourceRegistry: /api,
// /apis, /apis/<group>, /api/v1 and /apis/<group>/<version> (plain and aggregated,
// apidiscovery.k8s.io v2 and v2beta1), /openapi/v2, /openapi/v3 and its group version documents,
// and /version. Documents are built on first request and kept until the registry changes (a CRD
// is added or removed); their JSON and ETag are memoized alongside.
import { createHash } from 'node:crypto';
import type { ResourceRegistry } from '../registry/registry.ts';
import { models } from '../registry/models.ts';
import type { ResourceInfo, Verb } from '../registry/types.ts';
import { apiVersionOf } from '../registry/types.ts';
import type { OpenAPIDocument } from './openapi.ts';
import { documentHash, groupVersionDocument, toSwagger2 } from './openapi.ts';

export type { OpenAPIDocument } from './openapi.ts';

export interface DiscoveryOptions {
  /** host:port advertised in /api's serverAddressByClientCIDRs; omitted when unknown. */
  serverAddress?: string;
  /** The Kubernetes version we present (gitVersion), e.g. "v1.32.0". */
  kubernetesVersion?: string;
}

export type AggregatedVersion = 'v2' | 'v2beta1';

/** Content-Type of an aggregated discovery response; it must echo what the client asked for. */
export function aggregatedContentType(v: AggregatedVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

const subresourceVerbs: readonly Verb[] = ['get', 'patch', 'update'];

/** discovery.StorageVersionHash: base64 of the first 8 bytes of sha256("group/version/kind"). */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256')
    .update(`${group}/${version}/${kind}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

function storageHashOf(registry: ResourceRegistry, info: ResourceInfo): string | undefined {
  if (info.virtual) return undefined;
  if (info.custom) {
    const storage = registry
      .all()
      .find((r) => r.custom?.crdName === info.custom!.crdName && r.custom.storage);
    return storageVersionHash(info.group, storage?.version ?? info.version, info.kind);
  }
  return storageVersionHash(info.group, info.version, info.kind);
}

function apiResources(registry: ResourceRegistry, info: ResourceInfo): object[] {
  const main: Record<string, unknown> = {
    name: info.plural,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: [...info.verbs],
  };
  if (info.shortNames?.length) main.shortNames = [...info.shortNames];
  if (info.categories?.length) main.categories = [...info.categories];
  const hash = storageHashOf(registry, info);
  if (hash) main.storageVersionHash = hash;
  const out: object[] = [main];
  if (info.group === '' && info.plural === 'namespaces') {
    out.push({
      name: 'namespaces/finalize',
      singularName: '',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['update'],
    });
  }
  if (info.group === '' && info.plural === 'serviceaccounts') {
    out.push({
      name: 'serviceaccounts/token',
      singularName: '',
      namespaced: true,
      group: 'authentication.k8s.io',
      version: 'v1',
      kind: 'TokenRequest',
      verbs: ['create'],
    });
  }
  for (const sub of info.subresources ?? []) {
    if (sub === 'scale') {
      out.push({
        name: `${info.plural}/scale`,
        singularName: '',
        namespaced: info.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: [...subresourceVerbs],
      });
    } else {
      out.push({
        name: `${info.plural}/${sub}`,
        singularName: '',
        namespaced: info.namespaced,
        kind: info.kind,
        verbs: [...subresourceVerbs],
      });
    }
  }
  return out;
}

function aggregatedResource(info: ResourceInfo): object {
  const r: Record<string, unknown> = {
    resource: info.plural,
    responseKind: { group: info.group, version: info.version, kind: info.kind },
    scope: info.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: info.singular,
    verbs: [...info.verbs],
  };
  if (info.shortNames?.length) r.shortNames = [...info.shortNames];
  if (info.categories?.length) r.categories = [...info.categories];
  const subs: object[] = [];
  if (info.group === '' && info.plural === 'namespaces') {
    subs.push({
      subresource: 'finalize',
      responseKind: { group: '', version: 'v1', kind: 'Namespace' },
      verbs: ['update'],
    });
  }
  if (info.group === '' && info.plural === 'serviceaccounts') {
    subs.push({
      subresource: 'token',
      responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
      verbs: ['create'],
    });
  }
  for (const sub of info.subresources ?? []) {
    subs.push({
      subresource: sub,
      responseKind:
        sub === 'scale'
          ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
          : { group: info.group, version: info.version, kind: info.kind },
      verbs: [...subresourceVerbs],
    });
  }
  if (subs.length) r.subresources = subs;
  return r;
}

function groupVersionFor(group: string, version: string): { groupVersion: string; version: string } {
  return { groupVersion: apiVersionOf({ group, version }), version };
}

interface GVDoc {
  fingerprint: string;
  doc: OpenAPIDocument;
  json: string;
  hash: string;
}

/**
 * Built-in group versions produce the same document in every cluster: share them process-wide,
 * keyed by a fingerprint of the resources they describe.
 */
const sharedGVDocs = new Map<string, GVDoc>();

export class Discovery {
  readonly #registry: ResourceRegistry;
  readonly #opts: Required<Pick<DiscoveryOptions, 'kubernetesVersion'>> & DiscoveryOptions;
  #revision = -1;
  #cache = new Map<string, object>();
  #gvDocs = new Map<string, GVDoc>();
  readonly #json = new WeakMap<object, string>();
  readonly #etags = new WeakMap<object, string>();

  constructor(registry: ResourceRegistry, opts: DiscoveryOptions = {}) {
    this.#registry = registry;
    this.#opts = { ...opts, kubernetesVersion: opts.kubernetesVersion ?? 'v1.32.0' };
  }

  #cached<T extends object>(key: string, build: () => T): T {
    if (this.#registry.revision !== this.#revision) {
      this.#revision = this.#registry.revision;
      this.#cache = new Map();
    }
    let v = this.#cache.get(key) as T | undefined;
    if (!v) {
      v = build();
      this.#cache.set(key, v);
    }
    return v;
  }

  /** GET /api */
  apiVersions(): object {
    return this.#cached('api', () => ({
      kind: 'APIVersions',
      versions: this.#registry.group('')?.versions ?? [],
      serverAddressByClientCIDRs: this.#opts.serverAddress
        ? [{ clientCIDR: '0.0.0.0/0', serverAddress: this.#opts.serverAddress }]
        : [],
    }));
  }

  /** GET /apis */
  apiGroupList(): object {
    return this.#cached('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.#registry
        .groups()
        .filter((g) => g.group !== '')
        .map((g) => this.#apiGroupBody(g.group)),
    }));
  }

  #apiGroupBody(group: string): object {
    const gv = this.#registry.group(group)!;
    return {
      name: group,
      versions: gv.versions.map((v) => groupVersionFor(group, v)),
      preferredVersion: groupVersionFor(group, gv.preferredVersion),
    };
  }

  /** GET /apis/<group>; undefined when the group is not served. */
  apiGroup(group: string): object | undefined {
    if (!group || !this.#registry.group(group)) return undefined;
    return this.#cached(`apis/${group}`, () => ({
      kind: 'APIGroup',
      apiVersion: 'v1',
      ...this.#apiGroupBody(group),
    }));
  }

  /** GET /api/v1 or /apis/<group>/<version>; undefined when not served. */
  resourceList(group: string, version: string): object | undefined {
    const resources = this.#registry.resources(group, version);
    if (resources.length === 0) return undefined;
    return this.#cached(`rl/${group}/${version}`, () => {
      const doc: Record<string, unknown> = { kind: 'APIResourceList' };
      if (group) doc.apiVersion = 'v1';
      doc.groupVersion = apiVersionOf({ group, version });
      doc.resources = resources.flatMap((r) => apiResources(this.#registry, r));
      return doc;
    });
  }

  #aggregatedItem(group: string): object {
    const gv = this.#registry.group(group)!;
    return {
      metadata: group ? { name: group } : {},
      versions: gv.versions.map((v) => ({
        version: v,
        resources: this.#registry.resources(group, v).map(aggregatedResource),
        freshness: 'Current',
      })),
    };
  }

  /** GET /api with Accept ...;as=APIGroupDiscoveryList: the core group only. */
  aggregatedCore(v: AggregatedVersion): object {
    return this.#cached(`agg/api/${v}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${v}`,
      metadata: {},
      items: this.#registry.group('') ? [this.#aggregatedItem('')] : [],
    }));
  }

  /** GET /apis with Accept ...;as=APIGroupDiscoveryList: every named group, preferred version first. */
  aggregatedGroups(v: AggregatedVersion): object {
    return this.#cached(`agg/apis/${v}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${v}`,
      metadata: {},
      items: this.#registry
        .groups()
        .filter((g) => g.group !== '')
        .map((g) => this.#aggregatedItem(g.group)),
    }));
  }

  #gvDoc(group: string, version: string): GVDoc | undefined {
    const resources = this.#registry.resources(group, version);
    if (resources.length === 0) return undefined;
    const key = `${group}/${version}`;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([this.#opts.kubernetesVersion, resources]))
      .digest('hex');
    const mine = this.#gvDocs.get(key);
    if (mine?.fingerprint === fingerprint) return mine;
    let built = sharedGVDocs.get(fingerprint);
    if (!built) {
      const doc = groupVersionDocument(models(), resources, {
        kubernetesVersion: this.#opts.kubernetesVersion,
      });
      const json = JSON.stringify(doc);
      built = { fingerprint, doc, json, hash: documentHash(json) };
      if (resources.every((r) => !r.custom)) sharedGVDocs.set(fingerprint, built);
    }
    this.#gvDocs.set(key, built);
    this.#json.set(built.doc, built.json);
    return built;
  }

  #servedGroupVersions(): { group: string; version: string; path: string }[] {
    return this.#registry.groups().flatMap((g) =>
      g.versions.map((version) => ({
        group: g.group,
        version,
        path: g.group ? `apis/${g.group}/${version}` : `api/${version}`,
      })),
    );
  }

  /** GET /openapi/v3: one entry per group version, each URL carrying its document's hash. */
  openapiV3Index(): object {
    return this.#cached('openapi/v3', () => {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const gv of this.#servedGroupVersions()) {
        const d = this.#gvDoc(gv.group, gv.version);
        if (d) paths[gv.path] = { serverRelativeURL: `/openapi/v3/${gv.path}?hash=${d.hash}` };
      }
      return { paths };
    });
  }

  /**
   * GET /openapi/v3/<path> (path "api/v1" or "apis/<group>/<version>"); undefined when not served.
   * Any `hash` gets the current document (upstream redirects a stale hash to the current one).
   */
  openapiV3(path: string, _hash?: string): object | undefined {
    const gv = this.#servedGroupVersions().find((x) => x.path === path.replace(/^\/+|\/+$/g, ''));
    return gv ? this.#gvDoc(gv.group, gv.version)?.doc : undefined;
  }

  /** The hash the index advertises for a v3 document (for Cache-Control: immutable on a match). */
  openapiV3Hash(path: string): string | undefined {
    const gv = this.#servedGroupVersions().find((x) => x.path === path.replace(/^\/+|\/+$/g, ''));
    return gv ? this.#gvDoc(gv.group, gv.version)?.hash : undefined;
  }

  /**
   * GET /openapi/v2 as JSON. kubectl asks for it as protobuf
   * (application/com.github.proto-openapi.spec.v2@v1.0+protobuf), which we do not serve: kubectl
   * 1.27+ uses v3 instead, and older kubectl needs --validate=false for apply/create.
   */
  openapiV2(): object {
    return this.#cached('openapi/v2', () =>
      toSwagger2(
        this.#servedGroupVersions()
          .map((gv) => this.#gvDoc(gv.group, gv.version)?.doc)
          .filter((d): d is OpenAPIDocument => !!d),
        this.#opts.kubernetesVersion,
      ),
    );
  }

  /** GET /version */
  version(): object {
    return this.#cached('version', () => {
      const gitVersion = this.#opts.kubernetesVersion;
      const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
      return {
        major: m?.[1] ?? '1',
        minor: m?.[2] ?? '32',
        gitVersion,
        gitCommit: '',
        gitTreeState: 'clean',
        buildDate: '1970-01-01T00:00:00Z',
        goVersion: `node${process.versions.node}`,
        compiler: 'node',
        platform: `${process.platform}/${process.arch}`,
      };
    });
  }

  /** The JSON text of a document returned by this object, serialized once. */
  json(doc: object): string {
    let s = this.#json.get(doc);
    if (s === undefined) {
      s = JSON.stringify(doc);
      this.#json.set(doc, s);
    }
    return s;
  }

  /** A strong ETag for a document returned by this object. */
  etag(doc: object): string {
    let e = this.#etags.get(doc);
    if (e === undefined) {
      e = `"${createHash('sha256').update(this.json(doc)).digest('hex').slice(0, 32)}"`;
      this.#etags.set(doc, e);
    }
    return e;
  }
}

/** The discovery documents of one cluster's registry; cheap to create, lazy to build. */
export function buildDiscovery(registry: ResourceRegistry, opts: DiscoveryOptions = {}): Discovery {
  return new Discovery(registry, opts);
}
