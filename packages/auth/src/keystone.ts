// A keystone v3 client of our own: token issue (password and application credential, project
// scope), token validation with a service token, the service catalog, and the admin calls the
// tests use to create what they need through keystone's own API.
//
// Every request has a timeout. Failures come in distinguishable kinds:
//   - validateToken() returns { valid: false } for a definite "this token is not valid" (404);
//   - KeystoneUnauthorizedError: keystone refused the credentials or the X-Auth-Token we sent (401);
//   - KeystoneUpstreamError: keystone could not be asked (connection refused, timeout, TLS, 5xx,
//     429, a body that is not what the v3 API returns). Never cache these; fail closed;
//   - KeystoneHttpError: any other 4xx (bad request, forbidden, conflict, not found on admin calls).
import { Agent, fetch as undiciFetch } from 'undici';
import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';
import { redact } from './redact.ts';

// ---------------------------------------------------------------- errors

export class KeystoneUpstreamError extends UpstreamError {
  override readonly name = 'KeystoneUpstreamError';
  readonly reason: 'connection' | 'timeout' | 'status' | 'protocol';
  readonly status: number | undefined;

  constructor(
    message: string,
    opts: { reason: KeystoneUpstreamError['reason']; status?: number; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.reason = opts.reason;
    this.status = opts.status;
  }
}

export class KeystoneUnauthorizedError extends Error {
  override readonly name = 'KeystoneUnauthorizedError';
  readonly status = 401;
}

export class KeystoneHttpError extends Error {
  override readonly name = 'KeystoneHttpError';
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- credentials

/** A user, project or domain named by id, or by name within a domain. */
export type KeystoneRef = { id: string } | { name: string; domain: { id: string } | { name: string } };
export type DomainRef = { id: string } | { name: string };

export type KeystoneCredentials =
  | { type: 'password'; user: KeystoneRef; password: string }
  | { type: 'application_credential'; id: string; secret: string }
  | { type: 'application_credential'; name: string; user: KeystoneRef; secret: string };

export interface KeystoneScope {
  project: KeystoneRef;
}

function refBody(ref: KeystoneRef): Record<string, unknown> {
  return 'id' in ref ? { id: ref.id } : { name: ref.name, domain: ref.domain };
}

function authBody(credentials: KeystoneCredentials, scope: KeystoneScope | undefined): unknown {
  if (credentials.type === 'password') {
    return {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { ...refBody(credentials.user), password: credentials.password } },
        },
        ...(scope ? { scope: { project: refBody(scope.project) } } : {}),
      },
    };
  }
  // keystone rejects a scope with application credentials: they carry their own project
  const ac =
    'id' in credentials
      ? { id: credentials.id, secret: credentials.secret }
      : { name: credentials.name, user: refBody(credentials.user), secret: credentials.secret };
  return { auth: { identity: { methods: ['application_credential'], application_credential: ac } } };
}

// ---------------------------------------------------------------- catalog

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface CatalogEndpoint {
  id: string;
  interface: EndpointInterface;
  /** region id; keystone also sends `region` with the same value */
  region: string | null;
  url: string;
}

export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

export class Catalog {
  readonly services: readonly CatalogService[];

  constructor(services: readonly CatalogService[]) {
    this.services = services;
  }

  /** Regions that have at least one endpoint, sorted. */
  regions(): string[] {
    const r = new Set<string>();
    for (const s of this.services) for (const e of s.endpoints) if (e.region) r.add(e.region);
    return [...r].sort();
  }

