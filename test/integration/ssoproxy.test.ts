// The SSO proxy for real: our OpenID Connect issuer over HTTPS (createOidcIssuer with local users),
// Debian's Prometheus and a small echo server as upstreams, the proxy over HTTPS in between, and a
// cookie-keeping client that walks the browser's part of the flow (redirects, the sign-in form).
// The proxy also runs once as `kaasctl sso-proxy --config FILE`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ensurePki, issueCertificate } from '@kaas/apiserver';
import type { KeyAndCert } from '@kaas/apiserver';
import { createOidcIssuer, ExchangeRateLimiter, LocalUsersBackend, MemoryUserStore } from '@kaas/auth';
import type { OidcIssuer } from '@kaas/auth';
import { MemorySessionStore, ssoProxyOidcClient, startSsoProxy } from '@kaas/ssoproxy';
import type { SsoProxy, SsoProxyConfigInput } from '@kaas/ssoproxy';
import { Agent, fetch as undiciFetch } from 'undici';
import { kaasctlBin } from '../support/kaasctl.ts';
import { freePort } from '../support/ports.ts';

const PASSWORD = 'correct horse battery';
const CLIENT_SECRET = `proxy-${randomBytes(24).toString('base64url')}`;
const COOKIE_SECRET = randomBytes(32).toString('base64');
const OPS = 'ops-role-id';
const DEV = 'dev-role-id';
const ADMIN = 'admin-role-id';
const prometheusBin = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();

interface Env {
  dir: string;
  ca: KeyAndCert;
  dispatcher: Agent;
  issuerServer: HttpsServer;
  issuer: OidcIssuer;
  issuerUrl: string;
  backend: LocalUsersBackend;
  echo: HttpServer;
  echoUrl: string;
  prometheus?: ChildProcess;
  proxy: SsoProxy;
  store: MemorySessionStore;
  clock: { skewMs: number };
  cliPort: number;
  cliConfig: string;
}
let env: Env;
/** undone in reverse by after(), also when before() fails half-way */
const cleanups: (() => Promise<unknown>)[] = [];

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `kaasctl sso-proxy --config FILE` in the background, once it listens; stop() ends it with
 * SIGTERM and asserts a clean exit (0).
 */
