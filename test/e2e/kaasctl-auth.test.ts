// kubernetes-auth end to end with the local identity backend: a real `kaasctl server`, the real
// `kaasctl auth`/`user` commands, and the real kubectl using the exec-plugin kubeconfigs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { kubectl } from '../support/apiserver.ts';
import type { KaasServer } from '../support/kaasctl.ts';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';

const adminPassword = 'first-start-admin-password';
let dir: string;
let home: string;
let srv: KaasServer;
let adminKc: string;
let ca: string;
const env = () => ({ KAAS_HOME: home });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaas-auth-'));
  home = join(dir, 'home');
  srv = await startKaasServer(join(dir, 'data'), ['--token-cache-ttl', '1s'], {
    KAAS_ADMIN_PASSWORD: adminPassword,
  });
  adminKc = join(dir, 'data', 'admin.kubeconfig');
  ca = await readFile(join(dir, 'data', 'pki', 'ca.crt'), 'utf8');
});

after(async () => {
  await srv?.stop();
  await rm(dir, { recursive: true, force: true });
});

function call(
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; cert?: { cert: string; key: string } } = {},
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, srv.url),
      { method, ca, headers: opts.headers, ...opts.cert },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let body: any = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode!, body, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = { 'Content-Type': 'application/json' };

async function tokenFor(username: string, password: string, cluster = 'root'): Promise<string> {
  const r = await call('POST', '/auth/v1/tokens', {
    headers: json,
    body: JSON.stringify({ cluster, credentials: { type: 'password', username, password } }),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token as string;
}

test('bootstrap admin: KAAS_ADMIN_PASSWORD, login, kubectl through the exec plugin', async () => {
  assert.ok(!srv.lines.some((l) => l.includes(adminPassword)), 'a given password is never printed');
  const login = await runKaasctl(
    ['auth', 'login', '--kubeconfig', adminKc, '-u', 'admin', '--password-stdin'],
    {
      input: adminPassword,
      env: env(),
    },
  );
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /signed in to root as local:admin \(groups: cluster-admins\)/);
  const kc = join(home, 'root.kubeconfig');
  assert.equal(((await stat(kc)).mode & 0o777).toString(8), '600');
  assert.equal(((await stat(join(home, 'tokens.json'))).mode & 0o777).toString(8), '600');
  assert.doesNotMatch(await readFile(kc, 'utf8'), /kaas_/, 'the kubeconfig holds no token, only the plugin');
  const who = await kubectl(kc, ['auth', 'whoami', '-o', 'json'], { env: env() });
  assert.equal(who.code, 0, who.stderr);
  const info = JSON.parse(who.stdout).status.userInfo;
  assert.equal(info.username, 'local:admin');
  assert.deepEqual(info.groups, ['cluster-admins', 'system:authenticated']);
  // cluster-admin through the seed's binding of the role
  const crb = await kubectl(adminKc, [
    'get',
    'clusterrolebinding',
    'cluster-admin-rolebinding',
    '-o',
    'json',
  ]);
  assert.equal(crb.code, 0, crb.stderr);
  assert.deepEqual(JSON.parse(crb.stdout).subjects, [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'cluster-admins' },
  ]);
  const ns = await kubectl(kc, ['create', 'namespace', 'team-a'], { env: env() });
  assert.equal(ns.code, 0, ns.stderr);
});