  /**
   * The URL of the `type` service (e.g. "compute", "network") for this interface (default
   * public) and region. Without a region, the endpoint must be unambiguous.
   */
  endpointFor(type: string, opts: { region?: string; interface?: EndpointInterface } = {}): string {
    const iface = opts.interface ?? 'public';
    const services = this.services.filter((s) => s.type === type);
    if (services.length === 0) {
      const types = [...new Set(this.services.map((s) => s.type))].sort().join(', ');
      throw new CatalogError(`no service of type "${type}" in the catalog (types: ${types || 'none'})`);
    }
    const candidates = services.flatMap((s) =>
      s.endpoints.filter(
        (e) => e.interface === iface && (opts.region === undefined || e.region === opts.region),
      ),
    );
    const urls = [...new Set(candidates.map((e) => e.url))];
    if (urls.length === 1) return urls[0]!;
    const where = opts.region === undefined ? '' : ` in region "${opts.region}"`;
    if (urls.length === 0) {
      const have = services
        .flatMap((s) => s.endpoints)
        .map((e) => `${e.interface}@${e.region ?? '-'}`)
        .sort()
        .join(', ');
      throw new CatalogError(`no ${iface} endpoint for "${type}"${where} (endpoints: ${have || 'none'})`);
    }
    const regions = [...new Set(candidates.map((e) => e.region ?? '-'))].sort().join(', ');
    throw new CatalogError(
      `${urls.length} ${iface} endpoints for "${type}"${where} (regions: ${regions}): choose a region`,
    );
  }
}

// ---------------------------------------------------------------- tokens

export interface NamedRef {
  id: string;
  name: string;
}

export interface KeystoneToken {
  /** the token itself (X-Subject-Token): a secret */
  token: string;
  issuedAt: Date;
  expiresAt: Date;
  methods: string[];
  user: NamedRef & { domain: NamedRef };
  /** absent for unscoped or domain-scoped tokens */
  project: (NamedRef & { domain: NamedRef }) | undefined;
  roles: NamedRef[];
  applicationCredential: (NamedRef & { restricted: boolean }) | undefined;
  /** empty when asked with nocatalog */
  catalog: Catalog;
}

export type TokenValidation =
  { valid: true; token: KeystoneToken } | { valid: false; status: 404; message: string };

function str(v: unknown, path: string): string {
  if (typeof v !== 'string')
    throw new KeystoneUpstreamError(`keystone: ${path} is not a string`, { reason: 'protocol' });
  return v;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new KeystoneUpstreamError(`keystone: ${path} is not an object`, { reason: 'protocol' });
  return v as Record<string, unknown>;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v))
    throw new KeystoneUpstreamError(`keystone: ${path} is not an array`, { reason: 'protocol' });
  return v;
}

function named(v: unknown, path: string): NamedRef {
  const o = obj(v, path);
  return { id: str(o.id, `${path}.id`), name: str(o.name, `${path}.name`) };
}

function date(v: unknown, path: string): Date {
  const d = new Date(str(v, path));
  if (Number.isNaN(d.getTime()))
    throw new KeystoneUpstreamError(`keystone: ${path} is not a date`, { reason: 'protocol' });
  return d;
}

function parseCatalog(v: unknown): Catalog {
  if (v === undefined) return new Catalog([]);
  return new Catalog(
    arr(v, 'token.catalog').map((s, i) => {
      const so = obj(s, `token.catalog[${i}]`);
      return {
        id: str(so.id, `token.catalog[${i}].id`),
        type: str(so.type, `token.catalog[${i}].type`),
        name: typeof so.name === 'string' ? so.name : '',
        endpoints: arr(so.endpoints, `token.catalog[${i}].endpoints`).map((e, j) => {
          const p = `token.catalog[${i}].endpoints[${j}]`;
          const eo = obj(e, p);
          const iface = str(eo.interface, `${p}.interface`);
          if (iface !== 'public' && iface !== 'internal' && iface !== 'admin')
            throw new KeystoneUpstreamError(`keystone: ${p}.interface is "${iface}"`, { reason: 'protocol' });
          const region = eo.region_id ?? eo.region ?? null;
          return {
            id: str(eo.id, `${p}.id`),
            interface: iface,
            region: region === null ? null : str(region, `${p}.region_id`),
            url: str(eo.url, `${p}.url`),
          };
        }),
      };
    }),
  );
}

