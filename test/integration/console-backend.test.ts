// The console's backend for real: one `kaasctl server --sso-proxy-config` process (restarted once),
// Debian's Prometheus and an echo server behind the in-process SSO proxy, and a cookie-keeping
// client that walks the browser's part (redirects, the issuer's sign-in form). No browser: the
// app's journeys are the frontend's Playwright tests.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { parse as parseYaml } from 'yaml';
import { Browser, signIn as signInAt } from '../support/browser-client.ts';
import type { Cookie, SignInUser } from '../support/browser-client.ts';
import type { KaasServer } from '../support/kaasctl.ts';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';
import { freePort } from '../support/ports.ts';

const ADMIN_PASSWORD = 'console-admin-password-1';
const BOB_PASSWORD = 'console-bob-password-12';
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const undo of cleanups.reverse()) await undo().catch((e: unknown) => console.error('cleanup:', e));
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Env {
  dir: string;
  server: KaasServer;
  url: string;
  caFile: string;
  dispatcher: Agent;
  proxyUrl: string;
  proxyPort: number;
  configFile: string;
}
let env: Env;

async function startServer(extra: string[] = []): Promise<KaasServer> {
  const server = await startKaasServer(
    env.dir,
    ['--sso-proxy-config', env.configFile, '--sso-proxy-port', String(env.proxyPort), ...extra],
    { KAAS_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
  cleanups.push(() => server.stop());
  return server;
}

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-console-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  // reports the headers it got: a forged identity header must not arrive
  const echo: HttpServer = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => echo.close(r)));
  const echoPort = (echo.address() as AddressInfo).port;
  const proxyPort = await freePort();
  const promPort = await freePort();
  const configFile = join(dir, 'sso-proxy.yaml');
  // no issuer, secrets, TLS or listen: the server fills them in
  await writeFile(
    configFile,
    [
      'routes:',
      '  - name: prometheus',
      '    pathPrefix: /prometheus/',
      `    upstream: http://127.0.0.1:${promPort}`,
      '    allowedGroups: [cluster-admins]',
      '  - name: echo',
      '    pathPrefix: /echo/',
      `    upstream: http://127.0.0.1:${echoPort}`,
      '    allowedGroups: [cluster-admins]',
      '',
    ].join('\n'),
  );
  env = {
    dir,
    configFile,
    proxyPort,
    proxyUrl: `https://127.0.0.1:${proxyPort}`,
  } as Env;
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      `--web.external-url=${env.proxyUrl}/prometheus/`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  await writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  cleanups.push(async () => {
    if (prometheus.exitCode !== null || prometheus.signalCode !== null || !prometheus.pid) return;
    const exited = new Promise((r) => prometheus.once('exit', r));
    process.kill(prometheus.pid, 'SIGTERM');
    await exited;
  });
  env.server = await startServer();
  env.url = env.server.url;
  env.caFile = join(dir, 'pki', 'ca.crt');
  env.dispatcher = new Agent({ connect: { ca: await readFile(env.caFile, 'utf8') } });
  cleanups.push(() => env.dispatcher.close());
  const bob = await runKaasctl(
    ['user', 'create', 'bob', '--kubeconfig', join(dir, 'admin.kubeconfig'), '--password-stdin'],
    { input: BOB_PASSWORD },
  );
  assert.equal(bob.code, 0, bob.stderr);
  await waitFor('prometheus', async () => {
    const r = await fetch(`http://127.0.0.1:${promPort}/prometheus/-/ready`);
    return r.status === 200;
  });
});

// ---------------------------------------------------------------- a browser, enough of one

const newBrowser = () => new Browser(() => ({ base: env.url, dispatcher: env.dispatcher }));

/** signInAt with the console's origin and callback by default */
function signIn(
  b: Browser,
  start: string,
  user: SignInUser | undefined,
  origin = env.url,
  callbackPath = '/console/callback',
): ReturnType<typeof signInAt> {
  return signInAt(b, start, user, origin, callbackPath);
}

