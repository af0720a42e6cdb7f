// RBAC through the real kubectl: deny by default, a RoleBinding grants in its namespace only,
// `auth can-i` answers from the same policy, and logical clusters have separate policies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => ts?.stop());

test('a user is denied until bound, then allowed only where bound', async () => {
  const admin = ts.kubeconfig;
  const alice = await ts.userKubeconfig('alice', ['dev']);
  assert.equal((await kubectl(admin, ['create', 'namespace', 'team'])).code, 0);
  assert.equal((await kubectl(admin, ['create', 'namespace', 'other'])).code, 0);

  const denied = await kubectl(alice, ['-n', 'team', 'get', 'configmaps']);
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr,
    /forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "team"/,
  );
  assert.equal(
    (await kubectl(alice, ['-n', 'team', 'auth', 'can-i', 'list', 'configmaps'])).stdout.trim(),
    'no',
  );

  // Bind the group, as the seed binds keystone role IDs.
  assert.equal(
    (
      await kubectl(admin, [
        '-n',
        'team',
        'create',
        'rolebinding',
        'dev-edit',
        '--clusterrole=edit',
        '--group=dev',
      ])
    ).code,
    0,
  );
  const ok = await kubectl(alice, ['-n', 'team', 'create', 'configmap', 'c1', '--from-literal=a=b']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(
    (await kubectl(alice, ['-n', 'team', 'auth', 'can-i', 'delete', 'deployments'])).stdout.trim(),
    'yes',
  );
  assert.equal(
    (await kubectl(alice, ['-n', 'team', 'auth', 'can-i', 'create', 'roles'])).stdout.trim(),
    'no',
  );
  const elsewhere = await kubectl(alice, ['-n', 'other', 'get', 'configmaps']);
  assert.notEqual(elsewhere.code, 0);
  assert.match(elsewhere.stderr, /forbidden/);
  const nodes = await kubectl(alice, ['get', 'nodes']);
  assert.notEqual(nodes.code, 0);
  // Discovery works for any authenticated user.
  assert.equal((await kubectl(alice, ['api-resources', '--api-group=apps'])).code, 0);
});

test('logical clusters keep separate policies', async () => {
  const adminLc = await ts.kubeconfigFor('lc1');
  assert.equal(
    (
      await kubectl(adminLc, [
        'create',
        'clusterrolebinding',
        'bob-admin',
        '--clusterrole=cluster-admin',
        '--user=bob',
      ])
    ).code,
    0,
  );
  const bobLc = await ts.userKubeconfig('bob', [], 'lc1');
  const bobRoot = await ts.userKubeconfig('bob');
  assert.equal((await kubectl(bobLc, ['get', 'nodes'])).code, 0);
  const root = await kubectl(bobRoot, ['get', 'nodes']);
  assert.notEqual(root.code, 0);
  assert.match(root.stderr, /forbidden/);
});

test('no credentials is 401, health endpoints stay public', async () => {
  const ca = await readFile(join(ts.dir, 'pki', 'ca.crt'), 'utf8');
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(`${ts.url}${path}`, { ca }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const denied = await get('/api/v1/namespaces');
  assert.equal(denied.status, 401);
  assert.equal(JSON.parse(denied.body).reason, 'Unauthorized');
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/version')).status, 200);
  assert.equal((await get('/metrics')).status, 401);
});
