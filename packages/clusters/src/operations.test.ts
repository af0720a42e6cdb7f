// Node operations against the real reconciler, the local cloud and the local cluster
// controllers: drain, rolling update (N-1 Ready workers throughout; a crash mid-roll resumes),
// node add/remove/replace, validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesVersions } from '@kaas/api';
import { MemoryStore, type KObject } from '@kaas/apiserver';
import { standardStorageClass } from '@kaas/localcluster';
import { drainNode, setUnschedulable } from './drain.ts';
import { operationAnnotations, planRoll, versionSkewProblem, type RollStatus } from './rolling.ts';
import type { ValidationReport } from './validate.ts';
import { clusterObject, condition, startProcess, until, type TestProcess } from './testing.ts';

const ref = (name: string) => ({
  cluster: 'root',
  apiVersion: 'kaas.dev/v1alpha1',
  kind: 'Cluster',
  namespace: 'default',
  name,
});
const get = (p: TestProcess, name: string) => p.manager.client.get(ref(name));

async function ready(p: TestProcess, name: string, timeoutMs = 20_000): Promise<KObject> {
  return until(
    async () => {
      const c = await get(p, name).catch(() => undefined);
      return c &&
        c.status?.observedGeneration === c.metadata.generation &&
        condition(c, 'Ready')?.status === 'True'
        ? c
        : undefined;
    },
    `${name} Ready`,
    timeoutMs,
  ).catch(async (e: Error) => {
    const c = await get(p, name).catch(() => undefined);
    throw new Error(
      `${e.message}: ${JSON.stringify(c?.status?.conditions)} ${c?.metadata.annotations?.[operationAnnotations.upgradeStatus]}`,
    );
  });
}

const nodes = async (p: TestProcess, cluster: string) =>
  (await p.manager.client.list({ cluster, apiVersion: 'v1', kind: 'Node' })).items;
const pods = async (p: TestProcess, cluster: string) =>
  (await p.manager.client.list({ cluster, apiVersion: 'v1', kind: 'Pod', namespace: 'default' })).items;
