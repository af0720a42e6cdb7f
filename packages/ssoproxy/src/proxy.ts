// The SSO proxy: an OpenID Connect relying party (authorization code + PKCE S256, confidential
// client with client_secret_basic) in front of managed UIs. One sealed session cookie serves every
// route; each route has its own allowed groups; the identity goes upstream in headers that a
// client can never set itself.
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRemoteJWKSet, customFetch as joseCustomFetch } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { parseSsoProxyConfig } from './config.ts';
import type { SsoProxyConfig, SsoProxyConfigInput } from './config.ts';
import { parseCookies, serializeCookie, withoutCookies } from './cookies.ts';
import { LogoutTokenError, sidRevocationKey, verifyLogoutToken } from './logout.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { createForwarder } from './forward.ts';
import { forbiddenPage, htmlEscape, page, sendPage, signOutForm } from './pages.ts';
import { isAllowed, isUnsafePath, matchRoute, safeReturnPath, upstreamPath } from './routes.ts';
import type { Route } from './routes.ts';
import { Sealer } from './seal.ts';
import { MemorySessionStore, newSessionId, SessionCodec } from './session.ts';
import type { Session, SessionStore } from './session.ts';

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface SsoProxyDeps {
  /** server-side sessions and sign-outs; default in memory */
  store?: SessionStore;
  now?: () => number;
  /** gets messages and non-secret fields (route, user, status) only */
  log?: LogFn;
}

export interface SsoProxy {
  /** where it listens, e.g. https://127.0.0.1:4180 */
  readonly url: string;
  /** the origin browsers use (config.publicUrl, else url) */
  readonly publicUrl: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The proxy's own paths; routes may not use them. */
export const PATHS = {
  start: '/oauth2/start',
  callback: '/oauth2/callback',
  signOut: '/oauth2/sign_out',
  signedOut: '/oauth2/signed_out',
  userinfo: '/oauth2/userinfo',
  health: '/oauth2/healthz',
  backchannelLogout: '/oauth2/backchannel_logout',
} as const;

const LOGIN_TTL_S = 600;
/** sign-ins under way in one browser (tabs) whose cookies are kept; older ones are dropped */
const MAX_PENDING_LOGINS = 4;

interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  rd: string;
  origin: string;
  expMs: number;
}

/** The OIDC client registration this config needs at the issuer (fits @kaas/auth's OidcClient). */
export function ssoProxyOidcClient(input: SsoProxyConfigInput & { publicUrl: string }): {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string;
  name: string;
} {
  const c = parseSsoProxyConfig(input);
  const origins = proxyOrigins(c, new URL(input.publicUrl));
  return {
    clientId: c.oidc.clientId,
    clientSecret: c.oidc.clientSecret,
    redirectUris: origins.map((o) => `${o}${PATHS.callback}`),
    postLogoutRedirectUris: origins.map((o) => `${o}${PATHS.signedOut}`),
    // one for every origin: the revocation list is the proxy's, whichever host a session is on
    backchannelLogoutUri: `${origins[0]}${PATHS.backchannelLogout}`,
    name: 'KaaS SSO',
  };
}

