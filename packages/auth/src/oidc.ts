// kubernetes-auth as an OpenID Connect issuer: oidc-provider does the protocol (authorization
// code + PKCE, refresh, discovery, JWKS, userinfo, RP-initiated logout); we do the sign-in page,
// which proves a user with an IdentityBackend, and the consent step, which first-party clients
// skip. Mounted under the issuer's path on the API server's listener (an ExtraRoute).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { interactionPolicy } from 'oidc-provider';
import type {
  Account,
  AdapterFactory,
  ClientMetadata,
  Configuration,
  FindAccount,
  JWK,
  KoaContextWithOIDC,
} from 'oidc-provider';
import { Agent, fetch as undiciFetch } from 'undici';
import { InvalidCredentialsError, UpstreamError } from './errors.ts';
import type { Authenticated, Credentials, Identity, IdentityBackend, UpstreamSession } from './identity.ts';
import { MemoryOidcStore } from './oidc-adapter.ts';
import { ExchangeRateLimiter } from './ratelimit.ts';
import { openSecret, sealSecret } from './tokens.ts';

export interface OidcClient {
  clientId: string;
  /** absent: a public client (a browser app), which must use PKCE; present: client_secret_basic */
  clientSecret?: string;
  /** compared exactly, as OAuth 2.1 requires */
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /**
   * OpenID Connect Back-Channel Logout: the issuer POSTs a signed logout token (with `sid`) here
   * when a browser session the client took part in ends; its ID tokens then carry `sid`.
   */
  backchannelLogoutUri?: string;
  /**
   * In-process single logout, for a relying party in the same server (the console): called with
   * the browser session's uid when a session this client took part in ends entirely (endSession,
   * or a confirmed RP-initiated logout at /session/end). Errors are logged, never thrown.
   */
  onSessionEnded?: (sessionUid: string) => void | Promise<void>;
  /** shown on the sign-in page */
  name?: string;
}

/** Where the issuer keeps its signing keys (private JWKs) across restarts; the server uses its KV. */
export interface OidcKeyStore {
  load(): Promise<JWK[] | undefined>;
  save(keys: JWK[]): Promise<void>;
}

export interface OidcTtl {
  /** access tokens (opaque, for userinfo), default 10 min */
  accessTokenS?: number;
  /** default 1 h */
  idTokenS?: number;
  /** default 60 s */
  authorizationCodeS?: number;
  /** default: sessionS */
  refreshTokenS?: number;
  /**
   * The browser session at the issuer and the longest a sign-in lasts: refreshing stops working
   * after it (or after the upstream's own expiry, keystone's token), default 12 h.
   */
  sessionS?: number;
  /** the sign-in page stays usable this long, default 10 min */
  interactionS?: number;
}