test('a user without a binding gets 403, then works once their role is bound', async () => {
  const create = await runKaasctl([
    'user',
    'create',
    'alice',
    '--role',
    'developers',
    '--kubeconfig',
    adminKc,
    '-o',
    'json',
  ]);
  assert.equal(create.code, 0, create.stderr);
  const created = JSON.parse(create.stdout);
  assert.equal(created.passwordHash, undefined, 'the hash never leaves the server');
  const password = created.generatedPassword as string;
  assert.ok(password.length >= 20);
  const login = await runKaasctl(
    [
      'auth',
      'login',
      '--kubeconfig',
      adminKc,
      '-u',
      'alice',
      '--password-stdin',
      '--cluster',
      'root',
      '--write-kubeconfig',
      join(home, 'alice.kubeconfig'),
    ],
    { input: password, env: env() },
  );
  assert.equal(login.code, 0, login.stderr);
  const kc = join(home, 'alice.kubeconfig');
  const denied = await kubectl(kc, ['get', 'pods', '-n', 'team-a'], { env: env() });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden: User "local:alice" cannot list resource "pods"/);
  const bind = await kubectl(adminKc, [
    'create',
    'rolebinding',
    'devs',
    '--clusterrole',
    'edit',
    '--group',
    'developers',
    '-n',
    'team-a',
  ]);
  assert.equal(bind.code, 0, bind.stderr);
  const allowed = await kubectl(kc, ['get', 'pods', '-n', 'team-a'], { env: env() });
  assert.equal(allowed.code, 0, allowed.stderr);
  const can = await kubectl(kc, ['auth', 'can-i', 'delete', 'deployments', '-n', 'team-a'], { env: env() });
  assert.equal(can.stdout.trim(), 'yes');
  const cannot = await kubectl(kc, ['auth', 'can-i', 'get', 'secrets', '-n', 'kube-system'], { env: env() });
  assert.equal(cannot.stdout.trim(), 'no');
  // user administration is cluster-admin's: alice may not create users
  const escalate = await runKaasctl(
    ['user', 'create', 'mallory', '--role', 'cluster-admins', '--kubeconfig', kc],
    { env: env() },
  );
  assert.equal(escalate.code, 5);
  assert.match(escalate.stderr, /cannot post path "\/auth\/v1\/users"/);
});

test('wrong password, unknown user, disabled user, revoked and foreign tokens: 401 with the reason', async () => {
  const wrong = await runKaasctl(
    ['auth', 'login', '--kubeconfig', adminKc, '-u', 'admin', '--password-stdin'],
    {
      input: 'not-the-password',
      env: { KAAS_HOME: join(dir, 'other-home') },
    },
  );
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /invalid username or password/);
  const nobody = await call('POST', '/auth/v1/tokens', {
    headers: json,
    body: JSON.stringify({
      cluster: 'root',
      credentials: { type: 'password', username: 'nobody', password: 'x'.repeat(12) },
    }),
  });
  assert.equal(nobody.status, 401);
  assert.equal(nobody.body.message, 'Unauthorized: invalid username or password', 'no user enumeration');

  await runKaasctl(['user', 'create', 'bob', '--kubeconfig', adminKc, '--password-stdin'], {
    input: 'bob-password-1234',
  });
  const bob = await tokenFor('bob', 'bob-password-1234');
  const asBob = { Authorization: `Bearer ${bob}` };
  assert.equal((await call('GET', '/api/v1/namespaces/default', { headers: asBob })).status, 403);

  // a token for another cluster
  // the logical cluster "other" comes into being on first use
  assert.equal((await kubectl(adminKc, ['get', '--raw', '/clusters/other/api/v1/namespaces'])).code, 0);
  const other = await tokenFor('bob', 'bob-password-1234', 'other');
  const foreign = await call('GET', '/api/v1/namespaces', { headers: { Authorization: `Bearer ${other}` } });
  assert.equal(foreign.status, 401);
  assert.match(foreign.body.message, /token is for another cluster.*kaasctl auth token --cluster root/);
  const home2 = await call('GET', '/clusters/other/api/v1/namespaces', {
    headers: { Authorization: `Bearer ${other}` },
  });
  assert.equal(home2.status, 403, 'authenticated in its own cluster (no rights there yet)');

  // disabling the user ends their live tokens at once
  const disable = await runKaasctl(['user', 'set', 'bob', '--disable', '--kubeconfig', adminKc]);
  assert.equal(disable.code, 0, disable.stderr);
  assert.match(disable.stdout, /2 token\(s\) revoked/);
  const after = await call('GET', '/api/v1/namespaces/default', { headers: asBob });
  assert.equal(after.status, 401);
  assert.match(after.body.message, /token revoked/);
  const relogin = await call('POST', '/auth/v1/tokens', {
    headers: json,
    body: JSON.stringify({
      cluster: 'root',
      credentials: { type: 'password', username: 'bob', password: 'bob-password-1234' },
    }),
  });
  assert.equal(relogin.status, 401);

  // log out: the cached token is revoked on the server
  const alice = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')).tokens.find(
    (t: { username: string }) => t.username === 'alice',
  );
  const out = await runKaasctl(['auth', 'revoke', '--cluster', 'root', '--kubeconfig', adminKc], {
    env: env(),
  });
  assert.equal(out.code, 0, out.stderr);
  const revoked = await call('GET', '/api/v1/namespaces/team-a/pods', {
    headers: { Authorization: `Bearer ${alice.token}` },
  });
  assert.equal(revoked.status, 401);
});