/** publicUrl's origin, then one per host route (same scheme and, without a port, publicUrl's port). */
function proxyOrigins(c: SsoProxyConfig, publicUrl: URL): string[] {
  const out = [publicUrl.origin];
  for (const r of c.routes) {
    if (!r.host) continue;
    const hasPort = /:\d+$/.test(r.host);
    const o = new URL(
      `${publicUrl.protocol}//${r.host}${hasPort || !publicUrl.port ? '' : `:${publicUrl.port}`}`,
    ).origin;
    if (!out.includes(o)) out.push(o);
  }
  return out;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function groupsClaim(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string' && g !== '') : [];
}

/** The issuer's answer, not an outage: an OAuth error or tokens that fail validation. */
function refreshRefused(e: unknown): boolean {
  if (e instanceof client.ResponseBodyError) return true;
  // a 5xx page or an HTML error from something in front of the issuer is an outage
  const transient = ['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON'];
  return e instanceof client.ClientError && !transient.includes(e.code ?? '');
}

function rawPath(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function wantsHtml(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.headers['x-requested-with']) return false;
  const accept = req.headers.accept;
  return !accept || accept.includes('text/html') || accept.includes('*/*');
}

export async function startSsoProxy(input: SsoProxyConfigInput, deps: SsoProxyDeps = {}): Promise<SsoProxy> {
  const config = parseSsoProxyConfig(input);
  const now = deps.now ?? Date.now;
  const log: LogFn = deps.log ?? (() => {});
  const store = deps.store ?? new MemorySessionStore({ now });
  const sealer = new Sealer(config.cookie.secrets);
  const cookieName = config.cookie.name;
  const loginCookiePrefix = `${cookieName}_login_`;
  const isOurCookie = (name: string) => name === cookieName || name.startsWith(loginCookiePrefix);
  const codec = new SessionCodec({
    sealer,
    store,
    cookieName,
    cookie: {
      path: '/',
      secure: config.cookie.secure,
      ...(config.cookie.domain ? { domain: config.cookie.domain } : {}),
    },
    storage: config.session.storage,
    maxCookieBytes: config.session.maxCookieBytes,
    now,
  });

  // ------------------------------------------------------------ the issuer, discovered lazily
  const issuerUrl = new URL(config.oidc.issuer);
  const issuerAgent = new UndiciAgent({
    connect: config.oidc.caPem ? { ca: config.oidc.caPem } : {},
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const issuerFetch: client.CustomFetch = (url, options) =>
    undiciFetch(url, { ...options, dispatcher: issuerAgent });
  let discovering: Promise<client.Configuration> | undefined;
  let discovered = false;
  const oidc = (): Promise<client.Configuration> => {
    discovering ??= client
      .discovery(
        issuerUrl,
        config.oidc.clientId,
        { client_secret: config.oidc.clientSecret },
        client.ClientSecretBasic(config.oidc.clientSecret),
        {
          [client.customFetch]: issuerFetch,
          timeout: 10,
          ...(issuerUrl.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
        },
      )
      .then((c) => {
        c[client.customFetch] = issuerFetch;
        discovered = true;
        log('info', 'sso-proxy: issuer discovered', { issuer: config.oidc.issuer });
        return c;
      })
      .catch((e: unknown) => {
        discovering = undefined;
        log('warn', 'sso-proxy: issuer discovery failed', {
          issuer: config.oidc.issuer,
          error: (e as Error).message,
        });
        throw e;
      });
    return discovering;
  };

  // ------------------------------------------------------------ upstreams
  const forwarder = createForwarder(config.routes, isOurCookie);
  // node:http agents for upgrades (websockets) to https upstreams
  const upstreamAgents = new Map<string, HttpsAgent>();
  for (const r of config.routes) {
    if (r.upstream.startsWith('https:'))
      upstreamAgents.set(
        r.name,
        new HttpsAgent({ keepAlive: true, ...(r.upstreamCaPem ? { ca: r.upstreamCaPem } : {}) }),
      );
  }

  // ------------------------------------------------------------ origins
  // known once the listener has its port
  const where = {
    publicUrl: new URL('http://unset.invalid'),
    origins: [] as string[],
    /** Host header (as URL writes it: no default port) -> origin; the first origin wins */
    byHost: new Map<string, string>(),
  };
  const originOf = (req: IncomingMessage): string | undefined => {
    const host = req.headers.host?.toLowerCase();
    if (!host) return undefined;
    return where.byHost.get(host) ?? where.byHost.get(host.replace(/:(80|443)$/, ''));
  };

  // ------------------------------------------------------------ sessions
  /** the newest version of each refreshed cookie session, for requests still carrying the older */
  const latest = new Map<string, Session>();
  const refreshing = new Map<string, Promise<Session | undefined>>();
  const refreshBeforeMs = config.oidc.refreshBeforeExpiryS * 1000;

  const sessionFromTokens = (
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    prior: Session | undefined,
  ): Session => {
    const t = now();
    const claims = tokens.claims();
    const expiresIn = tokens.expiresIn();
    const accessExpiresAtMs = t + (expiresIn ?? 300) * 1000;
    const base = prior ?? {
      id: newSessionId(),
      createdAtMs: t,
      expiresAtMs: t + config.cookie.maxAgeS * 1000,
    };
    const sub = claims?.sub ?? prior?.sub;
    if (!sub) throw new Error('no ID token in the token response');
    const email = stringClaim(claims?.email) ?? (claims ? undefined : prior?.email);
    const sid = stringClaim(claims?.sid) ?? prior?.sid;
    return {
      id: base.id,
      createdAtMs: base.createdAtMs,
      expiresAtMs: base.expiresAtMs,
      sub,
      user: claims ? (stringClaim(claims.preferred_username) ?? sub) : prior!.user,
      ...(email ? { email } : {}),
      groups: claims ? groupsClaim(claims.groups) : (prior?.groups ?? []),
      ...(sid ? { sid } : {}),
      accessToken: tokens.access_token,
      ...((tokens.refresh_token ?? prior?.refreshToken)
        ? { refreshToken: tokens.refresh_token ?? prior?.refreshToken }
        : {}),
      accessExpiresAtMs,
      idTokenExpiresAtMs: claims?.exp ? claims.exp * 1000 : (prior?.idTokenExpiresAtMs ?? accessExpiresAtMs),
    };
  };

  const endSession = async (s: Session, serverSide: boolean): Promise<void> => {
    latest.delete(s.id);
    if (serverSide) await store.delete(s.id);
    else await store.revoke(s.id, s.expiresAtMs);
  };

  /** One refresh per session at a time; undefined when the issuer says the sign-in is over. */
  const refresh = (s: Session, serverSide: boolean): Promise<Session | undefined> => {
    const running = refreshing.get(s.id);
    if (running) return running;
    const p = (async () => {
      const cfg = await oidc();
      try {
        const tokens = await client.refreshTokenGrant(cfg, s.refreshToken!);
        const next = sessionFromTokens(tokens, s);
        if (next.sub !== s.sub) throw new client.ClientError('the refreshed ID token names another subject');
        if (serverSide) await store.set(next);
        else latest.set(s.id, next);
        for (const [id, old] of latest) if (old.accessExpiresAtMs < now()) latest.delete(id);
        log('info', 'sso-proxy: session refreshed', { user: next.user });
        return next;
      } catch (e) {
        if (refreshRefused(e)) {
          log('info', 'sso-proxy: refresh refused; signing out', {
            user: s.user,
            error: (e as { error?: string }).error ?? (e as Error).message,
          });
          await endSession(s, serverSide);
          return undefined;
        }
        throw e;
      }
    })().finally(() => refreshing.delete(s.id));
    refreshing.set(s.id, p);
    return p;
  };

  interface Current {
    session?: Session;
    /** Set-Cookie headers the response must carry (a refreshed session, or the cookie cleared) */
    setCookies: string[];
  }

  const currentSession = async (req: IncomingMessage): Promise<Current> => {
    const cookies = parseCookies(req.headers.cookie);
    const value = cookies.get(cookieName);
    const decoded = await codec.decode(value);
    if (!decoded) return { setCookies: value !== undefined ? [codec.clearCookie()] : [] };
    let { session: s } = decoded;
    const { serverSide } = decoded;
    let changed = false;
    const newer = latest.get(s.id);
    if (!serverSide && newer && newer.accessExpiresAtMs > s.accessExpiresAtMs) {
      s = newer;
      changed = true;
    }
    const t = now();
    const dueAtMs = Math.min(s.accessExpiresAtMs, s.idTokenExpiresAtMs) - refreshBeforeMs;
    if (t >= dueAtMs) {
      if (!s.refreshToken) {
        if (t >= s.idTokenExpiresAtMs) {
          await endSession(s, serverSide);
          return { setCookies: [codec.clearCookie()] };
        }
      } else {
        let next: Session | undefined;
        try {
          next = await refresh(s, serverSide);
        } catch (e) {
          // the issuer is unreachable: keep serving while the tokens are still good
          if (t >= Math.min(s.accessExpiresAtMs, s.idTokenExpiresAtMs)) throw e;
          log('warn', 'sso-proxy: refresh failed; using the current tokens', { error: (e as Error).message });
          next = s;
        }
        if (!next) return { setCookies: [codec.clearCookie()] };
        changed = changed || next !== s;
        s = next;
      }
    }
    if (changed && !serverSide) return { session: s, setCookies: [(await codec.encode(s)).setCookie] };
    return { session: s, setCookies: [] };
  };

  // ------------------------------------------------------------ sign-in
  const beginLogin = async (
    res: ServerResponse,
    origin: string,
    rd: string,
    setCookies: string[],
  ): Promise<void> => {
    const cfg = await oidc();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const verifier = client.randomPKCECodeVerifier();
    const loginCookie = `${loginCookiePrefix}${state.slice(0, 16)}`;
    const login: LoginState = { state, nonce, verifier, rd, origin, expMs: now() + LOGIN_TTL_S * 1000 };
    const scopes = config.oidc.scopes;
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: `${origin}${PATHS.callback}`,
      scope: scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      // OpenID Connect issues a refresh token for offline_access only with prompt=consent
      ...(scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    res.writeHead(302, {
      location: url.href,
      'cache-control': 'no-store',
      'set-cookie': [
        ...setCookies,
        serializeCookie(loginCookie, sealer.seal(loginCookie, JSON.stringify(login)), {
          path: PATHS.callback,
          secure: config.cookie.secure,
          maxAgeS: LOGIN_TTL_S,
        }),
      ],
    });
    res.end();
  };

  /** Login cookies other than `keep` that are expired or beyond the newest MAX_PENDING_LOGINS. */
  const staleLoginCookies = (cookies: Map<string, string>, keep: string): string[] => {
    const pending: { name: string; expMs: number }[] = [];
    for (const [name, value] of cookies) {
      if (!name.startsWith(loginCookiePrefix) || name === keep) continue;
      const text = sealer.open(name, value);
      const expMs = text ? (JSON.parse(text) as LoginState).expMs : 0;
      pending.push({ name, expMs });
    }
    pending.sort((a, b) => b.expMs - a.expMs);
    return pending.filter((p, i) => p.expMs < now() || i >= MAX_PENDING_LOGINS).map((p) => p.name);
  };

  const callback = async (
    req: IncomingMessage,
    res: ServerResponse,
    origin: string,
    url: URL,
  ): Promise<void> => {
    const state = url.searchParams.get('state') ?? '';
    const loginCookie = `${loginCookiePrefix}${state.slice(0, 16)}`;
    const cookies = parseCookies(req.headers.cookie);
    // this sign-in's cookie goes, and so do stale ones (abandoned sign-ins in other tabs)
    const clear = [loginCookie, ...staleLoginCookies(cookies, loginCookie)].map((name) =>
      serializeCookie(name, '', { path: PATHS.callback, secure: config.cookie.secure, maxAgeS: 0 }),
    );
    const sealed = state.length >= 16 ? cookies.get(loginCookie) : undefined;
    const text = sealed ? sealer.open(loginCookie, sealed) : undefined;
    const login = text ? (JSON.parse(text) as LoginState) : undefined;
    if (!login || !constantTimeEqual(login.state, state) || login.expMs < now() || login.origin !== origin) {
      log('warn', 'sso-proxy: callback without a matching sign-in (state)', {});
      sendPage(
        res,
        400,
        page(
          'Sign-in expired',
          '<p>This sign-in does not match one started here, or it took too long.</p><p><a href="/">Start again</a></p>',
        ),
        { 'set-cookie': clear },
      );
      return;
    }
    const error = url.searchParams.get('error');
    if (error) {
      sendPage(
        res,
        error === 'access_denied' ? 403 : 400,
        page(
          'Sign-in failed',
          `<p>The identity provider answered <code>${htmlEscape(error)}</code>.</p><p><a href="/">Try again</a></p>`,
        ),
        { 'set-cookie': clear },
      );
      return;
    }
    const cfg = await oidc();
    let session: Session;
    try {
      const currentUrl = new URL(`${origin}${PATHS.callback}${url.search}`);
      const tokens = await client.authorizationCodeGrant(cfg, currentUrl, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      session = sessionFromTokens(tokens, undefined);
    } catch (e) {
      log('warn', 'sso-proxy: code exchange failed', { error: (e as Error).message });
      sendPage(
        res,
        400,
        page('Sign-in failed', '<p>The sign-in could not be completed.</p><p><a href="/">Try again</a></p>'),
        {
          'set-cookie': clear,
        },
      );
      return;
    }
    // a sign-in over an existing session (another user, say) ends that one
    const prior = await codec.decode(cookies.get(cookieName));
    if (prior) await endSession(prior.session, prior.serverSide);
    const encoded = await codec.encode(session);
    log('info', 'sso-proxy: signed in', { user: session.user, serverSide: encoded.serverSide });
    res.writeHead(302, {
      location: `${origin}${safeReturnPath(login.rd) ?? '/'}`,
      'cache-control': 'no-store',
      'set-cookie': [...clear, encoded.setCookie],
    });
    res.end();
  };

  // ------------------------------------------------------------ sign-out
  const sameOrigin = (req: IncomingMessage, origin: string): boolean => {
    const o = req.headers.origin;
    if (o !== undefined) return o === origin;
    const ref = req.headers.referer;
    return typeof ref === 'string' && (ref === origin || ref.startsWith(`${origin}/`));
  };

  const signOut = async (req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> => {
    if (!sameOrigin(req, origin)) {
      sendPage(
        res,
        403,
        page('Sign-out refused', '<p>A sign-out must come from this site.</p>' + signOutForm()),
      );
      return;
    }
    const decoded = await codec.decode(parseCookies(req.headers.cookie).get(cookieName));
    let cfg: client.Configuration | undefined;
    try {
      cfg = await oidc();
    } catch {
      cfg = undefined;
    }
    if (decoded) {
      await endSession(decoded.session, decoded.serverSide);
      const rt = decoded.session.refreshToken;
      // ends the grant at the issuer too, so the refresh token is worthless if it ever leaked
      if (cfg && rt)
        await client.tokenRevocation(cfg, rt, { token_type_hint: 'refresh_token' }).catch((e: unknown) => {
          log('warn', 'sso-proxy: revocation failed', { error: (e as Error).message });
        });
      log('info', 'sso-proxy: signed out', { user: decoded.session.user });
    }
    const signedOut = `${origin}${PATHS.signedOut}`;
    const location =
      cfg?.serverMetadata().end_session_endpoint !== undefined
        ? client.buildEndSessionUrl(cfg, { post_logout_redirect_uri: signedOut }).href
        : signedOut;
    res.writeHead(303, { location, 'cache-control': 'no-store', 'set-cookie': codec.clearCookie() });
    res.end();
  };

  // ------------------------------------------------------------ back-channel logout
  let issuerKeys: { uri: string; keys: JWTVerifyGetKey } | undefined;
  const keysOf = (cfg: client.Configuration): JWTVerifyGetKey => {
    const uri = cfg.serverMetadata().jwks_uri;
    if (!uri) throw new Error('the issuer publishes no jwks_uri');
    if (issuerKeys?.uri !== uri)
      issuerKeys = {
        uri,
        keys: createRemoteJWKSet(new URL(uri), {
          [joseCustomFetch]: (u: string, options: object) =>
            undiciFetch(u, { ...options, dispatcher: issuerAgent }),
        }),
      };
    return issuerKeys.keys;
  };

  /**
   * POST from the issuer (server to server; the signed logout token is the credential): every
   * session that came from the named issuer session is refused from now on, cookie-held ones
   * included, until the longest a session here can last.
   */
  const backchannelLogout = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const answer = (status: number, body?: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body ? JSON.stringify(body) : undefined);
    };
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return answer(405, { error: 'invalid_request', error_description: 'POST only' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 16 * 1024) return answer(413, { error: 'invalid_request' });
      chunks.push(chunk);
    }
    const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token');
    if (!token) return answer(400, { error: 'invalid_request', error_description: 'no logout_token' });
    const cfg = await oidc();
    let claims;
    try {
      claims = await verifyLogoutToken(token, {
        issuer: cfg.serverMetadata().issuer,
        clientId: config.oidc.clientId,
        keys: keysOf(cfg),
        now,
      });
    } catch (e) {
      if (!(e instanceof LogoutTokenError)) throw e;
      log('warn', 'sso-proxy: back-channel logout refused', { error: e.message });
      return answer(400, { error: 'invalid_request', error_description: e.message });
    }
    await store.revoke(sidRevocationKey(claims.sid), now() + config.cookie.maxAgeS * 1000);
    for (const [id, s] of latest) if (s.sid === claims.sid) latest.delete(id);
    log('info', 'sso-proxy: signed out by the issuer (back-channel)', {});
    answer(200);
  };

  // ------------------------------------------------------------ proxying
  // upstreams and origins come from the config: parse each once, not once per request
  const parsedUrls = new Map<string, URL>();
  const parsedUrl = (text: string): URL => {
    let u = parsedUrls.get(text);
    if (u === undefined) parsedUrls.set(text, (u = new URL(text)));
    return u;
  };
  const upstreamOptions = (
    route: Route,
    req: IncomingMessage,
    origin: string,
    s: Session,
    upgrade: boolean,
  ) => {
    const target = parsedUrl(route.upstream);
    const headers = upstreamRequestHeaders(req.headers, {
      identity: { user: s.user, groups: s.groups, ...(s.email ? { email: s.email } : {}) },
      ...(route.passAccessToken ? { accessToken: s.accessToken } : {}),
      cookie: withoutCookies(req.headers.cookie, isOurCookie),
      clientAddress: req.socket.remoteAddress,
      proto: origin.startsWith('https:') ? 'https' : 'http',
      host: parsedUrl(origin).host,
      upgrade,
    });
    headers.host = target.host;
    const https = target.protocol === 'https:';
    return {
      request: https ? httpsRequest : httpRequest,
      options: {
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port || (https ? 443 : 80),
        method: req.method,
        path: upstreamPath(route, req.url ?? '/'),
        headers,
        ...(https ? { agent: upstreamAgents.get(route.name) } : {}),
      },
    };
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    origin: string,
    c: Current,
  ): void => {
    const { options } = upstreamOptions(route, req, origin, c.session!, false);
    forwarder.forward(req, res, route, {
      path: options.path,
      headers: options.headers,
      setCookies: c.setCookies,
      onUpstreamError: (e) => {
        log('warn', 'sso-proxy: upstream error', { route: route.name, error: e.message });
        sendPage(
          res,
          502,
          page(
            'Upstream unavailable',
            `<p><strong>${htmlEscape(route.name)}</strong> is not answering. Try again later.</p>`,
          ),
        );
      },
    });
  };

  const sockets = new Set<Duplex>();

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const origin = originOf(req);
    // the raw path: WHATWG URL parsing would resolve (%2e%2e) dot segments before the check
    const path = rawPath(req);
    if (!origin) return reject(404, 'Not Found');
    if (isUnsafePath(path)) return reject(400, 'Bad Request');
    const route = matchRoute(config.routes, req.headers.host ?? '', path);
    if (!route) return reject(404, 'Not Found');
    // a websocket from another site would ride on the cookie (cross-site websocket hijacking)
    if (req.headers.origin !== undefined && req.headers.origin !== origin) return reject(403, 'Forbidden');
    const c = await currentSession(req);
    if (!c.session) return reject(401, 'Unauthorized');
    if (!isAllowed(route, c.session.groups)) return reject(403, 'Forbidden');
    const { request, options } = upstreamOptions(route, req, origin, c.session, true);
    const up = request(options);
    up.on('upgrade', (upRes, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
        const [name = '', value = ''] = [upRes.rawHeaders[i], upRes.rawHeaders[i + 1]];
        // as for plain responses: an upstream never sets the proxy's cookies
        if (name.toLowerCase() === 'set-cookie' && isOurCookie(value.slice(0, value.indexOf('=')).trim()))
          continue;
        lines.push(`${name}: ${value}`);
      }
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      sockets.add(socket);
      sockets.add(upSocket);
      const done = () => {
        socket.destroy();
        upSocket.destroy();
        sockets.delete(socket);
        sockets.delete(upSocket);
      };
      socket.on('error', done).on('close', done);
      upSocket.on('error', done).on('close', done);
      upSocket.pipe(socket).pipe(upSocket);
    });
    up.on('response', (upRes) => {
      // the upstream declined the upgrade: relay its answer
      const headers = clientResponseHeaders(upRes.headers, isOurCookie);
      const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage ?? ''}`, 'Connection: close'];
      for (const [k, v] of Object.entries(headers))
        for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${String(x)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      upRes.pipe(socket);
    });
    up.on('error', () => reject(502, 'Bad Gateway'));
    up.end();
  };

  // ------------------------------------------------------------ the request handler
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // parsed only for the proxy's own pages that read the query, not for every proxied request
    const url = () => new URL(req.url ?? '/', 'http://x');
    // the raw path: WHATWG URL parsing would resolve (%2e%2e) dot segments before the check
    const path = rawPath(req);
    if (path === PATHS.health) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'ok', issuer: discovered ? 'discovered' : 'pending' }));
      return;
    }
    const origin = originOf(req);
    if (!origin) {
      sendPage(res, 404, page('Not found', '<p>This host is not served here.</p>'));
      return;
    }
    if (!(req.url ?? '/').startsWith('/') || isUnsafePath(path)) {
      sendPage(res, 400, page('Bad request', '<p>The path holds a dot segment or a backslash.</p>'));
      return;
    }
    if (path === PATHS.callback) return callback(req, res, origin, url());
    if (path === PATHS.backchannelLogout) return backchannelLogout(req, res);
    if (path === PATHS.signOut) {
      if (req.method === 'POST') return signOut(req, res, origin);
      sendPage(
        res,
        200,
        page('Sign out', `<p>Sign out of every managed UI behind this proxy.</p>${signOutForm()}`),
      );
      return;
    }
    if (path === PATHS.signedOut) {
      sendPage(
        res,
        200,
        page('Signed out', '<p>You are signed out.</p><p><a href="/">Sign in again</a></p>'),
      );
      return;
    }
    const c = await currentSession(req);
    if (path === PATHS.start) {
      const rdParam = url().searchParams.get('rd');
      const rd = rdParam === null ? '/' : safeReturnPath(rdParam);
      if (rd === undefined) {
        log('warn', 'sso-proxy: refused return URL', {});
        sendPage(
          res,
          400,
          page('Return URL refused', '<p>After sign-in the proxy only returns to a path on this site.</p>'),
        );
        return;
      }
      if (c.session) {
        res.writeHead(302, {
          location: `${origin}${rd}`,
          'cache-control': 'no-store',
          'set-cookie': c.setCookies,
        });
        res.end();
        return;
      }
      return beginLogin(res, origin, rd, c.setCookies);
    }
    if (path === PATHS.userinfo) {
      res.writeHead(c.session ? 200 : 401, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'set-cookie': c.setCookies,
      });
      const s = c.session;
      res.end(
        JSON.stringify(
          s ? { user: s.user, sub: s.sub, email: s.email, groups: s.groups } : { error: 'not signed in' },
        ),
      );
      return;
    }
    if (path.startsWith('/oauth2/')) {
      sendPage(res, 404, page('Not found', '<p>No such page.</p>'));
      return;
    }
    const route = matchRoute(config.routes, req.headers.host ?? '', path);
    if (!route) {
      sendPage(res, 404, page('Not found', '<p>No managed UI is served at this address.</p>'));
      return;
    }
    if (!c.session) {
      if (wantsHtml(req)) return beginLogin(res, origin, safeReturnPath(req.url) ?? '/', c.setCookies);
      res.writeHead(401, {
        'content-type': 'text/plain',
        'cache-control': 'no-store',
        'set-cookie': c.setCookies,
      });
      res.end('not signed in\n');
      return;
    }
    if (!isAllowed(route, c.session.groups)) {
      log('info', 'sso-proxy: forbidden', { route: route.name, user: c.session.user });
      sendPage(
        res,
        403,
        forbiddenPage({ user: c.session.user, route: route.name, groups: c.session.groups }),
        {
          'set-cookie': c.setCookies,
        },
      );
      return;
    }
    forward(req, res, route, origin, c);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      log('error', 'sso-proxy: request failed', { error: (e as Error).message });
      if (!res.headersSent)
        sendPage(
          res,
          503,
          page('Try again later', '<p>The identity provider is not reachable right now.</p>'),
        );
      else res.destroy();
    });
  };
  const server: Server = config.tls
    ? createHttpsServer({ cert: config.tls.certPem, key: config.tls.keyPem }, onRequest)
    : createHttpServer(onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });
  server.on('clientError', (_e, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  const listen = /^\[?([^\]]+?)\]?:(\d+)$/.exec(config.listen)!;
  const host = listen[1]!;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(listen[2]), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${config.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  where.publicUrl = new URL(config.publicUrl ?? url);
  where.origins = proxyOrigins(config, where.publicUrl);
  for (const o of where.origins) {
    const h = new URL(o).host;
    if (!where.byHost.has(h)) where.byHost.set(h, o);
  }
  oidc().catch(() => {
    // logged; retried on the first sign-in
  });
  log('info', 'sso-proxy: listening', {
    url,
    publicUrl: where.publicUrl.origin,
    routes: config.routes.map((r) => r.name),
  });

  return {
    url,
    publicUrl: where.publicUrl.origin,
    server,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const a of upstreamAgents.values()) a.destroy();
      await forwarder.close();
      await issuerAgent.close();
    },
  };
}
