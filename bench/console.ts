// The console's figures (the "console" section, after the backend's proxy figures): the size of
// the built app, gzipped, and how fast the fleet view renders 1,000 clusters in Chromium.
//
// The 1,000 clusters must not be reconciled while the browser measures (1,000 local clusters
// booting would measure the machine, not the page). There is no flag to start `kaasctl server`
// without its controllers, so they are EKS clusters: this build has no EKS provider, so the
// reconciler marks each one InvalidSpec ("provider eks is not available in this build") in a
// single pass and never requeues it; no cloud objects are made. The bench waits until all 1,000
// carry that status, so the fleet shows 1,000 rows of a coded error, and nothing writes while
// it measures. If a later build has an EKS provider, the bench says how many were not settled.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import * as k8s from '@kubernetes/client-node';
import { launchChromium } from '../test/browser/chromium.ts';
import { root } from './lib.ts';

type Say = (line: string) => void;
const kaasctlBin = join(root, 'apps/kaasctl/bin/kaasctl');
const kib = (n: number) => (n / 1024).toFixed(1);
// functions run in the page reach its document through globalThis: this file is type-checked
// without the DOM library (and a string would be eval, which the console's CSP forbids)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('npm', ['run', 'build', '-w', '@kaas/console'], { cwd: root, stdio: 'ignore' });
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`console build exited ${code}`))));
  });
}

async function bundleSize(say: Say): Promise<void> {
  await build();
  const dir = join(root, 'apps/console/dist/assets');
  const sum = { js: { raw: 0, gz: 0 }, css: { raw: 0, gz: 0 } };
  for (const f of await readdir(dir)) {
    const ext = f.endsWith('.js') ? 'js' : f.endsWith('.css') ? 'css' : undefined;
    if (!ext) continue;
    const b = await readFile(join(dir, f));
    sum[ext].raw += b.length;
    sum[ext].gz += gzipSync(b, { level: 9 }).length;
  }
  say(
    `bundle (apps/console/dist, gzip -9): JS ${kib(sum.js.gz)} KiB gzipped (${kib(sum.js.raw)} KiB raw: React 19 + react-dom + yaml + the app), CSS ${kib(sum.css.gz)} KiB gzipped (${kib(sum.css.raw)} KiB raw); total ${kib(sum.js.gz + sum.css.gz)} KiB over the wire`,
  );
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; password: string }> {
  const child = spawn(kaasctlBin, ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      const m = /listening on (https:\/\/\S+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`kaasctl server exited ${c}: ${lines.join('\n')}`)));
  });
  await new Promise((r) => setTimeout(r, 300));
  const password = /its password \(shown only now\): (\S+)/.exec(lines.join('\n'))?.[1];
  if (!password) throw new Error(`no admin password in: ${lines.join('\n')}`);
  return { child, url, password };
}

function eksCluster(i: number) {
  return {
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: `fleet-${String(i).padStart(4, '0')}`, namespace: 'default' },
    spec: {
      provider: { type: 'eks', eks: { region: 'us-east-1' } },
      credentialsRef: { name: 'aws-credentials' },
      kubernetesVersion: '1.32',
      nodePools: [{ name: 'workers', replicas: 3 }],
      auth: { clusterAdminRoleIds: ['cluster-admins'] },
    },
  };
}

