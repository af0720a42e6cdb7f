// The Cluster reconciler against a real ApiServer over a memory store, the real local cloud and
// the local cluster controllers: deploy to Ready, destroy to nothing, quota, faults, crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, type KObject } from '@kaas/apiserver';
import { ownershipTags } from '@kaas/providers';
import { clusterFinalizer } from './reconciler.ts';
import { clusterObject, condition, startProcess, until, type TestProcess } from './testing.ts';

// every test runs the server's admission (restricted Pod Security) and cluster defaults
const asServer = { asServer: true };

const ref = (name: string) => ({
  cluster: 'root',
  apiVersion: 'kaas.dev/v1alpha1',
  kind: 'Cluster',
  namespace: 'default',
  name,
});

async function getCluster(p: TestProcess, name: string): Promise<KObject | undefined> {
  return p.manager.client.get(ref(name)).catch(() => undefined);
}

async function waitReady(p: TestProcess, name: string, timeoutMs = 15_000): Promise<KObject> {
  return until(
    async () => {
      const c = await getCluster(p, name);
      return condition(c, 'Ready')?.status === 'True' ? c : undefined;
    },
    `${name} Ready`,
    timeoutMs,
  ).catch(async (e: Error) => {
    const c = await getCluster(p, name);
    throw new Error(`${e.message}: ${JSON.stringify(c?.status?.conditions, null, 1)}`);
  });
}

async function waitGone(p: TestProcess, name: string, timeoutMs = 15_000): Promise<void> {
  await until(async () => ((await getCluster(p, name)) ? undefined : true), `${name} gone`, timeoutMs).catch(
    async (e: Error) => {
      const c = await getCluster(p, name);
      throw new Error(`${e.message}: ${JSON.stringify(c?.status?.conditions, null, 1)}`);
    },
  );
}

