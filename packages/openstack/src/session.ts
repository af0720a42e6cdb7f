// An authenticated session with an OpenStack cloud: keystone v3 tokens (password, application
// credential or an existing token; project or domain scope) refreshed before they expire, the
// service catalog (region, interface), and one request path for every service with a timeout,
// retries with backoff, pagination and errors as CloudErrors.
//
// Retries: 409, 429 and 5xx answers, connection failures and timeouts are tried again with capped
// exponential backoff and jitter, honouring Retry-After. A POST (a create) is retried only when the
// cloud says it did nothing (409, 429, 503) or the connection was refused before the request was
// sent: a create that timed out may have happened, and the callers' ensure-by-name finds it.
// A 401 on a service call reissues the token once.
import { Agent, fetch as undiciFetch } from 'undici';
import { KeystoneClient, RefreshingToken, parseTokenBody } from '@kaas/auth';
import type {
  CloudConfig,
  EndpointInterface,
  KeystoneCredentials,
  KeystoneRef,
  KeystoneToken,
  Catalog,
} from '@kaas/auth';
import { CloudError } from '@kaas/providers';
import { defaultRetryPolicy, parseRetryAfterMs, retryDelayMs } from './backoff.ts';
import type { RetryPolicy } from './backoff.ts';
import { httpCloudError, isQuotaAnswer, openStackMessage } from './errors.ts';

/** Credentials: keystone's two (from @kaas/auth) plus an existing token to rescope. */
export type SessionCredentials = KeystoneCredentials | { type: 'token'; token: string };

export type SessionScope =
  { project: KeystoneRef } | { domain: { id: string } | { name: string } } | { system: true } | undefined;

export interface RequestLog {
  service: string;
  method: string;
  url: string;
  attempt: number;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface SessionOptions {
  authUrl: string;
  credentials: SessionCredentials;
  /** project or domain scope; application credentials carry their own and take none */
  scope?: SessionScope;
  region?: string;
  interface?: EndpointInterface;
  /** PEM of the CAs to trust instead of the system's (Red Hat OpenStack ships its own) */
  caBundle?: string | Buffer;
  /** no TLS verification: test clouds only */
  insecure?: boolean;
  /** per request attempt, reading the body included (default 30 s) */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** reissue the token this long before it expires (default 5 min) */
  refreshBeforeMs?: number;
  now?: () => number;
  /** service type -> URL used instead of the catalog's (clouds.yaml `<type>_endpoint_override`) */
  endpointOverrides?: Record<string, string>;
  log?: (entry: RequestLog) => void;
  /** concurrent connections per origin (default 16) */
  maxConnections?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  body?: unknown;
  /** raw body (e.g. an image upload) with its content type */
  rawBody?: { data: Uint8Array | string; contentType: string };
  headers?: Record<string, string>;
  /** a DELETE answered 404 is success (the default for DELETE) */
  notFoundOk?: boolean;
  /** retry 409 answers (default true; off where a 409 is a final answer, e.g. a taken name) */
  retryConflict?: boolean;
  timeoutMs?: number;
}

export interface ListOptions {
  query?: RequestOptions['query'];
  /** page size; without it the cloud's default page (and its links) */
  limit?: number;
  headers?: Record<string, string>;
}

export interface Response<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Service types and the API version path the client speaks (added when the catalog lacks it). */
const VERSION_PATH: Record<string, string> = {
  network: 'v2.0',
  'load-balancer': 'v2',
  dns: 'v2',
  image: 'v2',
};

/** The service types to try, in order, for a name the clients use. */
const TYPE_ALIASES: Record<string, string[]> = {
  'block-storage': ['block-storage', 'volumev3'],
  volumev3: ['volumev3', 'block-storage'],
};

export class Session {
  readonly authUrl: string;
  readonly region: string | undefined;
  readonly interface: EndpointInterface;
  readonly timeoutMs: number;
  readonly keystone: KeystoneClient;
  readonly #credentials: SessionCredentials;
  readonly #scope: SessionScope;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  readonly #overrides: Record<string, string>;
  readonly #log: ((e: RequestLog) => void) | undefined;
  readonly #dispatcher: Agent;
  readonly #token: RefreshingToken;

