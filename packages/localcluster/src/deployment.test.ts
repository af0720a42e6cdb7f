import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '@kaas/apiserver';
import { planRollout } from './deployment.ts';
import { isPodActive, isPodReady } from './util.ts';
import { deployment, listPods, registerNodes, startEnv, until } from './testing.ts';

const ru = (maxSurge: unknown, maxUnavailable: unknown) => ({
  type: 'RollingUpdate',
  rollingUpdate: { maxSurge, maxUnavailable },
});

test('planRollout: rolling update steps within maxSurge and maxUnavailable, and Recreate', () => {
  const plan = (s: Parameters<typeof planRollout>[0]) => Object.fromEntries(planRollout(s));
  // Start: surge 1 lets the new RS go to 1.
  assert.deepEqual(
    plan({
      replicas: 3,
      strategy: ru(1, 0),
      newRS: { name: 'n', spec: 0, available: 0 },
      olds: [{ name: 'o', spec: 3, available: 3, pods: 3 }],
    }),
    { n: 1 },
  );
  // New pod not available yet, maxUnavailable 0: nothing moves.
  assert.deepEqual(
    plan({
      replicas: 3,
      strategy: ru(1, 0),
      newRS: { name: 'n', spec: 1, available: 0 },
      olds: [{ name: 'o', spec: 3, available: 3, pods: 3 }],
    }),
    {},
  );
  // New pod available: one old goes.
  assert.deepEqual(
    plan({
      replicas: 3,
      strategy: ru(1, 0),
      newRS: { name: 'n', spec: 1, available: 1 },
      olds: [{ name: 'o', spec: 3, available: 3, pods: 3 }],
    }),
    { o: 2 },
  );
  // Defaults 25%/25% of 4: surge 1, unavailable 1.
  assert.deepEqual(
    plan({
      replicas: 4,
      strategy: ru('25%', '25%'),
      newRS: { name: 'n', spec: 1, available: 0 },
      olds: [{ name: 'o', spec: 4, available: 4, pods: 4 }],
    }),
    { o: 3 },
  );
  // Unhealthy old pods go first, even below the available budget.
  assert.deepEqual(
    plan({
      replicas: 2,
      strategy: ru(0, 1),
      newRS: { name: 'n', spec: 0, available: 0 },
      olds: [{ name: 'o', spec: 2, available: 0, pods: 2 }],
    }),
    { o: 1 },
  );
  // Scaling: a settled deployment just follows spec.replicas.
  assert.deepEqual(
    plan({ replicas: 5, strategy: ru(1, 0), newRS: { name: 'n', spec: 3, available: 3 }, olds: [] }),
    { n: 5 },
  );
  assert.deepEqual(
    plan({ replicas: 1, strategy: ru(1, 0), newRS: { name: 'n', spec: 3, available: 3 }, olds: [] }),
    { n: 1 },
  );
  // Recreate: old to 0, wait for its pods, then the new one.
  const rec = { type: 'Recreate' };
  assert.deepEqual(
    plan({
      replicas: 2,
      strategy: rec,
      newRS: { name: 'n', spec: 0, available: 0 },
      olds: [{ name: 'o', spec: 2, available: 2, pods: 2 }],
    }),
    { o: 0 },
  );
  assert.deepEqual(
    plan({
      replicas: 2,
      strategy: rec,
      newRS: { name: 'n', spec: 0, available: 0 },
      olds: [{ name: 'o', spec: 0, available: 0, pods: 1 }],
    }),
    {},
  );
  assert.deepEqual(
    plan({
      replicas: 2,
      strategy: rec,
      newRS: { name: 'n', spec: 0, available: 0 },
      olds: [{ name: 'o', spec: 0, available: 0, pods: 0 }],
    }),
    { n: 2 },
  );
});

const getDeploy = (env: Awaited<ReturnType<typeof startEnv>>, name: string) =>
  env.manager.client.get({
    cluster: 'c1',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'default',
    name,
  });

