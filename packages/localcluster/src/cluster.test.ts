// Whole-cluster behaviour: Services, isolation between logical clusters, and the idle cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '@kaas/apiserver';
import { pickAddress } from './services.ts';
import type { LoadBalancerBackend, ServiceName } from './context.ts';
import { ensureClusterDefaults } from './defaults.ts';
import {
  CountingStore,
  deployment,
  listPods,
  registerNode,
  registerNodes,
  sleep,
  startEnv,
  until,
} from './testing.ts';

const service = (name: string, o: { type?: string; selector?: Record<string, string> } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: {
    type: o.type ?? 'ClusterIP',
    selector: o.selector ?? { app: name },
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  },
});

const getSvc = (env: Awaited<ReturnType<typeof startEnv>>, cluster: string, name: string) =>
  env.manager.client.get({ cluster, apiVersion: 'v1', kind: 'Service', namespace: 'default', name });

test('pickAddress: deterministic, in 172.31.0.0/16, avoids used addresses', () => {
  const a = pickAddress('c1/default/web', new Set());
  assert.equal(a, pickAddress('c1/default/web', new Set()));
  assert.match(a!, /^172\.31\.\d+\.\d+$/);
  const b = pickAddress('c1/default/web', new Set([a!]));
  assert.notEqual(a, b);
});

test('EndpointSlices follow ready pods; LoadBalancer Services get unique addresses', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  await c.create('c1', deployment('web', { replicas: 3 }));
  await c.create('c1', service('web', { type: 'LoadBalancer' }));
  await c.create('c1', service('web2', { type: 'LoadBalancer', selector: { app: 'web' } }));
  const slices = async () =>
    (
      await c.list({
        cluster: 'c1',
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        namespace: 'default',
      })
    ).items;
  const sliceOf = async (svc: string) =>
    (await slices()).find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc);
  await until(
    async () => (await sliceOf('web'))?.endpoints?.filter((e: any) => e.conditions.ready).length === 3,
    'three endpoints',
  );
  const slice = (await sliceOf('web'))!;
  const pods = await listPods(env.manager, 'c1');
  assert.deepEqual(
    slice.endpoints.map((e: any) => e.addresses[0]).sort(),
    pods.map((p) => p.status.podIP).sort(),
  );
  assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.equal(slice.addressType, 'IPv4');
  assert.equal(slice.metadata.ownerReferences?.[0]?.kind, 'Service');
  await until(
    async () =>
      !!(await getSvc(env, 'c1', 'web')).status?.loadBalancer?.ingress?.[0]?.ip &&
      !!(await getSvc(env, 'c1', 'web2')).status?.loadBalancer?.ingress?.[0]?.ip,
    'addresses',
  );
  const ip1 = (await getSvc(env, 'c1', 'web')).status.loadBalancer.ingress[0].ip;
  const ip2 = (await getSvc(env, 'c1', 'web2')).status.loadBalancer.ingress[0].ip;
  assert.match(ip1, /^172\.31\./);
  assert.notEqual(ip1, ip2);
  const ep = await c.get({
    cluster: 'c1',
    apiVersion: 'v1',
    kind: 'Endpoints',
    namespace: 'default',
    name: 'web',
  });
  assert.equal(ep.subsets[0].addresses.length, 3);
  assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  // Scaling down shrinks the slice.
  const d = await c.get({
    cluster: 'c1',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'default',
    name: 'web',
  });
  await c.update('c1', { ...d, spec: { ...d.spec, replicas: 1 } });
  await until(async () => (await sliceOf('web'))?.endpoints?.length === 1, 'one endpoint');
  await c.delete({ cluster: 'c1', apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'web' });
  await until(
    async () =>
      (
        await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'Endpoints', namespace: 'default' })
      ).items.every((e) => e.metadata.name !== 'web') && (await sliceOf('web')) === undefined,
    'endpoints and slice gone with the Service',
  );
});

