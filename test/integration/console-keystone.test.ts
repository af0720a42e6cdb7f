// Keystone users in the console, against a real keystone (Debian's, or OS_CLOUD / OS_AUTH_URL):
// a real `kaasctl server --auth-backend local,keystone`, sign-in with the keystone password at
// the issuer's page, the Kubernetes API through /console/k8s as that keystone user (RBAC on the
// keystone role ID), the keystone token re-checked by the API server (a role removed in keystone
// ends the console session), and no keystone token anywhere a browser or a log could see it.
// Then users of another keystone domain: the sign-in page's domain field, the same name in two
// domains, an unknown domain, the console's login command run as shown, and the SSO proxy (an
// echo server behind the server's own proxy) seeing the domain's user.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { NamedRef } from '@kaas/auth';
import { KeystoneAdmin, KeystoneClient, ServiceToken } from '@kaas/auth';
import { kubectl } from '../support/apiserver.ts';
import { Browser, formAction, signIn } from '../support/browser-client.ts';
import type { Res, SignInUser } from '../support/browser-client.ts';
import type { KaasServer } from '../support/kaasctl.ts';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';
import type { KeystoneForTests } from '../support/keystone.ts';
import { cloudsYamlFor, keystoneForTests } from '../support/keystone.ts';
import { freePort } from '../support/ports.ts';

const suffix = randomBytes(4).toString('hex');
const name = (what: string) => `kaas-ct-${what}-${suffix}`;
const password = `pw-${randomBytes(12).toString('base64url')}`;

let ks: KeystoneForTests;
let client: KeystoneClient;
let admin: KeystoneAdmin;
let project: NamedRef;
let member: NamedRef;
let fleetViewers: NamedRef;
let viewer: NamedRef;
let outsider: NamedRef;
let dir: string;
let srv: KaasServer;
let dispatcher: Agent;
/** the server's SSO proxy; its route `echo` (an echo server: the headers it got) allows fleetViewers */
let proxyUrl: string;
let echo: HttpServer;
const cleanup: (() => Promise<unknown>)[] = [];

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
  fleetViewers = await admin.createRole({ name: name('fleet-viewers') });
  cleanup.push(() => admin.deleteRole(fleetViewers.id));
  viewer = await admin.createUser({ name: name('vic'), password });
  cleanup.push(() => admin.deleteUser(viewer.id));
  outsider = await admin.createUser({ name: name('otto'), password });
  cleanup.push(() => admin.deleteUser(outsider.id));
  for (const u of [viewer, outsider])
    await admin.assignRole({ projectId: project.id, userId: u.id, roleId: member.id });
  await admin.assignRole({ projectId: project.id, userId: viewer.id, roleId: fleetViewers.id });

  dir = await mkdtemp(join(tmpdir(), 'kaas-console-ks-'));
  const clouds = join(dir, 'clouds.yaml');
  await writeFile(clouds, cloudsYamlFor(ks), { mode: 0o600 });
  echo = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ headers: req.headers }));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const proxyPort = await freePort();
  proxyUrl = `https://127.0.0.1:${proxyPort}`;
  const ssoConfig = join(dir, 'sso-proxy.yaml');
  await writeFile(
    ssoConfig,
    [
      'routes:',
      '  - name: echo',
      '    pathPrefix: /echo/',
      `    upstream: http://127.0.0.1:${(echo.address() as AddressInfo).port}`,
      `    allowedGroups: ["${fleetViewers.id}"]`,
      '',
    ].join('\n'),
  );
  srv = await startKaasServer(
    join(dir, 'data'),
    [
      '--auth-backend',
      'local,keystone',
      '--token-cache-ttl',
      '1s',
      '--sso-proxy-config',
      ssoConfig,
      '--sso-proxy-port',
      String(proxyPort),
    ],
    { OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'kaas-test', OS_AUTH_URL: '' },
  );
  dispatcher = new Agent({ connect: { ca: await readFile(join(dir, 'data', 'pki', 'ca.crt'), 'utf8') } });
  // the keystone role ID may read the fleet (Clusters), nothing else
  const rbac = [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata: {name: fleet-viewer}',
    'rules:',
    '- {apiGroups: [kaas.dev], resources: [clusters], verbs: [get, list, watch]}',
    '---',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRoleBinding',
    'metadata: {name: fleet-viewers}',
    'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: fleet-viewer}',
    `subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "${fleetViewers.id}"}]`,
    '',
  ].join('\n');
  const applied = await kubectl(join(dir, 'data', 'admin.kubeconfig'), ['apply', '-f', '-'], { input: rbac });
  assert.equal(applied.code, 0, applied.stderr);
});