async function startCliProxy(file: string) {
  const child = spawn(kaasctlBin, ['sso-proxy', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    assert.equal(child.exitCode, 0, err);
  };
  await waitFor('kaasctl sso-proxy', async () => out.includes('listening on'), 90_000).catch(async (e) => {
    await stop().catch(() => undefined);
    throw new Error(`${(e as Error).message}\n${out}\n${err}`);
  });
  return { out: () => out, err: () => err, stop };
}

/** Reports what it got, so the tests can see exactly which headers reached the upstream. */
const upgraded = new Set<Duplex>();

function startEcho(): HttpServer {
  const echo = createHttpServer((req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': ['_kaas_sso=from-upstream', 'app=1'],
    });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  // a websocket-ish echo: answers the upgrade, then echoes bytes
  echo.on('upgrade', (req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `X-Echo-User: ${String(req.headers['x-forwarded-user'])}\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(d));
    // upgraded sockets are the server's no more: close() would wait for them
    socket.on('end', () => socket.end());
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
  });
  return echo;
}

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sso-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(join(dir, 'pki'), ['127.0.0.1']);
  const ca = pki.ca;
  const dispatcher = new Agent({ connect: { ca: ca.certPem } });
  cleanups.push(() => dispatcher.close());

  // the issuer's listener first (its URL names the port); the issuer itself once the proxy's URL is known
  const holder: { issuer?: OidcIssuer } = {};
  const issuerServer = createHttpsServer(
    { key: pki.serving.keyPem, cert: pki.serving.certPem },
    (req, res) => {
      if (holder.issuer && req.url?.startsWith(holder.issuer.prefix)) {
        holder.issuer.handle(req, res).catch((e: unknown) => {
          res.statusCode = 500;
          res.end(String(e));
        });
        return;
      }
      res.statusCode = 404;
      res.end();
    },
  );
  await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    await holder.issuer?.close();
    issuerServer.closeAllConnections();
    await new Promise((r) => issuerServer.close(r));
  });
  const issuerUrl = `https://127.0.0.1:${(issuerServer.address() as AddressInfo).port}/oidc`;

  const backend = new LocalUsersBackend({ store: new MemoryUserStore(), scrypt: { logN: 10, r: 8, p: 1 } });
  await backend.createUser({ name: 'alice', password: PASSWORD, roles: [OPS, DEV] });
  await backend.createUser({ name: 'bob', password: PASSWORD, roles: [DEV] });
  // enough role IDs that the session no longer fits a 4 KB cookie
  const many = Array.from({ length: 120 }, (_, i) => `${randomBytes(16).toString('hex')}-${i}`);
  await backend.createUser({ name: 'carol', password: PASSWORD, roles: [OPS, ...many] });
  await backend.createUser({ name: 'dave', password: PASSWORD, roles: [OPS] });

  const echo = startEcho();
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const sock of upgraded) sock.destroy();
    echo.closeAllConnections();
    await new Promise((r) => echo.close(r));
  });
  const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;

  const proxyCert = await issueCertificate(ca, {
    commonName: 'sso-proxy',
    hosts: ['127.0.0.1', 'localhost'],
    usage: 'server',
  });
  const prometheusPort = await freePort();
  const clock = { skewMs: 0 };
  const store = new MemorySessionStore();
  const config: SsoProxyConfigInput = {
    listen: '127.0.0.1:0',
    tls: { certPem: proxyCert.certPem, keyPem: proxyCert.keyPem },
    oidc: { issuer: issuerUrl, clientSecret: CLIENT_SECRET, caPem: ca.certPem },
    cookie: { secrets: [COOKIE_SECRET] },
    routes: [
      {
        name: 'prometheus',
        pathPrefix: '/prometheus/',
        upstream: `http://127.0.0.1:${prometheusPort}`,
        allowedGroups: [OPS],
      },
      {
        name: 'echo',
        pathPrefix: '/echo/',
        upstream: echoUrl,
        allowedGroups: [OPS, DEV],
        stripPrefix: true,
        passAccessToken: true,
      },
      { name: 'admin', pathPrefix: '/admin/', upstream: echoUrl, allowedGroups: [ADMIN] },
      // a host route: the same proxy under another name
      { name: 'by-host', host: 'localhost', upstream: echoUrl, allowedGroups: [DEV] },
    ],
  };
  const proxy = await startSsoProxy(config, { store, now: () => Date.now() + clock.skewMs });
  cleanups.push(() => proxy.close());

  // the same proxy as `kaasctl sso-proxy`, on a port chosen now so that the issuer knows its callback
  const cliPort = await freePort();
  await writeFile(join(dir, 'client-secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'cookie-secrets'), `${COOKIE_SECRET}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'tls.crt'), proxyCert.certPem);
  await writeFile(join(dir, 'tls.key'), proxyCert.keyPem, { mode: 0o600 });
  const cliConfig = join(dir, 'sso-proxy.yaml');
  await writeFile(
    cliConfig,
    [
      `listen: 127.0.0.1:${cliPort}`,
      'tls: { certFile: tls.crt, keyFile: tls.key }',
      'oidc:',
      `  issuer: ${issuerUrl}`,
      '  clientSecretFile: client-secret',
      '  caFile: ca.crt',
      'cookie:',
      '  secretsFile: cookie-secrets',
      'routes:',
      '  - name: echo',
      `    upstream: ${echoUrl}`,
      `    allowedGroups: [${DEV}]`,
      '',
    ].join('\n'),
  );

  const registration = ssoProxyOidcClient({ ...config, publicUrl: proxy.publicUrl });
  const cliRegistration = ssoProxyOidcClient({ ...config, publicUrl: `https://127.0.0.1:${cliPort}` });
  const issuer = await createOidcIssuer({
    issuer: issuerUrl,
    backends: [backend],
    defaultBackend: 'local',
    clients: [
      {
        ...registration,
        redirectUris: [...registration.redirectUris, ...cliRegistration.redirectUris],
        postLogoutRedirectUris: [
          ...registration.postLogoutRedirectUris,
          ...cliRegistration.postLogoutRedirectUris,
        ],
      },
    ],
    cookieKeys: [randomBytes(32).toString('hex')],
    // the tests sign the same users in many times
    rateLimiter: new ExchangeRateLimiter({
      perUser: { capacity: 100, refillPerSecond: 1 },
      perSource: { capacity: 1000, refillPerSecond: 10 },
    }),
  });
  holder.issuer = issuer;

  let prometheus: ChildProcess | undefined;
  if (prometheusBin) {
    const pdir = join(dir, 'prometheus');
    await writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${pdir}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        // served under /prometheus/ behind the proxy: the UI's links carry the prefix
        `--web.external-url=${proxy.publicUrl}/prometheus/`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const child = prometheus;
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    });
    let log = '';
    prometheus.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    try {
      await waitFor('prometheus', async () => {
        const r = await fetch(`http://127.0.0.1:${prometheusPort}/prometheus/-/ready`);
        return r.status === 200;
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}; its log:\n${log}`);
    }
  }

  env = {
    dir,
    ca,
    dispatcher,
    issuerServer,
    issuer,
    issuerUrl,
    backend,
    echo,
    echoUrl,
    ...(prometheus ? { prometheus } : {}),
    proxy,
    store,
    clock,
    cliPort,
    cliConfig,
  };
});

after(async () => {
  for (const undo of cleanups.reverse()) await undo().catch((e: unknown) => console.error('cleanup:', e));
});

// ---------------------------------------------------------------- a browser, enough of one

interface Cookie {
  host: string;
  path: string;
  name: string;
  value: string;
  raw: string;
}

interface Res {
  status: number;
  location: string | null;
  body: string;
  url: URL;
  headers: Headers;
}

/** Keeps cookies as a browser does (by host and path, not port), follows nothing by itself. */
class Browser {
  cookies: Cookie[] = [];

  async request(
    url: string | URL,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Res> {
    const u = new URL(url);
    const cookie = this.cookies
      .filter((c) => c.host === u.hostname && u.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const res = await undiciFetch(u, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      dispatcher: env.dispatcher,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: u.origin } : {}),
        ...init.headers,
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const h of res.headers.getSetCookie()) this.#store(u, h);
    return {
      status: res.status,
      location: res.headers.get('location'),
      body: await res.text(),
      url: u,
      headers: res.headers,
    };
  }

  #store(u: URL, header: string): void {
    const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
    this.cookies = this.cookies.filter((c) => !(c.host === u.hostname && c.name === name && c.path === path));
    const expired = attrs.some((a) => /^max-age=0$/i.test(a) || /^expires=.*1970/i.test(a));
    if (!expired && value !== '') this.cookies.push({ host: u.hostname, path, name, value, raw: header });
  }

  cookie(name: string): Cookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }

  /** Follows redirects (GET) until a page answers or maxHops. */
  async follow(url: string | URL, maxHops = 10): Promise<Res> {
    let r = await this.request(url);
    for (let i = 0; i < maxHops && r.location && [301, 302, 303, 307].includes(r.status); i++)
      r = await this.request(new URL(r.location, r.url));
    return r;
  }
}

function formAction(html: string): string {
  const m = /<form method="post" action="([^"]+)"/.exec(html);
  assert.ok(m, `no sign-in form in: ${html.slice(0, 300)}`);
  return m[1]!.replace(/&amp;/g, '&');
}

const proxyUrl = (path: string, base = env.proxy.publicUrl) => `${base}${path}`;

/**
 * GET `path` at the proxy without a session: to the issuer's sign-in form, submit it, back through the
 * callback; returns the final page and what happened on the way.
 */
async function signIn(b: Browser, path: string, user: string, base = env.proxy.publicUrl) {
  const first = await b.request(proxyUrl(path, base));
  assert.equal(first.status, 302, first.body);
  const auth = new URL(first.location!);
  assert.equal(`${auth.origin}${auth.pathname}`, `${env.issuerUrl}/auth`);
  const loginPage = await b.follow(auth);
  assert.equal(loginPage.status, 200, loginPage.body.slice(0, 300));
  let r = await b.request(new URL(formAction(loginPage.body), loginPage.url), {
    method: 'POST',
    form: { backend: 'local', username: user, password: PASSWORD },
  });
  assert.equal(r.status, 303, r.body.slice(0, 300));
  // at the issuer until it sends the browser back to the proxy's callback
  while (r.location && new URL(r.location, r.url).origin !== base)
    r = await b.request(new URL(r.location, r.url));
  const callback = new URL(r.location!, r.url);
  assert.equal(callback.pathname, '/oauth2/callback');
  assert.deepEqual([...callback.searchParams.keys()].sort(), ['code', 'iss', 'state']);
  const back = await b.request(callback);
  assert.equal(back.status, 302, back.body);
  assert.equal(back.location, proxyUrl(path, base));
  const final = await b.follow(back.location);
  return { auth, first, back, final };
}

/** GET with the path exactly as given (fetch would normalize dot segments first). */
function rawStatus(path: string, cookie: string, host?: string): Promise<number> {
  const { port } = new URL(env.proxy.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: Number(port),
        path,
        ca: env.ca.certPem,
        headers: { cookie, ...(host ? { host } : {}) },
        // TLS still checks the certificate for a name it holds, whatever the Host header says
        servername: 'localhost',
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function echoed(r: Res): { url: string; headers: Record<string, string> } {
  assert.equal(r.status, 200, r.body.slice(0, 300));
  return JSON.parse(r.body) as { url: string; headers: Record<string, string> };
}

// ---------------------------------------------------------------- tests

describe('sso-proxy', () => {
  test('health answers without a session', async () => {
    const r = await new Browser().request(proxyUrl('/oauth2/healthz'));
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { status: string }).status, 'ok');
  });

  test('without a session: pages go to the issuer (code + PKCE S256, state, nonce), API calls get 401', async () => {
    const b = new Browser();
    const r = await b.request(proxyUrl('/echo/x'));
    assert.equal(r.status, 302);
    const q = new URL(r.location!).searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'sso-proxy');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok(q.get('code_challenge') && q.get('state') && q.get('nonce'));
    assert.equal(q.get('redirect_uri'), proxyUrl('/oauth2/callback'));
    assert.ok(!r.location!.includes(CLIENT_SECRET));
    const login = b.cookies.find((c) => c.name.startsWith('_kaas_sso_login_'));
    assert.ok(login, 'the sign-in state is kept in a sealed cookie');
    assert.match(login.raw, /Path=\/oauth2\/callback; Max-Age=600; HttpOnly; Secure; SameSite=Lax/);
    const api = await b.request(proxyUrl('/echo/api'), { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    const post = await b.request(proxyUrl('/echo/api'), { method: 'POST' });
    assert.equal(post.status, 401);
  });

  test("one sign-in: Prometheus's UI through the proxy, then a second upstream without signing in again", async (t) => {
    const b = new Browser();
    if (!env.prometheus) t.diagnostic('prometheus is not installed: only the echo upstream runs');
    const start = env.prometheus ? '/prometheus/' : '/echo/first';
    const { final } = await signIn(b, start, 'alice');
    const session = b.cookie('_kaas_sso');
    assert.ok(session, 'a session cookie');
    assert.match(session.raw, /; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
    assert.ok(Buffer.byteLength(session.raw) <= 4096, `${Buffer.byteLength(session.raw)} bytes`);
    assert.ok(!b.cookies.some((c) => c.name.startsWith('_kaas_sso_login_')), 'the sign-in state is cleared');
    if (env.prometheus) {
      // Prometheus redirects / to its (classic) graph page; the page and its assets come through
      assert.equal(final.status, 200, final.body.slice(0, 300));
      assert.equal(final.url.pathname, '/prometheus/classic/graph');
      assert.match(final.body, /<title>Prometheus Time Series Collection and Processing Server<\/title>/);
      const script = /src="(\/prometheus\/classic\/static\/[^"]+\.js[^"]*)"/.exec(final.body)?.[1];
      assert.ok(script, 'the page links its scripts under the prefix');
      const asset = await b.request(proxyUrl(script.replace(/&amp;/g, '&')));
      assert.equal(asset.status, 200);
      const api = await b.request(proxyUrl('/prometheus/api/v1/query?query=up'));
      assert.equal(api.status, 200);
      assert.equal((JSON.parse(api.body) as { status: string }).status, 'success');
    }
    // the second UI: no redirect, the same session
    const r = await b.request(proxyUrl('/echo/second?q=1'));
    const got = echoed(r);
    assert.equal(got.url, '/second?q=1', 'the route strips its prefix');
    assert.equal(got.headers['x-forwarded-user'], 'local:alice');
    assert.deepEqual(got.headers['x-forwarded-groups']!.split(',').sort(), [DEV, OPS].sort());
    assert.match(got.headers.authorization ?? '', /^Bearer \S+$/, 'this route passes the access token');
    assert.equal(got.headers['x-forwarded-proto'], 'https');
    const token = got.headers.authorization!.slice('Bearer '.length);
    assert.ok(!session.value.includes(token), 'the cookie is sealed');
    assert.equal(got.headers.cookie, undefined, "the proxy's cookie never reaches an upstream");
    // an upstream cannot overwrite the session cookie
    assert.equal(b.cookie('_kaas_sso')?.value, session.value);
    assert.equal(b.cookie('app')?.value, '1');
    const me = await b.request(proxyUrl('/oauth2/userinfo'));
    assert.deepEqual((JSON.parse(me.body) as { groups: string[] }).groups.sort(), [DEV, OPS].sort());
  });

  test("a user without the route's role gets 403 with a clear page", async () => {
    const b = new Browser();
    await signIn(b, '/echo/bob', 'bob');
    const target = env.prometheus ? '/prometheus/classic/graph' : '/admin/';
    const r = await b.request(proxyUrl(target));
    assert.equal(r.status, 403);
    assert.match(r.body, /Access denied/);
    assert.match(r.body, /signed in as <strong>local:bob<\/strong>/);
    assert.match(r.body, new RegExp(`<strong>${env.prometheus ? 'prometheus' : 'admin'}</strong>`));
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const admin = await b.request(proxyUrl('/admin/x'));
    assert.equal(admin.status, 403);
    // and signed-in still means nothing more: a forged group header does not help
    const forged = await b.request(proxyUrl('/admin/x'), { headers: { 'x-forwarded-groups': ADMIN } });
    assert.equal(forged.status, 403);
  });

  test("forged identity headers from the client have no effect; the proxy's own reach the upstream", async () => {
    const b = new Browser();
    await signIn(b, '/echo/me', 'alice');
    const got = echoed(
      await b.request(proxyUrl('/echo/me'), {
        headers: {
          'X-Forwarded-User': 'admin',
          'X-Forwarded-Email': 'admin@evil.example',
          'X-Forwarded-Groups': ADMIN,
          'X-Forwarded-Preferred-Username': 'admin',
          'X-Forwarded-Access-Token': 'forged',
          'X-Auth-Request-User': 'admin',
          'X-Auth-Request-Groups': ADMIN,
          Authorization: 'Bearer forged',
        },
      }),
    );
    assert.equal(got.headers['x-forwarded-user'], 'local:alice');
    assert.equal(got.headers['x-forwarded-email'], undefined, 'our issuer sends no email claim');
    assert.ok(!got.headers['x-forwarded-groups']!.includes(ADMIN));
    assert.equal(got.headers['x-forwarded-preferred-username'], undefined);
    assert.equal(got.headers['x-forwarded-access-token'], undefined);
    assert.equal(got.headers['x-auth-request-user'], undefined);
    assert.equal(got.headers['x-auth-request-groups'], undefined);
    assert.notEqual(got.headers.authorization, 'Bearer forged');
    // without a session the forged headers do not get in either
    const anon = await new Browser().request(proxyUrl('/echo/me'), {
      headers: { 'X-Forwarded-User': 'local:alice', 'X-Forwarded-Groups': OPS },
    });
    assert.equal(anon.status, 302);
    // dot segments that would cross into another route are refused (sent raw: URL parsers resolve them)
    const cookie = `_kaas_sso=${b.cookie('_kaas_sso')!.value}`;
    for (const path of ['/echo/%2e%2e/admin/x', '/echo/../admin/x', '/echo/..%2fadmin/x'])
      assert.equal(await rawStatus(path, cookie), 400, path);
  });

  test('a session too big for a 4 KB cookie is kept server-side; the cookie only names it', async () => {
    const b = new Browser();
    const before = env.store.size;
    await signIn(b, '/echo/carol', 'carol');
    const session = b.cookie('_kaas_sso')!;
    assert.ok(Buffer.byteLength(session.raw) < 300, `${Buffer.byteLength(session.raw)} bytes`);
    assert.equal(env.store.size, before + 1);
    const got = echoed(await b.request(proxyUrl('/echo/carol')));
    assert.equal(got.headers['x-forwarded-user'], 'local:carol');
    assert.equal(got.headers['x-forwarded-groups']!.split(',').length, 121);
    if (env.prometheus) assert.equal((await b.request(proxyUrl('/prometheus/classic/graph'))).status, 200);
  });

  test('refresh before expiry: new tokens and current roles, without a new sign-in; a disabled user is out', async () => {
    const b = new Browser();
    await signIn(b, '/echo/dave', 'dave');
    const first = echoed(await b.request(proxyUrl('/echo/dave')));
    const oldCookie = b.cookie('_kaas_sso')!.value;
    await env.backend.setRoles('dave', [OPS, ADMIN]);
    env.clock.skewMs = 11 * 60_000; // past the access token's 10 minutes, for the proxy only
    try {
      const r = await b.request(proxyUrl('/echo/dave'));
      const got = echoed(r);
      assert.notEqual(got.headers.authorization, first.headers.authorization, 'a new access token');
      assert.ok(got.headers['x-forwarded-groups']!.split(',').includes(ADMIN), 'roles as they are now');
      assert.notEqual(b.cookie('_kaas_sso')!.value, oldCookie, 'the cookie is re-sealed');
      assert.equal((await b.request(proxyUrl('/admin/x'))).status, 200);
      // a request still carrying the old cookie gets the refreshed session, not a second refresh
      const stale = new Browser();
      stale.cookies = [{ ...b.cookie('_kaas_sso')!, value: oldCookie }];
      assert.equal(
        echoed(await stale.request(proxyUrl('/echo/dave'))).headers.authorization,
        got.headers.authorization,
      );
      // the sign-in is re-checked at the next refresh: a disabled user is signed out
      await env.backend.setDisabled('dave', true);
      env.clock.skewMs = 22 * 60_000;
      const out = await b.request(proxyUrl('/echo/dave'));
      assert.equal(out.status, 302);
      assert.ok(out.location!.startsWith(`${env.issuerUrl}/auth`));
      assert.equal(b.cookie('_kaas_sso'), undefined, 'the cookie is cleared');
    } finally {
      env.clock.skewMs = 0;
      await env.backend.setDisabled('dave', false);
    }
  });

  test('logout: POST with a same-origin check, cookie cleared, the old cookie dead, signed out at the issuer', async () => {
    const b = new Browser();
    const start = env.prometheus ? '/prometheus/classic/graph' : '/echo/bye';
    await signIn(b, start, 'alice');
    const oldCookie = b.cookie('_kaas_sso')!;

    const cross = await b.request(proxyUrl('/oauth2/sign_out'), {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(cross.status, 403, 'a cross-site sign-out is refused');
    const noOrigin = await b.request(proxyUrl('/oauth2/sign_out'), { method: 'POST' });
    assert.equal(noOrigin.status, 403, 'no Origin and no Referer: refused');
    assert.equal((await b.request(proxyUrl(start))).status, 200, 'still signed in');
    const get = await b.request(proxyUrl('/oauth2/sign_out'));
    assert.equal(get.status, 200, 'GET only shows the button');
    assert.equal((await b.request(proxyUrl(start))).status, 200, 'still signed in after a GET');

    const out = await b.request(proxyUrl('/oauth2/sign_out'), {
      method: 'POST',
      headers: { origin: env.proxy.publicUrl },
    });
    assert.equal(out.status, 303);
    const end = new URL(out.location!);
    assert.equal(`${end.origin}${end.pathname}`, `${env.issuerUrl}/session/end`);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), proxyUrl('/oauth2/signed_out'));
    assert.equal(end.searchParams.get('id_token_hint'), null, 'no token in the URL');
    assert.equal(b.cookie('_kaas_sso'), undefined);

    // a copy of the old cookie no longer opens anything
    const replay = new Browser();
    replay.cookies = [oldCookie];
    assert.equal((await replay.request(proxyUrl(start))).status, 302);

    // the issuer asks to confirm; then back to the proxy's signed-out page
    const confirm = await b.request(end);
    assert.equal(confirm.status, 200);
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.body)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
    assert.ok(action && xsrf, confirm.body);
    const done = await b.request(new URL(action, end), { method: 'POST', form: { xsrf, logout: 'yes' } });
    assert.equal(done.status, 303);
    assert.equal(done.location, proxyUrl('/oauth2/signed_out'));
    const signedOut = await b.request(done.location);
    assert.match(signedOut.body, /You are signed out/);

    // and a new visit needs the password again
    const again = await b.follow(proxyUrl(start));
    assert.equal(again.status, 200);
    assert.equal(again.url.origin, new URL(env.issuerUrl).origin, 'the sign-in form, not the upstream');
    assert.match(again.body, /<form method="post"/);
  });

  test('open redirects are refused; a same-site return path is honoured', async () => {
    const b = new Browser();
    for (const rd of ['https://evil.example', '//evil.example/x', '/\\evil.example', 'evil.example'])
      assert.equal((await b.request(proxyUrl(`/oauth2/start?rd=${encodeURIComponent(rd)}`))).status, 400, rd);
    const start = await b.request(proxyUrl(`/oauth2/start?rd=${encodeURIComponent('/echo/landing?x=1')}`));
    assert.equal(start.status, 302);
    const loginPage = await b.follow(start.location!);
    let r = await b.request(new URL(formAction(loginPage.body), loginPage.url), {
      method: 'POST',
      form: { backend: 'local', username: 'alice', password: PASSWORD },
    });
    while (r.location && new URL(r.location, r.url).origin !== env.proxy.publicUrl)
      r = await b.request(new URL(r.location, r.url));
    const back = await b.request(new URL(r.location!, r.url));
    assert.equal(back.location, proxyUrl('/echo/landing?x=1'));
    // signed in: start goes straight to rd, and still refuses a foreign one
    assert.equal((await b.request(proxyUrl('/oauth2/start?rd=/echo/y'))).location, proxyUrl('/echo/y'));
    assert.equal((await b.request(proxyUrl('/oauth2/start?rd=https://evil.example'))).status, 400);
  });

  test('the callback checks state: a forged or replayed one is refused', async () => {
    const b = new Browser();
    const first = await b.request(proxyUrl('/echo/x'));
    const state = new URL(first.location!).searchParams.get('state')!;
    const forged = await b.request(proxyUrl(`/oauth2/callback?code=abc&state=${'A'.repeat(43)}`));
    assert.equal(forged.status, 400);
    const other = await new Browser().request(proxyUrl(`/oauth2/callback?code=abc&state=${state}`));
    assert.equal(other.status, 400, 'another browser cannot finish this sign-in (login CSRF)');
    const noState = await b.request(proxyUrl('/oauth2/callback?code=abc'));
    assert.equal(noState.status, 400);
  });

  test('abandoned sign-ins (tabs) do not pile up cookies: the callback keeps the newest few', async () => {
    const b = new Browser();
    for (let i = 0; i < 6; i++) assert.equal((await b.request(proxyUrl(`/echo/tab${i}`))).status, 302);
    const pending = () => b.cookies.filter((c) => c.name.startsWith('_kaas_sso_login_')).length;
    assert.equal(pending(), 6);
    await signIn(b, '/echo/tab6', 'alice');
    assert.equal(pending(), 4, 'this one and the oldest of the other six are gone');
  });

  test('a host route: another origin, its own callback, no second password', async () => {
    const b = new Browser();
    await signIn(b, '/echo/h', 'alice');
    const base = env.proxy.publicUrl.replace('127.0.0.1', 'localhost');
    const first = await b.request(`${base}/anything?x=1`);
    assert.equal(first.status, 302);
    const auth = new URL(first.location!);
    assert.equal(auth.searchParams.get('redirect_uri'), `${base}/oauth2/callback`);
    // the issuer still knows the browser: straight back with a code, no sign-in form
    let r = await b.request(auth);
    while (r.location && new URL(r.location, r.url).origin !== base) {
      assert.doesNotMatch(r.body, /<form method="post"/);
      r = await b.request(new URL(r.location, r.url));
    }
    const back = await b.request(new URL(r.location!, r.url));
    assert.equal(back.location, `${base}/anything?x=1`);
    const got = echoed(await b.request(back.location));
    assert.equal(got.url, '/anything?x=1');
    assert.equal(got.headers['x-forwarded-user'], 'local:alice');
    assert.equal(got.headers['x-forwarded-host'], new URL(base).host);
    // the route belongs to that host only
    assert.equal((await b.request(proxyUrl('/anything'))).status, 404);
    // and an unknown Host is not served at all
    const { port } = new URL(env.proxy.url);
    assert.equal(await rawStatus('/echo/x', '', `evil.example:${port}`), 404);
  });

  test('websocket upgrades pass through with the identity', async () => {
    const b = new Browser();
    await signIn(b, '/echo/ws', 'alice');
    const cookie = `_kaas_sso=${b.cookie('_kaas_sso')!.value}`;
    const { port } = new URL(env.proxy.url);
    const talk = (headers: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: env.ca.certPem }, () => {
          s.write(
            `GET /echo/socket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`,
          );
        });
        let got = '';
        s.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.includes('\r\n\r\n') && got.startsWith('HTTP/1.1 101') && !got.includes('ping'))
            s.write('ping');
          if (got.includes('ping') || !got.startsWith('HTTP/1.1 101')) {
            if (got.includes('\r\n\r\n')) {
              s.end();
              resolve(got);
            }
          }
        });
        s.on('error', reject);
      });
    const ok = await talk(
      `Cookie: ${cookie}\r\nOrigin: ${env.proxy.publicUrl}\r\nX-Forwarded-User: admin\r\n`,
    );
    assert.match(ok, /^HTTP\/1\.1 101/);
    assert.match(ok, /X-Echo-User: local:alice/);
    assert.match(ok, /ping$/);
    assert.match(await talk(''), /^HTTP\/1\.1 401/);
    assert.match(await talk(`Cookie: ${cookie}\r\nOrigin: https://evil.example\r\n`), /^HTTP\/1\.1 403/);
  });

  test('`kaasctl sso-proxy --config FILE` serves the same flow', async () => {
    const check = spawnSync(kaasctlBin, ['sso-proxy', '--config', env.cliConfig, '--check'], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /valid \(1 routes\)/);
    const proxy = await startCliProxy(env.cliConfig);
    try {
      const base = `https://127.0.0.1:${env.cliPort}`;
      assert.match(proxy.out(), new RegExp(`listening on ${base}`));
      const b = new Browser();
      await signIn(b, '/cli', 'bob', base);
      const got = echoed(await b.request(`${base}/cli`));
      assert.equal(got.headers['x-forwarded-user'], 'local:bob');
      assert.equal(got.headers.authorization, undefined, 'this route does not pass the token');
      for (const secret of [CLIENT_SECRET, COOKIE_SECRET, b.cookie('_kaas_sso')!.value])
        assert.ok(!proxy.out().includes(secret) && !proxy.err().includes(secret), 'no secret in the logs');
    } finally {
      await proxy.stop();
    }
  });

  test('`kaasctl sso-proxy` with session.storePath: sessions and sign-outs outlive a restart (in memory they do not)', async () => {
    const base = `https://127.0.0.1:${env.cliPort}`;
    const config = async (name: string, session: string[]): Promise<string> => {
      const f = join(env.dir, `sso-proxy-${name}.yaml`);
      await writeFile(
        f,
        `${await readFile(env.cliConfig, 'utf8')}session:\n${session.map((l) => `  ${l}\n`).join('')}`,
      );
      return f;
    };
    /** runs `fn` against a proxy started from `file`, then stops it */
    const withProxy = async <T>(file: string, fn: (out: string) => Promise<T>): Promise<T> => {
      const p = await startCliProxy(file);
      try {
        return await fn(p.out());
      } finally {
        await p.stop();
      }
    };
    type Cookie = NonNullable<ReturnType<Browser['cookie']>>;
    /** a browser that has only `cookie` (each request may clear it from its jar, so one per check) */
    const status = async (cookie: Cookie): Promise<number> => {
      const replay = new Browser();
      replay.cookies = [cookie];
      return (await replay.request(`${base}/cli`)).status;
    };
    /** signs `b` out; its cookie from before */
    const signOut = async (b: Browser): Promise<Cookie> => {
      const old = b.cookie('_kaas_sso')!;
      const out = await b.request(`${base}/oauth2/sign_out`, { method: 'POST', headers: { origin: base } });
      assert.equal(out.status, 303);
      assert.equal(await status(old), 302, 'the old cookie is dead at once');
      return old;
    };

    // server-side sessions in the file: a restart keeps the sign-in, and then its sign-out
    const server = await config('server', ['storage: server', 'storePath: sso-sessions.db']);
    const b = new Browser();
    await withProxy(server, async (out) => {
      assert.match(out, new RegExp(`sessions: ${env.dir}/sso-sessions\\.db \\(kept across restarts\\)`));
      await signIn(b, '/cli', 'bob', base);
    });
    const old = await withProxy(server, async () => {
      assert.equal(
        echoed(await b.request(`${base}/cli`)).headers['x-forwarded-user'],
        'local:bob',
        'still signed in',
      );
      return signOut(b);
    });
    await withProxy(server, async () => assert.equal(await status(old), 302, 'still signed out'));

    // sessions in the cookie: the sign-out (a revocation) is what must be kept
    const afterRestart = async (file: string): Promise<{ signedIn: number; signedOut: number }> => {
      const [stays, leaves] = [new Browser(), new Browser()];
      const [kept, gone] = await withProxy(file, async () => {
        await signIn(stays, '/cli', 'bob', base);
        await signIn(leaves, '/cli', 'bob', base);
        return [stays.cookie('_kaas_sso')!, await signOut(leaves)];
      });
      return withProxy(file, async () => ({ signedIn: await status(kept), signedOut: await status(gone) }));
    };
    assert.deepEqual(
      await afterRestart(await config('cookie-stored', ['storage: cookie', 'storePath: sso-sessions.db'])),
      { signedIn: 200, signedOut: 302 },
    );
    assert.deepEqual(
      await afterRestart(await config('cookie-memory', ['storage: cookie'])),
      { signedIn: 200, signedOut: 200 },
      'in memory, a restart forgets the sign-out: why storePath exists',
    );
  });
});