async function consoleLogin(
  b: Browser,
  user = { name: 'admin', password: ADMIN_PASSWORD },
  ret = '/console/',
) {
  const { callback } = await signIn(b, `/console/login?return=${encodeURIComponent(ret)}`, user);
  assert.equal(callback.status, 302, callback.body);
  return callback;
}

async function sessionOf(b: Browser): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await b.request('/console/api/session');
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
}

async function csrf(b: Browser): Promise<string> {
  const s = await sessionOf(b);
  assert.equal(s.status, 200);
  return s.body.csrfToken as string;
}

// ---------------------------------------------------------------- tests

describe('console backend', () => {
  const admin = newBrowser();
  const bob = newBrowser();
  /** the SSO proxy cookie of a session ended by back-channel logout: refused after a restart too */
  let loggedOutProxyCookie: Cookie | undefined;

  test('sign-in: code + PKCE at our issuer, the session cookie, then /api/session', async () => {
    const none = await sessionOf(admin);
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'NotLoggedIn');
    assert.equal(none.body.loginUrl, '/console/login?return=%2Fconsole%2F');

    const first = await admin.request('/console/login?return=/console/clusters/demo');
    assert.equal(first.status, 302);
    const q = new URL(first.location!).searchParams;
    assert.equal(new URL(first.location!).pathname, '/oidc/auth');
    assert.equal(q.get('client_id'), 'kaas-console');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok(q.get('state') && q.get('nonce') && q.get('code_challenge'));
    assert.equal(q.get('redirect_uri'), `${env.url}/console/callback`);
    assert.match(
      admin.cookie('kaas_console_login')!.raw,
      /Path=\/console\/callback; Max-Age=600; Secure; HttpOnly; SameSite=Lax/,
    );

    const back = await consoleLogin(admin, undefined, '/console/clusters/demo?tab=nodes');
    assert.equal(back.location, '/console/clusters/demo?tab=nodes');
    const c = admin.cookie('kaas_console');
    assert.ok(c, 'session cookie set');
    assert.match(c.value, /^[A-Za-z0-9_-]{43}$/, 'an opaque random id');
    assert.match(c.raw, /; Path=\/console; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/);
    assert.equal(admin.cookie('kaas_console_login'), undefined, 'the sign-in cookie is cleared');

    const s = await sessionOf(admin);
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.user, { name: 'local:admin', groups: ['cluster-admins'], extra: {} });
    assert.match(s.body.csrfToken as string, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(s.body.expiresAt as string) > Date.now() + 3600_000);
    assert.equal(s.body.serverUrl, env.url);
  });

  test('a forged or replayed callback is refused with a page that links to login', async () => {
    const b = newBrowser();
    const r = await b.request('/console/callback?code=x&state=y');
    assert.equal(r.status, 400);
    assert.match(r.body, /href="\/console\/login"/);
  });

  test('return= outside /console/ is ignored (open redirects)', async () => {
    for (const ret of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      '/oidc/x',
      '/console/../x',
    ]) {
      // the issuer's session from the first sign-in: no password (its form is rate-limited)
      const { callback, typedPassword } = await signIn(
        admin,
        `/console/login?return=${encodeURIComponent(ret)}`,
        undefined,
      );
      assert.equal(typedPassword, false);
      assert.equal(callback.status, 302);
      assert.equal(callback.location, '/console/', `return=${ret}`);
    }
  });

  test('the Kubernetes API as the signed-in user: RBAC applies, CSRF on every change', async () => {
    const list = await admin.request('/console/k8s/api/v1/namespaces');
    assert.equal(list.status, 200, list.body.slice(0, 300));
    assert.equal((JSON.parse(list.body) as { kind: string }).kind, 'NamespaceList');

    const ns = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'console-csrf' } });
    const json = { 'content-type': 'application/json' };
    const noToken = await admin.request('/console/k8s/api/v1/namespaces', {
      method: 'POST',
      headers: json,
      body: ns,
    });
    assert.equal(noToken.status, 403);
    assert.equal((JSON.parse(noToken.body) as { code: string }).code, 'CsrfFailed');
    const wrong = await admin.request('/console/k8s/api/v1/namespaces', {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': 'A'.repeat(43) },
      body: ns,
    });
    assert.equal(wrong.status, 403);
    const crossSite = await admin.request('/console/k8s/api/v1/namespaces', {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': await csrf(admin), origin: 'https://evil.example' },
      body: ns,
    });
    assert.equal(crossSite.status, 403, 'a foreign Origin is refused even with the token');
    assert.equal(
      (await admin.request('/console/k8s/api/v1/namespaces/console-csrf')).status,
      404,
      'nothing made',
    );

    const ok = await admin.request('/console/k8s/api/v1/namespaces', {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': await csrf(admin) },
      body: ns,
    });
    assert.equal(ok.status, 201, ok.body);

    await consoleLogin(bob, { name: 'bob', password: BOB_PASSWORD });
    const denied = await bob.request('/console/k8s/api/v1/namespaces');
    assert.equal(denied.status, 403, 'the API server refuses bob: passed through');
    const status = JSON.parse(denied.body) as { kind: string; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Forbidden');
    assert.match(status.message, /local:bob/);
    // what the UI asks to decide what to show
    const review = await bob.request('/console/k8s/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      method: 'POST',
      headers: { ...json, 'x-csrf-token': await csrf(bob) },
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'create', resource: 'namespaces' } },
      }),
    });
    assert.equal(review.status, 201, review.body);
    assert.equal((JSON.parse(review.body) as { status: { allowed: boolean } }).status.allowed, false);

    const notApi = await admin.request('/console/k8s/oidc/.well-known/openid-configuration');
    assert.equal(notApi.status, 404, 'only Kubernetes API paths are forwarded');
  });

  test('watches stream through /console/k8s', async () => {
    const list = JSON.parse((await admin.request('/console/k8s/api/v1/namespaces')).body) as {
      metadata: { resourceVersion: string };
    };
    const cookie = `kaas_console=${admin.cookie('kaas_console')!.value}`;
    const ac = new AbortController();
    const res = await undiciFetch(
      `${env.url}/console/k8s/api/v1/namespaces?watch=1&resourceVersion=${list.metadata.resourceVersion}`,
      { dispatcher: env.dispatcher, headers: { cookie }, signal: ac.signal },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), CSP);
    const reader = res.body!.getReader();
    const created = await admin.request('/console/k8s/api/v1/namespaces', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': await csrf(admin) },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'console-watch' } }),
    });
    assert.equal(created.status, 201);
    let text = '';
    const deadline = Date.now() + 30_000;
    while (!text.includes('"console-watch"') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    ac.abort();
    assert.match(text, /"type":"ADDED".*"console-watch"/s, 'the event arrives while the response is open');
  });

  test('kubeconfig download: the exec plugin, the CA embedded; kubectl uses it with a cached token', async () => {
    const r = await admin.request('/console/api/kubeconfig');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename=root.kubeconfig');
    const kc = parseYaml(r.body) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { exec: { command: string; args: string[] } } }[];
    };
    assert.equal(kc.clusters[0]!.cluster.server, env.url);
    assert.equal(
      Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
      await readFile(env.caFile, 'utf8'),
    );
    const exec = kc.users[0]!.user.exec;
    assert.match(exec.command, /kaasctl$/);
    assert.deepEqual(exec.args.slice(0, 2), ['auth', 'token']);
    assert.ok(exec.args.includes('--username') && exec.args.includes('admin'));

    const demo = await admin.request('/console/api/kubeconfig?cluster=demo');
    assert.equal(demo.headers.get('content-disposition'), 'attachment; filename=demo.kubeconfig');
    assert.match(demo.body, new RegExp(`server: ${env.url}/clusters/demo`));
    assert.equal((await admin.request('/console/api/kubeconfig?cluster=..%2Fx')).status, 400);

    const file = join(env.dir, 'console.kubeconfig');
    await writeFile(file, r.body);
    const home = join(env.dir, 'kaas-home');
    const login = await runKaasctl(
      [
        'auth',
        'login',
        '--server',
        env.url,
        '--ca-file',
        env.caFile,
        '--username',
        'admin',
        '--password-stdin',
      ],
      { input: ADMIN_PASSWORD, env: { KAAS_HOME: home, HOME: env.dir } },
    );
    assert.equal(login.code, 0, login.stderr);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'kubectl',
        ['--kubeconfig', file, 'get', 'namespaces', '-o', 'name'],
        { env: { ...process.env, KAAS_HOME: home, HOME: env.dir }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /namespace\/console-csrf/);
  });

  test('info names the server, the login command and the SSO proxy routes', async () => {
    const r = await admin.request('/console/api/info');
    assert.deepEqual(JSON.parse(r.body), {
      serverUrl: env.url,
      loginCommand: `kaasctl auth login --server ${env.url} --ca-file ${env.caFile}`,
      ssoProxyUrl: env.proxyUrl,
      ssoRoutes: [
        { name: 'prometheus', url: `${env.proxyUrl}/prometheus/` },
        { name: 'echo', url: `${env.proxyUrl}/echo/` },
      ],
    });
    assert.ok(env.server.lines.some((l) => l === `console: ${env.url}/console/`));
    assert.ok(env.server.lines.some((l) => l.startsWith(`SSO proxy: ${env.proxyUrl}`)));
  });

  test('the SSO proxy in the same process: no second password after the console sign-in', async () => {
    const { callback, typedPassword, authUrl } = await signIn(
      admin,
      '/prometheus/',
      undefined,
      env.proxyUrl,
      '/oauth2/callback',
    );
    assert.equal(`${authUrl.origin}${authUrl.pathname}`, `${env.url}/oidc/auth`);
    assert.equal(typedPassword, false);
    assert.equal(callback.status, 302, callback.body);
    let r = await admin.request(new URL(callback.location!, env.proxyUrl));
    for (let i = 0; i < 5 && r.location; i++) r = await admin.request(new URL(r.location, r.url));
    assert.equal(r.status, 200, r.body.slice(0, 200));
    assert.match(r.body, /Prometheus/);

    const forged = await admin.request(`${env.proxyUrl}/echo/who`, {
      headers: { 'x-forwarded-user': 'local:root', 'x-forwarded-groups': 'system:masters' },
    });
    const seen = JSON.parse(forged.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-user'], 'local:admin');
    assert.equal(seen.headers['x-forwarded-groups'], 'cluster-admins');

    // bob signed in at the console earlier: the proxy's sign-in is silent for him too
    const bobIn = await signIn(bob, '/prometheus/', undefined, env.proxyUrl, '/oauth2/callback');
    assert.equal(bobIn.typedPassword, false);
    assert.equal(bobIn.callback.status, 302);
    const refused = await bob.request(`${env.proxyUrl}/prometheus/`);
    assert.equal(refused.status, 403, "bob lacks the route's group");
  });

  test('single logout: signing out of the console ends the SSO proxy session too (back-channel)', async () => {
    const SOL_PASSWORD = 'console-sol-password-123';
    const made = await runKaasctl(
      [
        'user',
        'create',
        'sol',
        '--role',
        'cluster-admins',
        '--kubeconfig',
        join(env.dir, 'admin.kubeconfig'),
        '--password-stdin',
      ],
      { input: SOL_PASSWORD },
    );
    assert.equal(made.code, 0, made.stderr);
    const b = newBrowser();
    await consoleLogin(b, { name: 'sol', password: SOL_PASSWORD });
    const proxied = await signIn(b, '/echo/', undefined, env.proxyUrl, '/oauth2/callback');
    assert.equal(proxied.typedPassword, false);
    assert.equal(proxied.callback.status, 302);
    const proxyCookie = b.cookie('_kaas_sso');
    assert.ok(proxyCookie, 'the proxy session cookie');
    const html = { accept: 'text/html' };
    const before = await b.request(`${env.proxyUrl}/echo/who`, { headers: html });
    assert.equal(before.status, 200, before.body.slice(0, 200));
    assert.equal(
      (JSON.parse(before.body) as { headers: Record<string, string> }).headers['x-forwarded-user'],
      'local:sol',
    );

    const out = await b.request('/console/logout', {
      method: 'POST',
      headers: { 'x-csrf-token': await csrf(b) },
    });
    assert.equal(out.status, 200);

    // the same browser, its old proxy cookie still sent: back to sign-in, cookie cleared
    assert.equal(b.cookie('_kaas_sso')?.value, proxyCookie.value, 'the browser still holds the old cookie');
    const after = await b.request(`${env.proxyUrl}/echo/who`, { headers: html });
    assert.equal(after.status, 302, after.body.slice(0, 200));
    assert.equal(new URL(after.location!).pathname, '/oidc/auth');
    assert.match(after.headers.getSetCookie().join('\n'), /_kaas_sso=; .*Max-Age=0/);
    // and the issuer wants the password: nothing signs the proxy back in silently
    const again = await signIn(
      b,
      '/echo/',
      { name: 'sol', password: SOL_PASSWORD },
      env.proxyUrl,
      '/oauth2/callback',
    );
    assert.equal(again.typedPassword, true);
    // a copy of the old cookie (another client) is refused too
    const copy = newBrowser();
    copy.cookies.push({ ...proxyCookie });
    const copied = await copy.request(`${env.proxyUrl}/echo/who`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(copied.status, 401);
    assert.match(env.server.log(), /back-channel logout delivered/);
    loggedOutProxyCookie = proxyCookie;
  });

  test('single logout the other way: signing out at the SSO proxy (and confirming at the issuer) ends the console session', async () => {
    const b = newBrowser();
    await consoleLogin(b, { name: 'sol', password: 'console-sol-password-123' });
    const proxied = await signIn(b, '/echo/', undefined, env.proxyUrl, '/oauth2/callback');
    assert.equal(proxied.typedPassword, false);
    assert.equal((await sessionOf(b)).status, 200);
    const out = await b.request(`${env.proxyUrl}/oauth2/sign_out`, {
      method: 'POST',
      headers: { origin: env.proxyUrl },
    });
    assert.equal(out.status, 303);
    const confirm = await b.request(new URL(out.location!, env.proxyUrl));
    assert.equal(confirm.status, 200, confirm.body.slice(0, 300));
    const action = /<form[^>]*action="([^"]+)"/.exec(confirm.body)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
    assert.ok(action && xsrf, confirm.body.slice(0, 500));
    const done = await b.request(new URL(action.replace(/&amp;/g, '&'), confirm.url), {
      method: 'POST',
      form: { xsrf, logout: 'yes' },
    });
    assert.equal(done.status, 303, done.body.slice(0, 300));
    await waitFor('the console session to end', async () => (await sessionOf(b)).status === 401, 10_000);
    // the line comes through the server's stdout pipe, which may trail the 401
    await waitFor(
      'the console to log the issuer sign-out',
      async () => /console: signed out at the issuer/.test(env.server.log()),
      10_000,
    );
  });

  test('logout needs the CSRF token; then the session and the issuer session are gone', async () => {
    const b = newBrowser();
    await consoleLogin(b);
    const none = await b.request('/console/logout', { method: 'POST' });
    assert.equal(none.status, 403);
    assert.equal((await sessionOf(b)).status, 200, 'still signed in');
    const token = await csrf(b);
    const out = await b.request('/console/logout', { method: 'POST', headers: { 'x-csrf-token': token } });
    assert.equal(out.status, 200);
    assert.deepEqual(JSON.parse(out.body), { loggedOut: true, next: '/console/' });
    assert.match(out.headers.getSetCookie().join('\n'), /kaas_console=; Path=\/console; Max-Age=0/);
    const gone = await sessionOf(b);
    assert.equal(gone.status, 401);
    // the issuer asks for the password again
    const again = await signIn(b, '/console/login', { name: 'admin', password: ADMIN_PASSWORD });
    assert.equal(again.typedPassword, true);
  });

  test('a user disabled meanwhile: the API refuses the token (401 passed through), then the session ends', async () => {
    assert.equal((await bob.request('/console/k8s/apis/authorization.k8s.io/v1')).status, 200);
    const off = await runKaasctl([
      'user',
      'set',
      'bob',
      '--disable',
      '--kubeconfig',
      join(env.dir, 'admin.kubeconfig'),
    ]);
    assert.equal(off.code, 0, off.stderr);
    const refused = await bob.request('/console/k8s/apis/authorization.k8s.io/v1');
    assert.equal(refused.status, 401);
    const ended = await bob.request('/console/k8s/apis/authorization.k8s.io/v1');
    assert.equal(ended.status, 401);
    assert.equal((JSON.parse(ended.body) as { code: string }).code, 'SessionExpired');
    assert.equal((await sessionOf(bob)).status, 401);
  });

  test('every console response carries the CSP, nosniff and same-origin referrer', async () => {
    const anon = newBrowser();
    await anon.request('/console/');
    await anon.request('/console/clusters/x');
    await anon.request('/console/api/info');
    await anon.request('/console/api/nope');
    await anon.request('/console/k8s/api/v1/namespaces');
    await anon.request('/console/login');
    await anon.request('/console/callback');
    await admin.request('/console/k8s/api/v1/namespaces/nope');
    const all = [...anon.seen, ...admin.seen].filter((r) => r.url.pathname.startsWith('/console/'));
    const kinds = new Set(all.map((r) => `${r.status} ${r.headers.get('content-type')?.split(';')[0]}`));
    assert.ok(kinds.size >= 6, [...kinds].join(', '));
    for (const r of all) {
      assert.equal(r.headers.get('content-security-policy'), CSP, r.url.pathname);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', r.url.pathname);
      assert.equal(r.headers.get('referrer-policy'), 'same-origin', r.url.pathname);
    }
  });

  test('sessions survive a restart; a short --console-session-ttl ends in 401 SessionExpired', async () => {
    const code = await env.server.stop();
    assert.equal(code, 0);
    env.server = await startServer(['--console-session-ttl', '3s']);
    env.url = env.server.url;
    // the URL's port is new: a browser keeps cookies by host, so the session goes along
    const s = await sessionOf(admin);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal((await admin.request('/console/k8s/api/v1/namespaces/console-csrf')).status, 200);
    // the issuer's session is in the store too: signing in again needs no password
    const again = await signIn(admin, '/console/login', undefined);
    assert.equal(again.typedPassword, false);
    assert.equal(again.callback.status, 302);
    // and the SSO proxy's cookie secret: its session still opens
    const prom = await admin.request(`${env.proxyUrl}/prometheus/-/ready`);
    assert.equal(prom.status, 200, prom.body.slice(0, 200));
    // the back-channel logout before the restart is in the store too (KvSessionStore): the old
    // cookie, which still opens with the kept secret and has not expired, goes to sign-in
    assert.ok(loggedOutProxyCookie, 'the single logout test ran first');
    const old = newBrowser();
    old.cookies.push({ ...loggedOutProxyCookie });
    const refused = await old.request(`${env.proxyUrl}/echo/who`, { headers: { accept: 'text/html' } });
    assert.equal(refused.status, 302, refused.body.slice(0, 200));
    assert.equal(new URL(refused.location!).pathname, '/oidc/auth');
    assert.match(refused.headers.getSetCookie().join('\n'), /_kaas_sso=; .*Max-Age=0/);

    const short = newBrowser();
    await consoleLogin(short);
    assert.equal((await sessionOf(short)).status, 200);
    await new Promise((r) => setTimeout(r, 3500));
    const ended = await sessionOf(short);
    assert.equal(ended.status, 401);
    assert.equal(ended.body.code, 'SessionExpired');
    assert.equal((await short.request('/console/k8s/api/v1/namespaces')).status, 401);
  });
});