after(async () => {
  await srv?.stop();
  if (echo) await new Promise((r) => echo.close(r));
  await dispatcher?.close();
  const errors: unknown[] = [];
  for (const c of cleanup.reverse()) await c().catch((e: unknown) => errors.push(e));
  await client?.close();
  await ks?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
  assert.deepEqual(errors, [], 'keystone objects were cleaned up');
});

const browser = () => new Browser(() => ({ base: srv.url, dispatcher }));
const keystoneUser = (u: NamedRef): SignInUser => ({
  name: u.name,
  password,
  backend: 'keystone',
  project: project.name,
});

async function consoleLogin(b: Browser, user: SignInUser): Promise<void> {
  const { callback, typedPassword } = await signIn(b, '/console/login', user, srv.url);
  assert.equal(typedPassword, true);
  assert.equal(callback.status, 302, callback.body);
  assert.equal(callback.location, '/console/');
}

async function session(b: Browser): Promise<{ status: number; body: any }> {
  const r = await b.request('/console/api/session');
  return { status: r.status, body: JSON.parse(r.body) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CLUSTERS = '/console/k8s/apis/kaas.dev/v1alpha1/namespaces/default/clusters';

describe('console with keystone users', () => {
  const vic = browser();
  const otto = browser();

  test('a keystone user signs in with the keystone password; the session is theirs', async () => {
    await consoleLogin(vic, keystoneUser(viewer));
    const s = await session(vic);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.user.name, `keystone:default:${viewer.name}`);
    assert.ok(s.body.user.groups.includes(fleetViewers.id), 'the role ID is a group');
    assert.ok(s.body.user.groups.includes(`keystone:project:${project.id}`));
    assert.deepEqual(s.body.user.extra['keystone/project-name'], [project.name]);
    assert.match(
      s.body.loginCommand,
      new RegExp(
        `^kaasctl auth login --server \\S+ --ca-file \\S+ --backend keystone --username ${viewer.name} --project ${project.name}$`,
      ),
    );
    // nothing a browser holds carries a keystone token
    for (const c of vic.cookies) assert.doesNotMatch(c.value, /^gAAAA/);
    assert.doesNotMatch(JSON.stringify(s.body), /gAAAA/);
  });

  test('the fleet their RBAC allows; everything else is a 403 from the API, not an error', async () => {
    const list = await vic.request(CLUSTERS);
    assert.equal(list.status, 200, list.body.slice(0, 300));
    assert.equal((JSON.parse(list.body) as { kind: string }).kind, 'ClusterList');
    const all = await vic.request('/console/k8s/apis/kaas.dev/v1alpha1/clusters');
    assert.equal(all.status, 200, 'every namespace, as the fleet view asks');

    const csrfToken = (await session(vic)).body.csrfToken as string;
    const create = await vic.request(CLUSTERS, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify({
        apiVersion: 'kaas.dev/v1alpha1',
        kind: 'Cluster',
        metadata: { name: 'nope' },
        spec: {},
      }),
    });
    assert.equal(create.status, 403, create.body.slice(0, 300));
    const status = JSON.parse(create.body) as { reason: string; message: string };
    assert.equal(status.reason, 'Forbidden');
    assert.ok(status.message.includes(`keystone:default:${viewer.name}`), status.message);
    const review = await vic.request('/console/k8s/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'create', resource: 'clusters', group: 'kaas.dev' } },
      }),
    });
    assert.equal(review.status, 201, review.body);
    assert.equal((JSON.parse(review.body) as { status: { allowed: boolean } }).status.allowed, false);
    assert.equal((await vic.request('/console/k8s/api/v1/namespaces')).status, 403);

    // a keystone user without the role: signed in, but not allowed to list the fleet
    await consoleLogin(otto, keystoneUser(outsider));
    const denied = await otto.request(CLUSTERS);
    assert.equal(denied.status, 403, denied.body.slice(0, 300));
  });

  test('the kubeconfig names the keystone user and project for kaasctl auth token', async () => {
    const r = await vic.request('/console/api/kubeconfig');
    assert.equal(r.status, 200);
    const kc = parseYaml(r.body) as { users: { user: { exec: { args: string[] } } }[] };
    const args = kc.users[0]!.user.exec.args;
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(after('--username'), viewer.name);
    assert.equal(after('--backend'), 'keystone');
    assert.equal(after('--project'), project.name);
  });

  test('the role removed in keystone: the API refuses the kept keystone token, the session ends', async () => {
    assert.equal((await vic.request(CLUSTERS)).status, 200);
    await admin.unassignRole({ projectId: project.id, userId: viewer.id, roleId: fleetViewers.id });
    // the token cache TTL is 1 s; keystone's own cache may lag a little behind its writes
    const end = Date.now() + 30_000;
    let last = 0;
    while (Date.now() < end) {
      last = (await vic.request(CLUSTERS)).status;
      if (last !== 200) break;
      await sleep(500);
    }
    // keystone re-derives the token's roles: the user still has `member`, so the token lives,
    // but the groups shrank and RBAC says no
    assert.equal(last, 403, 'the removed role ID no longer grants the fleet');
    // the last role removed: keystone refuses the token itself, the console session ends
    await admin.unassignRole({ projectId: project.id, userId: viewer.id, roleId: member.id });
    const until = Date.now() + 30_000;
    let code = '';
    while (Date.now() < until) {
      const r = await vic.request(CLUSTERS);
      if (r.status === 401) code = (JSON.parse(r.body) as { code?: string }).code ?? code;
      if (code === 'SessionExpired') break;
      await sleep(500);
    }
    assert.equal(code, 'SessionExpired');
    assert.equal((await session(vic)).status, 401);
  });

  test('logout ends it; no password or keystone token in the server log', async () => {
    const csrfToken = (await session(otto)).body.csrfToken as string;
    const out = await otto.request('/console/logout', {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken },
    });
    assert.equal(out.status, 200);
    assert.equal((await session(otto)).status, 401);
    const log = srv.log();
    assert.ok(!log.includes(password), 'the password is never logged');
    assert.doesNotMatch(log, /gAAAAA/, 'no keystone (Fernet) token in the log');
    assert.match(log, /console: signed in/);
  });
});