async function fleetRender(say: Say, count: number, runs: number): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kaas-bench-console-'));
  const server = await startServer(dataDir);
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(dataDir, 'admin.kubeconfig'));
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const base = { group: 'kaas.dev', version: 'v1alpha1', namespace: 'default', plural: 'clusters' };
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < count; i = next++)
          await api.createNamespacedCustomObject({ ...base, body: eksCluster(i) });
      }),
    );
    const createdS = (Date.now() - t0) / 1000;
    // settled: every one has a Ready condition written by the reconciler's single pass
    let settled = 0;
    const end = Date.now() + 180_000;
    while (Date.now() < end) {
      const list = (await api.listNamespacedCustomObject(base)) as {
        items: { status?: { conditions?: unknown[] } }[];
      };
      settled = list.items.filter((c) => (c.status?.conditions?.length ?? 0) > 0).length;
      if (settled === count) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    say(
      `${count} EKS Clusters created in ${createdS.toFixed(1)} s (concurrency 16); ${settled} of them settled (InvalidSpec: no EKS provider in this build, never requeued) ${((Date.now() - t0) / 1000).toFixed(1)} s after the first create`,
    );

    const browser = await launchChromium({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(120_000);
      await page.goto(`${server.url}/console/`);
      await page.waitForURL(/\/oidc\//);
      await page.getByLabel(/user ?name/i).fill('admin');
      await page.getByLabel(/password/i).fill(server.password);
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.waitForURL(`${server.url}/console/`);
      // times are taken in the page (performance.now(): ms since navigation start), checked on
      // every animation frame, so Playwright's polling does not round them
      const rowsMs: number[] = [];
      const countMs: number[] = [];
      const listMs: number[] = [];
      let domRows = 0;
      const frame = { polling: 'raf' as const, timeout: 120_000 };
      for (let r = 0; r < runs + 1; r++) {
        await page.goto(`${server.url}/console/`);
        const rowsAt = await (
          await page.waitForFunction(
            () => ((globalThis as any).document.querySelector('.vscroll [role=row]') ? performance.now() : 0),
            null,
            frame,
          )
        ).jsonValue();
        const countAt = await (
          await page.waitForFunction(
            (n) =>
              (globalThis as any).document
                .querySelector('[data-testid=fleet-count]')
                ?.textContent?.startsWith(`${n} clusters`)
                ? performance.now()
                : 0,
            count,
            frame,
          )
        ).jsonValue();
        const list = await page.evaluate<number>(
          "(() => { const e = performance.getEntriesByType('resource').find((x) => x.name.endsWith('/console/k8s/apis/kaas.dev/v1alpha1/clusters')); return e ? e.responseEnd - e.startTime : -1; })()",
        );
        domRows = await page.locator('.vscroll [role=row]').count();
        if (r === 0) continue; // the first load fills the HTTP cache; the rest are what a return visit costs
        rowsMs.push(Math.round(Number(rowsAt)));
        countMs.push(Math.round(Number(countAt)));
        listMs.push(Math.round(list));
      }
      // filtering the 1,000 rows: from the input event to the narrowed count shown
      await page.evaluate('window.__t0 = performance.now(); undefined');
      // fleet-099 of 1,000 (fleet-0990 to fleet-0999): 10 matches
      await page.getByLabel('Filter').fill(
        `fleet-${String(count - 1)
          .padStart(4, '0')
          .slice(0, 3)}`,
      );
      const filterMs = Math.round(
        Number(
          await (
            await page.waitForFunction(
              () =>
                (globalThis as any).document
                  .querySelector('[data-testid=fleet-count]')
                  ?.textContent?.startsWith('10 clusters')
                  ? performance.now() - (globalThis as unknown as { __t0: number }).__t0
                  : 0,
              null,
              frame,
            )
          ).jsonValue(),
        ),
      );
      say(
        `fleet view, ${count} clusters, Chromium headless at 1280x720 (${runs} reloads after a warm-up; from navigation start, measured in the page): first cluster rows in the DOM median ${median(rowsMs)} ms (min ${Math.min(...rowsMs)}, max ${Math.max(...rowsMs)}), the ${count}-cluster count shown median ${median(countMs)} ms (min ${Math.min(...countMs)}, max ${Math.max(...countMs)}); of that, the list request through /console/k8s median ${median(listMs)} ms; ${domRows} rows in the DOM (virtualized); a filter typed to 10 matches shown in ${filterMs} ms (includes Playwright's fill)`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function consoleUiBench(say: Say): Promise<void> {
  await bundleSize(say);
  const count = Number(process.env.KAAS_BENCH_CONSOLE_CLUSTERS ?? 1000);
  await fleetRender(say, count, 5);
}
