// A keystone user in the console, in Chromium: the real keystone (Debian's, or OS_CLOUD /
// OS_AUTH_URL), a real `kaasctl server --auth-backend local,keystone`, and a person who picks
// keystone on the issuer's page, types the keystone domain (not Default), password and project,
// sees the fleet their keystone role ID may read, and is told (not shown an error page) what they
// may not do.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { NamedRef } from '@kaas/auth';
import { KeystoneAdmin, KeystoneClient, ServiceToken } from '@kaas/auth';
import { kubectl } from '../support/apiserver.ts';
import { startKaasServer, type KaasServer } from '../support/kaasctl.ts';
import { cloudsYamlFor, keystoneForTests } from '../support/keystone.ts';
import { ensureConsoleBuilt, launchChromium, repoRoot, type Browser } from './chromium.ts';

const shots = join(repoRoot, '.test-output/screenshots');
const suffix = randomBytes(4).toString('hex');
const password = `pw-${randomBytes(12).toString('base64url')}`;

let server: KaasServer;
let browser: Browser;
let page: Page;
let user: NamedRef;
let project: NamedRef;
let domain: NamedRef;
const cleanups: (() => Promise<unknown>)[] = [];

describe('a keystone user in the console (Chromium)', { concurrency: false }, () => {
  after(async () => {
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => errors.push(e));
    assert.deepEqual(errors, [], 'everything made was removed');
  });

  before(async () => {
    ensureConsoleBuilt();
    await mkdir(shots, { recursive: true });
    const ks = await keystoneForTests();
    cleanups.push(() => ks.release());
    const client = new KeystoneClient({
      authUrl: ks.authUrl,
      ...(ks.caBundle ? { caBundle: ks.caBundle } : {}),
      insecure: ks.insecure,
    });
    cleanups.push(() => client.close());
    const token = new ServiceToken({
      client,
      credentials: ks.adminCredentials,
      ...(ks.adminScope ? { scope: ks.adminScope } : {}),
    });
    const admin = new KeystoneAdmin(client, () => token.token());
    // a domain of its own: its project and user go when it is deleted
    domain = await admin.createDomain({ name: `kaas-cb-domain-${suffix}` });
    cleanups.push(() => admin.deleteDomain(domain.id));
    project = await admin.createProject({ name: `kaas-cb-project-${suffix}`, domainId: domain.id });
    const viewers = await admin.createRole({ name: `kaas-cb-fleet-viewers-${suffix}` });
    cleanups.push(() => admin.deleteRole(viewers.id));
    user = await admin.createUser({ name: `kaas-cb-kim-${suffix}`, password, domainId: domain.id });
    await admin.assignRole({ projectId: project.id, userId: user.id, roleId: viewers.id });

    const dir = await mkdtemp(join(tmpdir(), 'kaas-console-ks-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const clouds = join(dir, 'clouds.yaml');
    await writeFile(clouds, cloudsYamlFor(ks), { mode: 0o600 });
    server = await startKaasServer(join(dir, 'data'), ['--auth-backend', 'local,keystone'], {
      OS_CLIENT_CONFIG_FILE: clouds,
      OS_CLOUD: 'kaas-test',
      OS_AUTH_URL: '',
    });
    cleanups.push(() => server.stop());
    // the keystone role ID may read the fleet, nothing more; one Cluster to see (EKS: this build
    // has no EKS provider, so it settles at once on a coded error and starts nothing)
    const applied = await kubectl(join(dir, 'data', 'admin.kubeconfig'), ['apply', '-f', '-'], {
      input: [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: {name: fleet-viewer}',
        'rules: [{apiGroups: [kaas.dev], resources: [clusters], verbs: [get, list, watch]}]',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRoleBinding',
        'metadata: {name: fleet-viewers}',
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: fleet-viewer}',
        `subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "${viewers.id}"}]`,
        '---',
        'apiVersion: kaas.dev/v1alpha1',
        'kind: Cluster',
        'metadata: {name: team-eks, namespace: default}',
        'spec:',
        '  provider: {type: eks, eks: {region: us-east-1}}',
        '  credentialsRef: {name: aws-credentials}',
        '  nodePools: [{name: workers, replicas: 1}]',
        '  auth: {clusterAdminRoleIds: [cluster-admins]}',
        '',
      ].join('\n'),
    });
    assert.equal(applied.code, 0, applied.stderr);
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
  });

  test('signs in with the keystone domain, password and project at the issuer', async () => {
    await page.goto(`${server.url}/console/`);
    await page.waitForURL(/\/oidc\//);
    await page.getByLabel('Identity provider').selectOption('keystone');
    await page.getByLabel(/user ?name/i).fill(user.name);
    await page.getByLabel(/password/i).fill(password);
    await page.getByLabel('Domain (keystone)', { exact: true }).fill(domain.name);
    await page.getByLabel('Project (keystone)', { exact: true }).fill(project.name);
    await page.screenshot({ path: join(shots, 'signin-keystone-domain.png'), fullPage: true });
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${server.url}/console/`);
    assert.equal(await page.getByTestId('user').textContent(), `keystone:${domain.id}:${user.name}`);
    // the user name holds the domain's id; the header names it too
    await page.getByText(`domain ${domain.name}`, { exact: true }).waitFor();
    const stored = await page.evaluate<string>(
      'JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })',
    );
    assert.equal(stored, '{}{}', 'nothing in browser storage');
    // the login command to copy signs the same keystone user in on the command line
    assert.match(
      await page.getByLabel('Login command').inputValue(),
      new RegExp(
        `--backend keystone --username ${user.name} --project ${project.name} --user-domain ${domain.name}$`,
      ),
    );
  });

  test('sees the fleet their keystone role may read, live', async () => {
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'team-eks', exact: true }) });
    await row.getByText('InvalidSpec', { exact: true }).waitFor({ timeout: 120_000 });
    await page.screenshot({ path: join(shots, 'fleet-keystone.png'), fullPage: true });
  });

  test('what they may not do is said, not an error page', async () => {
    await page.goto(`${server.url}/console/create`);
    await page.getByText(/You may not create clusters in default/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create cluster' }).isDisabled(), true);
    await page.goto(`${server.url}/console/c/default/team-eks`);
    await page
      .getByText(/You may not update clusters in default/)
      .first()
      .waitFor();
  });

  test('signing out ends the session', async () => {
    await page.goto(`${server.url}/console/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    // the sign-out is a chain of redirects (console, issuer, console): waitForURL can see one of
    // them aborted by the next, so wait for where the chain ends, the issuer's password field
    await page.getByLabel(/password/i).waitFor({ timeout: 30_000 });
    assert.match(page.url(), /\/oidc\//);
    const session = await page.request.get(`${server.url}/console/api/session`);
    assert.equal(session.status(), 401);
  });
});