test('deploy: Ready with every condition, a complete ledger, nodes, namespaces, RBAC, services; idle writes nothing; destroy leaves nothing', async () => {
  const kv = new MemoryStore();
  const p = await startProcess(kv, asServer);
  try {
    await p.manager.client.create('root', clusterObject('demo'));
    // seven services, three of them waiting for a bound claim: slower than the default under load
    const c = await waitReady(p, 'demo', 60_000);
    for (const t of ['Ready', 'InfrastructureReady', 'ControlPlaneReady', 'NodesReady', 'ServicesReady'])
      assert.equal(condition(c, t)?.status, 'True', t);
    assert.match(condition(c, 'ServicesReady')!.message, /7 services healthy/);
    assert.deepEqual(c.metadata.finalizers, [clusterFinalizer]);
    assert.equal(c.status.endpoint, 'https://127.0.0.1:6443/clusters/demo');
    assert.equal(c.status.observedGeneration, c.metadata.generation);
    assert.deepEqual(c.status.nodes, { desired: 4, ready: 4, upToDate: 4 });
    const uid = c.metadata.uid!;
    const ledger = c.status.resources as { name: string; phase: string; id?: string }[];
    assert.equal(ledger.length, p.cloud.count(ownershipTags(uid)));
    assert.ok(ledger.length >= 17);
    assert.ok(ledger.every((e) => e.phase === 'Created' && e.id));

    const nodes = (await p.manager.client.list({ cluster: 'demo', apiVersion: 'v1', kind: 'Node' })).items;
    assert.equal(nodes.length, 4);
    const cp = nodes.filter((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === '');
    assert.equal(cp.length, 1);
    assert.deepEqual(cp[0]!.spec.taints, [
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    const workers = nodes.filter((n) => n.metadata.labels?.['kaas.dev/nodepool'] === 'workers');
    assert.equal(workers.length, 3);
    for (const n of nodes) {
      assert.equal(n.metadata.annotations?.['kaas.dev/kubelet-version'], 'v1.33.2');
      assert.match(n.spec.podCIDR, /^10\.244\.\d+\.0\/24$/);
      assert.equal(n.status.capacity.cpu, '4');
      assert.ok(
        n.status.conditions.some(
          (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
        ),
      );
    }
    assert.ok(workers.every((n) => n.metadata.labels?.tier === 'general'));
    assert.equal(new Set(nodes.map((n) => n.spec.podCIDR)).size, 4);
    const namespaces = (
      await p.manager.client.list({ cluster: 'demo', apiVersion: 'v1', kind: 'Namespace' })
    ).items.map((n) => n.metadata.name);
    for (const ns of ['default', 'kube-public', 'kube-system', 'kaas-system'])
      assert.ok(namespaces.includes(ns), ns);
    const sc = await p.manager.client.get({
      cluster: 'demo',
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      name: 'standard',
    });
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    const crb = await p.manager.client.get({
      cluster: 'demo',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      name: 'cluster-admin-rolebinding',
    });
    assert.deepEqual(crb.subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'cluster-admins' },
    ]);
    const deployments = (
      await p.manager.client.list({
        cluster: 'demo',
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'kaas-system',
      })
    ).items;
    assert.equal(deployments.length, 8);
    for (const d of deployments) {
      assert.equal(d.metadata.labels?.['kaas.dev/managed-by'], 'kaas');
      assert.ok(d.metadata.labels?.['kaas.dev/service-version']);
      assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
    }

    // idle: no writes at all
    await new Promise((r) => setTimeout(r, 300));
    const before = p.kv.writtenKeys.length;
    await new Promise((r) => setTimeout(r, 1500));
    // the API server's own Lease renewals aside
    const idle = p.kv.writtenKeys
      .slice(before)
      .filter((k) => !k.startsWith('/registry/coordination.k8s.io/leases/'));
    assert.deepEqual(idle, [], 'an idle Ready cluster writes nothing');

    // switching a service off prunes it
    const cur = (await getCluster(p, 'demo'))!;
    cur.spec.services.registry = { enabled: false };
    await p.manager.client.update('root', cur);
    await until(async () => {
      const ds = await p.manager.client.list({
        cluster: 'demo',
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'kaas-system',
      });
      return ds.items.length === 7 ? true : undefined;
    }, 'registry pruned');
    await waitReady(p, 'demo', 60_000);

    await p.manager.client.delete(ref('demo'));
    await waitGone(p, 'demo');
    assert.equal(p.cloud.count(ownershipTags(uid)), 0, 'no cloud resource of the cluster is left');
    assert.equal(await kv.count('/registry/core/nodes/demo/'), 0, 'the logical cluster is gone');
    assert.equal(await kv.count('/registry/apps/deployments/demo/'), 0);
  } finally {
    await p.stop();
  }
});

test('quota exceeded: a coded, user-fixable condition with the shortfall; nothing half-built', async () => {
  const p = await startProcess(new MemoryStore(), asServer);
  try {
    await p.manager.client.create('root', clusterObject('small', { local: { quotas: { instances: 3 } } }));
    const c = await until(async () => {
      const x = await getCluster(p, 'small');
      return condition(x, 'InfrastructureReady')?.reason === 'QuotaExceeded' ? x : undefined;
    }, 'QuotaExceeded');
    const cond = condition(c, 'InfrastructureReady')!;
    assert.equal(cond.status, 'False');
    assert.match(cond.message, /quota instances exceeded: limit 3, in use 0, requested 4 \(short by 1\)/);
    assert.match(cond.message, /user-fixable/);
    assert.equal(condition(c, 'Ready')?.reason, 'QuotaExceeded');
    assert.equal(p.cloud.count(ownershipTags(c.metadata.uid!)), 0);
    // the operator raises the quota: it converges
    c.spec.provider.local.quotas.instances = 10;
    await p.manager.client.update('root', c);
    await waitReady(p, 'small');
    await p.manager.client.delete(ref('small'));
    await waitGone(p, 'small');
    assert.equal(p.cloud.count(ownershipTags(c.metadata.uid!)), 0);
  } finally {
    await p.stop();
  }
});

test('an unavailable provider is an InvalidSpec condition, and delete still works', async () => {
  const p = await startProcess(new MemoryStore(), asServer);
  try {
    const obj = clusterObject('os');
    obj.spec.provider = {
      type: 'openstack',
      openstack: {
        region: 'RegionOne',
        externalNetwork: 'public',
        image: 'ubuntu',
        flavors: { controlPlane: 'm1.large', workers: 'm1.large' },
        dnsZone: 'kaas.example.com.',
      },
    };
    obj.spec.credentialsRef = { name: 'os-creds' };
    await p.manager.client.create('root', obj);
    const c = await until(async () => {
      const x = await getCluster(p, 'os');
      return condition(x, 'Ready')?.reason === 'InvalidSpec' ? x : undefined;
    }, 'InvalidSpec');
    assert.match(
      condition(c, 'InfrastructureReady')!.message,
      /provider openstack is not available in this build/,
    );
    await p.manager.client.delete(ref('os'));
    await waitGone(p, 'os');
  } finally {
    await p.stop();
  }
});

test('10% injected errors and 10% timeouts: deploy and destroy still converge', async () => {
  const p = await startProcess(new MemoryStore(), asServer);
  try {
    await p.manager.client.create(
      'root',
      clusterObject('flaky', {
        local: { latencyScale: 0.002, faults: { errorRate: 0.1, timeoutRate: 0.1, seed: 7 } },
      }),
    );
    const c = await waitReady(p, 'flaky', 30_000);
    const uid = c.metadata.uid!;
    assert.equal((c.status.resources as unknown[]).length, p.cloud.count(ownershipTags(uid)), 'no duplicate');
    await p.manager.client.delete(ref('flaky'));
    await waitGone(p, 'flaky', 30_000);
    assert.equal(p.cloud.count(ownershipTags(uid)), 0);
  } finally {
    await p.stop();
  }
});

test('failover: a standby whose local cloud was opened before the leader deployed takes over without duplicates', async () => {
  const kv = new MemoryStore();
  const leaderElection = { leaseDurationMs: 1000, retryPeriodMs: 50 };
  const a = await startProcess(kv, { ...asServer, leaderElection });
  await a.manager.waitUntilRunning();
  const b = await startProcess(kv, { ...asServer, leaderElection }); // standby, empty cloud index
  try {
    await a.manager.client.create('root', clusterObject('ha', { workers: 2, services: false }));
    await waitReady(a, 'ha');
    assert.equal(b.manager.running, false);
    await a.stop(); // releases the Lease
    await until(() => b.manager.running || undefined, 'the standby leads');
    // a spec change makes the new leader run the engine over the whole graph
    const cur = (await getCluster(b, 'ha'))!;
    cur.spec.nodePools[0].labels = { tier: 'changed' };
    const updated = await b.manager.client.update('root', cur);
    await until(async () => {
      const c = await getCluster(b, 'ha');
      return c?.status?.observedGeneration === updated.metadata.generation &&
        condition(c, 'Ready')?.status === 'True'
        ? c
        : undefined;
    }, 'Ready again under the new leader');
    assert.equal(await kv.count('/kaas/localcloud/'), 16, 'no resource made twice');
  } finally {
    await b.stop();
    await a.stop();
  }
});

test('delete during a slow deploy: the deploy stops at once and destroy leaves nothing', async () => {
  const p = await startProcess(new MemoryStore(), { ...asServer, callTimeoutMs: 60_000 });
  try {
    // servers take 20 s to boot: without stopping the deploy, destroy would wait for them
    await p.manager.client.create(
      'root',
      clusterObject('slow', { workers: 2, services: false, local: { latencyScale: 1, vmBootSeconds: 20 } }),
    );
    const c = await until(async () => {
      const x = await getCluster(p, 'slow');
      const entries = (x?.status?.resources ?? []) as { name: string }[];
      return entries.some((e) => e.name.startsWith('server/')) ? x : undefined;
    }, 'servers being created');
    const t0 = Date.now();
    await p.manager.client.delete(ref('slow'));
    await waitGone(p, 'slow');
    assert.ok(Date.now() - t0 < 15_000, `destroyed in ${Date.now() - t0} ms, before the servers booted`);
    assert.equal(p.cloud.count(ownershipTags(c.metadata.uid!)), 0);
  } finally {
    await p.stop();
  }
});

/** Mulberry32: a small seeded generator, so that the crash points repeat. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('crash at 24 seeded points of deploy and destroy: a new process converges, nothing leaks or doubles', async () => {
  const random = seeded(20261124);
  const kv = new MemoryStore();
  const points = 12; // each round crashes once in deploy and once in destroy
  const midway: string[] = [];
  for (let round = 0; round < points; round++) {
    const name = `crash-${round}`;
    let p = await startProcess(kv, asServer);
    await p.manager.client.create(
      'root',
      clusterObject(name, { workers: 2, services: round % 2 === 0, local: { latencyScale: 0.01 } }),
    );
    // crash once the ledger holds a seeded number of entries (17: in the nodes/services phase),
    // so that the points are spread over the whole deploy whatever the machine's speed
    const deployPoint = Math.floor(random() * 18);
    await until(async () => {
      const x = await getCluster(p, name);
      const n = (x?.status?.resources as unknown[] | undefined)?.length ?? 0;
      const infra = condition(x, 'InfrastructureReady')?.status === 'True';
      return (deployPoint <= 16 ? n >= deployPoint : infra) || condition(x, 'Ready')?.status === 'True';
    }, `${name}: deploy point ${deployPoint}`);
    const atDeployCrash = await getCluster(p, name);
    if (condition(atDeployCrash, 'Ready')?.status !== 'True')
      midway.push(`${name} deploy: ${atDeployCrash?.status?.resources?.length ?? 0} entries`);
    await p.crash();
    p = await startProcess(kv, asServer);
    const c = await waitReady(p, name);
    const uid = c.metadata.uid!;
    assert.equal(
      (c.status.resources as unknown[]).length,
      p.cloud.count(ownershipTags(uid)),
      `${name}: one resource per entry`,
    );
    // 8 shared resources, 2 server groups, 3 servers with a DNS record each
    assert.equal(p.cloud.count(ownershipTags(uid)), 16, `${name}: nothing doubled`);
    await p.manager.client.delete(ref(name));
    const destroyPoint = Math.floor(random() * 17); // entries left when it dies
    await until(async () => {
      const x = await getCluster(p, name);
      const n = (x?.status?.resources as unknown[] | undefined)?.length ?? 0;
      return !x || (x.metadata.deletionTimestamp !== undefined && n <= destroyPoint);
    }, `${name}: destroy point ${destroyPoint}`);
    const atDestroyCrash = await getCluster(p, name);
    if (atDestroyCrash)
      midway.push(`${name} destroy: ${atDestroyCrash.status?.resources?.length ?? 0} entries`);
    await p.crash();
    p = await startProcess(kv, asServer);
    await waitGone(p, name);
    assert.equal(p.cloud.count(ownershipTags(uid)), 0, `${name}: nothing leaked`);
    assert.equal(await kv.count(`/registry/core/nodes/${name}/`), 0);
    await p.stop();
  }
  // most crashes must land while work was in flight, or the test proves little
  assert.ok(
    midway.length >= 20,
    `only ${midway.length} of 24 crashes hit work in flight: ${midway.join(', ')}`,
  );
});

test(
  'an idle cluster with a running workload causes 0 writes over 2 minutes (the issue: no hot loops)',
  { timeout: 240_000 },
  async () => {
    const p = await startProcess(new MemoryStore(), asServer);
    try {
      await p.manager.client.create('root', clusterObject('quiet'));
      await waitReady(p, 'quiet');
      await p.manager.client.create('quiet', {
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
                  image: 'nginxinc/nginx-unprivileged:1.27',
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                },
              ],
            },
          },
        },
      });
      await until(async () => {
        const d = await p.manager.client.get({
          cluster: 'quiet',
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
        });
        return d.status?.availableReplicas === 3 ? true : undefined;
      }, 'web available');
      // settle, then watch every write for two minutes
      await new Promise((r) => setTimeout(r, 2000));
      const before = p.kv.writtenKeys.length;
      await new Promise((r) => setTimeout(r, 120_000));
      const writes = p.kv.writtenKeys
        .slice(before)
        .filter((k) => !k.startsWith('/registry/coordination.k8s.io/leases/'));
      assert.deepEqual(writes, [], 'no object of the cluster, its Cluster or the local cloud was written');
    } finally {
      await p.stop();
    }
  },
);
