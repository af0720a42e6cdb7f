// Service account tokens in the authentication chain, through the real kubectl:
// `kubectl create token` (TokenRequest), RBAC on the service account, binding to the account's
// uid, to a pod, and to the logical cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderKubeconfig } from '@kaas/apiserver';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

let srv: TestServer;
let ca: string;

before(async () => {
  srv = await startTestServer();
  ca = await readFile(join(srv.dir, 'pki', 'ca.crt'), 'utf8');
});
after(async () => srv?.stop());

async function tokenKubeconfig(token: string, cluster?: string): Promise<string> {
  const path = join(srv.dir, `token-${Math.random().toString(36).slice(2)}.kubeconfig`);
  await writeFile(
    path,
    renderKubeconfig({
      server: cluster ? `${srv.url}/clusters/${cluster}` : srv.url,
      caPem: ca,
      clusterName: 'kaas',
      userName: 'sa',
      token,
    }),
  );
  return path;
}

async function ok(args: string[], kc = srv.kubeconfig): Promise<string> {
  const r = await kubectl(kc, args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('kubectl create token: RBAC applies to the service account; whoami shows it', async () => {
  await ok(['create', 'serviceaccount', 'robot', '-n', 'default']);
  const token = (await ok(['create', 'token', 'robot', '-n', 'default'])).trim();
  assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  const kc = await tokenKubeconfig(token);
  const who = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'], kc)).status.userInfo;
  assert.equal(who.username, 'system:serviceaccount:default:robot');
  assert.deepEqual(who.groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:default',
    'system:authenticated',
  ]);
  const denied = await kubectl(kc, ['get', 'configmaps', '-n', 'default']);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /User "system:serviceaccount:default:robot" cannot list resource "configmaps"/);
  await ok([
    'create',
    'rolebinding',
    'robot-view',
    '--clusterrole',
    'view',
    '--serviceaccount',
    'default:robot',
    '-n',
    'default',
  ]);
  await ok(['get', 'configmaps', '-n', 'default'], kc);
});

test('a token dies with its service account, is refused by another cluster, and checks its expiry', async () => {
  await ok(['create', 'serviceaccount', 'temp', '-n', 'default']);
  const token = (await ok(['create', 'token', 'temp', '-n', 'default'])).trim();
  const kc = await tokenKubeconfig(token);
  await ok(['auth', 'whoami'], kc);

  await ok(['get', '--raw', '/clusters/elsewhere/api/v1/namespaces']);
  const foreign = await kubectl(await tokenKubeconfig(token, 'elsewhere'), ['auth', 'whoami']);
  assert.notEqual(foreign.code, 0);
  assert.match(foreign.stderr, /Unauthorized|must be logged in/);

  const short = await kubectl(srv.kubeconfig, [
    'create',
    'token',
    'temp',
    '-n',
    'default',
    '--duration',
    '60s',
  ]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /may not specify a duration less than 600 seconds/);

  await ok(['delete', 'serviceaccount', 'temp', '-n', 'default']);
  await ok(['create', 'serviceaccount', 'temp', '-n', 'default']);
  const stale = await kubectl(kc, ['auth', 'whoami']);
  assert.notEqual(stale.code, 0, 'a recreated account (new uid) does not revive old tokens');

  const forged = token.slice(0, token.lastIndexOf('.') + 1) + 'A'.repeat(86);
  const bad = await kubectl(await tokenKubeconfig(forged), ['auth', 'whoami']);
  assert.notEqual(bad.code, 0);
});

test('a token bound to a pod stops working when the pod is deleted', async () => {
  await ok(['create', 'serviceaccount', 'runner', '-n', 'default']);
  const pod = await kubectl(srv.kubeconfig, ['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: default}
spec:
  serviceAccountName: runner
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
  });
  assert.equal(pod.code, 0, pod.stderr);
  const token = (
    await ok([
      'create',
      'token',
      'runner',
      '-n',
      'default',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'worker',
    ])
  ).trim();
  const kc = await tokenKubeconfig(token);
  const who = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'], kc)).status.userInfo;
  assert.deepEqual(who.extra['authentication.kubernetes.io/pod-name'], ['worker']);
  await ok(['delete', 'pod', 'worker', '-n', 'default', '--wait=false']);
  await ok(['wait', '--for=delete', 'pod/worker', '-n', 'default', '--timeout=30s']);
  const after = await kubectl(kc, ['auth', 'whoami']);
  assert.notEqual(after.code, 0);
});
