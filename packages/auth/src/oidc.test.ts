// The issuer over real HTTPS, with openid-client as the relying party and a small cookie-keeping
// "browser" (undici) that fills in the sign-in form.
import assert from 'node:assert/strict';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createCA, issueCertificate } from '@kaas/apiserver';
import type { ExtraRoute } from '@kaas/apiserver';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { JWK } from 'oidc-provider';
import type { Credentials } from './identity.ts';
import { LocalUsersBackend, MemoryUserStore } from './identity.ts';
import { BACKEND_CLAIM, createOidcIssuer } from './oidc.ts';
import type { OidcIssuer } from './oidc.ts';
import { ExchangeRateLimiter } from './ratelimit.ts';
import { FakeBackend, upstreamDown } from './testing.ts';

const SCRYPT = { logN: 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';
const CONSOLE_CB = 'https://console.example/callback';
const CONSOLE_LOGOUT = 'https://console.example/signed-out';
const PROXY_CB = 'https://sso.example/oauth2/callback';
const PROXY_SECRET = 'proxy-secret-0123456789abcdef0123456789';
const COOKIE_KEYS = ['k'.repeat(40)];

interface Env {
  server: Server;
  dispatcher: Agent;
  issuer: OidcIssuer;
  issuerUrl: URL;
  backend: LocalUsersBackend;
  aliceUid: string;
  savedKeys: JWK[][];
  issuers: OidcIssuer[];
  keyStore: { load(): Promise<JWK[] | undefined>; save(keys: JWK[]): Promise<void> };
}

let env: Env;

before(async () => {
  const ca = await createCA('oidc-test-ca');
  const serving = await issueCertificate(ca, {
    commonName: 'oidc-test',
    hosts: ['127.0.0.1'],
    usage: 'server',
  });
  const backend = new LocalUsersBackend({ store: new MemoryUserStore(), scrypt: SCRYPT });
  const alice = await backend.createUser({ name: 'alice', password: PASSWORD, roles: ['dev', 'admin'] });
  await backend.createUser({ name: 'bob', password: PASSWORD, roles: [] });
  await backend.createUser({ name: 'carol', password: PASSWORD, roles: ['ops'] });
  const holder: { issuers: OidcIssuer[] } = { issuers: [] };
  const server = createServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    const current = holder.issuers.find((i) => req.url?.startsWith(i.prefix));
    if (current) {
      current.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuerUrl = new URL(`https://127.0.0.1:${port}/oidc`);
  const savedKeys: JWK[][] = [];
  let stored: JWK[] | undefined;
  const keyStore = {
    load: async () => stored,
    save: async (keys: JWK[]) => {
      stored = keys;
      savedKeys.push(keys);
    },
  };
  const issuer = await createOidcIssuer({
    issuer: issuerUrl.href,
    backends: [backend],
    defaultBackend: 'local',
    clients: [
      {
        clientId: 'console',
        name: 'KaaS console',
        redirectUris: [CONSOLE_CB],
        postLogoutRedirectUris: [CONSOLE_LOGOUT],
      },
      { clientId: 'sso-proxy', clientSecret: PROXY_SECRET, redirectUris: [PROXY_CB] },
    ],
    keyStore,
    cookieKeys: COOKIE_KEYS,
    // carol is the rate limit's victim; others get room for every test
    rateLimiter: new ExchangeRateLimiter({
      perUser: { capacity: 10, refillPerSecond: 0.001 },
      perSource: { capacity: 1000, refillPerSecond: 1 },
    }),
  });
  holder.issuers.push(issuer);
  const dispatcher = new Agent({ connect: { ca: ca.certPem } });
  env = {
    server,
    dispatcher,
    issuer,
    issuerUrl,
    backend,
    aliceUid: alice.uid,
    savedKeys,
    keyStore,
    issuers: holder.issuers,
  };
});

after(async () => {
  for (const i of env.issuers) await i.close();
  env.server.closeAllConnections();
  await new Promise((resolve) => env.server.close(resolve));
  await env.dispatcher.close();
});

// ---------------------------------------------------------------- helpers

const tlsFetch: client.CustomFetch = (url, options) =>
  undiciFetch(url, { ...options, dispatcher: env.dispatcher });

async function relyingParty(
  clientId: string,
  secret?: string,
  issuer = env.issuerUrl,
): Promise<client.Configuration> {
  return client.discovery(
    issuer,
    clientId,
    secret,
    secret === undefined ? client.None() : client.ClientSecretBasic(secret),
    { [client.customFetch]: tlsFetch },
  );
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  attrs: string[];
}

/** Enough of a browser: keeps cookies by name and path, follows nothing by itself. */
class Browser {
  readonly cookies: Cookie[] = [];
  readonly setCookieHeaders: string[] = [];

  async request(
    url: string | URL,
    init: { method?: string; form?: Record<string, string>; origin?: string } = {},
  ) {
    const u = new URL(url, env.issuerUrl);
    const cookie = this.cookies
      .filter((c) => u.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const res = await undiciFetch(u, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      dispatcher: env.dispatcher,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form
          ? { 'content-type': 'application/x-www-form-urlencoded', origin: init.origin ?? u.origin }
          : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const h of res.headers.getSetCookie()) this.#store(h);
    return { status: res.status, location: res.headers.get('location'), body: await res.text(), url: u };
  }

  #store(header: string): void {
    this.setCookieHeaders.push(header);
    const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
    const i = this.cookies.findIndex((c) => c.name === name && c.path === path);
    if (i >= 0) this.cookies.splice(i, 1);
    const expired = attrs.some((a) => /^expires=.*1970/i.test(a));
    if (!expired && value !== '') this.cookies.push({ name, value, path, attrs });
  }

  /** Follows redirects while they stay at the issuer; returns the last response. */
  async follow(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}) {
    let r = await this.request(url, init);
    for (let hops = 0; hops < 10 && r.location; hops++) {
      const next = new URL(r.location, r.url);
      if (next.origin !== env.issuerUrl.origin) return r;
      r = await this.request(next);
    }
    return r;
  }
}

function formAction(html: string): string {
  const m = /<form method="post" action="([^"]+)"/.exec(html);
  assert.ok(m, `no sign-in form in: ${html.slice(0, 300)}`);
  return m[1]!.replace(/&amp;/g, '&');
}

