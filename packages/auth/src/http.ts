// The HTTP face of kubernetes-auth, served by the API server's listener ahead of the Kubernetes
// API (ExtraRoute) and wired into its authentication chain (bearerAuthenticator):
//
//   POST   /auth/v1/tokens          credentials -> bearer token for one cluster (anonymous; rate-limited)
//   GET    /auth/v1/tokens          tokens (all with RBAC `get /auth/v1/tokens`, else the caller's own)
//   DELETE /auth/v1/tokens/self     revoke the bearer token of this request (log out)
//   DELETE /auth/v1/tokens/ID       revoke one (its owner, or RBAC `delete /auth/v1/tokens/*`)
//   GET    /auth/v1/users           local users            RBAC `get /auth/v1/users`
//   POST   /auth/v1/users           create a local user    RBAC `post /auth/v1/users`
//   GET    /auth/v1/users/NAME                             RBAC `get /auth/v1/users/*`
//   PATCH  /auth/v1/users/NAME      password, roles, disabled; ends the user's sessions  RBAC `patch`
//   DELETE /auth/v1/users/NAME      ends the user's sessions                             RBAC `delete`
//
// Every answer is JSON; errors are metav1.Status so kubectl-style clients print the message.
// State-changing calls need Content-Type: application/json, which a browser cannot send across
// origins without a CORS preflight this server never grants: no CSRF through a form post.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator, ExtraRoute, RouteContext, UserInfo } from '@kaas/apiserver';
import { StatusError, errors } from '@kaas/apiserver';
import { InvalidCredentialsError, UpstreamError } from './errors.ts';
import { CredentialsFormatError, LocalUserError, parseCredentials } from './identity.ts';
import type { LocalUser, LocalUsersBackend } from './identity.ts';
import type { ExchangeRateLimiter } from './ratelimit.ts';
import { redactString } from './redact.ts';
import type { TokenAuthenticator } from './tokenreview.ts';
import { isWellFormedToken, TOKEN_PREFIX } from './tokens.ts';
import type { TokenService } from './tokens.ts';

export const authRoutePrefix = '/auth/v1/';
export const tokenApiVersion = 'auth.kaas.dev/v1';
const MAX_BODY = 64 * 1024;
/** the longest a requested token may live; the service caps it further */
const MAX_TTL_SECONDS = 7 * 24 * 3600;

export type AuthLog = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface AuthRoutesOptions {
  tokens: TokenService;
  limiter: ExchangeRateLimiter;
  /** the backend used when a request names none */
  defaultBackend: string;
  /** present when local users are enabled */
  local?: LocalUsersBackend;
  /** whether a cluster of that name exists (tokens are only issued for real audiences) */
  clusterExists(name: string): Promise<boolean>;
  log?: AuthLog;
}

/** `Authorization: Bearer <token>`; anything else (or two headers) is not a bearer token. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer +([A-Za-z0-9._~+/=-]{1,8192}) *$/i.exec(h);
  return m?.[1];
}

/**
 * Our tokens in the API server's chain. Another scheme's token (a service account JWT) is
 * passed on; one of ours that does not check out is a definite 401 with the reason; an
 * identity provider that cannot answer is a 503: fail closed, and say why.
 */