const isReady = (n: KObject) =>
  ((n.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
const workers = (ns: KObject[]) => ns.filter((n) => n.metadata.labels?.['kaas.dev/nodepool'] === 'workers');

function deployment(name: string, replicas: number): KObject {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
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
              resources: { requests: { cpu: '10m', memory: '16Mi' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

function daemonSet(name: string): KObject {
  const d = deployment(name, 0);
  delete d.spec.replicas;
  return { ...d, kind: 'DaemonSet' };
}

const availablePods = async (p: TestProcess, c: string, app: string) =>
  (await pods(p, c)).filter(
    (x) =>
      x.metadata.labels?.app === app &&
      !x.metadata.deletionTimestamp &&
      x.spec.nodeName &&
      ((x.status?.conditions ?? []) as { type: string; status: string }[]).some(
        (k) => k.type === 'Ready' && k.status === 'True',
      ),
  );

test('planRoll and version skew: control plane first, one at a time, only while all are Ready; +1 minor, no downgrade', () => {
  const n = (
    name: string,
    role: 'controlPlane' | 'worker',
    version: string,
    o: { ready?: boolean; cordoned?: boolean } = {},
  ) => ({
    name,
    serverId: `server/${name}`,
    pool: role === 'controlPlane' ? 'control-plane' : 'workers',
    role,
    serverCreated: true,
    node: { uid: `u-${name}`, version, ready: o.ready ?? true, unschedulable: o.cordoned ?? false },
  });
  const t = 'v1.33.2';
  assert.deepEqual(planRoll([n('cp', 'controlPlane', t), n('w0', 'worker', t)], t, {}).decision, {
    action: 'none',
  });
  assert.equal(
    (
      planRoll([n('cp', 'controlPlane', 'v1.32.6'), n('w0', 'worker', 'v1.32.6')], t, {}).decision as {
        node: string;
      }
    ).node,
    'cp',
  );
  assert.equal(
    planRoll(
      [n('cp', 'controlPlane', t), n('w0', 'worker', 'v1.32.6'), n('w1', 'worker', t, { ready: false })],
      t,
      {},
    ).decision.action,
    'wait',
  );
  assert.equal(
    (
      planRoll(
        [
          n('cp', 'controlPlane', t),
          n('w0', 'worker', 'v1.32.6'),
          n('w1', 'worker', 'v1.32.6', { cordoned: true }),
        ],
        t,
        {},
      ).decision as { node: string }
    ).node,
    'w1',
  );
  assert.equal(
    (
      planRoll([n('cp', 'controlPlane', t), n('w0', 'worker', t)], t, { w0: 'u-w0' }).decision as {
        node: string;
      }
    ).node,
    'w0',
  );
  assert.equal(planRoll([n('cp', 'controlPlane', 'v1.31.10')], t, {}).decision.action, 'blocked');
  assert.match(versionSkewProblem('v1.31.10', '1.33')!, /skips a minor version/);
  assert.match(versionSkewProblem('v1.33.2', '1.32')!, /downgrades are not supported/);
  assert.match(versionSkewProblem('v1.33.2', '1.40')!, /not a supported/);
  assert.equal(versionSkewProblem('v1.32.6', '1.33'), undefined);
});

test('drain: DaemonSet pods stay, the others are evicted and rescheduled on other nodes; a PDB holds the last one', async () => {
  const p = await startProcess(new MemoryStore());
  try {
    await p.manager.client.create('root', clusterObject('dr', { services: false }));
    await ready(p, 'dr');
    await p.manager.client.create('dr', deployment('web', 3));
    await p.manager.client.create('dr', daemonSet('agent'));
    await until(
      async () => ((await availablePods(p, 'dr', 'web')).length === 3 ? true : undefined),
      'web 3 pods',
    );
    await until(
      async () => ((await availablePods(p, 'dr', 'agent')).length === 3 ? true : undefined),
      'agent on every worker',
    );
    const target = (await availablePods(p, 'dr', 'web'))[0]!.spec.nodeName as string;
    const node = (await nodes(p, 'dr')).find((n) => n.metadata.name === target)!;
    await setUnschedulable(p.manager.client, 'dr', node, true);
    const first = await drainNode(p.manager.client, 'dr', target);
    assert.ok(first.evicted.length >= 1);
    await until(
      async () => ((await drainNode(p.manager.client, 'dr', target)).done ? true : undefined),
      'drained',
    );
    await until(
      async () => ((await availablePods(p, 'dr', 'web')).length === 3 ? true : undefined),
      'web rescheduled',
    );
    const web = await availablePods(p, 'dr', 'web');
    assert.ok(
      web.every((x) => x.spec.nodeName !== target),
      'no web pod on the drained node',
    );
    assert.equal(
      (await availablePods(p, 'dr', 'agent')).filter((x) => x.spec.nodeName === target).length,
      1,
      'the DaemonSet pod stays',
    );

    // a budget that allows no disruption blocks the eviction
    const other = web[0]!.spec.nodeName as string;
    await p.manager.client.create('dr', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web', namespace: 'default' },
      spec: { minAvailable: 3, selector: { matchLabels: { app: 'web' } } },
    });
    const blocked = await drainNode(p.manager.client, 'dr', other);
    assert.equal(blocked.evicted.length, 0);
    assert.match(blocked.blocked[0]!, /PodDisruptionBudget default\/web/);
    assert.equal(blocked.done, false);
  } finally {
    await p.stop();
  }
});

test('rolling update 1.32 -> 1.33: control plane first, never fewer than N-1 Ready workers, a crash mid-roll resumes and finishes', async () => {
  const inner = new MemoryStore();
  let p = await startProcess(inner);
  let stopWatch = false;
  try {
    const obj = clusterObject('roll', { services: false, local: { latencyScale: 0.02 } });
    obj.spec.kubernetesVersion = '1.32';
    await p.manager.client.create('root', obj);
    await ready(p, 'roll');
    await p.manager.client.create('roll', deployment('web', 2));
    await until(
      async () => ((await availablePods(p, 'roll', 'web')).length === 2 ? true : undefined),
      'web 2 pods',
    );
    const before = new Map((await nodes(p, 'roll')).map((n) => [n.metadata.name!, n.metadata.uid!]));
    assert.ok([...before.keys()].length === 4);

    let minReadyWorkers = 3;
    let current = p;
    const watcher = (async () => {
      while (!stopWatch) {
        const ns = await nodes(current, 'roll').catch(() => undefined);
        if (ns) minReadyWorkers = Math.min(minReadyWorkers, workers(ns).filter(isReady).length);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await p.manager.client.patch(ref('roll'), { spec: { kubernetesVersion: '1.33' } });
    // crash once the control plane and one worker are done
    const status = (c: KObject) =>
      JSON.parse(c.metadata.annotations?.[operationAnnotations.upgradeStatus] ?? 'null') as RollStatus | null;
    const mid = await until(
      async () => {
        const s = status(await get(p, 'roll'));
        return s && s.nodes.filter((n) => n.step === 'Done').length >= 2 && s.phase === 'RollingUpdate'
          ? s
          : undefined;
      },
      'two nodes rolled',
      20_000,
    ).catch(async (e: Error) => {
      const c = await get(p, 'roll');
      throw new Error(
        `${e.message}: ${c.metadata.annotations?.[operationAnnotations.upgradeStatus]} ${JSON.stringify(c.status.conditions)}`,
      );
    });
    assert.equal(mid.nodes[0]!.role, 'controlPlane');
    assert.equal(mid.nodes[0]!.step, 'Done', 'control plane first');
    await p.crash();
    p = await startProcess(inner);
    current = p;
    const done = await until(
      async () => {
        const c = await get(p, 'roll');
        const s = status(c);
        return s?.phase === 'Complete' && condition(c, 'Ready')?.status === 'True' ? c : undefined;
      },
      'roll complete after the restart',
      30_000,
    );
    stopWatch = true;
    await watcher;
    const after = await nodes(p, 'roll');
    assert.equal(after.length, 4);
    for (const n of after) {
      assert.equal(n.metadata.annotations?.['kaas.dev/kubelet-version'], 'v1.33.2', n.metadata.name);
      assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.33.2');
      assert.notEqual(before.get(n.metadata.name!), n.metadata.uid, `${n.metadata.name} was replaced`);
      assert.ok(!n.spec.unschedulable, 'uncordoned');
    }
    assert.ok(minReadyWorkers >= 2, `never fewer than N-1 Ready workers (saw ${minReadyWorkers})`);
    assert.equal(done.status.nodes.upToDate, 4);
    await until(
      async () => ((await availablePods(p, 'roll', 'web')).length === 2 ? true : undefined),
      'web available after the roll',
    );
    // the old servers are gone from the cloud and the ledger: one server per planned node
    assert.equal(
      p.cloud.list({ type: 'server', tags: { 'kaas.dev/cluster-uid': done.metadata.uid! } }).length,
      4,
    );
  } finally {
    stopWatch = true;
    await p.stop();
  }
});

test('nodes add, remove (drained first), replace; validate passes', async () => {
  const p = await startProcess(new MemoryStore());
  try {
    await p.manager.client.create('root', clusterObject('ops', { services: false }));
    await ready(p, 'ops');
    const setReplicas = async (n: number) => {
      const c = await get(p, 'ops');
      c.spec.nodePools[0].replicas = n;
      await p.manager.client.update('root', c);
    };
    await setReplicas(4);
    await ready(p, 'ops');
    assert.equal(workers(await nodes(p, 'ops')).filter(isReady).length, 4);

    // remove: the highest index goes; its pods are evicted before the server is deleted
    await p.manager.client.create('ops', deployment('web', 8));
    await until(
      async () => ((await availablePods(p, 'ops', 'web')).length === 8 ? true : undefined),
      'web 8 pods',
    );
    const c = await get(p, 'ops');
    const last = (c.status.resources as { name: string; id: string }[]).find(
      (e) => e.name === 'server/workers-3',
    )!;
    const lastNode = (p.cloud.get('server', last.id)!.outputs as { nodeName: string }).nodeName;
    await setReplicas(3);
    await ready(p, 'ops');
    const ns = await nodes(p, 'ops');
    assert.equal(workers(ns).length, 3);
    assert.ok(!ns.some((n) => n.metadata.name === lastNode));
    await until(
      async () => ((await availablePods(p, 'ops', 'web')).length === 8 ? true : undefined),
      'web rescheduled',
    );
    assert.ok((await availablePods(p, 'ops', 'web')).every((x) => x.spec.nodeName !== lastNode));

    // replace: same count, a new server and Node
    const victim = workers(ns)[1]!;
    await p.manager.client.patch(ref('ops'), {
      metadata: {
        annotations: {
          [operationAnnotations.replaceNodes]: JSON.stringify({
            [victim.metadata.name!]: victim.metadata.uid,
          }),
        },
      },
    });
    await until(
      async () => {
        const n = (await nodes(p, 'ops')).find((x) => x.metadata.name === victim.metadata.name);
        return n && n.metadata.uid !== victim.metadata.uid && isReady(n) ? true : undefined;
      },
      'replaced',
      20_000,
    );
    await ready(p, 'ops');
    assert.equal(workers(await nodes(p, 'ops')).length, 3);

    // validate (this test process does not run ensureClusterDefaults: add the default StorageClass)
    await p.manager.client.create('ops', standardStorageClass()).catch(() => undefined);
    await p.manager.client.patch(ref('ops'), {
      metadata: { annotations: { [operationAnnotations.validateRequest]: 't1' } },
    });
    const report = await until(
      async () => {
        const r = (await get(p, 'ops')).metadata.annotations?.[operationAnnotations.validation];
        const parsed = r ? (JSON.parse(r) as ValidationReport) : undefined;
        return parsed?.token === 't1' ? parsed : undefined;
      },
      'validation report',
      20_000,
    );
    assert.deepEqual(
      report.checks.map((x) => x.name),
      [
        'nodes-ready',
        'system-workloads',
        'dns',
        'storage',
        'rbac',
        'pod-security',
        'services',
        'service-exceptions',
      ],
    );
    // pod security depends on the server's admission chain: the e2e test checks it on kaasctl server
    assert.match(report.checks.find((x) => x.name === 'pod-security')!.message, /privileged/);
    for (const x of report.checks.filter((k) => k.name !== 'pod-security'))
      assert.ok(x.passed, JSON.stringify(x));
    assert.match(report.checks.find((x) => x.name === 'storage')!.message, /reclaimed per Delete/);
    assert.ok(report.podSecurityExceptions.some((x) => x.namespace === 'kube-system'));
  } finally {
    await p.stop();
  }
});

test('10% injected errors and 10% timeouts: nodes add and remove and a rolling update still converge, without duplicates', async () => {
  const p = await startProcess(new MemoryStore());
  try {
    const obj = clusterObject('flaky', {
      services: false,
      local: { latencyScale: 0.002, faults: { errorRate: 0.1, timeoutRate: 0.1, seed: 11 } },
    });
    obj.spec.kubernetesVersion = '1.32';
    await p.manager.client.create('root', obj);
    await ready(p, 'flaky', 40_000);
    const servers = async () =>
      p.cloud.list({
        type: 'server',
        tags: { 'kaas.dev/cluster-uid': (await get(p, 'flaky')).metadata.uid! },
      }).length;
    const settled = async (workersWanted: number, version: string) =>
      until(
        async () => {
          const c = await get(p, 'flaky');
          const ns = await nodes(p, 'flaky');
          const ok =
            condition(c, 'Ready')?.status === 'True' &&
            c.status.observedGeneration === c.metadata.generation &&
            workers(ns).filter(isReady).length === workersWanted &&
            ns.length === workersWanted + 1 &&
            ns.every((n) => n.metadata.annotations?.['kaas.dev/kubelet-version'] === version);
          return ok ? c : undefined;
        },
        `${workersWanted} workers on ${version}`,
        60_000,
      );

    const c0 = await get(p, 'flaky');
    c0.spec.nodePools[0].replicas = 4;
    await p.manager.client.update('root', c0);
    await settled(4, 'v1.32.6');
    assert.equal(await servers(), 5, 'nodes add: one new server, no duplicate');

    const c1 = await get(p, 'flaky');
    c1.spec.nodePools[0].replicas = 3;
    await p.manager.client.update('root', c1);
    await settled(3, 'v1.32.6');
    assert.equal(await servers(), 4, 'nodes remove: the server is gone');

    await p.manager.client.patch(ref('flaky'), { spec: { kubernetesVersion: '1.33' } });
    const done = await settled(3, 'v1.33.2');
    assert.equal(await servers(), 4, 'rolling update: one server per node, the old ones deleted');
    assert.equal(
      (done.status.resources as unknown[]).length,
      p.cloud.count({ 'kaas.dev/cluster-uid': done.metadata.uid! }),
    );
  } finally {
    await p.stop();
  }
});

test(
  'rolling updates killed at 21 seeded points: a new process finishes each, one server per node, nothing doubled',
  { timeout: 600_000 },
  async () => {
    // Mulberry32, so that the points repeat
    let seed = 20261124;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const patch = (minor: string) => `v${kubernetesVersions.find((v) => v.minor === minor)!.latestPatch}`;
    const kv = new MemoryStore();
    const inFlight: string[] = [];
    let crashes = 0;
    for (let c = 0; c < 7; c++) {
      const name = `roll-${c}`;
      let p = await startProcess(kv);
      const obj = clusterObject(name, { services: false, workers: 2, local: { latencyScale: 0.01 } });
      obj.spec.kubernetesVersion = '1.30';
      await p.manager.client.create('root', obj);
      await ready(p, name, 30_000);
      for (const minor of ['1.31', '1.32', '1.33']) {
        const want = patch(minor);
        await p.manager.client.patch(ref(name), { spec: { kubernetesVersion: minor } });
        // kill after a seeded number of nodes (0-2 of 3) carry the new version, plus up to 300 ms
        const k = Math.floor(random() * 3);
        await until(
          async () =>
            (await nodes(p, name)).filter(
              (n) => n.metadata.annotations?.['kaas.dev/kubelet-version'] === want,
            ).length >= k
              ? true
              : undefined,
          `${name} ${minor}: ${k} nodes rolled`,
          30_000,
        );
        await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
        const at = await nodes(p, name);
        const rolled = at.filter((n) => n.metadata.annotations?.['kaas.dev/kubelet-version'] === want).length;
        if (rolled < 3) inFlight.push(`${name} ${minor}: ${rolled}/3`);
        await p.crash();
        crashes++;
        p = await startProcess(kv);
        const done = await until(
          async () => {
            const cl = await get(p, name);
            const ns = await nodes(p, name);
            return condition(cl, 'Ready')?.status === 'True' &&
              cl.status.observedGeneration === cl.metadata.generation &&
              ns.length === 3 &&
              ns.every((n) => n.metadata.annotations?.['kaas.dev/kubelet-version'] === want && isReady(n))
              ? cl
              : undefined;
          },
          `${name} on ${minor} after the restart`,
          60_000,
        );
        const uid = done.metadata.uid!;
        assert.equal(
          p.cloud.list({ type: 'server', tags: { 'kaas.dev/cluster-uid': uid } }).length,
          3,
          `${name} ${minor}: one server per node`,
        );
        assert.equal(
          (done.status.resources as unknown[]).length,
          p.cloud.count({ 'kaas.dev/cluster-uid': uid }),
          `${name} ${minor}: one resource per ledger entry`,
        );
      }
      await p.stop();
    }
    assert.equal(crashes, 21);
    // most kills must land while the roll was in flight, or the test proves little
    assert.ok(
      inFlight.length >= 14,
      `only ${inFlight.length} of 21 kills hit a roll in flight: ${inFlight.join(', ')}`,
    );
  },
);