// A keystone domain other than Default: the form's domain field, the same user name in two
// domains with two passwords, an unknown domain, and the login command the console shows.
describe('console with keystone users of another domain', () => {
  const otherPassword = `pw-${randomBytes(12).toString('base64url')}`;
  const twinName = name('dee');
  const crossName = name('cross');
  let domain: NamedRef;
  let domainProject: NamedRef;
  let inDomain: NamedRef;
  const dee = browser();
  /** the Default user of the same name */
  const twin = browser();

  before(async () => {
    domain = await admin.createDomain({ name: name('domain') });
    // deleting the domain deletes its users and projects too
    cleanup.push(() => admin.deleteDomain(domain.id));
    domainProject = await admin.createProject({ name: name('dproject'), domainId: domain.id });
    inDomain = await admin.createUser({ name: twinName, password: otherPassword, domainId: domain.id });
    await admin.assignRole({ projectId: domainProject.id, userId: inDomain.id, roleId: member.id });
    await admin.assignRole({ projectId: domainProject.id, userId: inDomain.id, roleId: fleetViewers.id });
    // the same name in Default, with the other password, on the Default project
    const twin = await admin.createUser({ name: twinName, password });
    cleanup.push(() => admin.deleteUser(twin.id));
    await admin.assignRole({ projectId: project.id, userId: twin.id, roleId: member.id });
    // a user of the domain who works in the Default project (a name of its own: rate-limit bucket)
    const cross = await admin.createUser({ name: crossName, password: otherPassword, domainId: domain.id });
    await admin.assignRole({ projectId: project.id, userId: cross.id, roleId: member.id });
  });

  /** One sign-in form post that is expected to fail: its answer. */
  async function refused(user: SignInUser): Promise<Res> {
    const b = browser();
    let r = await b.request('/console/login');
    for (let hop = 0; hop < 12 && r.location; hop++) r = await b.request(new URL(r.location, r.url));
    assert.equal(r.status, 200, r.body.slice(0, 300));
    return b.request(new URL(formAction(r.body), r.url), {
      method: 'POST',
      form: {
        backend: 'keystone',
        username: user.name,
        password: user.password,
        ...(user.project ? { project: user.project } : {}),
        ...(user.domain ? { domain: user.domain } : {}),
      },
    });
  }

  /** The `kaasctl auth token` arguments of a kubeconfig's user. */
  const execArgsOf = (kubeconfig: string): string[] =>
    (parseYaml(kubeconfig) as { users: { user: { exec: { args: string[] } } }[] }).users[0]!.user.exec.args;

  /** Runs the console's login command as shown, with the password on stdin, in a home of its own. */
  const loginAsShown = async (shown: string, pw: string, home: string) => {
    const login = await runKaasctl([...shown.split(' ').slice(1), '--password-stdin'], {
      input: pw,
      env: { KAAS_HOME: home },
    });
    assert.equal(login.code, 0, login.stderr);
    return { stdout: login.stdout, kubeconfig: await readFile(join(home, 'root.kubeconfig'), 'utf8') };
  };

  const refusedGenerically = (r: Res, secret: string) => {
    assert.equal(r.status, 401, r.body.slice(0, 300));
    assert.match(r.body, /<p class="error" role="alert">Invalid username or password\.<\/p>/);
    assert.doesNotMatch(r.body, /could not find|not found|keystone refused/i, 'nothing says what was wrong');
    assert.ok(!r.body.includes(secret), 'the password is not echoed');
  };

  test('signs in with the domain typed in the form; the session is keystone:<domain id>:<name>', async () => {
    await consoleLogin(dee, {
      name: twinName,
      password: otherPassword,
      backend: 'keystone',
      project: domainProject.name,
      domain: domain.name,
    });
    const s = await session(dee);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.user.name, `keystone:${domain.id}:${twinName}`);
    assert.ok(s.body.user.groups.includes(fleetViewers.id), 'the role ID is a group');
    assert.ok(s.body.user.groups.includes(`keystone:project:${domainProject.id}`));
    assert.deepEqual(s.body.user.extra['keystone/user-domain-name'], [domain.name]);
    // RBAC on the role ID, whatever the domain
    assert.equal((await dee.request(CLUSTERS)).status, 200);
    assert.match(
      s.body.loginCommand,
      new RegExp(
        `^kaasctl auth login --server \\S+ --ca-file \\S+ --backend keystone --username ${twinName} --project ${domainProject.name} --user-domain ${domain.name}$`,
      ),
    );
    const args = execArgsOf((await dee.request('/console/api/kubeconfig')).body);
    assert.equal(args[args.indexOf('--user-domain') + 1], domain.name);
  });

  test('the login command the console shows works as shown', async () => {
    const shown = (await session(dee)).body.loginCommand as string;
    const login = await loginAsShown(shown, otherPassword, join(dir, 'dee-home'));
    assert.match(login.stdout, new RegExp(`signed in to root as keystone:${domain.id}:${twinName} `));
    // the kubeconfig it wrote asks `kaasctl auth token` for the same user of the same domain
    const args = execArgsOf(login.kubeconfig);
    assert.equal(args[args.indexOf('--user-domain') + 1], domain.name);
    assert.equal(args[args.indexOf('--username') + 1], twinName);
  });

  test("a project in another domain than the user's: the Project domain field, and --project-domain in the login command", async () => {
    // left empty, the project is looked up in the user's domain, where there is none of that name
    refusedGenerically(
      await refused({ name: crossName, password: otherPassword, project: project.name, domain: domain.name }),
      otherPassword,
    );
    const b = browser();
    await consoleLogin(b, {
      name: crossName,
      password: otherPassword,
      backend: 'keystone',
      project: project.name,
      domain: domain.name,
      projectDomain: 'Default',
    });
    const s = await session(b);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.user.name, `keystone:${domain.id}:${crossName}`);
    assert.ok(s.body.user.groups.includes(`keystone:project:${project.id}`));
    assert.deepEqual(s.body.user.extra['keystone/project-domain-name'], ['Default']);
    const shown = s.body.loginCommand as string;
    assert.match(
      shown,
      new RegExp(`--project ${project.name} --user-domain ${domain.name} --project-domain Default$`),
    );
    // as shown, it signs the same user into the same project
    const login = await loginAsShown(shown, otherPassword, join(dir, 'cross-home'));
    assert.match(login.stdout, new RegExp(`signed in to root as keystone:${domain.id}:${crossName} `));
    for (const kc of [(await b.request('/console/api/kubeconfig')).body, login.kubeconfig]) {
      const args = execArgsOf(kc);
      assert.equal(args[args.indexOf('--project-domain') + 1], 'Default', kc);
    }
  });

  test('the same name in Default: each password opens only its own domain', async () => {
    // Default's password with the other domain, and the other domain's password without one
    refusedGenerically(
      await refused({ name: twinName, password, project: domainProject.name, domain: domain.name }),
      password,
    );
    refusedGenerically(
      await refused({ name: twinName, password: otherPassword, project: project.name }),
      otherPassword,
    );
    // Default's own password, domain left empty: the Default user, not the other one
    await consoleLogin(twin, { name: twinName, password, backend: 'keystone', project: project.name });
    assert.equal((await session(twin)).body.user.name, `keystone:default:${twinName}`);
  });

  // silent sign-ins (the issuer session of the console's): the issuer's page is the console's, and
  // every typed attempt at one name costs a token of the issuer's rate limit (5 a minute)
  test('the SSO proxy: the domain user gets through with its identity; the Default twin gets 403', async () => {
    const { callback, typedPassword } = await signIn(dee, '/echo/', undefined, proxyUrl, '/oauth2/callback');
    assert.equal(typedPassword, false, 'one sign-in for the console and the proxy');
    assert.equal(callback.status, 302, callback.body);
    const r = await dee.request(`${proxyUrl}/echo/who`, {
      headers: { 'x-forwarded-user': `keystone:default:${twinName}` },
    });
    assert.equal(r.status, 200, r.body.slice(0, 300));
    const seen = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    assert.equal(
      seen['x-forwarded-user'],
      `keystone:${domain.id}:${twinName}`,
      'a forged header has no effect',
    );
    assert.ok(seen['x-forwarded-groups']?.split(',').includes(fleetViewers.id), seen['x-forwarded-groups']);

    // the same name in Default has no fleetViewers role: signed in, but not let through
    const signedIn = await signIn(twin, '/echo/', undefined, proxyUrl, '/oauth2/callback');
    assert.equal(signedIn.typedPassword, false);
    assert.equal(signedIn.callback.status, 302, signedIn.callback.body);
    assert.equal((await twin.request(`${proxyUrl}/echo/who`)).status, 403);
  });

  test('an unknown domain is the same generic error as a wrong password', async () => {
    const r = await refused({
      name: twinName,
      password: otherPassword,
      project: domainProject.name,
      domain: name('nodomain'),
    });
    refusedGenerically(r, otherPassword);
    assert.match(
      r.body,
      new RegExp(`name="domain"[^>]* value="${name('nodomain')}">`),
      'the typed domain kept',
    );
    assert.ok(!srv.log().includes(otherPassword), 'the password is never logged');
  });
});
