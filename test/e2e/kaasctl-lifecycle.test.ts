// The main journey with the real `kaasctl server` process and the real kubectl: deploy
// examples/bootstrap.yaml on the local cloud and wait, use the cluster with kubectl, list it with
// kaasctl; kill -9 the server in the middle of a deploy and restart it: it converges; destroy
// both clusters down to an empty ledger and a local cloud with nothing left in the store.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { openStore } from '@kaas/apiserver';
import { runKaasctl, startKaasServer } from '../support/kaasctl.ts';
import { kubectl } from '../support/apiserver.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function bootstrap(dir: string, name: string, latencyScale: number): Promise<string> {
  const text = (await readFile(join(root, 'examples/bootstrap.yaml'), 'utf8'))
    .replace('name: demo', `name: ${name}`)
    .replace('latencyScale: 0.1', `latencyScale: ${latencyScale}`);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

type Cluster = {
  metadata: { name: string };
  status?: {
    conditions?: { type: string; status: string; reason: string }[];
    resources?: { name: string; id?: string; phase: string }[];
  };
};

test('deploy bootstrap.yaml, use it with kubectl, survive kill -9 mid-deploy, destroy to an empty ledger', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-lifecycle-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  let server = await startKaasServer(dataDir);
  const port = new URL(server.url).port;
  const admin = join(dataDir, 'admin.kubeconfig');
  const k = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    runKaasctl([...args, '--kubeconfig', admin], { timeoutMs: 90_000, ...opts });

  // deploy and wait: progress on stderr, exit 0 once Ready
  const demo = await bootstrap(dir, 'demo', 0.02);
  const deployed = await k(['cluster', 'deploy', '-f', demo]);
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stderr, /created server\/workers-0/);
  assert.match(deployed.stderr, /✓ NodesReady: 4 of 4 nodes Ready/);
  assert.match(deployed.stderr, /✓ Ready: the cluster is ready/);

  // kubectl against the cluster's own API, with an admin certificate from the server's CA
  const kc = join(dir, 'demo.kubeconfig');
  const got = await k(['kubeconfig', 'get', 'demo', '--admin', '--data-dir', dataDir, '--output-file', kc]);
  assert.equal(got.code, 0, got.stderr);
  const nodes = await kubectl(kc, ['get', 'nodes', '-o', 'json']);
  assert.equal(nodes.code, 0, nodes.stderr);
  const items = (
    JSON.parse(nodes.stdout) as {
      items: {
        metadata: { labels: Record<string, string> };
        status: { conditions: { type: string; status: string }[] };
      }[];
    }
  ).items;
  const ready = (n: (typeof items)[number]) =>
    n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const cp = items.filter((n) => 'node-role.kubernetes.io/control-plane' in n.metadata.labels);
  const workers = items.filter((n) => n.metadata.labels['kaas.dev/nodepool'] === 'workers');
  assert.equal(cp.length, 1);
  assert.equal(workers.length, 3);
  assert.ok(items.every(ready), 'every node Ready');
  const table = await kubectl(kc, ['get', 'nodes']);
  assert.equal(table.stdout.trim().split('\n').length, 5, table.stdout);
  const ns = await kubectl(kc, ['get', 'namespaces', '-o', 'name']);
  for (const n of ['default', 'kube-public', 'kube-system', 'kaas-system'])
    assert.ok(ns.stdout.includes(`namespace/${n}\n`), `${n} in ${ns.stdout}`);
  const deployments = await kubectl(kc, ['-n', 'kaas-system', 'get', 'deployments', '-o', 'name']);
  assert.match(deployments.stdout, /deployment.apps\/ingress-nginx/);

  // a Service of type LoadBalancer gets a local cloud load balancer on the external network; it
  // is left in place for destroy, whose sweep by the cluster's tag must remove it
  assert.equal((await kubectl(kc, ['create', 'service', 'loadbalancer', 'web', '--tcp=80:8080'])).code, 0);
  let lbIp = '';
  for (let i = 0; !lbIp; i++) {
    assert.ok(i < 200, 'the LoadBalancer Service got an address');
    const svc = await kubectl(kc, [
      'get',
      'service',
      'web',
      '-o',
      'jsonpath={.status.loadBalancer.ingress[0].ip}',
    ]);
    lbIp = svc.stdout.trim();
    if (!lbIp) await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(lbIp, /^198\.1[89]\./, 'an address of the local cloud external network 198.18.0.0/15');

  // kaasctl views
  const clusters = await k(['get', 'clusters', '-o', 'json']);
  assert.equal(clusters.code, 0, clusters.stderr);
  const list = JSON.parse(clusters.stdout) as { items: Cluster[] };
  const conditions = list.items.find((c) => c.metadata.name === 'demo')!.status!.conditions!;
  for (const t of ['Ready', 'InfrastructureReady', 'ControlPlaneReady', 'NodesReady', 'ServicesReady'])
    assert.equal(conditions.find((c) => c.type === t)?.status, 'True', t);
  const kNodes = await k(['get', 'nodes', '--cluster', 'demo', '-o', 'json']);
  assert.equal((JSON.parse(kNodes.stdout) as { items: unknown[] }).items.length, 4);

  // kill -9 in the middle of a deploy, restart on the same data dir and port: it converges
  const second = await bootstrap(dir, 'second', 0.3);
  assert.equal((await k(['cluster', 'deploy', '-f', second, '--no-wait'])).code, 0);
  // watched in-process (a kaasctl process per look would be too slow to catch the deploy)
  const kcAdmin = new k8s.KubeConfig();
  kcAdmin.loadFromFile(admin);
  const api = kcAdmin.makeApiClient(k8s.CustomObjectsApi);
  const read = async (name: string) =>
    (await api.getNamespacedCustomObject({
      group: 'kaas.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'clusters',
      name,
    })) as Cluster;
  for (let i = 0; ; i++) {
    const c = await read('second').catch(() => undefined);
    if ((c?.status?.resources?.length ?? 0) > 0) {
      assert.notEqual(
        c?.status?.conditions?.find((x) => x.type === 'Ready')?.status,
        'True',
        'killed mid-deploy',
      );
      break;
    }
    assert.ok(i < 400, 'the deploy started');
    await new Promise((r) => setTimeout(r, 25));
  }
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  server = await startKaasServer(dataDir, ['--listen', `127.0.0.1:${port}`]);
  const resumed = await k(['cluster', 'deploy', '-f', second]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const resumedObj = await read('second');
  // a second deploy of the same file updates the spec and keeps what the server holds in metadata
  assert.ok(
    (resumedObj.metadata as { finalizers?: string[] }).finalizers?.length,
    'the controller finalizer survives a re-deploy',
  );
  const ledger = resumedObj.status!.resources!;
  assert.equal(ledger.length, 18);
  assert.equal(new Set(ledger.map((e) => e.id)).size, 18, 'one cloud resource per entry');

  // destroy: what will go, then an empty ledger
  const refused = await k(['cluster', 'destroy', 'second'], { input: 'n\n' });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /with 18 cloud resources/);
  for (const name of ['second', 'demo']) {
    const d = await k(['cluster', 'destroy', name, '--yes']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /ledger empty: 0 resources left/);
  }
  const none = await k(['get', 'clusters', '-o', 'json']);
  assert.deepEqual((JSON.parse(none.stdout) as { items: unknown[] }).items, []);

  // nothing of either cluster is left in the local cloud's state
  assert.equal(await server.stop(), 0);
  const kv = await openStore({ kind: 'sqlite', path: join(dataDir, 'kaas.db') });
  try {
    assert.equal(await kv.count('/kaas/localcloud/'), 0, 'no local cloud resource left');
    assert.equal(await kv.count('/registry/core/nodes/demo/'), 0, 'the logical cluster is gone');
  } finally {
    await kv.close();
  }
});
