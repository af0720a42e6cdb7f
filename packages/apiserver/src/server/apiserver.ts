// The HTTP front of the API server: authentication, routing, content negotiation and the
// verbs, over RestStorage. One process serves many logical clusters under /clusters/<name>/.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { stringify as yamlStringify } from 'yaml';
import { errors, StatusError } from '../errors.ts';
import type { ResourceInfo } from '../registry/types.ts';
import { apiVersionOf } from '../registry/types.ts';
import type { KVStore } from '../storage/kv.ts';
import { encodeProtobuf, encodeWatchEventFrame, isProtobufKind } from '../codec/protobuf/index.ts';
import { BodyTooLargeError, decodeBody, defaultMaxBodyBytes, patchText, readBody } from './body.ts';
import type { ClusterState } from './clusters.ts';
import { Clusters } from './clusters.ts';
import { identityFromCertificate } from './certs.ts';
import { ApiMetrics, metricVerb } from './metrics.ts';
import type { ResponseFormat } from './negotiate.ts';
import {
  bodyType,
  mediaJSON,
  negotiate,
  negotiateDiscovery,
  parseMediaType,
  patchTypes,
} from './negotiate.ts';
import { applyPatchType } from '../patch/apply.ts';
import type { KObject } from './objects.ts';
import { decodeStored, resourcePrefix, withResourceVersion } from './objects.ts';
import type { RequestInfo } from './request.ts';
import { parseRequest, rootCluster } from './request.ts';
import type { DeleteOptions, FieldValidation, Scope, WriteOptions } from './rest.ts';
import { RestStorage, mapStorageError } from './rest.ts';
import { startWatch } from './watch.ts';
import type { WatchEventType } from './watch.ts';
import { buildFilter, toTableResponse, validation } from './wiring.ts';
import { GarbageCollector } from './gc.ts';
import { Compactor } from '../storage/compactor.ts';
import { LeaseElector } from './lease.ts';
import { ServiceAccountTokens } from './serviceaccounts.ts';
import type { Requester, VirtualHandler } from './clusters.ts';
import type { Attributes, PolicyRule, UserRef } from '../authz/rbac.ts';
import { forbiddenMessage, superuserGroup } from '../authz/rbac.ts';
import type { AdmissionPlugin } from '../admission/types.ts';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** `cluster` is the logical cluster the request is for: tokens are bound to one. */
export type Authenticator = (req: IncomingMessage, ctx: { cluster: string }) => Promise<UserInfo | null>;

export interface RouteContext {
  url: URL;
  /** The authenticated caller for the root cluster, or null (routes decide what anonymous may do). */
  user: UserInfo | null;
  /** RBAC on a non-resource URL in the root cluster, as `kubectl auth can-i VERB /path` would answer. */
  can(user: UserInfo, verb: string, path: string): Promise<boolean>;
}

export interface ExtraRoute {
  /** A path prefix such as `/auth/` or `/.well-known/openid-configuration`. */
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void>;
}

export interface ApiServerOptions {
  kv: KVStore;
  /** PEM material; without it the server speaks plain HTTP (tests and benchmarks only). */
  tls?: { certPem: string; keyPem: string; caPem: string };
  clock?: () => number;
  maxBodyBytes?: number;
  /**
   * Authenticators tried in order after client certificates (bearer tokens, service accounts).
   * null = not mine, try the next; a StatusError (401) = definitely refused, with its message.
   */
  authenticators?: Authenticator[];
  /**
   * Extra HTTP routes served by this listener before the Kubernetes API (the credential
   * exchange, the OIDC issuer). Matched by path prefix; the route answers for itself.
   */
  routes?: ExtraRoute[];
  /** For plain-HTTP test servers: treat unauthenticated requests as this user. */
  anonymousAs?: UserInfo;
  version?: { major: string; minor: string; gitVersion: string };
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Run the garbage collector and namespace controller in this process (default true). */
  controllers?: boolean;
  /**
   * Requests served at once before new ones get 429 with Retry-After, as upstream's
   * --max-requests-inflight (400) and --max-mutating-requests-inflight (200). Watches are not counted.
   */
  maxInFlight?: { readonly?: number; mutating?: number };
  /**
   * Store compaction, run by the holder of the controllers' Lease: every interval, compact to the
   * revision of the previous tick (storage/compactor.ts). Default 5 minutes, as kube-apiserver's
   * --etcd-compaction-interval; 0 turns it off.
   */
  compactionIntervalMs?: number;
  /** The controllers' Lease: duration and retry period (defaults 15 s and 2 s). */
  leaseDurationMs?: number;
  leaseRetryMs?: number;
  /** Admission plugins run on every write, in order (see docs/pod-security.md). */
  admission?: AdmissionPlugin[];
}

const publicPaths = new Set([
  '/healthz',
  '/livez',
  '/readyz',
  '/version',
  '/healthz/ping',
  '/livez/ping',
  '/readyz/ping',
]);

export const defaultVersion = { major: '1', minor: '32', gitVersion: 'v1.32.0-kaas' };

