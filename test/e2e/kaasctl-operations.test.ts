// Day-2 operations with the real `kaasctl server` and the real kubectl: validate, nodes add and
// remove, a rolling Kubernetes update with a Deployment kept available, versions.
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
  'validate, nodes add/remove, rolling update to the next minor with a Deployment available, versions',
  { timeout: 300_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kaas-ops-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const server = await startKaasServer(dataDir);
    const admin = join(dataDir, 'admin.kubeconfig');
    const k = (args: string[]) => runKaasctl([...args, '--kubeconfig', admin], { timeoutMs: 90_000 });
    const file = join(dir, 'ops.yaml');
    await writeFile(
      file,
      (await readFile(join(root, 'examples/bootstrap.yaml'), 'utf8'))
        .replace('name: demo', 'name: ops')
        .replace('latencyScale: 0.1', 'latencyScale: 0.01')
        .replace("kubernetesVersion: '1.33'", "kubernetesVersion: '1.32'"),
    );
    try {
      const deployed = await k(['cluster', 'deploy', '-f', file]);
      assert.equal(deployed.code, 0, deployed.stderr);

      const v = await k(['cluster', 'validate', 'ops', '-o', 'json']);
      const report = JSON.parse(v.stdout) as { passed: boolean; checks: { name: string; passed: boolean }[] };
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.ok(report.passed);
      assert.equal(report.checks.length, 8);

      const kc = join(dir, 'ops.kubeconfig');
      assert.equal(
        (await k(['kubeconfig', 'get', 'ops', '--admin', '--data-dir', dataDir, '--output-file', kc])).code,
        0,
      );
      const workers = async () =>
        (
          JSON.parse(
            (await kubectl(kc, ['get', 'nodes', '-l', 'kaas.dev/nodepool=workers', '-o', 'json'])).stdout,
          ) as {
            items: { status: { conditions: { type: string; status: string }[] } }[];
          }
        ).items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'))
          .length;

      const added = await k(['nodes', 'add', '--cluster', 'ops', '--pool', 'workers', '--count', '1']);
      assert.equal(added.code, 0, added.stderr);
      assert.equal(await workers(), 4);
      const removed = await k(['nodes', 'remove', '--cluster', 'ops', '--pool', 'workers', '--yes']);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(await workers(), 3);

      const skew = await k(['cluster', 'update', 'ops', '--kubernetes-version', '1.30']);
      assert.equal(skew.code, 3, skew.stderr);
      assert.match(skew.stderr, /downgrades are not supported/);

      const app = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: 'web',
                  image: 'nginx',
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                },
              ],
            },
          },
        },
      };
      const applied = await kubectl(kc, ['apply', '-f', '-'], { input: JSON.stringify(app) });
      assert.equal(applied.code, 0, applied.stderr);
      assert.equal((await kubectl(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s'])).code, 0);
      let minAvailable = 3;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const d = await kubectl(kc, [
            'get',
            'deployment',
            'web',
            '-o',
            'jsonpath={.status.availableReplicas}',
          ]);
          if (d.code === 0) minAvailable = Math.min(minAvailable, Number(d.stdout || 0));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const updated = await k(['cluster', 'update', 'ops', '--kubernetes-version', '1.33']);
      watching = false;
      await watcher;
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stderr, /done on v1\.33\.2/);
      const versions = (
        await kubectl(kc, ['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}'])
      ).stdout.split(' ');
      assert.equal(versions.length, 4);
      assert.ok(
        versions.every((x) => x === 'v1.33.2'),
        versions.join(' '),
      );
      assert.ok(minAvailable >= 2, `the Deployment stayed available (min ${minAvailable} of 3)`);

      const ver = await runKaasctl(['versions', '-o', 'json']);
      assert.equal(ver.code, 0, ver.stderr);
      const parsed = JSON.parse(ver.stdout) as {
        kubernetes: { version: string }[];
        services: { name: string; image: string }[];
      };
      assert.ok(parsed.kubernetes.some((x) => x.version === '1.33'));
      assert.ok(parsed.services.some((s) => s.name === 'ingress-nginx' && s.image.includes('ingress-nginx')));
    } finally {
      await server.stop();
    }
  },
);