/** Parses the body of POST/GET /v3/auth/tokens. Throws KeystoneUpstreamError on a bad shape. */
export function parseTokenBody(subjectToken: string, body: unknown): KeystoneToken {
  const t = obj(obj(body, 'body').token, 'token');
  const user = obj(t.user, 'token.user');
  const project =
    t.project === undefined
      ? undefined
      : {
          ...named(t.project, 'token.project'),
          domain: named(obj(t.project, 'token.project').domain, 'token.project.domain'),
        };
  const ac =
    t.application_credential === undefined
      ? undefined
      : {
          ...named(t.application_credential, 'token.application_credential'),
          restricted: obj(t.application_credential, 'token.application_credential').restricted !== false,
        };
  return {
    token: subjectToken,
    issuedAt: date(t.issued_at, 'token.issued_at'),
    expiresAt: date(t.expires_at, 'token.expires_at'),
    methods: arr(t.methods, 'token.methods').map((m, i) => str(m, `token.methods[${i}]`)),
    user: { ...named(user, 'token.user'), domain: named(user.domain, 'token.user.domain') },
    project,
    roles:
      t.roles === undefined ? [] : arr(t.roles, 'token.roles').map((r, i) => named(r, `token.roles[${i}]`)),
    applicationCredential: ac,
    catalog: parseCatalog(t.catalog),
  };
}

// ---------------------------------------------------------------- transport

export interface KeystoneRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  dispatcher?: Dispatcher;
}

export interface KeystoneFetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The transport; tests wrap it to count upstream calls. */
export type KeystoneFetch = (url: string, init: KeystoneRequestInit) => Promise<KeystoneFetchResponse>;

export const undiciKeystoneFetch: KeystoneFetch = (url, init) => undiciFetch(url, init);

export interface KeystoneRequestLog {
  method: string;
  url: string;
  status?: number;
  durationMs: number;
  error?: string;
  headers: unknown;
}

export interface KeystoneClientOptions {
  /** e.g. https://keystone.example:5000/v3 (a missing /v3 is added) */
  authUrl: string;
  /** PEM bundle of the CAs to trust instead of the system's (Red Hat OpenStack installs use one) */
  caBundle?: string | Buffer;
  /** skip TLS verification (a test cloud with a self-signed certificate; never in production) */
  insecure?: boolean;
  /** per request, including reading the body; default 10 s */
  timeoutMs?: number;
  /** connections to keystone at most; more requests queue (default 8) */
  maxConnections?: number;
  fetch?: KeystoneFetch;
  /** called after every request with secrets redacted */
  log?: (entry: KeystoneRequestLog) => void;
}

/** Normalises an auth URL to end in /v3 without a trailing slash. */
export function normalizeAuthUrl(authUrl: string): string {
  const u = new URL(authUrl);
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`auth URL ${authUrl}: must be http(s)`);
  let path = u.pathname.replace(/\/+$/, '');
  if (!/\/v3$/.test(path)) path = `${path}/v3`;
  u.pathname = path;
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/$/, '');
}

interface RawResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: unknown;
  text: string;
}

export class KeystoneClient {
  readonly authUrl: string;
  readonly timeoutMs: number;
  readonly #fetch: KeystoneFetch;
  readonly #dispatcher: Agent;
  readonly #log: ((entry: KeystoneRequestLog) => void) | undefined;