  constructor(opts: SessionOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.keystone = new KeystoneClient({
      authUrl: opts.authUrl,
      timeoutMs: this.timeoutMs,
      ...(opts.caBundle !== undefined ? { caBundle: opts.caBundle } : {}),
      ...(opts.insecure ? { insecure: true } : {}),
    });
    this.authUrl = this.keystone.authUrl;
    this.region = opts.region;
    this.interface = opts.interface ?? 'public';
    this.#credentials = opts.credentials;
    this.#scope = opts.scope;
    this.#retry = { ...defaultRetryPolicy, ...opts.retry };
    this.#now = opts.now ?? Date.now;
    this.#token = new RefreshingToken({
      issue: () => this.#issue(),
      now: this.#now,
      refreshBeforeMs: opts.refreshBeforeMs ?? 5 * 60_000,
    });
    this.#overrides = opts.endpointOverrides ?? {};
    this.#log = opts.log;
    this.#dispatcher = new Agent({
      connections: opts.maxConnections ?? 16,
      connect: {
        ...(opts.caBundle !== undefined ? { ca: opts.caBundle } : {}),
        ...(opts.insecure ? { rejectUnauthorized: false } : {}),
      },
    });
  }

  /** A session for a cloud from clouds.yaml or OS_* variables (@kaas/auth cloudFromEnvironment). */
  static fromCloud(cloud: CloudConfig, opts: Partial<SessionOptions> = {}): Session {
    return new Session({
      authUrl: cloud.authUrl,
      credentials: cloud.credentials,
      scope: cloud.scope,
      ...(cloud.region !== undefined ? { region: cloud.region } : {}),
      interface: cloud.interface,
      ...(cloud.caBundle !== undefined ? { caBundle: cloud.caBundle } : {}),
      insecure: cloud.insecure,
      ...opts,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.#dispatcher.close(), this.keystone.close()]);
  }

  // ------------------------------------------------------------ tokens

  /** The current token, issued on first use and reissued shortly before it expires. */
  token(): Promise<KeystoneToken> {
    return this.#token.get();
  }

  /** Forget the token (keystone or a service refused it): the next call issues a new one. */
  invalidate(token?: string): void {
    this.#token.invalidate(token);
  }

  async catalog(): Promise<Catalog> {
    return (await this.token()).catalog;
  }

  async projectId(): Promise<string> {
    const p = (await this.token()).project;
    if (!p) throw new CloudError('AuthFailed', 'the session is not scoped to a project');
    return p.id;
  }

  async #issue(): Promise<KeystoneToken> {
    const res = await this.#keystoneCall(() =>
      this.keystone.request('POST', '/auth/tokens', { body: authBody(this.#credentials, this.#scope) }),
    );
    // 404: keystone's answer for an application credential that was deleted (revoked)
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      throw new CloudError(
        'AuthFailed',
        `keystone refused the credentials: ${openStackMessage(res.body, res.text)}`,
        { cloudMessage: openStackMessage(res.body, res.text), status: res.status },
      );
    }
    if (res.status !== 201 && res.status !== 200) {
      throw httpCloudError({
        service: 'identity',
        method: 'POST',
        url: `${this.authUrl}/auth/tokens`,
        status: res.status,
        body: res.body,
        text: res.text,
      });
    }
    const subject = res.headers.get('x-subject-token');
    if (!subject)
      throw new CloudError('CloudUnavailable', 'keystone: token response without X-Subject-Token');
    return parseTokenBody(subject, res.body);
  }

  /** keystone's own transport errors (timeouts, 5xx) as CloudErrors, with the same retries. */
  async #keystoneCall<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const err = e as { name?: string; reason?: string; status?: number; message?: string };
        if (err.name !== 'KeystoneUpstreamError') throw e;
        const code = err.reason === 'timeout' ? 'Timeout' : 'CloudUnavailable';
        if (attempt >= this.#retry.attempts) {
          throw new CloudError(code, err.message ?? 'keystone unavailable', {
            cause: e,
            ...(err.status !== undefined ? { status: err.status } : {}),
          });
        }
        await this.#retry.sleep(retryDelayMs(attempt, this.#retry));
      }
    }
  }

  // ------------------------------------------------------------ endpoints

  /** The base URL of a service, with the API version the clients speak. */
  async endpoint(type: string): Promise<string> {
    let url = this.#overrides[type];
    if (url === undefined) {
      const catalog = await this.catalog();
      const types = TYPE_ALIASES[type] ?? [type];
      let lastErr: unknown;
      for (const t of types) {
        try {
          url = catalog.endpointFor(t, {
            ...(this.region !== undefined ? { region: this.region } : {}),
            interface: this.interface,
          });
          break;
        } catch (e) {
          lastErr = e;
        }
      }
      if (url === undefined) {
        throw new CloudError('NotFound', `service catalog: ${(lastErr as Error).message}`, {
          cause: lastErr,
        });
      }
    }
    if (url.includes('%(project_id)s') || url.includes('$(project_id)s') || url.includes('%(tenant_id)s')) {
      const pid = await this.projectId();
      url = url.replace(/[%$]\((project_id|tenant_id)\)s/g, pid);
    }
    url = url.replace(/\/+$/, '');
    const version = VERSION_PATH[type];
    if (version !== undefined && !url.endsWith(`/${version}`)) url = `${url}/${version}`;
    return url;
  }

  // ------------------------------------------------------------ requests

  /**
   * One call to a service. `path` is relative to the service's versioned endpoint, or an absolute
   * URL (a pagination link). Non-2xx answers throw CloudErrors, except a DELETE's 404.
   */
  async request<T = any>(
    service: string,
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<Response<T>> {
    const base = await this.endpoint(service);
    const url = resolveUrl(base, path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v as string[]) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    const notFoundOk = opts.notFoundOk ?? method === 'DELETE';
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      const headers: Record<string, string> = {
        accept: 'application/json',
        'x-auth-token': token.token,
        ...opts.headers,
      };
      let body: string | Uint8Array | undefined;
      if (opts.rawBody) {
        headers['content-type'] = opts.rawBody.contentType;
        body = opts.rawBody.data;
      } else if (opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(opts.body);
      }
      const started = performance.now();
      const log = (extra: Partial<RequestLog>): void =>
        this.#log?.({
          service,
          method,
          url: url.toString(),
          attempt,
          durationMs: Math.round(performance.now() - started),
          ...extra,
        });
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let resHeaders: Headers;
      let text: string;
      try {
        const res = await undiciFetch(url, {
          method,
          headers,
          signal,
          dispatcher: this.#dispatcher,
          ...(body !== undefined ? { body } : {}),
        });
        status = res.status;
        resHeaders = res.headers;
        text = await res.text();
      } catch (e) {
        const timedOut = signal.aborted;
        const detail = networkDetail(e);
        log({ error: timedOut ? 'timeout' : detail });
        // a refused connection never reached the server: safe to retry even a create
        const safe = method !== 'POST' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(detail);
        if (safe && attempt < this.#retry.attempts) {
          await this.#retry.sleep(retryDelayMs(attempt, this.#retry));
          continue;
        }
        throw new CloudError(
          timedOut ? 'Timeout' : 'CloudUnavailable',
          timedOut
            ? `${service} ${method} ${url.pathname}: no answer in ${timeoutMs} ms (${attempt} tries)`
            : `${service} ${method} ${url.pathname}: ${detail} (${attempt} tries)`,
          { cause: e },
        );
      }
      log({ status });
      let parsed: unknown = undefined;
      if (text.length > 0 && /json/i.test(resHeaders.get('content-type') ?? 'application/json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      if (status >= 200 && status < 300) return { status, headers: resHeaders, body: parsed as T };
      if (status === 404 && notFoundOk) return { status, headers: resHeaders, body: parsed as T };
      if (status === 401 && !reauthed) {
        // the token was revoked or expired early: once with a new one
        reauthed = true;
        this.invalidate(token.token);
        continue;
      }
      if (attempt < this.#retry.attempts && this.#retryable(method, status, parsed, text, opts)) {
        const retryAfter = parseRetryAfterMs(resHeaders.get('retry-after'), this.#now());
        await this.#retry.sleep(retryDelayMs(attempt, this.#retry, retryAfter));
        continue;
      }
      throw httpCloudError({
        service,
        method,
        url: url.toString(),
        status,
        body: parsed,
        text,
        requestId:
          resHeaders.get('x-openstack-request-id') ?? resHeaders.get('x-compute-request-id') ?? undefined,
      });
    }
  }

  #retryable(method: string, status: number, body: unknown, text: string, opts: RequestOptions): boolean {
    if (isQuotaAnswer(status, body, text)) return false;
    if (status === 409) return opts.retryConflict ?? true;
    if (status === 429 || status === 503) return true;
    // 500/502/504 on a create: it may have happened; the caller's ensure-by-name decides
    if (status >= 500) return method !== 'POST';
    return false;
  }

  /**
   * Every item of a list, following the service's next links (`<key>_links`, `links.next`, glance's
   * `next`) and, when a page came back full without one, a `marker` on the last item's id.
   */
  async *paginate<T = any>(
    service: string,
    path: string,
    key: string,
    opts: ListOptions = {},
  ): AsyncGenerator<T> {
    const base = await this.endpoint(service);
    let next: string | undefined = path;
    let query: RequestOptions['query'] = { ...opts.query, ...(opts.limit ? { limit: opts.limit } : {}) };
    const seen = new Set<string>();
    while (next !== undefined) {
      const res: Response = await this.request(service, 'GET', next, {
        query,
        notFoundOk: false,
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
      const items: T[] = (res.body?.[key] as T[] | undefined) ?? [];
      for (const item of items) yield item;
      const link = nextLink(res.body, key);
      query = undefined;
      if (link !== undefined) {
        next = rebase(base, link);
      } else if (opts.limit !== undefined && items.length >= opts.limit && items.length > 0) {
        const last = items[items.length - 1] as { id?: string };
        if (!last.id) break;
        next = path;
        query = { ...opts.query, limit: opts.limit, marker: last.id };
      } else {
        next = undefined;
      }
      if (next !== undefined) {
        const k = `${next}?${JSON.stringify(query)}`;
        if (seen.has(k)) break; // a cloud that links a page to itself
        seen.add(k);
      }
    }
  }

  async list<T = any>(service: string, path: string, key: string, opts: ListOptions = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this.paginate<T>(service, path, key, opts)) out.push(item);
    return out;
  }
}

