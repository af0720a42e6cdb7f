import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageIDOf, podAddress } from './kubelet.ts';
import { listPods, pod, podSpec, registerNodes, startEnv, until } from './testing.ts';

test('image IDs and pod addresses', () => {
  assert.match(imageIDOf('nginx:1.27'), /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
  assert.match(imageIDOf('quay.io/x/y:1'), /^quay\.io\/x\/y@sha256:/);
  assert.equal(podAddress('10.244.1.0/24', new Set(['10.244.1.2'])), '10.244.1.3');
});

test('pods are scheduled to workers and reported Running; too big stays Pending with the message', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  for (let i = 0; i < 6; i++) await c.create('c1', pod(`p${i}`));
  await c.create('c1', pod('huge', podSpec('nginx:1.27', { cpu: '64' })));
  await c.create(
    'c1',
    pod('pinned', {
      ...podSpec(),
      nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      ],
    }),
  );
  await until(
    async () => (await listPods(env.manager, 'c1')).filter((p) => p.status?.phase === 'Running').length === 7,
    'seven pods running',
  );
  const pods = await listPods(env.manager, 'c1');
  const running = pods.filter((p) => /^p\d$/.test(p.metadata.name!));
  const perNode = new Map<string, number>();
  for (const p of running) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  assert.deepEqual([...perNode].sort(), [
    ['worker-0', 2],
    ['worker-1', 2],
    ['worker-2', 2],
  ]);
  const ips = new Set(running.map((p) => p.status.podIP));
  assert.equal(ips.size, 6, 'unique pod IPs');
  for (const p of running) {
    assert.equal(p.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal(p.status.containerStatuses[0].ready, true);
    assert.equal(p.status.containerStatuses[0].restartCount, 0);
    assert.ok(p.status.containerStatuses[0].state.running.startedAt);
    assert.match(p.status.hostIP, /^192\.168\.10\./);
    assert.ok(p.status.startTime);
  }
  assert.equal(pods.find((p) => p.metadata.name === 'pinned')!.spec.nodeName, 'cp-0');
  await until(
    async () =>
      (await c.get({ cluster: 'c1', apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'huge' }))
        .status?.conditions?.[0]?.reason === 'Unschedulable',
    'huge unschedulable',
  );
  const huge = await c.get({
    cluster: 'c1',
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: 'default',
    name: 'huge',
  });
  assert.equal(huge.status.phase, 'Pending');
  assert.equal(
    huge.status.conditions[0].message,
    '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu.',
  );
  await until(async () => {
    const evs = (await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'Event', namespace: 'default' }))
      .items;
    return evs.some((e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'huge');
  }, 'FailedScheduling event');
  // A bigger node arrives: the pending pod is scheduled there.
  const { registerNode } = await import('./testing.ts');
  await registerNode(env.manager, 'c1', 'big', { cpu: '96', memory: '256Gi' });
  await until(
    async () =>
      (await c.get({ cluster: 'c1', apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'huge' }))
        .status?.phase === 'Running',
    'huge runs on the big node',
  );
  // A node that goes away takes its pods with it (pod GC).
  await c.delete({ cluster: 'c1', apiVersion: 'v1', kind: 'Node', name: 'big' });
  await until(
    async () => !(await listPods(env.manager, 'c1')).some((p) => p.metadata.name === 'huge'),
    'huge collected',
  );
});
