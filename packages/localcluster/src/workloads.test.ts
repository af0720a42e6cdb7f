import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KObject } from '@kaas/apiserver';
import { isPodReady } from './util.ts';
import { listPods, podSpec, registerNode, registerNodes, startEnv, until } from './testing.ts';

const ds = (name: string, spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { ...podSpec(), ...spec } },
  },
});

test('DaemonSet: one pod per eligible node, honouring taints, tolerations and nodeSelector', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  await c.create('c1', ds('agent'));
  await c.create(
    'c1',
    ds('everywhere', {
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      ],
    }),
  );
  await c.create('c1', ds('picky', { nodeSelector: { 'kubernetes.io/hostname': 'worker-1' } }));
  const get = (name: string) =>
    c.get({ cluster: 'c1', apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'default', name });
  const done = async (name: string, n: number) => {
    const s = (await get(name)).status ?? {};
    return (
      s.desiredNumberScheduled === n &&
      s.numberReady === n &&
      s.updatedNumberScheduled === n &&
      s.numberAvailable === n
    );
  };
  await until(
    async () => (await done('agent', 3)) && (await done('everywhere', 4)) && (await done('picky', 1)),
    async () =>
      JSON.stringify([
        (await get('agent')).status,
        (await get('everywhere')).status,
        (await get('picky')).status,
      ]),
  );
  const pods = await listPods(env.manager, 'c1');
  const nodesOf = (app: string) =>
    pods
      .filter((p) => p.metadata.labels?.app === app)
      .map((p) => p.spec.nodeName)
      .sort();
  assert.deepEqual(nodesOf('agent'), ['worker-0', 'worker-1', 'worker-2']);
  assert.deepEqual(nodesOf('everywhere'), ['cp-0', 'worker-0', 'worker-1', 'worker-2']);
  assert.deepEqual(nodesOf('picky'), ['worker-1']);
  // A new node gets its pod; an updated template rolls over every node.
  await registerNode(env.manager, 'c1', 'worker-3');
  await until(() => done('agent', 4), 'agent on the new node');
  const cur = await get('agent');
  cur.spec.template.spec.containers[0].image = 'nginx:1.28';
  const gen = (await c.update('c1', cur)).metadata.generation;
  await until(async () => {
    const d = await get('agent');
    const ps = (await listPods(env.manager, 'c1')).filter((p) => p.metadata.labels?.app === 'agent');
    return (
      d.status?.observedGeneration === gen &&
      (await done('agent', 4)) &&
      ps.length === 4 &&
      ps.every((p) => p.spec.containers[0].image === 'nginx:1.28' && isPodReady(p))
    );
  }, 'agent updated');
});

const sts = (name: string, replicas: number): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        ...podSpec(),
        containers: [
          { ...(podSpec().containers as any[])[0], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  },
});

test('StatefulSet: ordered pods with claims bound to provisioned directories', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  const order: string[] = [];
  const podsInf = env.manager.informer({ group: '', plural: 'pods' });
  podsInf.addHandler((e) => {
    if (e.type === 'add' && e.cluster === 'c1') order.push(e.obj.metadata.name!);
  });
  await c.create('c1', sts('db', 3));
  const get = () =>
    c.get({ cluster: 'c1', apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' });
  await until(
    async () => {
      const s = (await get()).status ?? {};
      return s.readyReplicas === 3 && s.currentReplicas === 3 && s.updatedReplicas === 3;
    },
    async () => JSON.stringify((await get()).status),
  );
  assert.deepEqual(order, ['db-0', 'db-1', 'db-2']);
  const pods = await listPods(env.manager, 'c1');
  assert.equal(pods.find((p) => p.metadata.name === 'db-1')!.spec.hostname, 'db-1');
  const claims = (
    await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'default' })
  ).items;
  assert.deepEqual(claims.map((x) => x.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
  assert.ok(claims.every((x) => x.status.phase === 'Bound' && x.spec.storageClassName === 'standard'));
  const pvs = (await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolume' })).items;
  assert.equal(pvs.length, 3);
  for (const pv of pvs) {
    assert.equal(pv.status.phase, 'Bound');
    assert.equal(pv.spec.hostPath.path, join(env.dataDir, 'volumes', 'c1', pv.metadata.name!));
    assert.ok(existsSync(pv.spec.hostPath.path), 'the volume is a real directory');
  }
  // A new template replaces pods from the highest ordinal down, keeping their claims.
  const order2: string[] = [];
  podsInf.addHandler((e) => {
    if (e.type === 'delete' && e.cluster === 'c1') order2.push(e.obj.metadata.name!);
  });
  const cur0 = await get();
  cur0.spec.template.spec.containers[0].image = 'nginx:1.28';
  const gen = (await c.update('c1', cur0)).metadata.generation;
  await until(
    async () => {
      const s = (await get()).status ?? {};
      return (
        s.observedGeneration === gen &&
        s.updatedReplicas === 3 &&
        s.readyReplicas === 3 &&
        s.currentRevision === s.updateRevision
      );
    },
    async () => JSON.stringify((await get()).status),
  );
  assert.deepEqual(order2, ['db-2', 'db-1', 'db-0']);
  assert.ok((await listPods(env.manager, 'c1')).every((p) => p.spec.containers[0].image === 'nginx:1.28'));
  // Scale down removes the highest ordinal first; the claims stay.
  const cur = await get();
  await c.update('c1', { ...cur, spec: { ...cur.spec, replicas: 1 } });
  await until(
    async () => (await listPods(env.manager, 'c1')).map((p) => p.metadata.name).join() === 'db-0',
    'scaled down',
  );
  // Deleting a claim whose volume reclaims by Delete removes the PV and its directory.
  const pv2 = pvs.find((p) => p.spec.claimRef.name === 'data-db-2')!;
  await c.delete({
    cluster: 'c1',
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: 'default',
    name: 'data-db-2',
  });
  await until(
    async () =>
      !existsSync(pv2.spec.hostPath.path) &&
      !(await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolume' })).items.some(
        (p) => p.metadata.name === pv2.metadata.name,
      ),
    'deleted',
  );
});