export class ApiServer {
  readonly server: http.Server | https.Server;
  readonly metrics = new ApiMetrics();
  readonly clusters: Clusters;
  readonly rest: RestStorage;
  /** TokenRequest and the service account token authenticator */
  readonly serviceAccountTokens: ServiceAccountTokens;
  readonly #o: ApiServerOptions;
  readonly #maxBody: number;
  readonly #gc: GarbageCollector | undefined;
  readonly #compactor: Compactor | undefined;
  #elector: LeaseElector | undefined;
  readonly #watches = new Set<{ stop(): void }>();
  #ready = false;
  readonly #inFlight = { readonly: 0, mutating: 0 };

  constructor(o: ApiServerOptions) {
    this.#o = o;
    this.#maxBody = o.maxBodyBytes ?? defaultMaxBodyBytes;
    const clock = o.clock ?? Date.now;
    this.clusters = new Clusters(o.kv);
    this.serviceAccountTokens = new ServiceAccountTokens(o.kv, clock);
    this.rest = new RestStorage({
      kv: o.kv,
      clock,
      validation,
      namespaces: this.clusters,
      onWritten: (scope, obj, deleted) => this.clusters.onWritten(scope, obj, deleted),
      admission: o.admission,
    });
    this.clusters.attach(this.rest);
    const review: VirtualHandler = async (cluster, info, body, ctx) => {
      const spec = (body.spec ?? {}) as Record<string, any>;
      let user: UserRef = ctx.user;
      if (info.kind === 'SubjectAccessReview' || info.kind === 'LocalSubjectAccessReview') {
        if (!spec.user && !(spec.groups as string[] | undefined)?.length) {
          throw errors.invalid(info.kind, info.group, '', [
            {
              reason: 'FieldValueRequired',
              field: 'spec.user',
              message: 'Required value: at least one of user or group must be specified',
            },
          ]);
        }
        user = { username: spec.user ?? '', groups: spec.groups ?? [] };
      }
      const ra = spec.resourceAttributes as Record<string, string> | undefined;
      const nra = spec.nonResourceAttributes as Record<string, string> | undefined;
      if (!ra && !nra) {
        throw errors.invalid(info.kind, info.group, '', [
          {
            reason: 'FieldValueRequired',
            field: 'spec.resourceAttributes',
            message:
              'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
          },
        ]);
      }
      const attrs: Attributes = ra
        ? {
            user,
            verb: ra.verb ?? '',
            resourceRequest: true,
            apiGroup: ra.group ?? '',
            resource: ra.resource ?? '',
            subresource: ra.subresource || undefined,
            name: ra.name || undefined,
            namespace: (info.kind === 'LocalSubjectAccessReview' ? ctx.namespace : ra.namespace) || undefined,
          }
        : { user, verb: nra!.verb ?? '', resourceRequest: false, path: nra!.path ?? '' };
      const d = (await cluster.policy.authorizer()).authorize(attrs);
      return {
        apiVersion: apiVersionOf(info),
        kind: info.kind,
        metadata: body.metadata ?? {},
        spec,
        status: d.allowed ? { allowed: true, reason: d.reason } : { allowed: false },
      };
    };
    for (const kind of ['SelfSubjectAccessReview', 'SubjectAccessReview', 'LocalSubjectAccessReview']) {
      this.clusters.virtual.set(`authorization.k8s.io/${kind}`, review);
    }
    this.clusters.virtual.set(
      'authorization.k8s.io/SelfSubjectRulesReview',
      async (cluster, info, body, ctx) => {
        const ns = (body.spec?.namespace as string | undefined) ?? '';
        const rules = (await cluster.policy.authorizer()).rulesFor(ctx.user, ns);
        const isSuper = ctx.user.groups.includes(superuserGroup);
        const all: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
        return {
          apiVersion: apiVersionOf(info),
          kind: info.kind,
          metadata: {},
          spec: body.spec ?? {},
          status: {
            resourceRules: (isSuper ? all : rules.filter((r) => !r.nonResourceURLs?.length)).map((r) => ({
              verbs: r.verbs,
              apiGroups: r.apiGroups ?? [],
              resources: r.resources ?? [],
              resourceNames: r.resourceNames ?? [],
            })),
            nonResourceRules: (isSuper
              ? [{ verbs: ['*'], nonResourceURLs: ['*'] }]
              : rules.filter((r) => r.nonResourceURLs?.length)
            ).map((r) => ({
              verbs: r.verbs,
              nonResourceURLs: r.nonResourceURLs ?? [],
            })),
            incomplete: false,
          },
        };
      },
    );
    // `kubectl auth whoami`
    this.clusters.virtual.set(
      'authentication.k8s.io/SelfSubjectReview',
      async (_cluster, info, body, ctx) => ({
        apiVersion: apiVersionOf(info),
        kind: info.kind,
        metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
        status: {
          userInfo: {
            username: ctx.user.username,
            ...(ctx.user.uid ? { uid: ctx.user.uid } : {}),
            groups: ctx.user.groups,
            ...(ctx.user.extra && Object.keys(ctx.user.extra).length ? { extra: ctx.user.extra } : {}),
          },
        },
      }),
    );
    if (o.controllers !== false)
      this.#gc = new GarbageCollector({ kv: o.kv, rest: this.rest, clusters: this.clusters, log: o.log });
    const compactionIntervalMs = o.compactionIntervalMs ?? 5 * 60_000;
    if (o.controllers !== false && compactionIntervalMs > 0)
      this.#compactor = new Compactor({ kv: o.kv, intervalMs: compactionIntervalMs, log: o.log });
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = o.tls
      ? https.createServer(
          {
            cert: o.tls.certPem,
            key: o.tls.keyPem,
            ca: o.tls.caPem,
            requestCert: true,
            rejectUnauthorized: false,
            keepAliveTimeout: 60_000,
          },
          handler,
        )
      : http.createServer({ keepAliveTimeout: 60_000 }, handler);
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 0; // watches are long-lived
  }