  constructor(opts: KeystoneClientOptions) {
    this.authUrl = normalizeAuthUrl(opts.authUrl);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.#fetch = opts.fetch ?? undiciKeystoneFetch;
    this.#log = opts.log;
    this.#dispatcher = new Agent({
      // a burst of distinct new tokens must queue here rather than open a connection each:
      // keystone behind uwsgi ties up a worker thread per open connection
      connections: opts.maxConnections ?? 8,
      connect: {
        ...(opts.caBundle !== undefined ? { ca: opts.caBundle } : {}),
        ...(opts.insecure ? { rejectUnauthorized: false } : {}),
      },
    });
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async request(
    method: string,
    path: string,
    opts: { token?: string; subjectToken?: string; body?: unknown; query?: Record<string, string> } = {},
  ): Promise<RawResponse> {
    const url = new URL(`${this.authUrl}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token !== undefined) headers['x-auth-token'] = opts.token;
    if (opts.subjectToken !== undefined) headers['x-subject-token'] = opts.subjectToken;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const entry = (extra: Partial<KeystoneRequestLog>): void =>
      this.#log?.(
        redact({
          method,
          url: url.toString(),
          headers,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          ...extra,
        }) as KeystoneRequestLog,
      );
    const signal = AbortSignal.timeout(this.timeoutMs);
    let status: number;
    let text: string;
    let resHeaders: { get(name: string): string | null };
    try {
      const res = await this.#fetch(url.toString(), {
        method,
        headers,
        signal,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        dispatcher: this.#dispatcher,
      });
      status = res.status;
      resHeaders = res.headers;
      text = await res.text();
    } catch (e) {
      const timedOut = signal.aborted;
      const detail = describeNetworkError(e);
      entry({ error: timedOut ? 'timeout' : detail });
      throw new KeystoneUpstreamError(
        timedOut
          ? `keystone ${method} ${url.pathname}: no answer in ${this.timeoutMs} ms`
          : `keystone ${method} ${url.pathname}: ${detail}`,
        { reason: timedOut ? 'timeout' : 'connection', cause: e },
      );
    }
    entry({ status });
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (status >= 500 || status === 429) {
      throw new KeystoneUpstreamError(
        `keystone ${method} ${url.pathname}: HTTP ${status} ${errorMessage(body, text)}`,
        {
          reason: 'status',
          status,
        },
      );
    }
    return { status, headers: resHeaders, body, text };
  }

  /** Issues a token: POST /v3/auth/tokens. 401 -> KeystoneUnauthorizedError. */
  async authenticate(
    credentials: KeystoneCredentials,
    opts: { scope?: KeystoneScope; nocatalog?: boolean } = {},
  ): Promise<KeystoneToken> {
    const res = await this.request('POST', '/auth/tokens', {
      body: authBody(credentials, opts.scope),
      ...(opts.nocatalog ? { query: { nocatalog: '1' } } : {}),
    });
    if (res.status === 401)
      throw new KeystoneUnauthorizedError(`keystone: ${errorMessage(res.body, res.text)}`);
    if (res.status !== 201 && res.status !== 200) throw httpError('POST /auth/tokens', res);
    const subject = res.headers.get('x-subject-token');
    if (!subject)
      throw new KeystoneUpstreamError('keystone: token response without X-Subject-Token', {
        reason: 'protocol',
      });
    return parseTokenBody(subject, res.body);
  }

  /**
   * Validates `subjectToken` with `authToken` (a service token allowed to validate tokens):
   * GET /v3/auth/tokens. 404 -> { valid: false }; 401 means keystone refused `authToken` itself
   * and throws KeystoneUnauthorizedError, so that a broken service token is never mistaken for
   * an invalid user token.
   */
  async validateToken(
    authToken: string,
    subjectToken: string,
    opts: { nocatalog?: boolean } = {},
  ): Promise<TokenValidation> {
    const res = await this.request('GET', '/auth/tokens', {
      token: authToken,
      subjectToken,
      ...(opts.nocatalog ? { query: { nocatalog: '1' } } : {}),
    });
    if (res.status === 404) return { valid: false, status: 404, message: errorMessage(res.body, res.text) };
    if (res.status === 401)
      throw new KeystoneUnauthorizedError(
        `keystone refused the X-Auth-Token: ${errorMessage(res.body, res.text)}`,
      );
    if (res.status !== 200) throw httpError('GET /auth/tokens', res);
    return { valid: true, token: parseTokenBody(subjectToken, res.body) };
  }

  /** DELETE /v3/auth/tokens: revokes subjectToken. */
  async revokeToken(authToken: string, subjectToken: string): Promise<void> {
    const res = await this.request('DELETE', '/auth/tokens', { token: authToken, subjectToken });
    if (res.status === 401)
      throw new KeystoneUnauthorizedError(`keystone: ${errorMessage(res.body, res.text)}`);
    if (res.status !== 204 && res.status !== 404) throw httpError('DELETE /auth/tokens', res);
  }
}

function describeNetworkError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur instanceof Error; i++) {
    const code = (cur as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${cur.message} (${code})` : cur.message);
    cur = cur.cause;
  }
  return parts.join(': ') || String(e);
}

