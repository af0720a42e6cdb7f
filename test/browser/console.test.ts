// The console in a real browser: Debian's Chromium (playwright-core) against a real `kaasctl
// server` (with the SSO proxy in front of Debian's Prometheus) and the demo cluster from
// examples/bootstrap.yaml. One journey, as a person would do it: sign in, the fleet, create a
// cluster with the form (reached with the keyboard), scale it, a pod's YAML, the kubeconfig with
// kubectl, Prometheus through the SSO proxy without signing in again, sign out. Screenshots go to
// .test-output/screenshots/.
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page, Route } from 'playwright-core';
import { runKaasctl, startKaasServer, type KaasServer } from '../support/kaasctl.ts';
import { ensureConsoleBuilt, launchChromium, repoRoot, type Browser } from './chromium.ts';
import { freePort } from '../support/ports.ts';

const shots = join(repoRoot, '.test-output/screenshots');
const prometheusBin = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
const waitMs = 120_000;

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = waitMs): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function run(cmd: string, args: string[], env: Record<string, string>, input = '') {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const c = execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
    c.stdin?.end(input);
  });
}

let dir: string;
let server: KaasServer;
let password: string;
let adminKubeconfig: string;
let prometheus: ChildProcess | undefined;
let proxyPort: number;
let browser: Browser;
let page: Page;
let deploying: Promise<{ code: number; stdout: string; stderr: string }>;
/** undone in reverse by the suite's after(), also when before() fails half-way */
const cleanups: (() => Promise<unknown>)[] = [];

/** SIGTERM, then SIGKILL if the server has not exited in time. */
async function stopWithin(s: KaasServer, ms: number): Promise<void> {
  const t = setTimeout(() => s.child.kill('SIGKILL'), ms);
  await s.stop();
  clearTimeout(t);
}