test('TokenReview webhook: the URL names the cluster, the body is what kube-apiserver sends', async () => {
  const admin = await tokenFor('admin', adminPassword);
  // the caller is a kube-apiserver with a client certificate from our CA
  const cert = {
    cert: await readFile(join(dir, 'data', 'pki', 'admin.crt'), 'utf8'),
    key: await readFile(join(dir, 'data', 'pki', 'admin.key'), 'utf8'),
  };
  const review = (token: string, cluster: string, extra: Record<string, unknown> = {}) =>
    call(
      'POST',
      `${cluster === 'root' ? '' : `/clusters/${cluster}`}/apis/authentication.k8s.io/v1/tokenreviews`,
      {
        headers: json,
        cert,
        body: JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...extra },
        }),
      },
    );
  const ok = await review(admin, 'root', { audiences: ['root'] });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.status.authenticated, true);
  assert.equal(ok.body.status.user.username, 'local:admin');
  assert.deepEqual(ok.body.status.user.groups, ['cluster-admins']);
  assert.deepEqual(ok.body.status.audiences, ['root']);
  assert.equal(ok.body.spec.token, undefined, 'the token is never echoed');
  const wrongCluster = await review(admin, 'other');
  assert.equal(wrongCluster.status, 201, JSON.stringify(wrongCluster.body));
  assert.equal(wrongCluster.body.status.authenticated, false, 'a root token is refused for cluster "other"');
  const junk = await review('not-a-token', 'root');
  assert.equal(junk.body.status.authenticated, false);
  const malformed = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    headers: json,
    cert,
    body: JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 42 },
    }),
  });
  assert.equal(malformed.body.status.authenticated, false);
  assert.match(malformed.body.status.error, /spec.token/);
  const long = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    headers: json,
    cert,
    body: JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 'x'.repeat(100_000) },
    }),
  });
  assert.equal(long.body.status.authenticated, false);
  assert.match(long.body.status.error, /spec.token: longer than 8192/);
});

test('bad input and attacks on the exchange: clear 4xx, rate limits, no secrets in the log', async () => {
  const bad = await call('POST', '/auth/v1/tokens', {
    headers: json,
    body: JSON.stringify({ cluster: 'Root!', credentials: { type: 'password', username: 'a' }, extra: 1 }),
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /extra: unknown field/);
  assert.match(bad.body.message, /cluster: /);
  assert.match(bad.body.message, /credentials.password: required/);
  const form = await call('POST', '/auth/v1/tokens', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'username=admin&password=x',
  });
  assert.equal(form.status, 415, 'a cross-site form post cannot reach the exchange');
  const notJson = await call('POST', '/auth/v1/tokens', { headers: json, body: '{' });
  assert.equal(notJson.status, 400);
  const big = await call('POST', '/auth/v1/tokens', {
    headers: json,
    body: JSON.stringify({ pad: 'x'.repeat(100_000) }),
  });
  assert.equal(big.status, 413);
  const junkBearer = await call('GET', '/api/v1/namespaces', {
    headers: { Authorization: 'Bearer kaas_' + 'A'.repeat(43) },
  });
  assert.equal(junkBearer.status, 401);
  assert.match(junkBearer.body.message, /unknown token/);

  // brute force on one user: 5 tries, then 429 with Retry-After; other users are unaffected
  const statuses: number[] = [];
  let retryAfter: unknown;
  for (let i = 0; i < 7; i++) {
    const r = await call('POST', '/auth/v1/tokens', {
      headers: json,
      body: JSON.stringify({
        cluster: 'root',
        credentials: { type: 'password', username: 'victim', password: `guess-number-${i}` },
      }),
    });
    statuses.push(r.status);
    retryAfter ??= r.headers['retry-after'];
  }
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.deepEqual(statuses.slice(5), [429, 429]);
  assert.ok(Number(retryAfter) >= 1);

  const log = srv.log();
  assert.match(log, /credentials refused/, 'refusals are logged');
  for (const secret of [adminPassword, 'bob-password-1234', 'guess-number-1'])
    assert.ok(!log.includes(secret), `the log never holds a password (${secret})`);
  assert.doesNotMatch(log, /kaas_[A-Za-z0-9_-]{43}/, 'the log never holds a token');
});