function resolveUrl(base: string, path: string): URL {
  if (/^https?:\/\//.test(path)) return new URL(path);
  return new URL(`${base}${path.startsWith('/') ? '' : '/'}${path}`);
}

/**
 * A next link on the endpoint's origin: clouds behind TLS proxies often link with their internal
 * scheme and host. Glance's `next` is a path from the endpoint's root ("/v2/images?marker=").
 */
function rebase(base: string, link: string): string {
  const b = new URL(base);
  if (/^https?:\/\//.test(link)) {
    const l = new URL(link);
    return `${b.origin}${l.pathname}${l.search}`;
  }
  const root = b.pathname.replace(/\/v[0-9.]+$/, '').replace(/\/+$/, '');
  const path = link.startsWith(root) ? link : `${root}${link.startsWith('/') ? '' : '/'}${link}`;
  return `${b.origin}${path}`;
}

function nextLink(body: any, key: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const fromArray = (links: unknown): string | undefined =>
    Array.isArray(links)
      ? (links as { rel?: string; href?: string }[]).find((l) => l.rel === 'next')?.href
      : undefined;
  const byKey = fromArray(body[`${key}_links`]);
  if (byKey) return byKey;
  if (Array.isArray(body.links)) return fromArray(body.links);
  if (typeof body.links === 'object' && body.links !== null && typeof body.links.next === 'string')
    return body.links.next as string; // designate
  if (typeof body.next === 'string') return body.next as string; // glance
  return undefined;
}

function refBody(ref: KeystoneRef): Record<string, unknown> {
  return 'id' in ref ? { id: ref.id } : { name: ref.name, domain: ref.domain };
}

/** POST /v3/auth/tokens body for any of the session's credentials and scopes. */
export function authBody(credentials: SessionCredentials, scope: SessionScope): unknown {
  let identity: Record<string, unknown>;
  if (credentials.type === 'password') {
    identity = {
      methods: ['password'],
      password: { user: { ...refBody(credentials.user), password: credentials.password } },
    };
  } else if (credentials.type === 'token') {
    identity = { methods: ['token'], token: { id: credentials.token } };
  } else {
    const ac =
      'id' in credentials
        ? { id: credentials.id, secret: credentials.secret }
        : { name: credentials.name, user: refBody(credentials.user), secret: credentials.secret };
    // keystone rejects a scope with application credentials: they carry their own project
    return { auth: { identity: { methods: ['application_credential'], application_credential: ac } } };
  }
  let s: unknown;
  if (scope && 'project' in scope) s = { project: refBody(scope.project) };
  else if (scope && 'domain' in scope) s = { domain: scope.domain };
  else if (scope && 'system' in scope) s = { system: { all: true } };
  return { auth: { identity, ...(s ? { scope: s } : {}) } };
}

function networkDetail(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code;
  return code ? `${code} ${err.cause?.message ?? ''}`.trim() : (err.message ?? String(e));
}