export interface OidcIssuerOptions {
  /** https URL with a path, e.g. https://127.0.0.1:6443/oidc; the route's prefix is that path */
  issuer: string;
  backends: IdentityBackend[];
  /** the backend preselected on the sign-in page */
  defaultBackend: string;
  clients: OidcClient[];
  /** signing keys (private JWKs); otherwise loaded from keyStore, or generated (and saved there) */
  keys?: JWK[];
  keyStore?: OidcKeyStore;
  /** signs the issuer's cookies; the first signs, all verify (rotation). Each >= 32 characters */
  cookieKeys: string[];
  ttl?: OidcTtl;
  /** oidc-provider's storage; default in memory (see oidc-adapter.ts) */
  adapter?: AdapterFactory;
  /** per user name and per source address on the sign-in form (defaults: ExchangeRateLimiter's) */
  rateLimiter?: ExchangeRateLimiter;
  /** CA bundle (PEM) the issuer trusts when it calls clients back (back-channel logout) */
  caPem?: string;
  now?: () => number;
  /** never given secrets: messages and non-secret fields only */
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface OidcIssuer {
  /** the issuer's path + '/', for the API server's route table */
  readonly prefix: string;
  readonly issuer: string;
  /** fits @kaas/apiserver's ExtraRoute.handle (the context argument is not needed) */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
  readonly provider: Provider;
  /**
   * In-process, for a relying party in the same server (the console): what the sign-in behind an
   * access token proved, with the upstream secret (keystone's token), or undefined when the token
   * or its sign-in is gone. Never exposed over HTTP.
   */
  signInFor(accessToken: string): Promise<(Authenticated & { sessionUid: string }) | undefined>;
  /**
   * Ends a browser session as a confirmed RP-initiated logout does: a back-channel logout to every
   * client that took part and registered one, its grants (refresh tokens) revoked, the session and
   * its sign-in gone.
   */
  endSession(sessionUid: string): Promise<void>;
}

/** Claims beyond the standard ones. */
export const BACKEND_CLAIM = 'kaas.dev/backend';

const SCOPES = ['openid', 'profile', 'groups', 'offline_access'];
const MAX_FORM_BYTES = 16 * 1024;
/** as parseCredentials; also bounds the rate limiter's keys */
const MAX_FIELD_LENGTH = 1024;
const INVALID_LOGIN = 'Invalid username or password.';

/** What one sign-in proved, kept under its account id (a fresh id per sign-in). */
interface SignIn {
  identity: Omit<Identity, 'expiresAt'>;
  session: Omit<UpstreamSession, 'secret'>;
  /**
   * The upstream secret (keystone's token), sealed (AES-256-GCM, key from the cookie keys, the
   * account id as associated data): refreshes re-check the user with it, and the console mints
   * KaaS tokens with it.
   */
  sealedSecret?: string;
  /** false in sign-ins kept before the secret was: those end at the upstream's own expiry */
  revalidate: boolean;
}

export async function loadOrCreateSigningKeys(store: OidcKeyStore | undefined): Promise<JWK[]> {
  const loaded = await store?.load();
  if (loaded && loaded.length > 0) return loaded;
  const keys = [generateSigningKey()];
  await store?.save(keys);
  return keys;
}

/** An RS256 key: the algorithm every OpenID relying party must support. */
export function generateSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function checkOptions(o: OidcIssuerOptions): URL {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(o.issuer);
  } catch {
    problems.push(`issuer: not a URL`);
  }
  if (url && url.protocol !== 'https:') problems.push('issuer: must be https');
  if (url && (url.pathname === '/' || url.pathname.endsWith('/')))
    problems.push('issuer: needs a path without a trailing slash, e.g. https://host:6443/oidc');
  if (url && (url.search || url.hash)) problems.push('issuer: no query or fragment');
  if (o.backends.length === 0) problems.push('backends: at least one');
  if (!o.backends.some((b) => b.name === o.defaultBackend))
    problems.push(`defaultBackend: "${o.defaultBackend}" is not one of the backends`);
  if (o.cookieKeys.length === 0 || o.cookieKeys.some((k) => k.length < 32))
    problems.push('cookieKeys: at least one, each >= 32 characters');
  const ids = new Set<string>();
  o.clients.forEach((c, i) => {
    if (!c.clientId) problems.push(`clients[${i}].clientId: required`);
    if (ids.has(c.clientId)) problems.push(`clients[${i}].clientId: duplicate "${c.clientId}"`);
    ids.add(c.clientId);
    if (c.redirectUris.length === 0) problems.push(`clients[${i}].redirectUris: at least one`);
  });
  if (problems.length > 0) throw new Error(`OIDC issuer options: ${problems.join('; ')}`);
  return url!;
}