function settled(d: KObject): boolean {
  const s = d.status ?? {};
  const r = d.spec.replicas;
  return (
    s.observedGeneration === d.metadata.generation &&
    s.replicas === r &&
    s.updatedReplicas === r &&
    s.availableReplicas === r &&
    s.readyReplicas === r &&
    s.conditions?.find((c: any) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable'
  );
}

test('a Deployment becomes Available, spreads over workers, scales, rolls out and is collected', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  await c.create('c1', deployment('web', { replicas: 3, strategy: ru(1, 1) }));
  await until(
    async () => settled(await getDeploy(env, 'web')),
    async () => JSON.stringify((await getDeploy(env, 'web')).status),
  );
  let d = await getDeploy(env, 'web');
  assert.equal(d.status.conditions[0].type, 'Available');
  assert.equal(d.status.conditions[0].status, 'True');
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  let pods = (await listPods(env.manager, 'c1')).filter(isPodActive);
  assert.equal(pods.length, 3);
  assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['worker-0', 'worker-1', 'worker-2']);
  assert.ok(pods.every((p) => p.status.phase === 'Running' && isPodReady(p)));
  const rsList = async () =>
    (await c.list({ cluster: 'c1', apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'default' })).items;
  const [rs1] = await rsList();
  assert.ok(
    pods.every(
      (p) => p.metadata.labels?.['pod-template-hash'] === rs1?.metadata.labels?.['pod-template-hash'],
    ),
  );
  assert.ok(pods.every((p) => p.metadata.ownerReferences?.[0]?.controller === true));

  const scale = async (n: number) => {
    const cur = await getDeploy(env, 'web');
    await c.update('c1', { ...cur, spec: { ...cur.spec, replicas: n } });
    await until(async () => settled(await getDeploy(env, 'web')), `scaled to ${n}`);
    await until(async () => (await listPods(env.manager, 'c1')).length === n, `${n} pods`);
  };
  await scale(5);
  await scale(1);
  await scale(4);

  // Rolling update: watch every state the pod cache goes through.
  let minReady = Infinity;
  const podsInf = env.manager.informer({ group: '', plural: 'pods' });
  let watching = true;
  const off = podsInf.addHandler(() => {
    if (!watching) return;
    const n = podsInf.list('c1', 'default').filter((p) => isPodActive(p) && isPodReady(p)).length;
    minReady = Math.min(minReady, n);
  });
  const cur = await getDeploy(env, 'web');
  cur.spec.template.spec.containers[0].image = 'nginx:1.28';
  const gen = (await c.update('c1', cur)).metadata.generation;
  await until(
    async () => {
      const x = await getDeploy(env, 'web');
      return x.metadata.generation === gen && settled(x);
    },
    async () =>
      JSON.stringify([
        (await getDeploy(env, 'web')).status,
        (await rsList()).map((r) => [r.metadata.name, r.spec.replicas, r.status]),
      ]),
  );
  await until(async () => (await listPods(env.manager, 'c1')).length === 4, 'old pods gone');
  watching = false;
  off();
  assert.ok(minReady >= 3, `never below replicas - maxUnavailable (saw ${minReady} ready)`);
  d = await getDeploy(env, 'web');
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  const rss = await rsList();
  assert.equal(rss.length, 2);
  const newRS = rss.find((r) => r.spec.template.spec.containers[0].image === 'nginx:1.28')!;
  const oldRS = rss.find((r) => r !== newRS)!;
  assert.equal(newRS.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(oldRS.spec.replicas, 0);
  pods = await listPods(env.manager, 'c1');
  assert.ok(
    pods.every(
      (p) => p.metadata.labels?.['pod-template-hash'] === newRS.metadata.labels?.['pod-template-hash'],
    ),
  );
  assert.ok(pods.every((p) => p.status.containerStatuses[0].image === 'nginx:1.28'));

  // Deleting the Deployment: the garbage collector removes its ReplicaSets and their pods.
  await c.delete({
    cluster: 'c1',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'default',
    name: 'web',
  });
  await until(
    async () => (await rsList()).length === 0 && (await listPods(env.manager, 'c1')).length === 0,
    'collected',
  );
});

test('Recreate: old pods go before new ones come', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 2);
  await c.create('c1', deployment('rec', { replicas: 2, strategy: { type: 'Recreate' } }));
  await until(async () => settled(await getDeploy(env, 'rec')), 'rec available');
  const podsInf = env.manager.informer({ group: '', plural: 'pods' });
  let mixed = false;
  const off = podsInf.addHandler(() => {
    const images = new Set(podsInf.list('c1', 'default').map((p) => p.spec.containers[0].image));
    if (images.size > 1) mixed = true;
  });
  const cur = await getDeploy(env, 'rec');
  cur.spec.template.spec.containers[0].image = 'nginx:1.28';
  await c.update('c1', cur);
  await until(async () => {
    const x = await getDeploy(env, 'rec');
    return x.metadata.generation === 2 && settled(x);
  }, 'recreated');
  off();
  assert.equal(mixed, false, 'never old and new pods at once');
});

test('a rollout that cannot progress times out with ProgressDeadlineExceeded', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 1);
  const d = deployment('stuck', { replicas: 1 });
  d.spec.progressDeadlineSeconds = 1;
  d.spec.template.spec.containers[0].resources = { requests: { cpu: '100' } };
  await c.create('c1', d);
  await until(async () => {
    const x = await getDeploy(env, 'stuck');
    const p = x.status?.conditions?.find((cc: any) => cc.type === 'Progressing');
    return p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded';
  }, 'timed out');
  const x = await getDeploy(env, 'stuck');
  assert.equal(x.status.conditions[0].status, 'False', 'not Available');
  assert.match(x.status.conditions[1].message, /^ReplicaSet "stuck-\w+" has timed out progressing\.$/);
});