function errorMessage(body: unknown, text: string): string {
  const err = (body as { error?: { message?: unknown; title?: unknown } } | undefined)?.error;
  if (err && typeof err.message === 'string') return err.message;
  return text.slice(0, 200);
}

function httpError(what: string, res: RawResponse): Error {
  if (res.status >= 400 && res.status < 500)
    return new KeystoneHttpError(
      `keystone ${what}: HTTP ${res.status} ${errorMessage(res.body, res.text)}`,
      res.status,
    );
  return new KeystoneUpstreamError(`keystone ${what}: unexpected HTTP ${res.status}`, {
    reason: 'protocol',
    status: res.status,
  });
}

// ---------------------------------------------------------------- service token

/**
 * The operator's token for calls that need one (token validation, admin calls). Issued on first
 * use, reissued shortly before it expires or after invalidate() (e.g. keystone answered 401).
 * Concurrent callers share one issue request.
 */
/**
 * A keystone token kept for reuse: issued on first use, reissued shortly before it expires,
 * concurrent callers share one issuance, a failed issuance is not kept. `issue` says how.
 */
export class RefreshingToken {
  readonly #issue: () => Promise<KeystoneToken>;
  readonly #now: () => number;
  readonly #refreshBeforeMs: number;
  #current: KeystoneToken | undefined;
  #pending: Promise<KeystoneToken> | undefined;

  constructor(opts: { issue: () => Promise<KeystoneToken>; now?: () => number; refreshBeforeMs?: number }) {
    this.#issue = opts.issue;
    this.#now = opts.now ?? Date.now;
    this.#refreshBeforeMs = opts.refreshBeforeMs ?? 5 * 60_000;
  }

  async get(): Promise<KeystoneToken> {
    const cur = this.#current;
    if (cur && cur.expiresAt.getTime() - this.#refreshBeforeMs > this.#now()) return cur;
    this.#pending ??= this.#issue().then(
      (t) => {
        this.#current = t;
        this.#pending = undefined;
        return t;
      },
      (e: unknown) => {
        this.#pending = undefined;
        throw e;
      },
    );
    return this.#pending;
  }

  /** Forget the current token if it is `token` (keystone refused it), or whatever it is. */
  invalidate(token?: string): void {
    if (token === undefined || this.#current?.token === token) this.#current = undefined;
  }
}

export class ServiceToken {
  readonly #held: RefreshingToken;

  constructor(opts: {
    client: KeystoneClient;
    credentials: KeystoneCredentials;
    scope?: KeystoneScope;
    now?: () => number;
    refreshBeforeMs?: number;
  }) {
    this.#held = new RefreshingToken({
      issue: () =>
        opts.client.authenticate(opts.credentials, {
          ...(opts.scope ? { scope: opts.scope } : {}),
          nocatalog: false,
        }),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.refreshBeforeMs !== undefined ? { refreshBeforeMs: opts.refreshBeforeMs } : {}),
    });
  }

  get(): Promise<KeystoneToken> {
    return this.#held.get();
  }

  async token(): Promise<string> {
    return (await this.get()).token;
  }

  /** Forget the current token if it is `token` (keystone refused it). */
  invalidate(token?: string): void {
    this.#held.invalidate(token);
  }
}

// ---------------------------------------------------------------- admin

export interface RoleAssignment {
  roleId: string;
  roleName: string | undefined;
  userId: string;
  projectId: string;
}

/**
 * Admin calls through keystone's own API, with a token that may make them (an admin's). Used by
 * the tests to set up projects, users, roles, application credentials and catalog entries.
 */
