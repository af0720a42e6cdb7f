// The console's backend at /console/ on the KaaS server's own origin (contract: docs/console.md):
// sign-in with authorization code + PKCE at our own OIDC issuer (a confidential client registered
// in-process), server-side sessions in the store (console-session.ts), CSRF on every
// state-changing call, the Kubernetes API as the signed-in user (/console/k8s/, forwarded through
// the API server's own handler with the user's KaaS token: RBAC applies as that user), a
// kubeconfig download, what the UI needs to know (info), and the built app (console-static.ts).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer, ExtraRoute, KVStore } from '@kaas/apiserver';
import type {
  Authenticated,
  Identity,
  OidcClient,
  OidcIssuer,
  TokenService,
  UpstreamSession,
} from '@kaas/auth';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { execKubeconfig } from '../commands/auth.ts';
import type { ConsoleUser, SessionLookup, SessionRecord } from './console-session.ts';
import { ConsoleSessions, constantTimeEqual, csrfTokenFor } from './console-session.ts';
import { defaultConsoleDist, serveConsoleFile } from './console-static.ts';

export const CONSOLE_PREFIX = '/console/';
export const CONSOLE_COOKIE = 'kaas_console';
const LOGIN_COOKIE = 'kaas_console_login';
const CLIENT_ID = 'kaas-console';
const LOGIN_TTL_MS = 10 * 60_000;

/** On every response under /console/ (the built app has no inline scripts or styles). */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface SsoProxyInfo {
  url: string;
  routes: { name: string; url: string }[];
}

export interface ConsoleOptions {
  kv: KVStore;
  /** mints the users' KaaS tokens; its backends re-check the users (local, keystone) */
  tokens: TokenService;
  caPem: string;
  /** the CA file on this machine, for the login command and the kubeconfig's exec plugin */
  caFile: string;
  /** default apps/console/dist */
  distDir?: string;
  /** how long a console sign-in lasts, default 8 h */
  sessionTtlS?: number;
  /** the SSO proxy this server runs, once it listens */
  ssoProxy?: () => SsoProxyInfo | undefined;
  log?: Log;
  now?: () => number;
}

export interface Console {
  /** for ApiServer's `routes` */
  route: ExtraRoute;
  /** register with the issuer before it starts (auth flags' oidcClients) */
  oidcClient(url: string): OidcClient;
  /** once the API server listens at `url` and the issuer is attached */
  attach(server: ApiServer, url: string, issuer: () => OidcIssuer | undefined): void;
  close(): void;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !out.has(k)) out.set(k, part.slice(i + 1).trim());
  }
  return out;
}

function cookie(name: string, value: string, o: { path: string; maxAgeS: number }): string {
  return `${name}=${value}; Path=${o.path}; Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}; Secure; HttpOnly; SameSite=Lax`;
}

/** A same-origin path under /console/ (not one of the backend's own), else /console/. */
export function safeReturn(r: string | null | undefined): string {
  const fallback = '/console/';
  if (!r || r.length > 2048 || !r.startsWith('/console/') || r.startsWith('//')) return fallback;
  if (/[\\\u0000-\u001f\u007f]/.test(r)) return fallback;
  const base = new URL('https://origin.invalid');
  let u: URL;
  try {
    u = new URL(r, base);
  } catch {
    return fallback;
  }
  if (u.origin !== base.origin || !u.pathname.startsWith('/console/')) return fallback;
  if (/^\/console\/(login|callback|logout|api\/|k8s\/)/.test(u.pathname)) return fallback;
  return `${u.pathname}${u.search}${u.hash}`;
}

/** The API paths /console/k8s/ forwards (the API server's, not its other routes). */
const API_PATH =
  /^\/(api|apis|version|openapi|healthz|readyz|livez)(\/|$)|^\/clusters\/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\/|$)/;
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function isUnsafe(path: string): boolean {
  return /%2f|%5c|\\/i.test(path) || path.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s));
}