function clientMetadata(c: OidcClient): ClientMetadata {
  return {
    client_id: c.clientId,
    ...(c.clientSecret !== undefined
      ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' as const }
      : { token_endpoint_auth_method: 'none' as const }),
    ...(c.name !== undefined ? { client_name: c.name } : {}),
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
    ...(c.backchannelLogoutUri !== undefined
      ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: SCOPES.join(' '),
  };
}

export async function createOidcIssuer(opts: OidcIssuerOptions): Promise<OidcIssuer> {
  const issuerUrl = checkOptions(opts);
  const issuerPath = issuerUrl.pathname;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const backends = new Map(opts.backends.map((b) => [b.name, b]));
  const limiter = opts.rateLimiter ?? new ExchangeRateLimiter({});
  const memory = opts.adapter ? undefined : new MemoryOidcStore({ now });
  const adapter = opts.adapter ?? memory!.factory();
  const signIns = adapter('KaasSignIn');
  const keys = opts.keys ?? (await loadOrCreateSigningKeys(opts.keyStore));
  const ttl = {
    accessTokenS: opts.ttl?.accessTokenS ?? 600,
    idTokenS: opts.ttl?.idTokenS ?? 3600,
    authorizationCodeS: opts.ttl?.authorizationCodeS ?? 60,
    sessionS: opts.ttl?.sessionS ?? 12 * 3600,
    interactionS: opts.ttl?.interactionS ?? 600,
  };
  const refreshTokenS = opts.ttl?.refreshTokenS ?? ttl.sessionS;
  // the upstream secret is sealed under the cookie keys (the first seals, all open: rotation)
  const sealUpstream = (secret: string, accountId: string) =>
    sealSecret(`oidc-upstream:${opts.cookieKeys[0]!}`, secret, accountId);
  const openUpstream = (sealed: string, accountId: string): string | undefined => {
    for (const k of opts.cookieKeys) {
      const v = openSecret(`oidc-upstream:${k}`, sealed, accountId);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const upstreamOf = (s: SignIn): UpstreamSession | undefined => {
    if (s.sealedSecret === undefined) return s.session;
    const secret = openUpstream(s.sealedSecret, s.identity.uid);
    return secret === undefined ? undefined : { ...s.session, secret };
  };
  // back-channel logout calls go to configured clients only, so the loopback addresses that
  // oidc-provider's SSRF guard refuses are fine (the in-server SSO proxy is on 127.0.0.1)
  const clientAgent = new Agent({
    connect: opts.caPem ? { ca: opts.caPem } : {},
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });

  const account = (accountId: string, s: SignIn): Account => ({
    accountId,
    claims: () => ({
      sub: s.identity.uid,
      name: s.identity.username,
      preferred_username: s.identity.username,
      groups: s.identity.groups,
      [BACKEND_CLAIM]: s.identity.backend,
    }),
  });

  const signInTtlS = (expiresAt: Date | undefined) =>
    Math.max(
      1,
      Math.floor(
        (Math.min(now() + Math.max(ttl.sessionS, refreshTokenS) * 1000, expiresAt?.getTime() ?? Infinity) -
          now()) /
          1000,
      ),
    );

  const loadSignIn = async (key: string): Promise<(SignIn & { untilMs: number }) | undefined> =>
    (await signIns.find(key))?.extra as (SignIn & { untilMs: number }) | undefined;

  // Tokens name the browser session they came from (sessionUid); the sign-in that session made
  // is kept under it, so that two sign-ins of one user (two keystone projects) stay apart.
  const findAccount: FindAccount = async (ctx, accountId, token) => {
    const sessionUid = (token as { sessionUid?: string } | undefined)?.sessionUid ?? ctx.oidc.session?.uid;
    if (!sessionUid) return undefined;
    const key = `session:${sessionUid}`;
    let s = await loadSignIn(key);
    const pending = (ctx.oidc.result?.login as { kaasSignIn?: unknown } | undefined)?.kaasSignIn;
    if (!token && typeof pending === 'string') {
      // the first look after the sign-in page: bind the sign-in to the session it logged in
      const p = await loadSignIn(`pending:${pending}`);
      if (p) {
        await signIns.destroy(`pending:${pending}`);
        await signIns.upsert(key, { extra: asExtra(p) }, Math.max(1, Math.floor((p.untilMs - now()) / 1000)));
        s = p;
      }
    }
    if (!s || s.identity.uid !== accountId) return undefined;
    if (token?.kind !== 'RefreshToken' || !s.revalidate) return account(accountId, s);
    // a refresh re-checks the user upstream: disabled, deleted, a new password (local) or a
    // revoked token, removed roles (keystone) end it here, and the groups stay current
    const backend = backends.get(s.identity.backend);
    const upstream = upstreamOf(s);
    if (!backend || !upstream) return undefined;
    let current: Identity | 'revoked';
    try {
      current = await backend.revalidate(upstream);
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      // the upstream cannot answer: what it said at sign-in holds until the sign-in ends
      log('warn', 'oidc: upstream unavailable on refresh; keeping the signed-in identity', {
        backend: s.identity.backend,
        error: e.message,
      });
      return account(accountId, s);
    }
    if (current === 'revoked' || current.uid !== accountId) return undefined;
    return account(accountId, { ...s, identity: withoutExpiry(current) });
  };

  const configuration: Configuration = {
    adapter,
    clients: opts.clients.map(clientMetadata),
    jwks: { keys },
    cookies: {
      keys: opts.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: true, path: `${issuerPath}/` },
      short: { httpOnly: true, sameSite: 'lax', secure: true, path: `${issuerPath}/` },
    },
    scopes: SCOPES,
    claims: {
      openid: ['sub', BACKEND_CLAIM],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    // claims asked for by scope go into the id_token too: our relying parties read them there
    conformIdTokenClaims: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: () => true },
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
    },
    fetch: (url, options) =>
      undiciFetch(url instanceof Request ? url.url : url, {
        ...(options as object),
        dispatcher: clientAgent,
      }),
    findAccount,
    interactions: {
      url: (_ctx, interaction) => `${issuerPath}/interaction/${interaction.uid}`,
      policy: signInPolicy(),
    },
    ttl: {
      AccessToken: ttl.accessTokenS,
      AuthorizationCode: ttl.authorizationCodeS,
      IdToken: ttl.idTokenS,
      RefreshToken: refreshTokenS,
      Session: ttl.sessionS,
      Interaction: ttl.interactionS,
      Grant: Math.max(refreshTokenS, ttl.sessionS),
    },
    // a browser client may call the token endpoint from its own origin, nobody else
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((u) => URL.parse(u)?.origin === origin) ?? false,
    renderError,
  };

  const provider = new Provider(issuerUrl.href, configuration);
  const endedHooks = new Map(
    opts.clients.flatMap((c) => (c.onSessionEnded ? [[c.clientId, c.onSessionEnded] as const] : [])),
  );
  const notifyEnded = async (sessionUid: string, clientIds: string[]): Promise<void> => {
    for (const id of clientIds) {
      const hook = endedHooks.get(id);
      if (!hook) continue;
      try {
        await hook(sessionUid);
      } catch (e) {
        log('warn', 'oidc: a client could not end its sessions', {
          client: id,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
  };
  // signing out ends the sign-in: refresh tokens of that browser session stop working too
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    const uid = session?.uid;
    if (uid) signIns.destroy(`session:${uid}`).catch(() => {});
    // the whole session ended ("sign out of everything" confirmed): in-process relying parties too
    if (uid && (ctx.oidc.params as { logout?: unknown } | undefined)?.logout)
      void notifyEnded(uid, Object.keys(session?.authorizations ?? {}));
  });
  provider.on('server_error', (_ctx: unknown, err: Error) =>
    log('error', 'oidc: server error', { error: err.message }),
  );
  const callback = provider.callback();

  async function signIn(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login') return sendError(res, 400, EXPIRED);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== issuerUrl.origin)
      return sendError(res, 403, 'Cross-site request refused.');
    const form = await readForm(req);
    if (!form) return sendError(res, 413, 'Request too large.');
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const project = (form.get('project') ?? '').trim();
    // keystone: the user's domain by name (empty: the backend's default, "Default"); the
    // project is looked up in the same domain
    const domain = (form.get('domain') ?? '').trim();
    // the project's domain when it is not the user's (empty: the user's)
    const projectDomain = (form.get('project_domain') ?? '').trim();
    const backendName = form.get('backend') ?? opts.defaultBackend;
    const page = {
      uid,
      username,
      project,
      domain,
      projectDomain,
      backend: backendName,
      clientName: clientName(details.params),
    };
    const backend = backends.get(backendName);
    if (!backend) return sendPage(res, 400, loginPage({ ...page, error: 'Unknown identity provider.' }));
    if (!username || !password)
      return sendPage(res, 400, loginPage({ ...page, error: 'Enter a username and a password.' }));
    if ([username, password, project, domain, projectDomain].some((v) => v.length > MAX_FIELD_LENGTH))
      return sendPage(
        res,
        400,
        loginPage({
          ...page,
          username: '',
          project: '',
          domain: '',
          projectDomain: '',
          error: INVALID_LOGIN,
        }),
      );
    // the domain is deliberately not part of the key: a wrong domain costs the name a token like
    // a wrong password, and respelling the domain ("default", "DEFAULT", ...) buys no new bucket
    const decision = limiter.take({
      user: `${backendName}:${username}`,
      source: req.socket.remoteAddress ?? 'unknown',
    });
    if (!decision.allowed) {
      res.setHeader('Retry-After', String(Math.ceil(decision.retryAfterMs / 1000)));
      return sendPage(
        res,
        429,
        loginPage({ ...page, error: 'Too many attempts. Wait a minute and try again.' }),
      );
    }
    const credentials: Credentials = {
      type: 'password',
      username,
      password,
      ...(project ? { project } : {}),
      ...(domain ? { userDomain: domain } : {}),
      ...(project && projectDomain ? { projectDomain } : {}),
    };
    let result;
    try {
      result = await backend.authenticate(credentials);
    } catch (e) {
      if (e instanceof InvalidCredentialsError) {
        // not the typed name: people type their password into it
        log('info', 'oidc: sign-in refused', { backend: backendName, source: req.socket.remoteAddress });
        return sendPage(res, 401, loginPage({ ...page, error: INVALID_LOGIN }));
      }
      log('warn', 'oidc: identity provider unavailable', {
        backend: backendName,
        error: e instanceof Error ? e.message : String(e),
      });
      return sendPage(
        res,
        503,
        loginPage({ ...page, error: 'The identity provider is unavailable. Try again later.' }),
      );
    }
    const { identity, session } = result;
    const signInId = randomUUID();
    const record: SignIn & { untilMs: number } = {
      identity: withoutExpiry(identity),
      session: { subject: session.subject, scope: session.scope, version: session.version },
      ...(session.secret !== undefined ? { sealedSecret: sealUpstream(session.secret, identity.uid) } : {}),
      revalidate: true,
      untilMs: now() + signInTtlS(identity.expiresAt) * 1000,
    };
    await signIns.upsert(`pending:${signInId}`, { extra: asExtra(record) }, ttl.interactionS);
    log('info', 'oidc: signed in', { backend: backendName, username: identity.username });
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: identity.uid, amr: ['pwd'], remember: true, kaasSignIn: signInId } },
      { mergeWithLastSubmission: false },
    );
  }

  /** First-party clients only (there is no dynamic registration): consent is implied. */
  async function consent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id;
    if (!accountId || typeof clientId !== 'string') return sendError(res, 400, EXPIRED);
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId });
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return sendError(res, 400, EXPIRED);
    if (details.prompt.name === 'consent') return consent(req, res);
    if (details.prompt.name !== 'login') return sendError(res, 400, 'Unsupported sign-in step.');
    sendPage(
      res,
      200,
      loginPage({
        uid,
        username: typeof details.params.login_hint === 'string' ? details.params.login_hint : '',
        project: '',
        domain: '',
        projectDomain: '',
        backend: opts.defaultBackend,
        clientName: clientName(details.params),
      }),
    );
  }

  function clientName(params: Record<string, unknown>): string {
    const id = params.client_id;
    const c = opts.clients.find((x) => x.clientId === id);
    return c?.name ?? (typeof id === 'string' ? id : '');
  }

  function loginPage(p: LoginPageParams): string {
    return renderLoginPage({
      ...p,
      action: `${issuerPath}/interaction/${p.uid}/login`,
      backends: [...backends.keys()],
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const rest = url.pathname.slice(issuerPath.length);
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/.exec(rest);
    if (url.pathname.startsWith(`${issuerPath}/`) && m) {
      try {
        if (!m[2] && req.method === 'GET') return await interaction(req, res, m[1]!);
        if (m[2] && req.method === 'POST') return await signIn(req, res, m[1]!);
        res.setHeader('Allow', m[2] ? 'POST' : 'GET');
        return sendError(res, 405, 'Method not allowed.');
      } catch (e) {
        if (e instanceof Error && e.name === 'SessionNotFound') return sendError(res, 400, EXPIRED);
        log('error', 'oidc: interaction failed', { error: e instanceof Error ? e.message : String(e) });
        if (!res.headersSent)
          return sendError(res, 500, 'Something went wrong. Start again from the application.');
        res.end();
        return;
      }
    }
    // oidc-provider works out its mount point from originalUrl minus url, as under Express
    const r = req as IncomingMessage & { originalUrl?: string };
    r.originalUrl = req.url;
    req.url = (req.url ?? '/').slice(issuerPath.length) || '/';
    await callback(req, res);
  }

  async function signInFor(
    accessToken: string,
  ): Promise<(Authenticated & { sessionUid: string }) | undefined> {
    const at = await provider.AccessToken.find(accessToken);
    const sessionUid = at?.sessionUid;
    if (!at || !sessionUid) return undefined;
    const s = await loadSignIn(`session:${sessionUid}`);
    if (!s || s.identity.uid !== at.accountId) return undefined;
    const session = upstreamOf(s);
    if (!session) return undefined;
    const expiresAt = new Date(s.untilMs);
    return { sessionUid, identity: { ...s.identity, expiresAt }, session };
  }

  async function endSession(sessionUid: string): Promise<void> {
    const session = await provider.Session.findByUid(sessionUid);
    await signIns.destroy(`session:${sessionUid}`);
    if (!session) return;
    const accountId = session.accountId;
    for (const [clientId, auth] of Object.entries(session.authorizations ?? {})) {
      // oidc-provider's Client has backchannelLogout(sub, sid) (what its end_session calls); the
      // type definitions leave it out
      const client = (await provider.Client.find(clientId)) as
        | { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid: string): Promise<void> }
        | undefined;
      const sid = session.sidFor(clientId);
      if (client?.backchannelLogoutUri && accountId && sid) {
        await client.backchannelLogout(accountId, sid).then(
          () => log('info', 'oidc: back-channel logout delivered', { client: clientId }),
          (e: unknown) =>
            log('warn', 'oidc: back-channel logout failed', {
              client: clientId,
              error: e instanceof Error ? e.message : String(e),
            }),
        );
      }
      const grantId = auth.grantId;
      if (grantId) {
        await Promise.all([
          provider.AccessToken.revokeByGrantId(grantId),
          provider.RefreshToken.revokeByGrantId(grantId),
          provider.AuthorizationCode.revokeByGrantId(grantId),
          provider.Grant.adapter.destroy(grantId),
        ]);
      }
    }
    await session.destroy();
    await notifyEnded(sessionUid, Object.keys(session.authorizations ?? {}));
  }

  return {
    prefix: `${issuerPath}/`,
    issuer: issuerUrl.href,
    provider,
    handle,
    signInFor,
    endSession,
    close: async () => {
      memory?.clear();
      await clientAgent.close();
    },
  };
}

