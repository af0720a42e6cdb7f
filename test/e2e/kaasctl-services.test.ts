// Managed services with the real `kaasctl server` and kubectl: a cluster deployed with two services
// pinned to older versions; `kaasctl cluster update --services` moves them to the catalog's
// versions one at a time; then, with every node cordoned, a move whose new pod cannot schedule
// stops with exit code 1, naming the service, the object and why.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';
import { kubectl } from '../support/apiserver.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test(
  'cluster update --services: one service at a time, then a forced failure named with exit 1',
  { timeout: 300_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kaas-svc-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const server = await startKaasServer(dataDir);
    const admin = join(dataDir, 'admin.kubeconfig');
    const k = (args: string[], timeoutMs = 120_000) =>
      runKaasctl([...args, '--kubeconfig', admin], { timeoutMs });
    const file = join(dir, 'svc.yaml');
    await writeFile(
      file,
      (await readFile(join(root, 'examples/bootstrap.yaml'), 'utf8'))
        .replace('name: demo', 'name: svc')
        .replace('latencyScale: 0.1', 'latencyScale: 0.01')
        .replace('logging: { enabled: true }', "logging: { enabled: true, version: '3.2.4' }")
        .replace('registry: { enabled: true }', "registry: { enabled: true, version: '2.8.2' }")
        // fewer objects, a faster test: the catalog test and packages/clusters cover these two
        .replace('ingressNginx: { enabled: true }', 'ingressNginx: { enabled: false }')
        .replace('backup: { enabled: true }', 'backup: { enabled: false }'),
    );
    try {
      const deployed = await k(['cluster', 'deploy', '-f', file]);
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stderr + deployed.stdout, /logging 3\.2\.4/);

      const versions = await runKaasctl(['versions']);
      assert.equal(versions.code, 0, versions.stderr);
      assert.match(versions.stdout, /monitoring\s+3\.2\.1 \(also renders 3\.1\.0\)/);
      assert.match(versions.stdout, /node-exporter\s+quay\.io\/prometheus\/node-exporter:v1\.9\.0/);

      const moved = await k(['cluster', 'update', 'svc', '--services']);
      assert.equal(moved.code, 0, moved.stdout + moved.stderr);
      assert.match(moved.stderr, /logging: 3\.2\.4 -> 3\.2\.9[\s\S]*registry: 2\.8\.2 -> 2\.8\.3/);
      assert.match(moved.stdout, /✓ logging 3\.2\.9 healthy\n✓ registry 2\.8\.3 healthy/);
      assert.match(moved.stdout, /✓ monitoring 3\.2\.1: healthy/);

      // pin the registry back, wait for it, then leave no node its new pod could go to
      const patched = await kubectl(admin, [
        'patch',
        'clusters.kaas.dev',
        'svc',
        '--type=merge',
        '-p',
        '{"spec":{"services":{"registry":{"version":"2.8.2"}}}}',
      ]);
      assert.equal(patched.code, 0, patched.stderr);
      const redeployed = await k(['services', 'deploy', 'svc']);
      assert.equal(redeployed.code, 0, redeployed.stderr);
      const kc = join(dir, 'svc.kubeconfig');
      assert.equal(
        (await k(['kubeconfig', 'get', 'svc', '--admin', '--data-dir', dataDir, '--output-file', kc])).code,
        0,
      );
      // what the bootstrap file switched off is not there
      const deployments = (await kubectl(kc, ['-n', 'kaas-system', 'get', 'deployments', '-o', 'name']))
        .stdout;
      assert.match(deployments, /deployment\.apps\/registry\n/);
      assert.doesNotMatch(deployments, /ingress-nginx|velero/);
      const nodes = (await kubectl(kc, ['get', 'nodes', '-o', 'name'])).stdout.split('\n').filter(Boolean);
      assert.equal(nodes.length, 4);
      const cordoned = await kubectl(kc, ['cordon', ...nodes.map((n) => n.replace('node/', ''))]);
      assert.equal(cordoned.code, 0, cordoned.stderr);

      const failed = await k(['cluster', 'update', 'svc', '--services', '--timeout', '10s']);
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(
        failed.stderr,
        /registry did not become healthy at 2\.8\.3: Deployment kaas-system\/registry: 0 of 1 available \(pod registry-\S+ Pending: 0\/4 nodes are available: 4 node\(s\) were unschedulable/,
      );
      assert.match(failed.stderr, /it was the last to move/);
    } finally {
      await server.stop();
    }
  },
);