export function createConsole(o: ConsoleOptions): Console {
  const now = o.now ?? Date.now;
  const log: Log = o.log ?? (() => {});
  const distDir = o.distDir ?? defaultConsoleDist;
  const sessionTtlMs = (o.sessionTtlS ?? 8 * 3600) * 1000;
  const clientSecret = randomBytes(32).toString('base64url');
  let server: ApiServer | undefined;
  let url = '';
  let issuer: () => OidcIssuer | undefined = () => undefined;
  let config: Promise<oidc.Configuration> | undefined;
  const agent = new Agent({ connect: { ca: o.caPem }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const customFetch: oidc.CustomFetch = (u, opts) => undiciFetch(u, { ...opts, dispatcher: agent });

  const sessions = new ConsoleSessions({
    kv: o.kv,
    tokens: o.tokens,
    now,
    revalidate: async (r, upstream) => revalidate(r, upstream),
  });
  const sweep = setInterval(() => {
    sessions
      .sweep()
      .catch((e: Error) => log('warn', 'console: sweeping ended sessions failed', { error: e.message }));
  }, 10 * 60_000);
  sweep.unref();

  /**
   * Before a token is minted the user is re-checked with their backend: a local user must still
   * exist, be enabled and have the same password; a keystone user's token must still validate
   * (roles, user, project, password unchanged). The minted token keeps the keystone token, sealed,
   * so the API server re-checks it the same way (docs/auth.md).
   */
  async function revalidate(r: SessionRecord, upstream: UpstreamSession): Promise<Authenticated | undefined> {
    const backend = o.tokens.backend(r.user.backend);
    if (!backend) return undefined;
    const identity = await backend.revalidate(upstream);
    if (identity === 'revoked' || identity.uid !== r.user.uid) return undefined;
    return { identity, session: upstream };
  }

  const discover = (): Promise<oidc.Configuration> => {
    config ??= oidc
      .discovery(
        new URL(`${url}/oidc`),
        CLIENT_ID,
        { client_secret: clientSecret },
        oidc.ClientSecretBasic(clientSecret),
        { [oidc.customFetch]: customFetch, timeout: 10 },
      )
      .then((c) => {
        c[oidc.customFetch] = customFetch;
        return c;
      })
      .catch((e: unknown) => {
        config = undefined;
        throw e;
      });
    return config;
  };

  function headers(res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
  }

  function json(
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(text);
  }

  function html(res: ServerResponse, status: number, title: string, body: string): void {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
        `<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`,
    );
  }

  function redirect(res: ServerResponse, location: string, setCookies: string[] = []): void {
    res.writeHead(302, {
      Location: location,
      'Cache-Control': 'no-store',
      ...(setCookies.length ? { 'Set-Cookie': setCookies } : {}),
    });
    res.end();
  }

  function loginUrl(returnTo: string): string {
    return `/console/login?return=${encodeURIComponent(returnTo)}`;
  }

  function unauthorized(
    res: ServerResponse,
    reason: 'NotLoggedIn' | 'SessionExpired',
    returnTo: string,
  ): void {
    json(
      res,
      401,
      {
        code: reason,
        message:
          reason === 'NotLoggedIn' ? 'Sign in to use the console.' : 'Your session has ended. Sign in again.',
        loginUrl: loginUrl(returnTo),
      },
      reason === 'SessionExpired'
        ? { 'Set-Cookie': cookie(CONSOLE_COOKIE, '', { path: '/console', maxAgeS: 0 }) }
        : {},
    );
  }

  async function session(req: IncomingMessage): Promise<SessionLookup> {
    return sessions.lookup(parseCookies(req.headers.cookie).get(CONSOLE_COOKIE));
  }

  /** Same session's token, same origin when the browser says where it comes from. */
  function csrfOk(req: IncomingMessage, s: Extract<SessionLookup, { ok: true }>): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(url).origin) return false;
    const sent = req.headers['x-csrf-token'];
    return typeof sent === 'string' && constantTimeEqual(sent, csrfTokenFor(s.id));
  }

  // ------------------------------------------------------------------ sign-in

  async function login(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const returnTo = safeReturn(u.searchParams.get('return'));
    const c = await discover();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    await sessions.putLogin(state, { verifier, nonce, returnTo, expiresAtMs: now() + LOGIN_TTL_MS });
    const to = oidc.buildAuthorizationUrl(c, {
      redirect_uri: `${url}/console/callback`,
      scope: 'openid profile groups',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    // binds the callback to this browser (login CSRF): the state must come back with its cookie
    redirect(res, to.href, [
      cookie(LOGIN_COOKIE, state, { path: '/console/callback', maxAgeS: LOGIN_TTL_MS / 1000 }),
    ]);
  }

  function callbackError(res: ServerResponse, message: string): void {
    html(
      res,
      400,
      'Sign-in failed',
      `<p>${esc(message)}</p><p><a href="/console/login">Sign in again</a></p>`,
    );
  }

  async function callback(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const state = u.searchParams.get('state') ?? '';
    const mine = parseCookies(req.headers.cookie).get(LOGIN_COOKIE) ?? '';
    if (u.searchParams.has('error'))
      return callbackError(res, `The issuer refused the sign-in: ${u.searchParams.get('error')}.`);
    if (!state || !mine || !constantTimeEqual(state, mine))
      return callbackError(res, 'This sign-in was started in another browser or has expired.');
    const pending = await sessions.takeLogin(state);
    if (!pending) return callbackError(res, 'This sign-in has expired or was already used.');
    const c = await discover();
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(c, new URL(req.url ?? '/', url), {
        pkceCodeVerifier: pending.verifier,
        expectedState: state,
        expectedNonce: pending.nonce,
      });
    } catch (e) {
      log('warn', 'console: code exchange failed', { error: (e as Error).message });
      return callbackError(res, 'The sign-in could not be completed.');
    }
    const claims = tokens.claims();
    if (!claims) return callbackError(res, 'The issuer sent no ID token.');
    // what the sign-in proved, with the upstream secret (keystone's token): in-process, since the
    // issuer and the console are the same server; the secret never travels in a token or a URL
    const signIn = await issuer()?.signInFor(tokens.access_token);
    if (!signIn || signIn.identity.uid !== claims.sub)
      return callbackError(res, 'This sign-in has already ended at the identity provider.');
    const backend = o.tokens.backend(signIn.identity.backend);
    if (!backend)
      return callbackError(res, `The identity provider "${signIn.identity.backend}" is not configured here.`);
    let identity: Identity | 'revoked';
    try {
      identity = await backend.revalidate(signIn.session);
    } catch (e) {
      log('warn', 'console: identity provider unavailable at sign-in', { error: (e as Error).message });
      return callbackError(res, 'The identity provider is unavailable. Try again later.');
    }
    if (identity === 'revoked' || identity.uid !== signIn.identity.uid)
      return callbackError(res, 'This user no longer exists or is disabled.');
    // a keystone sign-in cannot outlive keystone's token: its KaaS tokens could not be minted
    const expiresAtMs = Math.min(now() + sessionTtlMs, identity.expiresAt?.getTime() ?? Infinity);
    const consoleUser: ConsoleUser = {
      name: identity.username,
      uid: identity.uid,
      groups: identity.groups,
      extra: identity.extra,
      backend: identity.backend,
    };
    const { secret, ...upstream } = signIn.session;
    const { id } = await sessions.create(
      { user: consoleUser, upstream, expiresAtMs, issuerSessionUid: signIn.sessionUid },
      secret,
    );
    log('info', 'console: signed in', { username: identity.username });
    redirect(res, pending.returnTo, [
      cookie(CONSOLE_COOKIE, id, { path: '/console', maxAgeS: (expiresAtMs - now()) / 1000 }),
      cookie(LOGIN_COOKIE, '', { path: '/console/callback', maxAgeS: 0 }),
    ]);
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return json(res, 405, { code: 'MethodNotAllowed', message: 'POST /console/logout' });
    }
    const s = await session(req);
    if (!s.ok) return unauthorized(res, s.reason, '/console/');
    if (!csrfOk(req, s))
      return json(res, 403, { code: 'CsrfFailed', message: 'missing or wrong X-CSRF-Token' });
    await sessions.delete(s);
    // single logout: the issuer's session ends (the next sign-in asks for the password again), its
    // refresh tokens are revoked, and every relying party that took part and registered a
    // back-channel logout URI (the SSO proxy) is told to end its own session
    const uid = s.record.issuerSessionUid;
    const iss = issuer();
    if (uid && iss) {
      try {
        await iss.endSession(uid);
      } catch (e) {
        log('warn', 'console: ending the issuer session failed', { error: (e as Error).message });
      }
    }
    log('info', 'console: signed out', { username: s.record.user.name });
    json(
      res,
      200,
      { loggedOut: true, next: '/console/' },
      {
        'Set-Cookie': cookie(CONSOLE_COOKIE, '', { path: '/console', maxAgeS: 0 }),
      },
    );
  }

  // ------------------------------------------------------------------ API

  async function apiSession(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const s = await session(req);
    if (!s.ok) return unauthorized(res, s.reason, '/console/');
    const { name, groups, extra } = s.record.user;
    const c = execCredentials(s.record.user);
    json(res, 200, {
      user: { name, groups, extra },
      csrfToken: csrfTokenFor(s.id),
      expiresAt: new Date(s.record.expiresAtMs).toISOString(),
      serverUrl: url,
      // the same user on the command line (keystone users need the backend and project)
      loginCommand: [
        loginCommand(),
        `--backend ${c.backend}`,
        `--username ${shellWord(c.username)}`,
        ...(c.project ? [`--project ${shellWord(c.project)}`] : []),
        ...(c.userDomain ? [`--user-domain ${shellWord(c.userDomain)}`] : []),
        ...(c.projectDomain ? [`--project-domain ${shellWord(c.projectDomain)}`] : []),
      ].join(' '),
    });
  }

  const loginCommand = () => `kaasctl auth login --server ${url} --ca-file ${shellWord(o.caFile)}`;

  function info(res: ServerResponse): void {
    const sso = o.ssoProxy?.();
    json(res, 200, {
      serverUrl: url,
      loginCommand: loginCommand(),
      ssoProxyUrl: sso?.url ?? null,
      ssoRoutes: sso?.routes ?? [],
    });
  }

  async function kubeconfig(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const s = await session(req);
    if (!s.ok) return unauthorized(res, s.reason, '/console/');
    const cluster = u.searchParams.get('cluster') || 'root';
    if (!CLUSTER_NAME.test(cluster))
      return json(res, 400, {
        code: 'BadRequest',
        message: `cluster ${JSON.stringify(cluster)}: not a cluster name`,
      });
    const text = execKubeconfig({
      server: url,
      caPem: o.caPem,
      caFile: o.caFile,
      cluster,
      creds: execCredentials(s.record.user),
    });
    res.writeHead(200, {
      'Content-Type': 'application/yaml',
      'Content-Disposition': `attachment; filename=${cluster}.kubeconfig`,
      'Cache-Control': 'no-store',
    });
    res.end(text);
  }

  /** /console/k8s/<apiPath>: the API server's own handler, as the session's user. */
  async function k8s(req: IncomingMessage, res: ServerResponse, apiTarget: string): Promise<void> {
    const s = await session(req);
    if (!s.ok) return unauthorized(res, s.reason, '/console/');
    const method = req.method ?? 'GET';
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && !csrfOk(req, s))
      return json(res, 403, { code: 'CsrfFailed', message: 'missing or wrong X-CSRF-Token' });
    const q = apiTarget.indexOf('?');
    const path = q < 0 ? apiTarget : apiTarget.slice(0, q);
    if (!API_PATH.test(path) || isUnsafe(path))
      return json(res, 404, { code: 'NotFound', message: `${path}: not a Kubernetes API path` });
    const cluster = /^\/clusters\/([^/]+)/.exec(path)?.[1] ?? 'root';
    const token = await sessions.tokenFor(s, cluster);
    if (!token) {
      await sessions.delete(s);
      return unauthorized(res, 'SessionExpired', '/console/');
    }
    // the browser's cookie and CSRF header stay here; the API sees the user's token only
    delete req.headers.cookie;
    delete req.headers['x-csrf-token'];
    req.headers.authorization = `Bearer ${token}`;
    req.url = apiTarget;
    // a token the API refuses (the user was disabled, or it was revoked) is dropped: the next call
    // mints again, which re-checks the user and ends the session if they are gone
    res.once('finish', () => {
      if (res.statusCode === 401) void sessions.forget(s, cluster).catch(() => undefined);
    });
    await server!.handle(req, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    headers(res);
    if (!server) {
      res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain' });
      res.end('starting\n');
      return;
    }
    const target = req.url ?? '/';
    const u = new URL(target, url);
    const p = u.pathname;
    if (p === '/console') return redirect(res, '/console/');
    if (!p.startsWith(CONSOLE_PREFIX))
      return json(res, 404, { code: 'NotFound', message: `${p}: not found` });
    try {
      if (p.startsWith('/console/k8s/')) return await k8s(req, res, target.slice('/console/k8s'.length));
      if (p === '/console/login' && req.method === 'GET') return await login(req, res, u);
      if (p === '/console/callback' && req.method === 'GET') return await callback(req, res, u);
      if (p === '/console/logout') return await logout(req, res);
      if (p.startsWith('/console/api/')) {
        if (req.method !== 'GET') {
          res.setHeader('Allow', 'GET');
          return json(res, 405, { code: 'MethodNotAllowed', message: `${req.method} ${p}` });
        }
        if (p === '/console/api/session') return await apiSession(req, res);
        if (p === '/console/api/info') return info(res);
        if (p === '/console/api/kubeconfig') return await kubeconfig(req, res, u);
        return json(res, 404, { code: 'NotFound', message: `${p}: no such console API` });
      }
      const rel = p === '/console' ? '' : p.slice(CONSOLE_PREFIX.length);
      if (isUnsafe(rel)) return json(res, 400, { code: 'BadRequest', message: 'bad path' });
      return await serveConsoleFile(req, res, distDir, rel);
    } catch (e) {
      log('error', 'console: request failed', { path: p, error: (e as Error).message });
      if (!res.headersSent)
        json(res, 500, { code: 'InternalError', message: 'the console backend failed; see the server log' });
      else res.destroy();
    }
  }

  return {
    route: { prefix: '/console', handle: (req, res) => handle(req, res) },
    oidcClient: (serverUrl) => ({
      clientId: CLIENT_ID,
      clientSecret,
      redirectUris: [`${serverUrl}/console/callback`],
      postLogoutRedirectUris: [`${serverUrl}/console/`],
      name: 'KaaS console',
      // single logout the other way: a sign-out at the issuer (the SSO proxy's) ends console sessions
      onSessionEnded: async (uid) => {
        const n = await sessions.endIssuerSession(uid);
        if (n) log('info', 'console: signed out at the issuer', { sessions: n });
      },
    }),
    attach(s, serverUrl, iss) {
      server = s;
      url = serverUrl;
      issuer = iss;
    },
    close() {
      clearInterval(sweep);
      void agent.close();
    },
  };
}

/** What `kaasctl auth token` needs to sign the same user in again (never a secret). */
export function execCredentials(u: ConsoleUser): {
  username: string;
  backend: string;
  project?: string;
  userDomain?: string;
  projectDomain?: string;
} {
  if (u.backend !== 'keystone') return { username: u.name.replace(/^local:/, ''), backend: u.backend };
  // keystone:<user domain id>:<name>; the name may itself hold colons
  const name = u.name.split(':').slice(2).join(':');
  const project = u.extra['keystone/project-name']?.[0];
  const domain = u.extra['keystone/user-domain-name']?.[0];
  // the project's domain only when it is not the user's (kaasctl's default)
  const projectDomain = u.extra['keystone/project-domain-name']?.[0];
  const projectDomainId = u.extra['keystone/project-domain-id']?.[0];
  return {
    username: name,
    backend: 'keystone',
    ...(project ? { project } : {}),
    ...(domain && domain !== 'Default' ? { userDomain: domain } : {}),
    ...(projectDomain && projectDomainId !== u.extra['keystone/user-domain-id']?.[0]
      ? { projectDomain }
      : {}),
  };
}

/** A word a POSIX shell reads back as is. */
function shellWord(s: string): string {
  return /^[\w./@:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