export function bearerAuthenticator(authn: TokenAuthenticator, log?: AuthLog): Authenticator {
  return async (req, { cluster }) => {
    const token = bearerToken(req);
    if (token === undefined || !token.startsWith(TOKEN_PREFIX)) return null;
    let r;
    try {
      r = await authn.authenticate(token, cluster);
    } catch (e) {
      log?.('warn', 'token check failed upstream', { error: redactString((e as Error).message) });
      throw errors.unavailable('the identity provider could not be reached to check this token; try again');
    }
    if (!r.authenticated) {
      const hint =
        r.reason === 'wrong-audience'
          ? `: get one for this cluster with "kaasctl auth token --cluster ${cluster}"`
          : r.reason === 'malformed'
            ? ''
            : ': sign in again with "kaasctl auth login"';
      throw errors.unauthorized(`Unauthorized: ${r.message}${hint}`);
    }
    const id = r.identity;
    const user: UserInfo = {
      username: id.username,
      uid: id.uid,
      groups: [...id.groups, 'system:authenticated'],
      extra: id.extra,
    };
    return user;
  };
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function fail(res: ServerResponse, e: StatusError): void {
  const headers: Record<string, string> = {};
  if (e.code === 429 && e.details?.retryAfterSeconds)
    headers['Retry-After'] = String(e.details.retryAfterSeconds);
  send(res, e.code, e.toStatus(), headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new StatusError(415, 'UnsupportedMediaType', 'send the body as Content-Type: application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY)
    throw new StatusError(413, 'RequestEntityTooLarge', `body larger than ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY)
      throw new StatusError(413, 'RequestEntityTooLarge', `body larger than ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw errors.badRequest('body is not valid JSON');
  }
}

function publicUser(u: LocalUser): Omit<LocalUser, 'passwordHash'> {
  const { passwordHash: _h, ...rest } = u;
  return rest;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw errors.badRequest(`${what}: must be an object`);
  return v as Record<string, unknown>;
}

export function authRoutes(o: AuthRoutesOptions): ExtraRoute {
  const need = async (ctx: RouteContext, verb: string, path: string): Promise<UserInfo> => {
    if (!ctx.user) throw errors.unauthorized('Unauthorized: sign in first ("kaasctl auth login")');
    if (!(await ctx.can(ctx.user, verb, path)))
      throw errors.forbidden(`user "${ctx.user.username}" cannot ${verb} path "${path}"`);
    return ctx.user;
  };

  const exchange = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = asObject(await readJson(req), 'body');
    const problems: string[] = [];
    for (const k of Object.keys(body))
      if (!['cluster', 'backend', 'credentials', 'ttlSeconds'].includes(k))
        problems.push(`${k}: unknown field`);
    const cluster = body.cluster;
    if (typeof cluster !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(cluster))
      problems.push('cluster: the name of the cluster the token is for (for example "root" or "demo")');
    const backend = typeof body.backend === 'string' ? body.backend : o.defaultBackend;
    if (body.backend !== undefined && typeof body.backend !== 'string') problems.push('backend: a string');
    else if (!o.tokens.backend(backend))
      problems.push(
        `backend: must be one of the configured identity backends (default "${o.defaultBackend}")`,
      );
    const ttl = body.ttlSeconds;
    if (
      ttl !== undefined &&
      !(Number.isInteger(ttl) && (ttl as number) > 0 && (ttl as number) <= MAX_TTL_SECONDS)
    )
      problems.push(`ttlSeconds: an integer from 1 to ${MAX_TTL_SECONDS}`);
    let credentials;
    try {
      credentials = parseCredentials(body.credentials);
    } catch (e) {
      if (!(e instanceof CredentialsFormatError)) throw e;
      problems.push(...e.problems.map((p) => `credentials.${p}`));
    }
    if (problems.length || !credentials)
      throw errors.badRequest(`invalid credentials exchange: ${problems.join('; ')}`);
    const claimed =
      ('username' in credentials ? credentials.username : undefined) ??
      credentials.userId ??
      ('id' in credentials ? credentials.id : undefined) ??
      '';
    const source = req.socket.remoteAddress ?? 'unknown';
    const d = o.limiter.take({ user: `${backend}:${claimed}`, source });
    if (!d.allowed) {
      o.log?.('warn', 'credentials exchange rate-limited', {
        backend,
        user: claimed,
        source,
        by: d.limitedBy,
      });
      throw errors.tooManyRequests(
        `too many sign-in attempts for this ${d.limitedBy ?? 'user'}; try again later`,
        Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
      );
    }
    if (!(await o.clusterExists(cluster as string)))
      throw errors.notFound({ group: 'kaas.dev', resource: 'clusters', name: cluster as string });
    try {
      const t = await o.tokens.exchange(credentials, {
        backend,
        audience: cluster as string,
        ...(ttl !== undefined ? { ttlMs: (ttl as number) * 1000 } : {}),
      });
      o.log?.('info', 'token issued', { backend, user: t.identity.username, cluster, tokenId: t.id, source });
      send(res, 201, {
        apiVersion: tokenApiVersion,
        kind: 'Token',
        id: t.id,
        token: t.token,
        cluster: t.audience,
        username: t.identity.username,
        uid: t.identity.uid,
        groups: t.identity.groups,
        expiresAt: t.expiresAt.toISOString(),
      });
    } catch (e) {
      if (e instanceof InvalidCredentialsError) {
        o.log?.('warn', 'credentials refused', { backend, user: claimed, source });
        throw errors.unauthorized(`Unauthorized: ${e.message}`);
      }
      if (e instanceof UpstreamError) {
        o.log?.('error', 'identity provider unavailable', { backend, error: redactString(e.message) });
        throw errors.unavailable(
          `the identity provider could not be reached; try again (${redactString(e.message)})`,
        );
      }
      throw e;
    }
  };

  const tokens = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext, rest: string) => {
    if (!ctx.user) throw errors.unauthorized('Unauthorized: sign in first ("kaasctl auth login")');
    if (req.method === 'GET' && rest === '') {
      const all = await ctx.can(ctx.user, 'get', '/auth/v1/tokens');
      const items = (await o.tokens.list(all ? {} : { uid: ctx.user.uid ?? '' })).filter(
        (t) => all || t.username === ctx.user!.username,
      );
      send(res, 200, { apiVersion: tokenApiVersion, kind: 'TokenList', items });
      return;
    }
    if (req.method === 'DELETE' && rest === 'self') {
      const token = bearerToken(req);
      const ok = token !== undefined && isWellFormedToken(token) && (await o.tokens.revokeToken(token));
      if (!ok) throw errors.badRequest('this request was not made with a KaaS token; nothing to revoke');
      send(res, 200, {
        apiVersion: tokenApiVersion,
        kind: 'Status',
        status: 'Success',
        message: 'token revoked',
      });
      return;
    }
    if (req.method === 'DELETE' && /^[A-Za-z0-9_-]{1,64}$/.test(rest)) {
      const rec = await o.tokens.store.get(rest);
      const own = rec !== undefined && rec.username === ctx.user.username && rec.uid === ctx.user.uid;
      if (!own && !(await ctx.can(ctx.user, 'delete', `/auth/v1/tokens/${rest}`))) {
        // the same answer whether or not the id exists: ids are not for probing
        throw errors.forbidden(`user "${ctx.user.username}" cannot delete path "/auth/v1/tokens/${rest}"`);
      }
      if (!rec || !(await o.tokens.revoke(rest)))
        throw errors.notFound({ group: 'auth.kaas.dev', resource: 'tokens', name: rest });
      o.log?.('info', 'token revoked', { tokenId: rest, by: ctx.user.username });
      send(res, 200, {
        apiVersion: tokenApiVersion,
        kind: 'Status',
        status: 'Success',
        message: `token ${rest} revoked`,
      });
      return;
    }
    throw new StatusError(405, 'MethodNotAllowed', `${req.method} /auth/v1/tokens/${rest} is not supported`);
  };

  const users = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext, rest: string) => {
    const local = o.local;
    if (!local) throw errors.notFound({ group: 'auth.kaas.dev', resource: 'users', name: rest || undefined });
    const verb = (req.method ?? 'GET').toLowerCase();
    const path = rest ? `/auth/v1/users/${rest}` : '/auth/v1/users';
    const by = await need(ctx, verb, path);
    try {
      if (rest === '' && verb === 'get') {
        const items = (await local.store.list()).map(publicUser);
        send(res, 200, { apiVersion: tokenApiVersion, kind: 'UserList', items });
      } else if (rest === '' && verb === 'post') {
        const b = asObject(await readJson(req), 'body');
        for (const k of Object.keys(b))
          if (!['name', 'password', 'roles'].includes(k)) throw errors.badRequest(`${k}: unknown field`);
        if (typeof b.name !== 'string' || typeof b.password !== 'string')
          throw errors.badRequest('name and password: required strings');
        if (b.roles !== undefined && !(Array.isArray(b.roles) && b.roles.every((r) => typeof r === 'string')))
          throw errors.badRequest('roles: a list of strings');
        const u = await local.createUser({
          name: b.name,
          password: b.password,
          roles: b.roles ?? [],
        });
        o.log?.('info', 'local user created', { user: u.name, roles: u.roles, by: by.username });
        send(res, 201, { apiVersion: tokenApiVersion, kind: 'User', ...publicUser(u) });
      } else if (rest !== '' && verb === 'get') {
        const u = await local.store.get(rest);
        if (!u) throw errors.notFound({ group: 'auth.kaas.dev', resource: 'users', name: rest });
        send(res, 200, { apiVersion: tokenApiVersion, kind: 'User', ...publicUser(u) });
      } else if (rest !== '' && verb === 'patch') {
        const b = asObject(await readJson(req), 'body');
        for (const k of Object.keys(b))
          if (!['password', 'roles', 'disabled'].includes(k)) throw errors.badRequest(`${k}: unknown field`);
        if (!(await local.store.get(rest)))
          throw errors.notFound({ group: 'auth.kaas.dev', resource: 'users', name: rest });
        if (b.password !== undefined) {
          if (typeof b.password !== 'string') throw errors.badRequest('password: a string');
          await local.setPassword(rest, b.password);
        }
        if (b.roles !== undefined) {
          if (!(Array.isArray(b.roles) && b.roles.every((r) => typeof r === 'string')))
            throw errors.badRequest('roles: a list of strings');
          await local.setRoles(rest, b.roles);
        }
        if (b.disabled !== undefined) {
          if (typeof b.disabled !== 'boolean') throw errors.badRequest('disabled: true or false');
          await local.setDisabled(rest, b.disabled);
        }
        const u = (await local.store.get(rest))!;
        // roles changed or access ended: live tokens must not keep the old answer
        const revoked = await o.tokens.revokeUser('local', u.uid);
        o.log?.('info', 'local user changed', {
          user: rest,
          fields: Object.keys(b),
          revoked,
          by: by.username,
        });
        send(res, 200, {
          apiVersion: tokenApiVersion,
          kind: 'User',
          ...publicUser(u),
          revokedTokens: revoked,
        });
      } else if (rest !== '' && verb === 'delete') {
        const u = await local.store.get(rest);
        if (!u || !(await local.deleteUser(rest)))
          throw errors.notFound({ group: 'auth.kaas.dev', resource: 'users', name: rest });
        const revoked = await o.tokens.revokeUser('local', u.uid);
        o.log?.('info', 'local user deleted', { user: rest, revoked, by: by.username });
        send(res, 200, {
          apiVersion: tokenApiVersion,
          kind: 'Status',
          status: 'Success',
          message: `user ${rest} deleted`,
          revokedTokens: revoked,
        });
      } else {
        throw new StatusError(405, 'MethodNotAllowed', `${req.method} ${path} is not supported`);
      }
    } catch (e) {
      if (e instanceof LocalUserError) throw errors.badRequest(e.message);
      throw e;
    }
  };

  return {
    prefix: authRoutePrefix,
    async handle(req, res, ctx) {
      try {
        const rest = ctx.url.pathname.slice(authRoutePrefix.length);
        if (rest === 'tokens' && req.method === 'POST') return await exchange(req, res);
        if (rest === 'tokens' || rest.startsWith('tokens/'))
          return await tokens(req, res, ctx, rest.slice('tokens/'.length));
        if (rest === 'users' || rest.startsWith('users/'))
          return await users(req, res, ctx, rest.slice('users/'.length));
        throw errors.notFound({
          group: 'auth.kaas.dev',
          resource: rest.split('/')[0] ?? '',
          name: undefined,
        });
      } catch (e) {
        if (e instanceof StatusError) return fail(res, e);
        o.log?.('error', 'auth route failed', {
          path: ctx.url.pathname,
          error: redactString(String((e as Error)?.stack ?? e)),
        });
        fail(res, errors.internal('the request could not be completed'));
      }
    },
  };
}