  async start(): Promise<void> {
    const root = await this.clusters.get('root');
    if (this.#gc) {
      // Only the holder of the Lease runs the built-in controllers, so several servers can share
      // one etcd without two garbage collectors acting at once.
      const gc = this.#gc;
      const compactor = this.#compactor;
      this.#elector = new LeaseElector({
        rest: this.rest,
        scope: {
          cluster: 'root',
          info: root.resourceByPlural('coordination.k8s.io', 'leases')!,
          namespace: 'kube-system',
        },
        name: 'kaas-apiserver-controllers',
        leaseDurationMs: this.#o.leaseDurationMs,
        retryPeriodMs: this.#o.leaseRetryMs,
        onStartedLeading: () => {
          compactor?.start();
          return gc.start();
        },
        onStoppedLeading: () => {
          gc.stop();
          void compactor?.stop();
        },
      });
      await this.#elector.start();
    }
    this.#ready = true;
  }

  /** True while this server holds the controllers' Lease. */
  get leading(): boolean {
    return this.#elector?.leading ?? false;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await this.start();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.#ready = false;
    for (const w of this.#watches) w.stop();
    await this.#elector?.stop();
    this.#gc?.stop();
    await this.#compactor?.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections?.();
      setTimeout(() => this.server.closeAllConnections?.(), 2000).unref();
    });
  }

  async #authenticate(req: IncomingMessage, cluster: string): Promise<UserInfo | null> {
    const sock = req.socket as TLSSocket;
    if (this.#o.tls && sock.authorized) {
      const id = identityFromCertificate(sock.getPeerCertificate?.() as never);
      if (id) return { username: id.user, groups: [...id.groups, 'system:authenticated'] };
    }
    const sa = await this.#serviceAccount(req, cluster);
    if (sa) return sa;
    for (const a of this.#o.authenticators ?? []) {
      const u = await a(req, { cluster });
      if (u) return u;
    }
    return this.#o.anonymousAs ?? null;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://x');
    let info: RequestInfo | undefined;
    let format: ResponseFormat | undefined;
    try {
      const route = this.#o.routes?.find((r) => url.pathname.startsWith(r.prefix));
      if (route) return await this.#route(route, req, res, url);
      info = parseRequest(req.method ?? 'GET', url.pathname, url.searchParams);
      const isPublic = publicPaths.has(info.path);
      const user = await this.#authenticate(req, info.cluster);
      if (!user && !isPublic) throw errors.unauthorized();
      if (info.kind === 'nonresource' && (isPublic || info.path === '/metrics')) {
        // Health, version and metrics answer without a policy lookup (metrics still need a login).
        return await this.#nonResource(req, res, info);
      }
      const cluster = await this.clusters.get(info.cluster);
      await this.#authorize(cluster, user!, info);
      if (info.verb !== 'watch') {
        const kind =
          info.verb === 'get' || info.verb === 'list' || info.verb === 'head' ? 'readonly' : 'mutating';
        const limit = this.#o.maxInFlight?.[kind] ?? (kind === 'readonly' ? 400 : 200);
        if (this.#inFlight[kind] >= limit) {
          throw errors.tooManyRequests('Too many requests, please try again later.', 1);
        }
        this.#inFlight[kind]++;
        res.once('close', () => this.#inFlight[kind]--);
      }
      if (info.kind === 'nonresource') return await this.#nonResource(req, res, info);
      if (info.kind === 'discovery') return this.#discovery(req, res, info, cluster);
      await this.#resource(req, res, info, cluster, user!, url.searchParams, (f) => (format = f));
    } catch (e) {
      this.#fail(req, res, e, format);
    } finally {
      if (info?.kind === 'resource' && info.verb !== 'watch') {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const labels = {
          verb: metricVerb(info.verb),
          group: info.group,
          version: info.version,
          resource: info.resource ?? '',
          subresource: info.subresource ?? '',
          scope:
            info.name !== undefined ? 'resource' : info.namespace !== undefined ? 'namespace' : 'cluster',
          component: 'apiserver',
        };
        this.metrics.duration.observe(labels, seconds);
        this.metrics.total.inc({ ...labels, code: String(res.statusCode) });
      }
    }
  }

  /** A service account JWT of this cluster whose account (and bound object) still exist. */
  async #serviceAccount(req: IncomingMessage, cluster: string): Promise<UserInfo | null> {
    const m = /^Bearer +(eyJ[A-Za-z0-9_.-]+) *$/i.exec(req.headers.authorization ?? '');
    if (!m) return null;
    const claims = await this.serviceAccountTokens.verify(m[1]!, cluster);
    if (!claims) return null;
    const k = claims['kubernetes.io'];
    const state = await this.clusters.get(cluster);
    const exists = async (kind: 'ServiceAccount' | 'Pod' | 'Secret', name: string, uid: string) => {
      const info = state.resourceByKind('v1', kind)!;
      try {
        const obj = await this.rest.get({ cluster, info, namespace: k.namespace }, name);
        return obj.metadata.uid === uid && !obj.metadata.deletionTimestamp;
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return false;
        throw e;
      }
    };
    if (!(await exists('ServiceAccount', k.serviceaccount.name, k.serviceaccount.uid)))
      throw errors.unauthorized(
        `Unauthorized: service account ${k.namespace}/${k.serviceaccount.name} no longer exists (or was recreated)`,
      );
    for (const [kind, ref] of [
      ['Pod', k.pod],
      ['Secret', k.secret],
    ] as const) {
      if (ref && !(await exists(kind, ref.name, ref.uid)))
        throw errors.unauthorized(
          `Unauthorized: the ${kind.toLowerCase()} this token is bound to no longer exists`,
        );
    }
    return {
      username: claims.sub,
      uid: k.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
      ...(k.pod
        ? {
            extra: {
              'authentication.kubernetes.io/pod-name': [k.pod.name],
              'authentication.kubernetes.io/pod-uid': [k.pod.uid],
            },
          }
        : {}),
    };
  }

  async #route(route: ExtraRoute, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let user: UserInfo | null = null;
    try {
      user = await this.#authenticate(req, rootCluster);
    } catch (e) {
      // a refused credential on a route is the route's business (the exchange takes none)
      if (!(e instanceof StatusError && e.code === 401)) throw e;
    }
    await route.handle(req, res, {
      url,
      user,
      can: async (u, verb, path) => {
        if (u.groups.includes(superuserGroup)) return true;
        const cluster = await this.clusters.get(rootCluster);
        return (await cluster.policy.authorizer()).authorize({ user: u, verb, resourceRequest: false, path })
          .allowed;
      },
    });
  }

  async #authorize(cluster: ClusterState, user: UserInfo, info: RequestInfo): Promise<void> {
    if (user.groups.includes(superuserGroup)) return;
    const attrs: Attributes =
      info.kind === 'resource'
        ? {
            user,
            verb: info.verb,
            resourceRequest: true,
            apiGroup: info.group,
            resource: info.resource,
            subresource: info.subresource,
            name: info.name,
            // A namespace object is in its own namespace, as upstream treats it for RoleBindings.
            namespace:
              info.namespace ?? (info.group === '' && info.resource === 'namespaces' ? info.name : undefined),
          }
        : { user, verb: info.verb === 'head' ? 'get' : info.verb, resourceRequest: false, path: info.path };
    const d = (await cluster.policy.authorizer()).authorize(attrs);
    if (!d.allowed) {
      throw errors.forbidden(
        forbiddenMessage(attrs),
        info.kind === 'resource'
          ? { group: info.group, resource: info.resource ?? '', name: info.name }
          : undefined,
      );
    }
  }

  /** POST .../serviceaccounts/NAME/token (kubectl create token). */
  async #tokenRequest(req: IncomingMessage, res: ServerResponse, cluster: ClusterState, info: RequestInfo) {
    const format = negotiate(req.headers.accept, isProtobufKind('authentication.k8s.io/v1', 'TokenRequest'));
    const saInfo = cluster.resourceByKind('v1', 'ServiceAccount')!;
    const body = (await this.#readObject(req, tokenRequestInfo)) as KObject;
    const sa = await this.rest.get(
      { cluster: cluster.name, info: saInfo, namespace: info.namespace },
      info.name!,
    );
    const ref = (body.spec as KObject | undefined)?.boundObjectRef as
      { kind?: string; name?: string; uid?: string } | undefined;
    let bound: { kind: 'Pod' | 'Secret'; obj: KObject } | undefined;
    if (ref) {
      if (ref.kind !== 'Pod' && ref.kind !== 'Secret')
        throw errors.badRequest(`spec.boundObjectRef.kind: Pod or Secret, not ${JSON.stringify(ref.kind)}`);
      const obj = await this.rest.get(
        { cluster: cluster.name, info: cluster.resourceByKind('v1', ref.kind)!, namespace: info.namespace },
        ref.name ?? '',
      );
      if (ref.uid && ref.uid !== obj.metadata.uid)
        throw errors.conflict(
          { group: '', resource: `${ref.kind.toLowerCase()}s`, name: ref.name },
          'the uid does not match',
        );
      bound = { kind: ref.kind, obj };
    }
    const out = await this.serviceAccountTokens.issue(cluster.name, sa, body, bound);
    return this.#send(res, 201, format, out);
  }

  #fail(req: IncomingMessage, res: ServerResponse, e: unknown, format?: ResponseFormat): void {
    let err: StatusError;
    if (e instanceof StatusError) err = e;
    else {
      this.#o.log?.('error', 'request failed', {
        method: req.method,
        path: req.url?.split('?')[0],
        error: (e as Error)?.stack,
      });
      err = errors.internal((e as Error)?.message ?? String(e));
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = err.toStatus();
    if (err instanceof BodyTooLargeError) {
      // Do not drain an oversized body: answer and drop the connection.
      res.setHeader('Connection', 'close');
      res.once('finish', () => req.destroy());
    }
    if (err.code === 429 && err.details?.retryAfterSeconds)
      res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
    if (format?.encoding === 'protobuf') {
      this.#send(res, err.code, format, status);
    } else {
      this.#send(res, err.code, { encoding: 'json', shape: 'object', contentType: mediaJSON }, status);
    }
  }

  #send(res: ServerResponse, code: number, format: ResponseFormat, body: unknown, warnings?: string[]): void {
    let payload: string | Uint8Array;
    if (format.encoding === 'protobuf') payload = encodeProtobuf(body as object);
    else if (format.encoding === 'yaml') payload = yamlStringify(body);
    else payload = typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string | number | string[]> = {
      'Content-Type': format.contentType,
      'Content-Length': typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength,
      'Cache-Control': 'no-cache, private',
    };
    if (warnings?.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(payload);
  }

  async #nonResource(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    const json = { encoding: 'json', shape: 'object', contentType: mediaJSON } as const;
    const text = (code: number, s: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(s) });
      res.end(s);
    };
    const p = info.path;
    if (p === '/healthz' || p === '/livez' || p === '/readyz' || p.endsWith('/ping')) {
      if (p.startsWith('/readyz') && !this.#ready)
        return text(500, '[-]kaas-ready failed: starting\nreadyz check failed\n');
      if (p.startsWith('/readyz') || p.startsWith('/healthz')) {
        try {
          await this.#o.kv.currentRevision();
        } catch (e) {
          return text(500, `[-]storage failed: ${(e as Error).message}\nhealthz check failed\n`);
        }
      }
      return text(200, 'ok');
    }
    if (p === '/version') {
      const v = this.#o.version ?? defaultVersion;
      return this.#send(res, 200, json, {
        ...v,
        gitCommit: 'kaas',
        gitTreeState: 'clean',
        buildDate: '2026-11-24T00:00:00Z',
        goVersion: `node${process.versions.node}`,
        compiler: 'tsc',
        platform: `${process.platform}/${process.arch}`,
      });
    }
    if (p === '/metrics') {
      const body = await this.metrics.registry.metrics();
      return text(200, body, this.metrics.registry.contentType);
    }
    if (p === '/openapi/v2' && (req.headers.accept ?? '').includes('com.github.proto-openapi.spec.v2')) {
      // kubectl <= 1.28 asks for OpenAPI v2 only as protobuf (gnostic's openapi_v2.Document).
      // We answer with a document that names no definitions: kubectl then skips client-side
      // schema validation and computes strategic merge patches from its compiled-in types,
      // while this server still validates every write. See docs/compatibility.md.
      const body = openapiV2Protobuf((this.#o.version ?? defaultVersion).gitVersion);
      res.writeHead(200, {
        'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
        'Content-Length': body.length,
      });
      res.end(body);
      return;
    }
    if (p === '/openapi/v2' || p.startsWith('/openapi/v3')) {
      const cluster = await this.clusters.get(info.cluster);
      const doc = cluster.openapi(p, new URL(req.url ?? '/', 'http://x').searchParams);
      if (doc === undefined) throw errors.notFound({ group: '', resource: p });
      return this.#send(res, 200, json, doc);
    }
    throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${p})`);
  }

  #discovery(req: IncomingMessage, res: ServerResponse, info: RequestInfo, cluster: ClusterState): void {
    const format = negotiateDiscovery(req.headers.accept);
    const doc = cluster.discovery(info, format.aggregated);
    if (doc === undefined)
      throw new StatusError(404, 'NotFound', `the server could not find the requested resource`);
    this.#send(res, 200, format, doc);
  }

  async #resource(
    req: IncomingMessage,
    res: ServerResponse,
    info: RequestInfo,
    cluster: ClusterState,
    user: Requester,
    q: URLSearchParams,
    setFormat: (f: ResponseFormat) => void,
  ): Promise<void> {
    const ri = cluster.resource(info.group, info.version, info.resource!);
    if (!ri) {
      throw new StatusError(
        404,
        'NotFound',
        `the server could not find the requested resource (${info.path})`,
        {
          group: info.group,
          kind: info.resource,
        },
      );
    }
    if (ri.namespaced === false && info.namespace !== undefined) {
      throw new StatusError(
        404,
        'NotFound',
        `the server could not find the requested resource: ${ri.plural} is not namespaced`,
      );
    }
    const sub = info.subresource;
    if (sub === 'token' && ri.group === '' && ri.plural === 'serviceaccounts' && info.verb === 'create') {
      return this.#tokenRequest(req, res, cluster, info);
    }
    const isNamespaceObj = ri.group === '' && ri.plural === 'namespaces';
    if (
      sub !== undefined &&
      !(ri.subresources ?? []).includes(sub as 'status') &&
      !(isNamespaceObj && sub === 'finalize')
    ) {
      throw new StatusError(
        404,
        'NotFound',
        `the server could not find the requested resource (${info.path})`,
      );
    }
    if (!ri.verbs.includes(info.verb as never) && sub === undefined)
      throw errors.methodNotAllowed(info.verb, ri.plural);

    const protobufOK = ri.protobuf && isProtobufKind(apiVersionOf(ri), ri.kind);
    const format = negotiate(req.headers.accept, protobufOK);
    setFormat(format);
    const scope: Scope = { cluster: cluster.name, info: ri, namespace: info.namespace };
    const warnings: string[] = [];
    const wopts: WriteOptions = {
      dryRun: q.getAll('dryRun').includes('All'),
      fieldValidation: parseFieldValidation(q.get('fieldValidation')),
      warnings,
      user,
    };

    if (ri.virtual) {
      if (info.verb !== 'create') throw errors.methodNotAllowed(info.verb, ri.plural);
      const body = await this.#readObject(req, ri);
      const out = await cluster.virtualCreate(ri, body as KObject, { req, user, namespace: info.namespace });
      return this.#send(res, 201, format, out);
    }

    if (info.name !== undefined && !validName(info.name)) {
      throw errors.badRequest(
        `invalid resource name ${JSON.stringify(info.name)}: may not contain '/' or '%' or be '.' or '..'`,
      );
    }

    switch (info.verb) {
      case 'get': {
        const obj = await this.rest.get(scope, info.name!);
        if (sub === 'scale') return this.#send(res, 200, format, toScale(ri, obj));
        return this.#sendObject(res, 200, format, ri, obj, q);
      }
      case 'list':
        return this.#list(res, format, scope, q);
      case 'watch':
        return this.#watch(req, res, format, scope, info, q);
      case 'create': {
        if (info.name !== undefined && sub === undefined)
          throw errors.methodNotAllowed('create', `${ri.plural}/${info.name}`);
        if (ri.namespaced && info.namespace === undefined) {
          throw errors.badRequest(
            `${ri.plural} is namespaced: POST to /…/namespaces/<namespace>/${ri.plural}`,
          );
        }
        const body = await this.#readObject(req, ri);
        const obj = await this.rest.create(scope, body, wopts);
        return this.#sendObject(res, 201, format, ri, obj, q, warnings);
      }
      case 'update': {
        const body = (await this.#readObject(req, sub === 'scale' ? scaleInfo : ri)) as KObject;
        if (sub === 'scale') {
          const r = await this.rest.guaranteedUpdate(
            scope,
            info.name!,
            (cur) => fromScale(ri, cur, body),
            wopts,
          );
          return this.#send(res, 200, format, toScale(ri, r.obj));
        }
        if (sub === 'finalize') {
          const r = await this.rest.guaranteedUpdate(
            scope,
            info.name!,
            (cur) => ({ ...cur, spec: { ...(cur.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] } }),
            wopts,
          );
          return this.#sendObject(res, 200, format, ri, r.obj, q, warnings);
        }
        const r = await this.rest.update(scope, info.name!, body, { ...wopts, subresource: sub });
        return this.#sendObject(res, 200, format, ri, r.obj, q, warnings);
      }
      case 'patch': {
        const ct = req.headers['content-type'] ?? '';
        const type = parseMediaType(ct).type;
        if (type === applyPatchType && sub === undefined) {
          // server-side apply (patch/apply.ts); the body is YAML or JSON
          const config = decodeBody(await readBody(req, this.#maxBody), 'yaml');
          const r = await this.rest.apply(scope, info.name!, config, {
            ...wopts,
            fieldManager: q.get('fieldManager') ?? '',
            force: q.get('force') === 'true',
          });
          return this.#sendObject(res, r.created ? 201 : 200, format, ri, r.obj, q, warnings);
        }
        if (!(patchTypes as readonly string[]).includes(type)) {
          throw errors.unsupportedMediaType(ct, [...patchTypes, applyPatchType]);
        }
        const body = patchText(await readBody(req, this.#maxBody));
        if (sub === 'scale') {
          const r = await this.rest.guaranteedUpdate(scope, info.name!, (cur) => {
            const scale = toScale(ri, cur);
            const patched = validation.applyPatch(
              { ...scope, info: scaleInfo },
              type,
              scale as KObject,
              body,
            );
            return fromScale(ri, cur, patched);
          });
          return this.#send(res, 200, format, toScale(ri, r.obj));
        }
        const r = await this.rest.patch(scope, info.name!, type, body, { ...wopts, subresource: sub });
        return this.#sendObject(res, 200, format, ri, r.obj, q, warnings);
      }
      case 'delete': {
        const opts = await this.#deleteOptions(req, q, wopts);
        const r = await this.rest.delete(scope, info.name!, opts);
        if (r.deleted) {
          return this.#send(res, 200, format.encoding === 'protobuf' ? format : jsonFormat, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name: info.name, group: ri.group, kind: ri.plural, uid: r.obj.metadata.uid },
          });
        }
        return this.#sendObject(res, 200, format, ri, r.obj, q);
      }
      case 'deletecollection': {
        const opts = await this.#deleteOptions(req, q, wopts);
        const filter = buildFilter(ri, q);
        const list = await this.rest.list(scope, { filter });
        const deleted: KObject[] = [];
        for (const kv of list.items) {
          const o = decodeStored(kv);
          try {
            const r = await this.rest.delete(
              { ...scope, namespace: o.metadata.namespace },
              o.metadata.name!,
              opts,
            );
            deleted.push(r.obj);
          } catch (e) {
            if (!(e instanceof StatusError && e.code === 404)) throw e;
          }
        }
        return this.#send(res, 200, format, {
          kind: ri.listKind,
          apiVersion: apiVersionOf(ri),
          metadata: { resourceVersion: list.resourceVersion },
          items: deleted,
        });
      }
      default:
        throw errors.methodNotAllowed(info.verb, ri.plural);
    }
  }

  async #readObject(req: IncomingMessage, ri: ResourceInfo): Promise<unknown> {
    const type = bodyType(req.headers['content-type']);
    if (type === 'protobuf' && !ri.protobuf) {
      throw errors.unsupportedMediaType(req.headers['content-type'] ?? '', [
        'application/json',
        'application/yaml',
      ]);
    }
    return decodeBody(await readBody(req, this.#maxBody), type);
  }

  async #deleteOptions(req: IncomingMessage, q: URLSearchParams, w: WriteOptions): Promise<DeleteOptions> {
    const o: DeleteOptions = { ...w };
    let body: any;
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody) {
      const buf = await readBody(req, this.#maxBody);
      if (buf.length) body = decodeBody(buf, bodyType(req.headers['content-type']));
    }
    const policy = q.get('propagationPolicy') ?? body?.propagationPolicy;
    if (policy !== undefined && policy !== null) {
      if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
        throw errors.badRequest(
          `propagationPolicy must be one of Background, Foreground, Orphan; got ${JSON.stringify(policy)}`,
        );
      }
      o.propagationPolicy = policy;
    } else if (q.get('orphanDependents') === 'true' || body?.orphanDependents === true) {
      o.propagationPolicy = 'Orphan';
    }
    if (body?.preconditions) o.preconditions = body.preconditions;
    if (Array.isArray(body?.dryRun) && body.dryRun.includes('All')) o.dryRun = true;
    return o;
  }

  #sendObject(
    res: ServerResponse,
    code: number,
    format: ResponseFormat,
    ri: ResourceInfo,
    obj: KObject,
    q: URLSearchParams,
    warnings?: string[],
  ): void {
    if (format.shape === 'table')
      return this.#send(res, code, format, toTableResponse(ri, [obj], q, {}), warnings);
    if (format.shape === 'metadata') {
      return this.#send(
        res,
        code,
        format,
        { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata },
        warnings,
      );
    }
    this.#send(res, code, format, obj, warnings);
  }

  async #list(res: ServerResponse, format: ResponseFormat, scope: Scope, q: URLSearchParams): Promise<void> {
    const ri = scope.info;
    const limit = parseLimit(q.get('limit'));
    const filter = buildFilter(ri, q);
    const list = await this.rest.list(scope, { limit, continue: q.get('continue') ?? undefined, filter });
    const meta: Record<string, unknown> = { resourceVersion: list.resourceVersion };
    if (list.continue) meta.continue = list.continue;
    if (list.remainingItemCount !== undefined) meta.remainingItemCount = list.remainingItemCount;
    if (format.shape === 'table') {
      return this.#send(res, 200, format, toTableResponse(ri, list.items.map(decodeStored), q, meta));
    }
    if (format.shape === 'metadata') {
      return this.#send(res, 200, format, {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: meta,
        items: list.items.map((kv) => ({
          kind: 'PartialObjectMetadata',
          apiVersion: 'meta.k8s.io/v1',
          metadata: decodeStored(kv).metadata,
        })),
      });
    }
    if (format.encoding === 'json') {
      // Fast path: splice stored JSON, no parse and no re-serialization per item. Small lists go
      // out in one piece; large ones stream in chunks, so fifty concurrent lists of 10,000
      // objects do not each hold a second full copy of the response.
      const head = `{"kind":${JSON.stringify(ri.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(ri))},"metadata":${JSON.stringify(meta)},"items":[`;
      if (list.items.length <= 500) {
        const parts: string[] = [head];
        for (let i = 0; i < list.items.length; i++) {
          if (i) parts.push(',');
          parts.push(withResourceVersion(list.items[i]!));
        }
        parts.push(']}');
        return this.#send(res, 200, format, parts.join(''));
      }
      res.writeHead(200, { 'Content-Type': format.contentType, 'Cache-Control': 'no-cache, private' });
      let chunk = head;
      for (let i = 0; i < list.items.length; i++) {
        chunk += (i ? ',' : '') + withResourceVersion(list.items[i]!);
        list.items[i] = undefined as never; // let the stored value go once it is on the wire
        if (chunk.length >= 64 * 1024) {
          if (!res.write(chunk)) {
            await new Promise((r) => {
              res.once('drain', r);
              res.once('close', r);
            });
          }
          chunk = '';
          if (res.destroyed) return;
        }
      }
      res.end(chunk + ']}');
      return;
    }
    this.#send(res, 200, format, {
      kind: ri.listKind,
      apiVersion: apiVersionOf(ri),
      metadata: meta,
      items: list.items.map(decodeStored),
    });
  }

  #watch(
    req: IncomingMessage,
    res: ServerResponse,
    format: ResponseFormat,
    scope: Scope,
    info: RequestInfo,
    q: URLSearchParams,
  ): void {
    const ri = scope.info;
    let filter = buildFilter(ri, q);
    if (info.name !== undefined) {
      const name = info.name;
      const base = filter;
      filter = (o) => o.metadata.name === name && (!base || base(o));
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '');
    const timeoutMs =
      Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : 30 * 60_000;
    const protobuf = format.encoding === 'protobuf';
    res.writeHead(200, {
      'Content-Type': protobuf ? 'application/vnd.kubernetes.protobuf;stream=watch' : mediaJSON,
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const maxBuffered = 16 * 1024 * 1024;
    const sie = q.get('sendInitialEvents');
    const w = startWatch(
      this.#o.kv,
      {
        prefix: resourcePrefix(ri, scope.cluster, ri.namespaced ? scope.namespace : undefined),
        resourceVersion: q.get('resourceVersion') ?? undefined,
        sendInitialEvents: sie === null ? undefined : sie === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        filter,
        apiVersion: apiVersionOf(ri),
        kind: ri.kind,
        timeoutMs,
      },
      {
        event: (type: WatchEventType, json: string, obj?: KObject) => {
          if (res.writableEnded) return;
          if (protobuf) res.write(encodeWatchEventFrame(type, obj ?? JSON.parse(json)));
          else res.write(`{"type":"${type}","object":${json}}\n`);
          this.metrics.watchers.inc({ group: ri.group, resource: ri.plural });
          // A watcher that cannot keep up is cut off rather than buffering without bound.
          if (res.writableLength > maxBuffered) w.stop();
        },
        end: () => {
          if (!res.writableEnded) res.end();
          this.#watches.delete(w);
        },
      },
    );
    this.#watches.add(w);
    req.once('close', () => w.stop());
    res.once('close', () => w.stop());
  }
}

const jsonFormat: ResponseFormat = { encoding: 'json', shape: 'object', contentType: mediaJSON };

const tokenRequestInfo: ResourceInfo = {
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'TokenRequest',
  listKind: 'TokenRequestList',
  plural: 'token',
  singular: 'token',
  namespaced: true,
  verbs: ['create'],
  protobuf: true,
};

const scaleInfo: ResourceInfo = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  listKind: 'ScaleList',
  plural: 'scale',
  singular: 'scale',
  namespaced: true,
  verbs: ['get', 'update', 'patch'],
  protobuf: true,
};

function getPath(obj: any, path: string): any {
  let cur = obj;
  for (const p of path.replace(/^\./, '').split('.')) cur = cur?.[p];
  return cur;
}

function setPath(obj: any, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]!] = value;
}

function selectorString(sel: any): string {
  if (typeof sel === 'string') return sel;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push(`${k}=${String(v)}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${e.values.join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${e.values.join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function toScale(ri: ResourceInfo, obj: KObject): object {
  const s = ri.scale ?? {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.selector',
  };
  const sel = s.labelSelectorPath
    ? (getPath(obj, s.labelSelectorPath) ?? (ri.group === 'apps' ? obj.spec?.selector : undefined))
    : undefined;
  const status: Record<string, unknown> = { replicas: getPath(obj, s.statusReplicasPath) ?? 0 };
  if (sel !== undefined) status.selector = selectorString(sel);
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: getPath(obj, s.specReplicasPath) ?? 0 },
    status,
  };
}

function fromScale(ri: ResourceInfo, cur: KObject, scale: any): KObject {
  const replicas = scale?.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('Scale', 'autoscaling', cur.metadata.name ?? '', [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      },
    ]);
  }
  const rv = scale?.metadata?.resourceVersion;
  if (rv && rv !== cur.metadata.resourceVersion) {
    throw errors.conflict(
      { group: ri.group, resource: ri.plural, name: cur.metadata.name },
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  }
  const s = ri.scale ?? { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' };
  const next = structuredClone(cur);
  setPath(next, s.specReplicasPath, replicas);
  return next;
}

function protoString(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

/** gnostic openapi_v2.Document {swagger=1, info=2 {title=1, version=2}, paths=8 {}}. */
function openapiV2Protobuf(version: string): Buffer {
  const info = Buffer.concat([protoString(1, 'Kubernetes'), protoString(2, version)]);
  return Buffer.concat([
    protoString(1, '2.0'),
    Buffer.from([(2 << 3) | 2, info.length]),
    info,
    Buffer.from([(8 << 3) | 2, 0]),
  ]);
}

function parseFieldValidation(v: string | null): FieldValidation | undefined {
  if (v === null || v === '') return undefined;
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw errors.badRequest(`fieldValidation must be one of Strict, Warn, Ignore; got ${JSON.stringify(v)}`);
}

function parseLimit(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw errors.badRequest(`limit must be a non-negative integer; got ${JSON.stringify(v)}`);
  return n;
}

function validName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

export { mapStorageError };