test('with a load balancer backend, a Service owns one while it is of type LoadBalancer', async (t) => {
  // the backend's contract as kaasctl server's local cloud keeps it (packages/providers:
  // ServiceLoadBalancers); here a map, so that this package's test sees each call
  const held = new Map<string, string>();
  const refKey = (r: ServiceName) => `${r.cluster}/${r.namespace}/${r.name}`;
  const loadBalancers: LoadBalancerBackend = {
    async ensure(ref) {
      const k = refKey(ref);
      if (!held.has(k)) held.set(k, `198.18.0.${10 + held.size}`);
      return held.get(k)!;
    },
    async release(ref) {
      held.delete(refKey(ref));
    },
    list: () =>
      [...held.keys()].map((k) => {
        const [cluster, namespace, name] = k.split('/');
        return { cluster: cluster!, namespace: namespace!, name: name! };
      }),
  };
  // one left by a Service deleted while no server ran: released once the controller starts
  held.set('c1/default/gone', '198.18.0.99');
  const env = await startEnv({ opts: { loadBalancers } });
  t.after(env.close);
  const c = env.manager.client;
  await c.create('c1', service('lb', { type: 'LoadBalancer' }));
  await until(
    async () =>
      (await getSvc(env, 'c1', 'lb')).status?.loadBalancer?.ingress?.[0]?.ip === held.get('c1/default/lb'),
    'the backend address',
  );
  await until(async () => !held.has('c1/default/gone'), 'the orphan released');
  // type ClusterIP: the load balancer goes and the status is cleared
  const svc = await getSvc(env, 'c1', 'lb');
  await c.update('c1', { ...svc, spec: { ...svc.spec, type: 'ClusterIP' } });
  await until(
    async () => !held.has('c1/default/lb') && !(await getSvc(env, 'c1', 'lb')).status?.loadBalancer?.ingress,
    'released when no longer a LoadBalancer',
  );
  const again = await getSvc(env, 'c1', 'lb');
  await c.update('c1', { ...again, spec: { ...again.spec, type: 'LoadBalancer' } });
  await until(async () => held.has('c1/default/lb'), 'made again');
  await c.delete({ cluster: 'c1', apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'lb' });
  await until(async () => held.size === 0, 'released with the Service');
});

test('two logical clusters are isolated; the root cluster is left alone', async (t) => {
  const env = await startEnv({ clusters: ['c1', 'c2'] });
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 2);
  await registerNodes(env.manager, 'c2', 1);
  await c.create('c1', deployment('app', { replicas: 2 }));
  await c.create('c2', deployment('app', { replicas: 3 }));
  await c.create('root', deployment('app', { replicas: 1 }));
  const running = async (cluster: string) =>
    (await listPods(env.manager, cluster)).filter((p) => p.status?.phase === 'Running');
  await until(
    async () => (await running('c1')).length === 2 && (await running('c2')).length === 3,
    'both run',
  );
  assert.ok((await running('c1')).every((p) => /^worker-[01]$/.test(p.spec.nodeName)));
  assert.ok((await running('c2')).every((p) => p.spec.nodeName === 'worker-0'));
  // c2's single worker holds all three; c1's nodes are not c2's.
  const c2nodes = (await c.list({ cluster: 'c2', apiVersion: 'v1', kind: 'Node' })).items.map(
    (n) => n.metadata.name,
  );
  assert.deepEqual(c2nodes.sort(), ['cp-0', 'worker-0']);
  await sleep(200);
  const rootRS = (
    await c.list({ cluster: 'root', apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'default' })
  ).items;
  assert.equal(rootRS.length, 0, 'no controller acts on the root cluster');
});

test('an idle cluster with workloads writes nothing', async (t) => {
  const kv = new CountingStore();
  const env = await startEnv({ kv });
  t.after(env.close);
  const c = env.manager.client;
  await registerNodes(env.manager, 'c1', 3);
  await c.create('c1', deployment('web', { replicas: 3 }));
  await c.create('c1', service('web', { type: 'LoadBalancer' }));
  await c.create('c1', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await until(async () => {
    const d = await c.get({
      cluster: 'c1',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'default',
      name: 'web',
    });
    return d.status?.availableReplicas === 3 && d.status.conditions?.[1]?.reason === 'NewReplicaSetAvailable';
  }, 'settled');
  // Let the last events drain, then count.
  let before = -1;
  await until(async () => {
    const n = kv.writes.length;
    await sleep(300);
    if (n === kv.writes.length && n === before) return true;
    before = kv.writes.length;
    return false;
  }, 'quiet');
  const start = kv.writes.length;
  await sleep(2000);
  // The API server's own lease in the root cluster is renewed regardless; nothing else may move.
  const ours = kv.writes
    .slice(start)
    .filter((k) => !k.startsWith('/registry/coordination.k8s.io/leases/root/'));
  assert.deepEqual(ours, [], 'no writes while idle');
});

test('many clusters share one informer per resource and all converge', async (t) => {
  const env = await startEnv({ clusters: [] });
  t.after(env.close);
  const c = env.manager.client;
  const names = Array.from({ length: 30 }, (_, i) => `k${i}`);
  await Promise.all(
    names.map(async (n) => {
      await ensureClusterDefaults(c, n);
      await registerNode(env.manager, n, 'w0');
      await c.create(n, deployment('app', { replicas: 2 }));
    }),
  );
  const pods = env.manager.informer({ group: '', plural: 'pods' });
  await until(
    () => pods.list().filter((p) => p.status?.phase === 'Running').length === 60,
    'all running',
    30_000,
  );
  for (const n of names.slice(0, 3))
    assert.deepEqual(
      (await listPods(env.manager, n)).map((p) => p.spec.nodeName),
      ['w0', 'w0'],
    );
  const ids = env.manager.metrics().informers.map((i) => i.id);
  assert.equal(ids.length, new Set(ids).size);
  assert.ok(
    ids.every((id) => !id.includes('@')),
    'no per-cluster informers',
  );
  assert.equal(ids.length, 11);
});
