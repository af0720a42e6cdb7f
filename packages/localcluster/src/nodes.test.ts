import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey } from '@kaas/controllers';
import { desiredNodeStatus, nodeCIDR } from './nodes.ts';
import { jsonEqual } from './util.ts';
import { ensureClusterDefaults } from './defaults.ts';
import { registerNode, startEnv, until } from './testing.ts';

test('desiredNodeStatus is stable: computing it from its own result changes nothing', () => {
  const node = {
    metadata: { name: 'n1', uid: 'u1', labels: { 'kaas.dev/kubelet-version': 'v1.31.2' } },
    status: { capacity: { cpu: '2', memory: '4Gi', pods: '110' } },
  };
  const s1 = desiredNodeStatus(node);
  assert.equal(s1.nodeInfo.kubeletVersion, 'v1.31.2');
  assert.match(s1.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\.7\./);
  assert.deepEqual(s1.allocatable, node.status.capacity);
  assert.deepEqual(
    s1.conditions.map((c: any) => `${c.type}=${c.status}`),
    ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
  );
  const s2 = desiredNodeStatus({ ...node, status: s1 });
  assert.ok(jsonEqual(s1, s2));
  assert.equal(nodeCIDR('10.244.0.0/16', 3), '10.244.3.0/24');
});

test('a registered node becomes Ready with nodeInfo and a pod CIDR', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  await registerNode(env.manager, 'c1', 'n1', { labels: { 'kaas.dev/kubelet-version': 'v1.31.2' } });
  await registerNode(env.manager, 'c1', 'n2');
  const get = (n: string) =>
    env.manager.client.get({ cluster: 'c1', apiVersion: 'v1', kind: 'Node', name: n });
  await until(
    async () => (await get('n1')).status?.nodeInfo !== undefined && !!(await get('n2')).spec.podCIDR,
    'ready',
  );
  const n1 = await get('n1');
  const n2 = await get('n2');
  assert.equal(n1.status.nodeInfo.kubeletVersion, 'v1.31.2');
  assert.equal(n1.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  assert.equal(n1.status.allocatable.cpu, '2');
  assert.notEqual(n1.spec.podCIDR, n2.spec.podCIDR);
  assert.match(n1.spec.podCIDR, /^10\.244\.\d+\.0\/24$/);
  // The root cluster is not a local cluster: its nodes are left alone.
  await registerNode(env.manager, 'root', 'rootnode');
  await new Promise((r) => setTimeout(r, 200));
  const r = await env.manager.client.get({
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'Node',
    name: 'rootnode',
  });
  assert.equal(r.status.nodeInfo, undefined);
  assert.ok(
    env.manager.metrics().informers.some((i) => i.id === '/nodes' && i.objects === 3),
    formatKey({ cluster: 'x', name: 'y' }),
  );
});

test('ensureClusterDefaults creates namespaces and the default StorageClass, idempotently', async (t) => {
  const env = await startEnv({ clusters: [] });
  t.after(env.close);
  const c = env.manager.client;
  await ensureClusterDefaults(c, 'fresh');
  const sc = await c.get({
    cluster: 'fresh',
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    name: 'standard',
  });
  sc.reclaimPolicy = 'Retain';
  await c.update('fresh', sc);
  await ensureClusterDefaults(c, 'fresh');
  const again = await c.get({
    cluster: 'fresh',
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    name: 'standard',
  });
  assert.equal(again.reclaimPolicy, 'Retain', 'an existing class is left as it is');
  assert.equal(again.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
  assert.equal(again.provisioner, 'kaas.dev/local-volume');
  const ns = (await c.list({ cluster: 'fresh', apiVersion: 'v1', kind: 'Namespace' })).items.map(
    (n) => n.metadata.name,
  );
  for (const n of ['default', 'kube-public', 'kube-system', 'kaas-system']) assert.ok(ns.includes(n), n);
});