test('a restart keeps users and tokens, and does not print or change the admin password', async () => {
  const admin = await tokenFor('admin', adminPassword);
  await srv.stop();
  srv = await startKaasServer(join(dir, 'data'), [], { KAAS_ADMIN_PASSWORD: 'another-password-now' });
  assert.ok(!srv.lines.some((l) => /password/.test(l)));
  const r = await call('GET', '/api/v1/namespaces', { headers: { Authorization: `Bearer ${admin}` } });
  assert.equal(r.status, 200);
  assert.equal(
    (
      await call('POST', '/auth/v1/tokens', {
        headers: json,
        body: JSON.stringify({
          cluster: 'root',
          credentials: { type: 'password', username: 'admin', password: 'another-password-now' },
        }),
      })
    ).status,
    401,
  );
});

test('without KAAS_ADMIN_PASSWORD a password is generated and printed exactly once', async () => {
  const d = await mkdtemp(join(tmpdir(), 'kaas-auth-gen-'));
  try {
    const s = await startKaasServer(d);
    const line = s.lines.find((l) => l.includes('shown only now'));
    const password = /: (\S+)$/.exec(line ?? '')?.[1];
    assert.ok(password && password.length >= 24, s.lines.join('\n'));
    assert.ok(!s.log().includes(password), 'not in the log');
    await s.stop();
    const again = await startKaasServer(d);
    assert.ok(!again.lines.some((l) => l.includes('shown only now')));
    await again.stop();
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

test('the server is an OpenID Connect issuer at /oidc with a key that survives restarts', async () => {
  const disco = await call('GET', '/oidc/.well-known/openid-configuration');
  assert.equal(disco.status, 200, JSON.stringify(disco.body));
  assert.equal(disco.body.issuer, `${srv.url}/oidc`);
  assert.ok(disco.body.code_challenge_methods_supported.includes('S256'));
  const jwks = await call('GET', new URL(disco.body.jwks_uri as string).pathname);
  assert.equal(jwks.status, 200);
  const kid = jwks.body.keys[0].kid as string;
  assert.equal(jwks.body.keys[0].d, undefined, 'only public keys are published');
  await srv.stop();
  srv = await startKaasServer(join(dir, 'data'));
  const again = await call('GET', '/oidc/.well-known/openid-configuration');
  const jwks2 = await call('GET', new URL(again.body.jwks_uri as string).pathname);
  assert.equal(jwks2.body.keys[0].kid, kid);
});

test('kaasctl server enforces the seed pod rules; a cluster user cannot lift them', async () => {
  const admin = await tokenFor('admin', adminPassword);
  const asAdmin = { ...json, Authorization: `Bearer ${admin}` };
  const pod = await call('POST', '/api/v1/namespaces/default/pods', {
    headers: asAdmin,
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rooty' },
      spec: {
        hostNetwork: true,
        containers: [{ name: 'c', image: 'nginx', securityContext: { privileged: true } }],
      },
    }),
  });
  assert.equal(pod.status, 403);
  assert.match(pod.body.message, /violates PodSecurity "restricted:latest"/);
  assert.match(pod.body.message, /host namespaces/);
  assert.match(pod.body.message, /privileged/);
  // even cluster-admin through RBAC is not an operator: the namespace level stays
  const relabel = await call('PATCH', '/api/v1/namespaces/default', {
    headers: { ...asAdmin, 'Content-Type': 'application/merge-patch+json' },
    body: JSON.stringify({ metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } }),
  });
  assert.equal(relabel.status, 403, JSON.stringify(relabel.body));
});
