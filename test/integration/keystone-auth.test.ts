// kubernetes-auth against a real keystone (Debian's package, or the one OS_CLOUD / OS_AUTH_URL
// names): a real `kaasctl server --auth-backend keystone`, kaasctl auth login, and kubectl.
// Projects, users, roles and application credentials are made through keystone's own API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import type { NamedRef } from '@kaas/auth';
import { KeystoneAdmin, KeystoneClient, ServiceToken } from '@kaas/auth';
import { kubectl } from '../support/apiserver.ts';
import type { KaasServer } from '../support/kaasctl.ts';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';
import type { KeystoneForTests } from '../support/keystone.ts';
import { cloudsYamlFor, keystoneForTests } from '../support/keystone.ts';

const suffix = randomBytes(4).toString('hex');
const name = (what: string) => `kaas-it-${what}-${suffix}`;
const password = `pw-${randomBytes(12).toString('base64url')}`;

let ks: KeystoneForTests;
let client: KeystoneClient;
let admin: KeystoneAdmin;
let project: NamedRef;
let member: NamedRef;
let kaasAdmins: NamedRef;
let user: NamedRef;
let dir: string;
let srv: KaasServer;
let adminKc: string;
let ca: string;
const cleanup: (() => Promise<unknown>)[] = [];
const home = () => join(dir, 'home');

before(async () => {
  ks = await keystoneForTests();
  client = new KeystoneClient({
    authUrl: ks.authUrl,
    ...(ks.caBundle ? { caBundle: ks.caBundle } : {}),
    insecure: ks.insecure,
  });
  const token = new ServiceToken({
    client,
    credentials: ks.adminCredentials,
    ...(ks.adminScope ? { scope: ks.adminScope } : {}),
  });
  admin = new KeystoneAdmin(client, () => token.token());
  project = await admin.createProject({ name: name('project') });
  cleanup.push(() => admin.deleteProject(project.id));
  member = await admin.createRole({ name: name('member') });
  cleanup.push(() => admin.deleteRole(member.id));
  kaasAdmins = await admin.createRole({ name: name('kaas-admins') });
  cleanup.push(() => admin.deleteRole(kaasAdmins.id));
  user = await admin.createUser({ name: name('alice'), password });
  cleanup.push(() => admin.deleteUser(user.id));
  await admin.assignRole({ projectId: project.id, userId: user.id, roleId: member.id });

  dir = await mkdtemp(join(tmpdir(), 'kaas-ks-'));
  const clouds = join(dir, 'clouds.yaml');
  await writeFile(clouds, cloudsYamlFor(ks), { mode: 0o600 });
  srv = await startKaasServer(
    join(dir, 'data'),
    ['--auth-backend', 'keystone', '--admin-role-id', kaasAdmins.id, '--token-cache-ttl', '1s'],
    { OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'kaas-test', OS_AUTH_URL: '' },
  );
  adminKc = join(dir, 'data', 'admin.kubeconfig');
  ca = await readFile(join(dir, 'data', 'pki', 'ca.crt'), 'utf8');
});

after(async () => {
  await srv?.stop();
  const errors: unknown[] = [];
  for (const c of cleanup.reverse()) await c().catch((e: unknown) => errors.push(e));
  await client?.close();
  await ks?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
  assert.deepEqual(errors, [], 'keystone objects were cleaned up');
});