interface Started {
  browser: Browser;
  verifier: string;
  state: string;
  nonce: string;
  loginPage: Awaited<ReturnType<Browser['request']>>;
}

async function startSignIn(
  config: client.Configuration,
  redirectUri: string,
  extra: Record<string, string> = {},
  browser = new Browser(),
): Promise<Started> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile groups offline_access',
    prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const loginPage = await browser.follow(url);
  return { browser, verifier, state, nonce, loginPage };
}

async function submitLogin(
  s: Started,
  username: string,
  password: string,
  extra: Record<string, string> = {},
) {
  return s.browser.follow(formAction(s.loginPage.body), {
    method: 'POST',
    form: { backend: 'local', username, password, ...extra },
  });
}

async function signIn(config: client.Configuration, redirectUri: string, username = 'alice') {
  const s = await startSignIn(config, redirectUri);
  assert.equal(s.loginPage.status, 200);
  const done = await submitLogin(s, username, PASSWORD);
  assert.equal(done.status, 303, done.body);
  const location = done.location ?? '';
  assert.ok(location.startsWith(redirectUri), location);
  const tokens = await client.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: s.verifier,
    expectedState: s.state,
    expectedNonce: s.nonce,
  });
  return { ...s, tokens, callback: new URL(location) };
}

function decodeJwt(jwt: string) {
  const [h = '', p = ''] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid?: string; alg?: string },
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
  };
}