export class KeystoneAdmin {
  readonly client: KeystoneClient;
  readonly #token: () => Promise<string>;

  constructor(client: KeystoneClient, token: () => Promise<string>) {
    this.client = client;
    this.#token = token;
  }

  async #call(
    method: string,
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<unknown> {
    const res = await this.client.request(method, path, {
      token: await this.#token(),
      ...(body !== undefined ? { body } : {}),
      ...(query ? { query } : {}),
    });
    if (res.status === 401)
      throw new KeystoneUnauthorizedError(`keystone ${method} ${path}: ${errorMessage(res.body, res.text)}`);
    if (res.status < 200 || res.status >= 300) throw httpError(`${method} ${path}`, res);
    return res.body;
  }

  async createDomain(d: { name: string; description?: string }): Promise<NamedRef> {
    const b = await this.#call('POST', '/domains', {
      domain: { name: d.name, description: d.description ?? '', enabled: true },
    });
    return named(obj(b, 'body').domain, 'domain');
  }

  /** Keystone deletes only disabled domains: disables it first. Its users and projects go with it. */
  async deleteDomain(id: string): Promise<void> {
    const path = `/domains/${encodeURIComponent(id)}`;
    await this.#call('PATCH', path, { domain: { enabled: false } });
    await this.#call('DELETE', path);
  }

  async createProject(p: { name: string; domainId?: string; description?: string }): Promise<NamedRef> {
    const b = await this.#call('POST', '/projects', {
      project: {
        name: p.name,
        domain_id: p.domainId ?? 'default',
        description: p.description ?? '',
        enabled: true,
      },
    });
    return named(obj(b, 'body').project, 'project');
  }

  async deleteProject(id: string): Promise<void> {
    await this.#call('DELETE', `/projects/${encodeURIComponent(id)}`);
  }

  async createUser(u: {
    name: string;
    password: string;
    domainId?: string;
    defaultProjectId?: string;
    enabled?: boolean;
  }): Promise<NamedRef> {
    const b = await this.#call('POST', '/users', {
      user: {
        name: u.name,
        password: u.password,
        domain_id: u.domainId ?? 'default',
        enabled: u.enabled ?? true,
        ...(u.defaultProjectId ? { default_project_id: u.defaultProjectId } : {}),
      },
    });
    return named(obj(b, 'body').user, 'user');
  }

  async updateUser(id: string, patch: { enabled?: boolean; password?: string }): Promise<void> {
    await this.#call('PATCH', `/users/${encodeURIComponent(id)}`, { user: patch });
  }

  async disableUser(id: string): Promise<void> {
    await this.updateUser(id, { enabled: false });
  }

  async deleteUser(id: string): Promise<void> {
    await this.#call('DELETE', `/users/${encodeURIComponent(id)}`);
  }

  async createRole(r: { name: string }): Promise<NamedRef> {
    const b = await this.#call('POST', '/roles', { role: { name: r.name } });
    return named(obj(b, 'body').role, 'role');
  }

  async findRole(name: string): Promise<NamedRef | undefined> {
    const b = await this.#call('GET', '/roles', undefined, { name });
    const roles = arr(obj(b, 'body').roles, 'roles');
    return roles.length > 0 ? named(roles[0], 'roles[0]') : undefined;
  }

  async deleteRole(id: string): Promise<void> {
    await this.#call('DELETE', `/roles/${encodeURIComponent(id)}`);
  }

  async assignRole(a: { projectId: string; userId: string; roleId: string }): Promise<void> {
    await this.#call(
      'PUT',
      `/projects/${encodeURIComponent(a.projectId)}/users/${encodeURIComponent(a.userId)}/roles/${encodeURIComponent(a.roleId)}`,
    );
  }

  async unassignRole(a: { projectId: string; userId: string; roleId: string }): Promise<void> {
    await this.#call(
      'DELETE',
      `/projects/${encodeURIComponent(a.projectId)}/users/${encodeURIComponent(a.userId)}/roles/${encodeURIComponent(a.roleId)}`,
    );
  }

  /** Effective role assignments of a user on a project (implied roles included). */
  async listRoleAssignments(a: { userId: string; projectId: string }): Promise<RoleAssignment[]> {
    const b = await this.#call('GET', '/role_assignments', undefined, {
      'user.id': a.userId,
      'scope.project.id': a.projectId,
      effective: '',
      include_names: '',
    });
    return arr(obj(b, 'body').role_assignments, 'role_assignments').map((x, i) => {
      const o = obj(x, `role_assignments[${i}]`);
      const role = obj(o.role, `role_assignments[${i}].role`);
      return {
        roleId: str(role.id, `role_assignments[${i}].role.id`),
        roleName: typeof role.name === 'string' ? role.name : undefined,
        userId: str(obj(o.user, `role_assignments[${i}].user`).id, `role_assignments[${i}].user.id`),
        projectId: str(
          obj(obj(o.scope, `role_assignments[${i}].scope`).project, `role_assignments[${i}].scope.project`)
            .id,
          `role_assignments[${i}].scope.project.id`,
        ),
      };
    });
  }

  /**
   * Creates an application credential for the user who owns `userToken` (keystone lets only the
   * owner create one). Roles default to all of the token's roles on its project.
   */
  async createApplicationCredential(
    userToken: string,
    userId: string,
    ac: { name: string; roles?: { id: string }[]; expiresAt?: Date; unrestricted?: boolean },
  ): Promise<{ id: string; name: string; secret: string; projectId: string }> {
    const res = await this.client.request(
      'POST',
      `/users/${encodeURIComponent(userId)}/application_credentials`,
      {
        token: userToken,
        body: {
          application_credential: {
            name: ac.name,
            ...(ac.roles ? { roles: ac.roles } : {}),
            ...(ac.expiresAt ? { expires_at: ac.expiresAt.toISOString() } : {}),
            ...(ac.unrestricted ? { unrestricted: true } : {}),
          },
        },
      },
    );
    if (res.status !== 201) throw httpError('POST application_credentials', res);
    const o = obj(obj(res.body, 'body').application_credential, 'application_credential');
    return {
      id: str(o.id, 'application_credential.id'),
      name: str(o.name, 'application_credential.name'),
      secret: str(o.secret, 'application_credential.secret'),
      projectId: str(o.project_id, 'application_credential.project_id'),
    };
  }

  async deleteApplicationCredential(userToken: string, userId: string, id: string): Promise<void> {
    const res = await this.client.request(
      'DELETE',
      `/users/${encodeURIComponent(userId)}/application_credentials/${encodeURIComponent(id)}`,
      { token: userToken },
    );
    if (res.status !== 204) throw httpError('DELETE application_credentials', res);
  }

  async createRegion(id: string): Promise<void> {
    await this.#call('POST', '/regions', { region: { id } });
  }

  async deleteRegion(id: string): Promise<void> {
    await this.#call('DELETE', `/regions/${encodeURIComponent(id)}`);
  }

  async createService(s: { type: string; name: string }): Promise<{ id: string }> {
    const b = await this.#call('POST', '/services', {
      service: { type: s.type, name: s.name, enabled: true },
    });
    return { id: str(obj(obj(b, 'body').service, 'service').id, 'service.id') };
  }

  /** Deleting a service deletes its endpoints too. */
  async deleteService(id: string): Promise<void> {
    await this.#call('DELETE', `/services/${encodeURIComponent(id)}`);
  }

  async createEndpoint(e: {
    serviceId: string;
    interface: EndpointInterface;
    url: string;
    regionId: string;
  }): Promise<{ id: string }> {
    const b = await this.#call('POST', '/endpoints', {
      endpoint: {
        service_id: e.serviceId,
        interface: e.interface,
        url: e.url,
        region_id: e.regionId,
        enabled: true,
      },
    });
    return { id: str(obj(obj(b, 'body').endpoint, 'endpoint').id, 'endpoint.id') };
  }
}
