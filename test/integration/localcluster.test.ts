// A local cluster through the real kubectl: nodes registered as the Cluster reconciler does, the
// local cluster's controllers running on the server's store, and a Deployment that kubectl sees
// roll out, scale and update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from '@kaas/controllers';
import { ensureClusterDefaults, installLocalClusterControllers } from '@kaas/localcluster';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

let ts: TestServer;
let manager: Manager;
let kc: string;
const cluster = 'lc-it';

async function registerNode(name: string, ip: string, controlPlane = false): Promise<void> {
  const node = await manager.client.create(cluster, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kaas.dev/kubelet-version': 'v1.32.4',
        ...(controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
    },
    spec: controlPlane
      ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }
      : {},
  });
  await manager.client.patch(
    { cluster, apiVersion: 'v1', kind: 'Node', name: node.metadata.name! },
    {
      status: {
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
        addresses: [
          { type: 'InternalIP', address: ip },
          { type: 'Hostname', address: name },
        ],
      },
    },
    { subresource: 'status' },
  );
}

before(async () => {
  ts = await startTestServer();
  manager = new Manager({ server: ts.server, kv: ts.kv, leaderElection: false });
  installLocalClusterControllers(manager, { dataDir: ts.dir, clusters: (c) => c === cluster });
  await ensureClusterDefaults(manager.client, cluster);
  await manager.start();
  await manager.waitUntilRunning();
  await registerNode('cp-0', '192.168.20.2', true);
  for (let i = 0; i < 3; i++) await registerNode(`worker-${i}`, `192.168.20.${10 + i}`);
  kc = await ts.kubeconfigFor(cluster);
});
after(async () => {
  await manager?.stop();
  await ts?.stop();
});

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

test('kubectl: nodes Ready, a Deployment rolls out, pods show their nodes, scale and set image', async () => {
  const k = (args: string[]) => kubectl(kc, args);
  const nodes = ok(await k(['get', 'nodes']), 'get nodes');
  assert.match(nodes, /cp-0\s+Ready\s+control-plane\s+\S+\s+v1\.32\.4/);
  assert.match(nodes, /worker-2\s+Ready\s+<none>/);
  ok(await k(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3']), 'create deployment');
  ok(await k(['rollout', 'status', 'deployment/web', '--timeout=60s']), 'rollout status');
  const deploy = ok(await k(['get', 'deploy', 'web']), 'get deploy');
  assert.match(deploy, /web\s+3\/3\s+3\s+3\s/);
  const wide = ok(await k(['get', 'pods', '-o', 'wide']), 'get pods -o wide');
  const rows = wide.trim().split('\n').slice(1);
  assert.equal(rows.length, 3);
  for (const row of rows) assert.match(row, /Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+worker-\d/);
  assert.doesNotMatch(wide, /cp-0/);

  ok(await k(['scale', 'deployment/web', '--replicas=5']), 'scale');
  ok(await k(['rollout', 'status', 'deployment/web', '--timeout=60s']), 'rollout status after scale');
  assert.match(ok(await k(['get', 'deploy', 'web']), 'get deploy'), /web\s+5\/5\s+5\s+5\s/);

  ok(await k(['set', 'image', 'deployment/web', 'nginx=nginx:1.28']), 'set image');
  const out = ok(
    await k(['rollout', 'status', 'deployment/web', '--timeout=60s']),
    'rollout status after set image',
  );
  assert.match(out, /successfully rolled out/);
  const images = ok(
    await k(['get', 'pods', '-o', 'jsonpath={range .items[*]}{.spec.containers[0].image}{"\\n"}{end}']),
    'images',
  );
  assert.deepEqual([...new Set(images.trim().split('\n'))], ['nginx:1.28']);
  const history = ok(await k(['get', 'rs', '-o', 'wide']), 'get rs');
  assert.equal(history.trim().split('\n').length, 3, 'two ReplicaSets');

  ok(await k(['expose', 'deployment/web', '--port=80', '--type=LoadBalancer']), 'expose');
  let svc = '';
  for (let i = 0; i < 100 && !/172\.31\./.test(svc); i++) {
    svc = ok(await k(['get', 'svc', 'web']), 'get svc');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(svc, /web\s+LoadBalancer\s+\S+\s+172\.31\.\d+\.\d+/);

  ok(await k(['delete', 'deployment', 'web']), 'delete deployment');
  let left = 'x';
  for (let i = 0; i < 100 && left; i++) {
    left = ok(await k(['get', 'pods,rs', '-o', 'name']), 'get pods,rs').trim();
    if (left) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(left, '', 'the garbage collector removed the ReplicaSets and pods');
});