async function verifyJwt(jwt: string): Promise<Record<string, unknown>> {
  const { header, payload } = decodeJwt(jwt);
  const jwksUri = (await relyingParty('console')).serverMetadata().jwks_uri!;
  const jwks = (await (await tlsFetch(jwksUri, {} as never)).json()) as { keys: (JWK & { kid: string })[] };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, 'signing key is published');
  assert.equal(jwk.d, undefined, 'no private part in the JWKS');
  assert.equal(header.alg, 'RS256');
  const [h, p, sig] = jwt.split('.');
  const ok = verifySignature(
    'sha256',
    Buffer.from(`${h}.${p}`),
    createPublicKey({ key: jwk as never, format: 'jwk' }),
    Buffer.from(sig!, 'base64url'),
  );
  assert.ok(ok, 'id_token signature verifies against the JWKS');
  return payload;
}

// ---------------------------------------------------------------- tests

describe('OIDC issuer', () => {
  test('fits the API server route table and serves discovery under the issuer', async () => {
    const route: ExtraRoute = env.issuer;
    assert.equal(route.prefix, '/oidc/');
    const config = await relyingParty('console');
    const m = config.serverMetadata();
    const base = env.issuerUrl.href;
    assert.equal(m.issuer, base);
    assert.equal(m.authorization_endpoint, `${base}/auth`);
    assert.equal(m.token_endpoint, `${base}/token`);
    assert.equal(m.jwks_uri, `${base}/jwks`);
    assert.equal(m.end_session_endpoint, `${base}/session/end`);
    assert.ok(m.userinfo_endpoint?.startsWith(`${base}/`));
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(m.response_types_supported, ['code']);
    assert.deepEqual([...(m.scopes_supported ?? [])].sort(), [
      'groups',
      'offline_access',
      'openid',
      'profile',
    ]);
    for (const c of ['sub', 'groups', 'preferred_username', 'name', BACKEND_CLAIM])
      assert.ok((m.claims_supported as string[]).includes(c), c);
    assert.ok(m.token_endpoint_auth_methods_supported?.includes('client_secret_basic'));
  });

  test('authorization code + PKCE: id_token signed, claims from the identity, secure cookies', async () => {
    const config = await relyingParty('console');
    const { tokens, browser, callback } = await signIn(config, CONSOLE_CB);
    assert.deepEqual(
      [...callback.searchParams.keys()].sort(),
      ['code', 'iss', 'state'],
      'only the code travels in the URL',
    );
    assert.ok(tokens.id_token && tokens.access_token && tokens.refresh_token);
    const claims = await verifyJwt(tokens.id_token);
    assert.equal(claims.iss, env.issuerUrl.href);
    assert.equal(claims.aud, 'console');
    assert.equal(claims.sub, env.aliceUid);
    assert.equal(claims.preferred_username, 'local:alice');
    assert.equal(claims.name, 'local:alice');
    assert.deepEqual(claims.groups, ['admin', 'dev']);
    assert.equal(claims[BACKEND_CLAIM], 'local');
    const info = await client.fetchUserInfo(config, tokens.access_token, env.aliceUid);
    assert.deepEqual(info.groups, ['admin', 'dev']);
    // every cookie the issuer sets is Secure, HttpOnly, SameSite=Lax and scoped to its path
    assert.ok(browser.setCookieHeaders.length > 0);
    for (const h of browser.setCookieHeaders) {
      const lower = h.toLowerCase();
      assert.ok(lower.includes('; secure'), h);
      assert.ok(lower.includes('; httponly'), h);
      assert.ok(lower.includes('; samesite=lax'), h);
      assert.match(lower, /; path=\/oidc\//, h);
    }
  });

  test('refresh token gives new tokens; a disabled user cannot refresh', async () => {
    const config = await relyingParty('console');
    const { tokens } = await signIn(config, CONSOLE_CB, 'bob');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token && refreshed.access_token !== tokens.access_token);
    const claims = await verifyJwt(refreshed.id_token!);
    assert.equal(claims.preferred_username, 'local:bob');
    assert.deepEqual(claims.groups, []);
    await env.backend.setDisabled('bob', true);
    try {
      await assert.rejects(
        client.refreshTokenGrant(config, refreshed.refresh_token ?? tokens.refresh_token!),
        {
          error: 'invalid_grant',
        },
      );
    } finally {
      await env.backend.setDisabled('bob', false);
    }
  });

  test('confidential client authenticates with client_secret_basic', async () => {
    const config = await relyingParty('sso-proxy', PROXY_SECRET);
    const { tokens } = await signIn(config, PROXY_CB);
    const claims = await verifyJwt(tokens.id_token!);
    assert.equal(claims.aud, 'sso-proxy');
    const wrong = await relyingParty('sso-proxy', 'not-the-secret-0123456789');
    const s = await startSignIn(wrong, PROXY_CB);
    const done = await submitLogin(s, 'alice', PASSWORD);
    await assert.rejects(
      client.authorizationCodeGrant(wrong, new URL(done.location!), {
        pkceCodeVerifier: s.verifier,
        expectedState: s.state,
        expectedNonce: s.nonce,
      }),
      (e: Error & { status?: number }) => {
        assert.equal(e.status, 401);
        assert.match(JSON.stringify(e.cause), /invalid_client/);
        return true;
      },
    );
  });

  test('wrong password and unknown user: the form again, one generic message, password not echoed', async () => {
    const config = await relyingParty('console');
    const secret = 'wrong-password-4242';
    for (const username of ['alice', 'nobody']) {
      const s = await startSignIn(config, CONSOLE_CB);
      const r = await submitLogin(s, username, secret);
      assert.equal(r.status, 401);
      assert.match(r.body, /Invalid username or password\./);
      assert.ok(!r.body.includes(secret), 'password is not echoed');
      assert.match(r.body, /<label for="password">Password<\/label>/);
      assert.doesNotMatch(r.body, /name="(domain|project)"/, 'no keystone fields without keystone');
      assert.match(r.body, new RegExp(`value="${username}"`), 'username kept');
      // the same interaction still signs in with the right password
      const ok = await submitLogin({ ...s, loginPage: r }, 'alice', PASSWORD);
      assert.ok(ok.location?.startsWith(CONSOLE_CB), String(ok.location));
    }
  });

  test('sign-in attempts are rate limited per user name, whatever domain is typed', async () => {
    const config = await relyingParty('console');
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const s = await startSignIn(config, CONSOLE_CB);
      // a different (or respelled) domain is no new bucket for the name
      const domain: Record<string, string> = i % 2 ? { domain: i % 4 === 1 ? `domain-${i}` : 'DEFAULT' } : {};
      statuses.push((await submitLogin(s, 'carol', `bad-password-${i}`, domain)).status);
    }
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429]);
    const s = await startSignIn(config, CONSOLE_CB);
    const r = await submitLogin(s, 'carol', PASSWORD);
    assert.equal(r.status, 429, 'even the right password waits');
  });

  test('a sign-in POST without the interaction cookie is refused', async () => {
    const config = await relyingParty('console');
    const s = await startSignIn(config, CONSOLE_CB);
    const r = await new Browser().request(formAction(s.loginPage.body), {
      method: 'POST',
      form: { username: 'alice', password: PASSWORD },
    });
    assert.equal(r.status, 400);
    assert.equal(r.location, null);
  });

  test('a sign-in POST from another origin is refused', async () => {
    const config = await relyingParty('console');
    const s = await startSignIn(config, CONSOLE_CB);
    const r = await s.browser.request(formAction(s.loginPage.body), {
      method: 'POST',
      form: { username: 'alice', password: PASSWORD },
      origin: 'https://evil.example',
    });
    assert.equal(r.status, 403);
    assert.equal(r.location, null);
  });

  test('unknown redirect_uri and missing PKCE are refused without redirecting', async () => {
    const config = await relyingParty('console');
    const bad = await startSignIn(config, 'https://evil.example/callback');
    assert.equal(bad.loginPage.status, 400);
    assert.equal(bad.loginPage.location, null);
    assert.match(bad.loginPage.body, /redirect_uri/);
    const prefix = await startSignIn(config, `${CONSOLE_CB}/more`);
    assert.equal(prefix.loginPage.status, 400, 'exact match, not prefix');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CONSOLE_CB,
      scope: 'openid',
      state: 's',
    });
    const r = await new Browser().request(url);
    const loc = new URL(r.location!);
    assert.equal(loc.origin + loc.pathname, CONSOLE_CB);
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    assert.match(loc.searchParams.get('error_description') ?? '', /PKCE/);
  });

  test('RP-initiated logout ends the session', async () => {
    const config = await relyingParty('console');
    const first = await signIn(config, CONSOLE_CB);
    // while signed in, a new authorization skips the form
    const again = await startSignIn(config, CONSOLE_CB, { prompt: 'none', scope: 'openid' }, first.browser);
    assert.ok(again.loginPage.location?.startsWith(CONSOLE_CB), String(again.loginPage.location));
    assert.ok(new URL(again.loginPage.location!).searchParams.get('code'));

    const end = client.buildEndSessionUrl(config, {
      id_token_hint: first.tokens.id_token!,
      post_logout_redirect_uri: CONSOLE_LOGOUT,
      state: 'bye',
    });
    const confirm = await first.browser.request(end);
    assert.equal(confirm.status, 200);
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.body)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
    assert.ok(action && xsrf, confirm.body);
    const done = await first.browser.request(action, { method: 'POST', form: { xsrf, logout: 'yes' } });
    assert.equal(done.status, 303);
    assert.equal(done.location, `${CONSOLE_LOGOUT}?state=bye`);

    const after = await startSignIn(config, CONSOLE_CB, { prompt: 'none', scope: 'openid' }, first.browser);
    assert.equal(new URL(after.loginPage.location!).searchParams.get('error'), 'login_required');
    await assert.rejects(client.refreshTokenGrant(config, first.tokens.refresh_token!), {
      error: 'invalid_grant',
    });
    const form = await startSignIn(config, CONSOLE_CB, {}, first.browser);
    assert.equal(form.loginPage.status, 200);
    assert.match(form.loginPage.body, /Sign in to KaaS/);
  });

  test('several backends: the form offers them, passes the project and domain, ends the sign-in at the upstream expiry', async () => {
    const fake = new FakeBackend('keystone');
    fake.addUser('dana', PASSWORD, { groups: ['role-id-1'], expiresAt: new Date(Date.now() + 3600_000) });
    const seen: Credentials[] = [];
    let down = false;
    const authenticate = fake.authenticate.bind(fake);
    fake.authenticate = async (c) => {
      seen.push(c);
      if (down) throw upstreamDown();
      return authenticate(c);
    };
    let offsetMs = 0;
    const issuerUrl = new URL(`${env.issuerUrl.origin}/oidc2`);
    const second = await createOidcIssuer({
      issuer: issuerUrl.href,
      backends: [env.backend, fake],
      defaultBackend: 'keystone',
      clients: [{ clientId: 'console', redirectUris: [CONSOLE_CB] }],
      keys: env.savedKeys[0]!,
      cookieKeys: COOKIE_KEYS,
      now: () => Date.now() + offsetMs,
    });
    env.issuers.push(second);
    const config = await relyingParty('console', undefined, issuerUrl);
    const s = await startSignIn(config, CONSOLE_CB);
    assert.match(
      s.loginPage.body,
      /<label for="backend">Identity provider<\/label><select id="backend" name="backend">/,
    );
    assert.match(s.loginPage.body, /<option value="keystone" selected>/);
    assert.match(s.loginPage.body, /<label for="project">/);
    assert.match(
      s.loginPage.body,
      /<fieldset><legend>Keystone users<\/legend><label for="domain">Domain \(keystone\)<\/label><input id="domain" name="domain"[^>]* aria-describedby="domain-hint" value="">/,
    );
    assert.match(s.loginPage.body, /<p id="domain-hint" class="hint">[^<]*Default/);

    // a domain goes to the backend as the user's domain; a refused one is the generic error,
    // with the typed domain kept and the password not echoed
    const wrongDomain = await submitLogin(s, 'nobody', 'bad-password-1', {
      backend: 'keystone',
      domain: ' engineering ',
    });
    assert.equal(wrongDomain.status, 401);
    assert.match(wrongDomain.body, /Invalid username or password\./);
    assert.match(wrongDomain.body, /name="domain"[^>]* value="engineering">/);
    assert.ok(!wrongDomain.body.includes('bad-password-1'));
    assert.deepEqual(seen.at(-1), {
      type: 'password',
      username: 'nobody',
      password: 'bad-password-1',
      userDomain: 'engineering',
    });

    down = true;
    const unavailable = await submitLogin(s, 'dana', PASSWORD, { backend: 'keystone', project: 'demo' });
    assert.equal(unavailable.status, 503);
    assert.match(unavailable.body, /identity provider is unavailable/);
    down = false;

    const done = await submitLogin({ ...s, loginPage: unavailable }, 'dana', PASSWORD, {
      backend: 'keystone',
      project: 'demo',
    });
    assert.deepEqual(seen.at(-1), {
      type: 'password',
      username: 'dana',
      password: PASSWORD,
      project: 'demo',
    });
    const tokens = await client.authorizationCodeGrant(config, new URL(done.location!), {
      pkceCodeVerifier: s.verifier,
      expectedState: s.state,
      expectedNonce: s.nonce,
    });
    const claims = await verifyJwt(tokens.id_token!);
    assert.equal(claims.sub, 'uid-dana');
    assert.equal(claims[BACKEND_CLAIM], 'keystone');
    assert.deepEqual(claims.groups, ['role-id-1']);
    // the upstream secret is kept sealed: a refresh re-checks it, the console gets it in-process
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(fake.revalidateCalls, 1);
    const kept = await second.signInFor(tokens.access_token);
    assert.equal(kept?.session.secret, 'upstream-secret-of-dana');
    assert.equal(kept?.identity.username, 'keystone:dana');
    assert.equal(await second.signInFor('not-a-token'), undefined);
    const dana = fake.users.get('dana')!;
    dana.revoked = true;
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), {
      error: 'invalid_grant',
    });
    dana.revoked = false;
    offsetMs = 3601_000;
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token ?? tokens.refresh_token!), {
      error: 'invalid_grant',
    });
    // the browser session outlives the sign-in: it is asked to sign in again
    const silent = await startSignIn(config, CONSOLE_CB, { prompt: 'none', scope: 'openid' }, s.browser);
    assert.equal(new URL(silent.loginPage.location!).searchParams.get('error'), 'login_required');
    const form = await startSignIn(config, CONSOLE_CB, { login_hint: 'dana' }, s.browser);
    assert.equal(form.loginPage.status, 200);
    assert.match(
      form.loginPage.body,
      /name="username" autocomplete="username" required autofocus value="dana"/,
    );
  });

  test('the signing key is generated once, saved, and reused by the next start', async () => {
    assert.equal(env.savedKeys.length, 1);
    const [key] = env.savedKeys[0]!;
    assert.ok(key?.d && key.kid, 'a private JWK with a kid');
    const second = await createOidcIssuer({
      issuer: env.issuerUrl.href,
      backends: [env.backend],
      defaultBackend: 'local',
      clients: [],
      keyStore: env.keyStore,
      cookieKeys: COOKIE_KEYS,
    });
    try {
      assert.equal(env.savedKeys.length, 1, 'nothing new saved');
      const jwks = second.provider.issuer;
      assert.equal(jwks, env.issuerUrl.href);
    } finally {
      await second.close();
    }
  });

  test('options are checked', async () => {
    await assert.rejects(
      createOidcIssuer({
        issuer: 'http://127.0.0.1/',
        backends: [env.backend],
        defaultBackend: 'keystone',
        clients: [{ clientId: 'a', redirectUris: [] }],
        keys: [],
        cookieKeys: ['short'],
      }),
      (e: Error) => {
        for (const p of [
          'issuer: must be https',
          'issuer: needs a path',
          'defaultBackend',
          'cookieKeys',
          'redirectUris',
        ])
          assert.ok(e.message.includes(p), `${p} in ${e.message}`);
        return true;
      },
    );
  });
});