function call(
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, srv.url), { method, ca, headers: opts.headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode!, body: text });
        }
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const exchange = (credentials: Record<string, string>, extra: Record<string, unknown> = {}) =>
  call('POST', '/auth/v1/tokens', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ cluster: 'root', credentials, ...extra }),
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` passes (the cache TTL is 1 s; keystone answers in ms). */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(250);
    }
  }
}

test('keystone user: 403 until the role ID is bound, then cluster-admin; role removed -> denied after the TTL', async () => {
  const login = await runKaasctl(
    [
      'auth',
      'login',
      '--kubeconfig',
      adminKc,
      '--backend',
      'keystone',
      '-u',
      user.name,
      '--project',
      project.name,
      '--password-stdin',
    ],
    { input: password, env: { KAAS_HOME: home() } },
  );
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, new RegExp(`signed in to root as keystone:default:${user.name}`));
  assert.match(login.stdout, new RegExp(member.id), 'groups are role IDs');
  const kc = join(home(), 'root.kubeconfig');
  const env = { env: { KAAS_HOME: home() } };

  const who = await kubectl(kc, ['auth', 'whoami', '-o', 'json'], env);
  assert.equal(who.code, 0, who.stderr);
  const info = JSON.parse(who.stdout).status.userInfo;
  assert.equal(info.uid, user.id);
  assert.deepEqual(info.groups, [member.id, `keystone:project:${project.id}`, 'system:authenticated']);
  assert.deepEqual(info.extra['keystone/role-names'], [member.name]);

  const denied = await kubectl(kc, ['get', 'namespaces'], env);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/);

  // RBAC on the role ID: a binding to the member role's ID lets the user read
  const bind = await kubectl(adminKc, [
    'create',
    'clusterrolebinding',
    `view-${suffix}`,
    '--clusterrole',
    'view',
    '--group',
    member.id,
  ]);
  assert.equal(bind.code, 0, bind.stderr);
  const viewing = await kubectl(kc, ['get', 'namespaces'], env);
  assert.equal(viewing.code, 0, viewing.stderr);
  const notYet = await kubectl(kc, ['create', 'namespace', `ks-${suffix}`], env);
  assert.notEqual(notYet.code, 0);
  assert.match(notYet.stderr, /forbidden/);

  // the seed's ClusterRoleBinding names the admin role ID; granting that role in keystone is enough
  await admin.assignRole({ projectId: project.id, userId: user.id, roleId: kaasAdmins.id });
  await eventually(async () => {
    const ok = await kubectl(kc, ['create', 'namespace', `ks-${suffix}`], env);
    assert.equal(ok.code, 0, ok.stderr);
  });

  await admin.unassignRole({ projectId: project.id, userId: user.id, roleId: kaasAdmins.id });
  await eventually(async () => {
    const no = await kubectl(kc, ['delete', 'namespace', `ks-${suffix}`], env);
    assert.notEqual(no.code, 0);
    assert.match(no.stderr, /forbidden/);
  });
});

test('wrong password, disabled user, expired token, token for another cluster: 401 with the reason', async () => {
  const wrong = await exchange(
    { type: 'password', username: user.name, project: project.name, password: 'nope-nope-nope' },
    { backend: 'keystone' },
  );
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.message, /keystone/);

  const short = await exchange(
    { type: 'password', username: user.name, project: project.name, password },
    { ttlSeconds: 1 },
  );
  assert.equal(short.status, 201, JSON.stringify(short.body));
  await sleep(2100);
  const expired = await call('GET', '/api/v1/namespaces', {
    headers: { Authorization: `Bearer ${short.body.token}` },
  });
  assert.equal(expired.status, 401);
  assert.match(expired.body.message, /token expired/);

  assert.equal((await kubectl(adminKc, ['get', '--raw', '/clusters/ks-other/api/v1/namespaces'])).code, 0);
  const other = await call('POST', '/auth/v1/tokens', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      cluster: 'ks-other',
      credentials: { type: 'password', username: user.name, project: project.name, password },
    }),
  });
  assert.equal(other.status, 201);
  const foreign = await call('GET', '/api/v1/namespaces', {
    headers: { Authorization: `Bearer ${other.body.token}` },
  });
  assert.equal(foreign.status, 401);
  assert.match(foreign.body.message, /another cluster/);

  const live = await exchange({ type: 'password', username: user.name, project: project.name, password });
  assert.equal(live.status, 201);
  const bearer = { Authorization: `Bearer ${live.body.token}` };
  assert.equal((await call('GET', '/apis/authentication.k8s.io/v1', { headers: bearer })).status, 200);
  await admin.disableUser(user.id);
  try {
    await eventually(async () => {
      const r = await call('GET', '/apis/authentication.k8s.io/v1', { headers: bearer });
      assert.equal(r.status, 401);
      assert.match(r.body.message, /identity provider no longer accepts this user/);
    });
    const again = await exchange({ type: 'password', username: user.name, project: project.name, password });
    assert.equal(again.status, 401);
  } finally {
    await admin.updateUser(user.id, { enabled: true });
  }

  const log = srv.log();
  assert.ok(!log.includes(password), 'the password is never logged');
  for (const t of [short.body.token, other.body.token, live.body.token]) assert.ok(!log.includes(t));
  assert.doesNotMatch(log, /gAAAAA/, 'no keystone (Fernet) token in the log');
});

test('application credential sign-in', async () => {
  const userToken = await client.authenticate(
    { type: 'password', user: { id: user.id }, password },
    { scope: { project: { id: project.id } } },
  );
  const ac = await admin.createApplicationCredential(userToken.token, user.id, { name: name('ac') });
  const r = await exchange({ type: 'application-credential', id: ac.id, secret: ac.secret });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.uid, user.id);
  const who = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    headers: { Authorization: `Bearer ${r.body.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
  });
  assert.equal(who.status, 201, JSON.stringify(who.body));
  assert.deepEqual(who.body.status.userInfo.extra['keystone/application-credential-id'], [ac.id]);
  // deleting the application credential in keystone ends our token at the next check
  await admin.deleteApplicationCredential(userToken.token, user.id, ac.id);
  await eventually(async () => {
    const after = await call('GET', '/api/v1/namespaces', {
      headers: { Authorization: `Bearer ${r.body.token}` },
    });
    assert.equal(after.status, 401);
  });
});