async function shot(name: string) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Horizontal overflow of the page: a layout that breaks at this width scrolls sideways. */
async function overflowPx(): Promise<number> {
  // (browser-side code as strings: this file is type-checked without the DOM library)
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

async function clusterSpec(name: string): Promise<{ spec: any; status?: any }> {
  const r = await run(
    'kubectl',
    ['--kubeconfig', adminKubeconfig, 'get', 'clusters.kaas.dev', name, '-o', 'json'],
    {},
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { spec: any; status?: any };
}

describe('the console in Chromium', { concurrency: false }, () => {
  // suite hooks, not file-level ones: a file-level after() waits for an idle event loop, which
  // the child processes it is meant to stop would never give it
  after(async () => {
    for (const c of cleanups.reverse()) {
      const t0 = Date.now();
      await c().catch(() => undefined);
      if (Date.now() - t0 > 5000) console.log(`# clean-up step took ${Date.now() - t0} ms: ${String(c)}`);
    }
  });

  before(async () => {
    ensureConsoleBuilt();
    await mkdir(shots, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'kaas-console-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [promPort, port] = [await freePort(), await freePort()];
    proxyPort = port;
    // Prometheus behind the proxy under /prometheus/ (its links carry the prefix)
    assert.ok(prometheusBin, 'prometheus is not installed: bash scripts/install-test-deps.sh');
    await writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prometheus')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        `--web.external-url=https://127.0.0.1:${proxyPort}/prometheus/`,
      ],
      { stdio: 'ignore' },
    );
    const prom = prometheus;
    cleanups.push(async () => {
      if (prom.exitCode !== null || prom.signalCode !== null || !prom.pid) return;
      const exited = new Promise((r) => prom.once('exit', r));
      process.kill(prom.pid, 'SIGTERM');
      await exited;
    });
    const ssoConfig = join(dir, 'sso-proxy.yaml');
    await writeFile(
      ssoConfig,
      [
        `listen: 127.0.0.1:${proxyPort}`,
        'routes:',
        '  - name: prometheus',
        '    pathPrefix: /prometheus/',
        `    upstream: http://127.0.0.1:${promPort}`,
        '    allowedGroups: [cluster-admins]',
        '',
      ].join('\n'),
    );
    server = await startKaasServer(join(dir, 'data'), [
      '--sso-proxy-config',
      ssoConfig,
      '--sso-proxy-port',
      String(proxyPort),
    ]);
    cleanups.push(() => stopWithin(server, 15_000));
    password = /its password \(shown only now\): (\S+)/.exec(server.lines.join('\n'))?.[1] ?? '';
    assert.ok(password, `no admin password in the server's output:\n${server.lines.join('\n')}`);
    adminKubeconfig = join(dir, 'data', 'admin.kubeconfig');
    // the demo deploy runs while the browser starts and signs in; the fleet test waits for Ready
    deploying = runKaasctl(
      ['cluster', 'deploy', '-f', join(repoRoot, 'examples/bootstrap.yaml'), '--kubeconfig', adminKubeconfig],
      { timeoutMs: 300_000 },
    );
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
  });

  test('signing in sends the browser to the issuer and back to the page asked for', async () => {
    await page.goto(`${server.url}/console/`);
    await page.waitForURL(/\/oidc\//);
    await page.getByLabel(/user ?name/i).fill('admin');
    await page.getByLabel(/password/i).fill(password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${server.url}/console/`);
    assert.match((await page.getByTestId('user').textContent()) ?? '', /\badmin$/);
    // no token in the URL or in browser storage
    assert.doesNotMatch(page.url(), /token|code=/);
    const stored = await page.evaluate<string>(
      'JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })',
    );
    assert.equal(stored, '{}{}');
  });

  test('the fleet shows the demo cluster Ready, live', async () => {
    const deploy = await deploying;
    assert.equal(deploy.code, 0, `deploy of the demo cluster: ${deploy.stdout}\n${deploy.stderr}`);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'demo', exact: true }) });
    await row.getByText('Ready', { exact: true }).waitFor({ timeout: waitMs });
    assert.match((await row.textContent()) ?? '', /local/);
    assert.match((await row.textContent()) ?? '', /1\.33/);
    assert.ok((await overflowPx()) <= 0, 'the fleet scrolls sideways at 1280x720');
    await shot('fleet');
  });

  test('a cluster made elsewhere appears without a reload, with its coded error', async () => {
    const manifest = join(dir, 'third.yaml');
    await writeFile(
      manifest,
      [
        'apiVersion: kaas.dev/v1alpha1',
        'kind: Cluster',
        'metadata: { name: third, namespace: default }',
        'spec:',
        '  provider: { type: eks, eks: { region: us-east-1 } }',
        '  credentialsRef: { name: aws-credentials }',
        '  nodePools: [{ name: workers, replicas: 1 }]',
        '  auth: { clusterAdminRoleIds: [cluster-admins] }',
        '',
      ].join('\n'),
    );
    const made = await run('kubectl', ['--kubeconfig', adminKubeconfig, 'apply', '-f', manifest], {});
    assert.equal(made.code, 0, made.stderr);
    // this build has no EKS provider: the reconciler says so with a coded reason
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'third', exact: true }) });
    await row.getByText('InvalidSpec', { exact: true }).waitFor({ timeout: waitMs });
    assert.match((await row.textContent()) ?? '', /eks/);
    await page.getByLabel('Filter').fill('invalidspec');
    await page
      .getByTestId('fleet-count')
      .filter({ hasText: /^1 clusters, 0 Ready/ })
      .waitFor();
    await page.getByLabel('Filter').fill('');
  });

  test('the fleet stays live after its watch breaks: closed by the server, then 410 Gone twice', async () => {
    // the fleet's list and watch requests, seen and (for the watch) broken on purpose:
    // 1st watch: sent on with timeoutSeconds=2, so the API server itself ends it;
    // 2nd: answered with the ERROR event the server sends for a compacted version (410 Expired);
    // 3rd: answered 410 Gone; later ones go through untouched
    const fleet = /\/console\/k8s\/apis\/kaas\.dev\/v1alpha1\/clusters(\?|$)/;
    const gone = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'too old resource version: 1 (2)',
      reason: 'Expired',
      code: 410,
    };
    let lists = 0;
    let watches = 0;
    const at: { ms: number; lists: number; rv: string }[] = [];
    await page.route(fleet, async (route: Route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get('watch') !== '1') {
        lists++;
        return route.continue();
      }
      watches++;
      at.push({ ms: Date.now(), lists, rv: url.searchParams.get('resourceVersion') ?? '' });
      if (watches === 1) {
        url.searchParams.set('timeoutSeconds', '2');
        return route.continue({ url: url.href });
      }
      if (watches === 2)
        return route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: `${JSON.stringify({ type: 'ERROR', object: gone })}\n`,
        });
      if (watches === 3)
        return route.fulfill({ status: 410, contentType: 'application/json', body: JSON.stringify(gone) });
      return route.continue();
    });
    try {
      await page.goto(`${server.url}/console/`);
      await page.getByRole('link', { name: 'demo', exact: true }).waitFor();
      await page.evaluate('window.__notReloaded = true');
      await until('a fourth, unbroken watch', async () => (watches >= 4 ? true : undefined));
      // the server held the first watch for its 2 s, then the fleet resumed from the version it
      // had (no list in between); each 410 made it list again
      assert.ok(at[1]!.ms - at[0]!.ms >= 1900, `the first watch lasted ${at[1]!.ms - at[0]!.ms} ms`);
      assert.equal(at[1]!.lists, 1);
      assert.ok(Number(at[1]!.rv) >= Number(at[0]!.rv), 'resumed from the last version seen');
      assert.equal(at[2]!.lists, 2);
      assert.equal(at[3]!.lists, 3);

      const manifest = join(dir, 'fourth.yaml');
      await writeFile(
        manifest,
        [
          'apiVersion: kaas.dev/v1alpha1',
          'kind: Cluster',
          'metadata: { name: fourth, namespace: default }',
          'spec:',
          '  provider: { type: eks, eks: { region: eu-west-1 } }',
          '  credentialsRef: { name: aws-credentials }',
          '  nodePools: [{ name: workers, replicas: 1 }]',
          '  auth: { clusterAdminRoleIds: [cluster-admins] }',
          '',
        ].join('\n'),
      );
      const made = await run('kubectl', ['--kubeconfig', adminKubeconfig, 'apply', '-f', manifest], {});
      assert.equal(made.code, 0, made.stderr);
      const row = page
        .getByRole('row')
        .filter({ has: page.getByRole('link', { name: 'fourth', exact: true }) });
      await row.getByText('InvalidSpec', { exact: true }).waitFor({ timeout: waitMs });
      assert.equal(
        await page.evaluate<boolean>('window.__notReloaded === true'),
        true,
        'the page was not reloaded',
      );
      assert.equal(watches, 4, 'the cluster came through the fourth watch');
    } finally {
      await page.unroute(fleet);
    }
  });

  test('the keyboard reaches the create button: Tab, then Enter opens the form', async () => {
    await page.goto(`${server.url}/console/`);
    await page.getByRole('link', { name: 'demo', exact: true }).waitFor();
    let focused = '';
    for (let i = 0; i < 30 && focused !== 'Create cluster'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''");
    }
    assert.equal(focused, 'Create cluster', 'Tab never reached the Create cluster button');
    // the focus is visible: :focus-visible draws an outline
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/create$/);
    await page.getByRole('heading', { name: 'Create a cluster' }).waitFor();
  });

  test('the create form shows the manifest live and creates the cluster', async () => {
    await page.getByLabel('Name', { exact: true }).fill('second');
    await page.getByLabel('Simulated latency scale').fill('0');
    await page.getByLabel('Nodes', { exact: true }).fill('1');
    await page.getByLabel(/^Logging/).uncheck();
    const manifest = page.getByTestId('manifest');
    await until('the manifest to follow the form', async () => {
      const t = (await manifest.textContent()) ?? '';
      return /name: second/.test(t) && /replicas: 1/.test(t) && /logging:\n\s+enabled: false/.test(t)
        ? t
        : undefined;
    });
    assert.ok((await overflowPx()) <= 0, 'the form scrolls sideways at 1280x720');
    await shot('create-form');
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.waitForURL(/\/console\/c\/default\/second$/);
    const c = await clusterSpec('second');
    assert.equal(c.spec.provider.type, 'local');
    assert.equal(c.spec.nodePools[0].replicas, 1);
    assert.equal(c.spec.services.logging.enabled, false);
    assert.equal(c.spec.kubernetesVersion, '1.33');
  });

  test('scaling a node pool from the cluster page', async () => {
    await page.getByText(/workers \(1\/1 Ready\)/).waitFor({ timeout: waitMs });
    await page.getByLabel(/^workers/).fill('2');
    await page.getByRole('button', { name: 'Scale workers' }).click();
    await page.getByText(/2 nodes requested/).waitFor();
    assert.equal((await clusterSpec('second')).spec.nodePools[0].replicas, 2);
    await page.getByText(/workers \(2\/2 Ready\)/).waitFor({ timeout: waitMs });
    await shot('cluster');
  });

  test('destroying lists the cloud objects and needs the name typed', async () => {
    await page.getByRole('button', { name: 'Destroy second…' }).click();
    const ledger = page.getByRole('list').filter({ hasText: 'server/' });
    await ledger.waitFor();
    assert.ok(
      (await ledger.getByRole('listitem').count()) >= 3,
      'the ledger lists fewer than 3 cloud objects',
    );
    const destroy = page.getByRole('button', { name: 'Destroy second', exact: true });
    assert.equal(await destroy.isDisabled(), true);
    await page.getByLabel(/Type the cluster name/).fill('secon');
    assert.equal(await destroy.isDisabled(), true);
    await page.getByLabel(/Type the cluster name/).fill('second');
    await destroy.click();
    await page.waitForURL(`${server.url}/console/`);
    await page.getByRole('link', { name: 'demo', exact: true }).waitFor();
    // gone from the fleet and from the API once the controller has deleted what it made
    await page
      .getByRole('link', { name: 'second', exact: true })
      .waitFor({ state: 'detached', timeout: waitMs });
    await until('the Cluster to be gone', async () => {
      const r = await run(
        'kubectl',
        ['--kubeconfig', adminKubeconfig, 'get', 'clusters.kaas.dev', 'second'],
        {},
      );
      return r.code !== 0 && /NotFound|not found/.test(r.stderr) ? true : undefined;
    });
  });

  test("a pod's YAML opens from the cluster's pods", async () => {
    await page.goto(`${server.url}/console/c/default/demo?view=pods`);
    const table = page.getByRole('table');
    const first = table.getByRole('rowheader').first().getByRole('link');
    await first.waitFor({ timeout: waitMs });
    const podName = (await first.textContent()) ?? '';
    await first.click();
    const yaml = page.getByLabel(/^YAML/);
    await yaml.waitFor();
    const text = await yaml.inputValue();
    assert.match(text, /kind: Pod/);
    assert.match(text, new RegExp(`name: ${podName}`));
    assert.match(text, /resourceVersion:/);
  });

  test('a stale save is a conflict, said plainly', async () => {
    const yaml = page.getByLabel(/^YAML/);
    const text = await yaml.inputValue();
    const rv = /resourceVersion: "?(\d+)"?/.exec(text)?.[1];
    assert.ok(rv);
    await yaml.fill(text.replace(/resourceVersion: "?\d+"?/, 'resourceVersion: "1"'));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Conflict:/).waitFor();
  });

  test('the kubeconfig download works with kubectl (exec plugin, token cache in KAAS_HOME)', async () => {
    await page.goto(`${server.url}/console/c/default/demo`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download kubeconfig' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'demo.kubeconfig');
    const file = join(dir, 'demo.kubeconfig');
    await download.saveAs(file);
    const kc = await readFile(file, 'utf8');
    assert.match(kc, /\/clusters\/demo/);
    assert.match(kc, /certificate-authority-data/);
    const home = join(dir, 'kaas-home');
    const env = { KAAS_HOME: home };
    const login = await run(
      'node',
      [
        join(repoRoot, 'apps/kaasctl/src/main.ts'),
        'auth',
        'login',
        '--server',
        server.url,
        '--ca-file',
        join(dir, 'data', 'pki', 'ca.crt'),
        '--username',
        'admin',
        '--cluster',
        'demo',
        '--password-stdin',
      ],
      env,
      password,
    );
    assert.equal(login.code, 0, login.stderr);
    const nodes = await run('kubectl', ['--kubeconfig', file, 'get', 'nodes', '-o', 'name'], env);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /node\/demo-/);
  });

  test('the login command is offered to copy', async () => {
    const cmd = await page.getByLabel('Login command').inputValue();
    assert.match(
      cmd,
      /^kaasctl auth login --server https:\/\/127\.0\.0\.1:\d+ .* --backend local --username admin$/,
    );
  });

  test('Prometheus opens through the SSO proxy without a second sign-in', async () => {
    await page.goto(`${server.url}/console/c/default/demo?view=managed`);
    // the managed services' health, from the controller's report
    await page
      .getByRole('listitem')
      .filter({ hasText: 'monitoring' })
      .getByText('healthy', { exact: true })
      .waitFor({ timeout: waitMs });
    const link = page.getByRole('link', { name: 'Open prometheus' });
    const href = (await link.getAttribute('href')) ?? '';
    assert.equal(href, `https://127.0.0.1:${proxyPort}/prometheus/`);
    await page.goto(href);
    await until('the Prometheus UI', async () => (/Prometheus/.test(await page.title()) ? true : undefined));
    assert.doesNotMatch(page.url(), /\/oidc\//, 'the proxy asked to sign in again');
    assert.match(page.url(), new RegExp(`^https://127\\.0\\.0\\.1:${proxyPort}/prometheus/`));
    await shot('sso-landing');
  });

  test('a lost session goes back through sign-in to the page the user was on', async () => {
    await page.goto(`${server.url}/console/c/default/demo?view=pods`);
    await page.getByRole('heading', { name: 'Pods' }).waitFor();
    // the console's session cookie gone (as when the session expires): the next call is a 401.
    // That call is the click below, or the open view's own live watch if it reconnects first:
    // either way the user must come back to the view they were on at that moment.
    const toLogin = page.waitForRequest((r) => r.url().includes('/console/login?return='), {
      timeout: 60_000,
    });
    const names = (await browser.context.cookies())
      .map((c) => c.name)
      .filter((n) => n.includes('kaas_console'));
    assert.ok(names.length, 'no console session cookie');
    for (const name of names) await browser.context.clearCookies({ name });
    await page
      .getByRole('link', { name: 'Nodes', exact: true })
      .click({ timeout: 5_000 })
      .catch(() => undefined); // the redirect may already be under way
    const views = ['/console/c/default/demo?view=nodes', '/console/c/default/demo?view=pods'];
    const req = await toLogin;
    const ret = new URL(req.url()).searchParams.get('return') ?? '';
    assert.ok(views.includes(ret), `return=${ret}`);
    // the issuer still knows the browser: no password, straight back to a view the user was on.
    // The click and the watch can both start a sign-in; the later one decides where the browser
    // lands, so either view is right, and the page must show the one in its URL.
    await page.waitForURL((u) => views.includes(u.pathname + u.search), { timeout: 60_000 });
    await page.waitForLoadState('load');
    const landed = new URL(page.url());
    await page.getByRole('heading', { name: landed.search.endsWith('nodes') ? 'Nodes' : 'Pods' }).waitFor();
    const session = await page.request.get(`${server.url}/console/api/session`);
    assert.equal(session.status(), 200);
  });

  test('no layout break at 390x844', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/console/', '/console/create', '/console/c/default/demo']) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      assert.ok((await overflowPx()) <= 0, `${path} scrolls sideways at 390x844`);
      await shot(
        path === '/console/' ? 'fleet-390' : path.includes('/c/') ? 'cluster-390' : 'create-form-390',
      );
    }
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  test('signing out ends the session', async () => {
    await page.goto(`${server.url}/console/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    // signed out, /console/ sends the browser to the issuer's sign-in page again
    // the sign-out is a chain of redirects (console, issuer, console): waitForURL can see one of
    // them aborted by the next, so wait for where the chain ends, the issuer's password field
    await page.getByLabel(/password/i).waitFor({ timeout: 30_000 });
    assert.match(page.url(), /\/oidc\//);
    const session = await page.request.get(`${server.url}/console/api/session`);
    assert.equal(session.status(), 401);
  });
  test('a user without rights sees what they may not do, not an error page', async () => {
    const made = await runKaasctl(
      ['user', 'create', 'vera', '--role', 'viewers', '--password-stdin', '--kubeconfig', adminKubeconfig],
      { input: 'vera-password-1234' },
    );
    assert.equal(made.code, 0, made.stderr);
    // the issuer's sign-in page from the previous test
    await page.getByLabel(/user ?name/i).fill('vera');
    await page.getByLabel(/password/i).fill('vera-password-1234');
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${server.url}/console/`);
    await page.getByText('You may not list clusters here.').waitFor();
    await page.goto(`${server.url}/console/create`);
    await page.getByText(/You may not create clusters in default/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create cluster' }).isDisabled(), true);
  });
});