/**
 * oidc-provider's prompts, plus: a browser session whose sign-in has ended (its upstream expired,
 * or it was dropped) signs in again instead of getting tokens for nobody.
 */
function signInPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy
    .get('login')
    ?.checks.add(
      new interactionPolicy.Check('sign_in_ended', 'the sign-in has ended', 'login_required', (ctx) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

function asExtra(r: SignIn & { untilMs: number }): Record<string, unknown> {
  return { ...r };
}

function withoutExpiry(i: Identity): Omit<Identity, 'expiresAt'> {
  const { expiresAt: _unused, ...rest } = i;
  return rest;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---------------------------------------------------------------- pages

const EXPIRED =
  'This sign-in page has expired or was opened in another browser. Start again from the application.';

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}' +
  'h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}' +
  'input,select{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}' +
  'button{margin-top:1.2rem;padding:.5rem 1rem;font:inherit}' +
  'fieldset{margin:1rem 0 0;padding:0 .8rem .8rem;border:1px solid #bbb}legend{padding:0 .3rem}' +
  '.hint{margin:.2rem 0 0;font-size:.85rem;color:#555}' +
  '.error{color:#a00;border:1px solid #a00;padding:.5rem}';

/** no scripts, no external assets, no framing */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

export function htmlEscape(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function page(title: string, body: string): string {
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${htmlEscape(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

// same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with the form POST
function setPageHeaders(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

function sendPage(res: ServerResponse, status: number, html: string): void {
  setPageHeaders(res, status);
  res.end(html);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendPage(
    res,
    status,
    page(
      'Sign-in problem',
      `<h1>Sign-in problem</h1><p class="error" role="alert">${htmlEscape(message)}</p>`,
    ),
  );
}

interface LoginPageParams {
  uid: string;
  username: string;
  project: string;
  /** keystone user domain name as typed; '' is the default domain */
  domain: string;
  /** keystone project domain name as typed; '' is the user's domain */
  projectDomain: string;
  backend: string;
  clientName: string;
  error?: string;
}

/** The password is never put back into the page. */
export function renderLoginPage(p: LoginPageParams & { action: string; backends: string[] }): string {
  const field = (id: string, label: string, input: string) => `<label for="${id}">${label}</label>${input}`;
  const backendField =
    p.backends.length > 1
      ? field(
          'backend',
          'Identity provider',
          `<select id="backend" name="backend">${p.backends
            .map(
              (b) =>
                `<option value="${htmlEscape(b)}"${b === p.backend ? ' selected' : ''}>${htmlEscape(b)}</option>`,
            )
            .join('')}</select>`,
        )
      : `<input type="hidden" name="backend" value="${htmlEscape(p.backends[0] ?? '')}">`;
  // keystone-only fields, always in the page (it has no script), grouped and named as such
  const keystoneFields = p.backends.includes('keystone')
    ? `<fieldset><legend>Keystone users</legend>` +
      field(
        'domain',
        'Domain (keystone)',
        `<input id="domain" name="domain" autocomplete="off" placeholder="Default" aria-describedby="domain-hint" value="${htmlEscape(p.domain)}">`,
      ) +
      `<p id="domain-hint" class="hint">Your keystone domain; leave empty for Default.</p>` +
      field(
        'project',
        'Project (keystone)',
        `<input id="project" name="project" autocomplete="off" value="${htmlEscape(p.project)}">`,
      ) +
      field(
        'project_domain',
        'Project domain (keystone)',
        `<input id="project_domain" name="project_domain" autocomplete="off" aria-describedby="project-domain-hint" value="${htmlEscape(p.projectDomain)}">`,
      ) +
      `<p id="project-domain-hint" class="hint">Only when the project is in another domain than yours.</p>` +
      `</fieldset>`
    : '';
  const error = p.error ? `<p class="error" role="alert">${htmlEscape(p.error)}</p>` : '';
  return page(
    'Sign in to KaaS',
    `<main><h1>Sign in to KaaS</h1>` +
      (p.clientName ? `<p>to continue to ${htmlEscape(p.clientName)}</p>` : '') +
      error +
      `<form method="post" action="${htmlEscape(p.action)}" autocomplete="on">` +
      backendField +
      field(
        'username',
        'Username',
        `<input id="username" name="username" autocomplete="username" required autofocus value="${htmlEscape(p.username)}">`,
      ) +
      field(
        'password',
        'Password',
        `<input id="password" name="password" type="password" autocomplete="current-password" required>`,
      ) +
      keystoneFields +
      `<button type="submit">Sign in</button></form></main>`,
  );
}

async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  setCtxPageHeaders(ctx);
  ctx.body = page(
    'Sign out',
    `<main><h1>Sign out of KaaS?</h1>${form}` +
      `<button type="submit" form="op.logoutForm" value="yes" name="logout" autofocus>Sign out</button> ` +
      `<button type="submit" form="op.logoutForm">Stay signed in</button></main>`,
  );
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  setCtxPageHeaders(ctx);
  ctx.body = page('Signed out', '<main><h1>Signed out</h1><p>You have signed out of KaaS.</p></main>');
}

async function renderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
  _error: Error,
): Promise<void> {
  setCtxPageHeaders(ctx);
  ctx.body = page(
    'Sign-in problem',
    `<main><h1>Sign-in problem</h1><p class="error" role="alert">${htmlEscape(out.error)}` +
      (out.error_description ? `: ${htmlEscape(out.error_description)}` : '') +
      `</p></main>`,
  );
}

function setCtxPageHeaders(ctx: KoaContextWithOIDC): void {
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
}
