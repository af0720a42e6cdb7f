// The pure decisions of the Cluster reconciler, as tables: versions, pod CIDRs, Nodes,
// conditions, the catalog's rendering and the applier's ownership and health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDefaults } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import { withOwnership, workloadProblem } from './applier.ts';
import { builtinCatalog, serviceReleases } from './catalog.ts';
import { failed, mergeConditions, ok, progressing, readyCondition } from './conditions.ts';
import { desiredNode, kubeletVersion, podCidrFor } from './nodes.ts';
import { clusterObject } from './testing.ts';

const cluster = (o: Parameters<typeof clusterObject>[1] = {}) => {
  const c = withDefaults(clusterObject('demo', o) as never);
  c.metadata.uid = 'uid-1';
  return c;
};

test('kubeletVersion: a minor means its newest supported patch', () => {
  for (const [spec, want] of [
    ['1.33', 'v1.33.2'],
    ['1.30', 'v1.30.14'],
    ['1.32.1', 'v1.32.1'],
    ['v1.31.3', 'v1.31.3'],
    ['1.29', 'v1.29.0'],
  ] as const)
    assert.equal(kubeletVersion(spec), want, spec);
});

test('podCidrFor: the n-th /24 of the pod network, none when it does not fit', () => {
  for (const [cidr, i, want] of [
    ['10.244.0.0/16', 0, '10.244.0.0/24'],
    ['10.244.0.0/16', 3, '10.244.3.0/24'],
    ['10.244.0.0/16', 255, '10.244.255.0/24'],
    ['10.244.0.0/16', 256, undefined],
    ['10.0.0.0/8', 256, '10.1.0.0/24'],
    ['10.244.0.0/24', 1, undefined],
    ['10.244.0.0/25', 0, undefined],
    [undefined, 0, undefined],
  ] as const)
    assert.equal(podCidrFor(cidr, i), want, `${cidr} #${i}`);
});

test('desiredNode: control plane tainted and labelled, workers with the pool labels', () => {
  const c = cluster();
  const base = { ip: '10.0.0.10', machineType: 'medium', vcpus: 4, memoryGiB: 8, status: 'ACTIVE' as const };
  const cp = desiredNode(
    c,
    {
      id: 'server/control-plane-0',
      cloudId: 'i-1',
      outputs: { ...base, nodeName: 'demo-control-plane-a', role: 'controlPlane', pool: 'control-plane' },
    },
    0,
  );
  assert.equal(cp.metadata.labels?.['node-role.kubernetes.io/control-plane'], '');
  assert.deepEqual(cp.spec.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  assert.equal(cp.spec.podCIDR, '10.244.0.0/24');
  assert.equal(cp.metadata.annotations?.['kaas.dev/kubelet-version'], 'v1.33.2');
  const w = desiredNode(
    c,
    {
      id: 'server/workers-1',
      cloudId: 'i-2',
      outputs: { ...base, nodeName: 'demo-workers-b', role: 'worker', pool: 'workers' },
    },
    2,
  );
  assert.equal(w.metadata.labels?.['node-role.kubernetes.io/control-plane'], undefined);
  assert.equal(w.metadata.labels?.['kaas.dev/nodepool'], 'workers');
  assert.equal(w.metadata.labels?.tier, 'general');
  assert.equal(w.spec.taints, undefined);
  assert.equal(w.spec.podCIDR, '10.244.2.0/24');
  assert.deepEqual(w.status.capacity, { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' });
});

test('conditions: Ready names the first part that is not True; transition times kept while unchanged', () => {
  const parts = {
    InfrastructureReady: ok('18 cloud resources created'),
    ControlPlaneReady: ok('up'),
    NodesReady: progressing('2 of 4 nodes Ready'),
    ServicesReady: failed('QuotaExceeded', 'no room'),
  };
  assert.deepEqual(readyCondition(parts), {
    status: 'False',
    reason: 'Provisioning',
    message: 'NodesReady: 2 of 4 nodes Ready',
  });
  assert.equal(readyCondition({ ...parts, NodesReady: ok('4'), ServicesReady: ok('7') }).status, 'True');
  assert.match(failed('QuotaExceeded', 'x').message, /^x \(user-fixable: /);
  assert.match(failed('CloudUnavailable', 'x').message, /not user-fixable, KaaS retries/);
  const first = mergeConditions(undefined, { Ready: ok('a'), NodesReady: progressing('b') }, 1, () => 'T1');
  const same = mergeConditions(first, { Ready: ok('a2'), NodesReady: progressing('b2') }, 2, () => 'T2');
  assert.deepEqual(
    same.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]),
    [
      ['Ready', 'T1', 2],
      ['NodesReady', 'T1', 2],
    ],
  );
  const flipped = mergeConditions(same, { NodesReady: ok('c') }, 2, () => 'T3');
  assert.equal(flipped.find((c) => c.type === 'NodesReady')?.lastTransitionTime, 'T3');
  assert.equal(flipped.find((c) => c.type === 'Ready')?.lastTransitionTime, 'T1', 'kept when not given');
});

test('catalog: every enabled service, restricted Deployments, pinned images, a known older version', () => {
  const all = builtinCatalog.render(cluster());
  assert.deepEqual(
    all.map((s) => s.name),
    ['ingress-nginx', 'monitoring', 'logging', 'velero', 'registry', 'kubernetes-auth', 'sso-proxy'],
  );
  for (const svc of all) {
    for (const obj of svc.objects.filter((o) => o.kind === 'Deployment')) {
      const pod = obj.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      for (const ctr of pod.containers) {
        assert.equal(ctr.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(ctr.securityContext.capabilities.drop, ['ALL']);
        assert.match(ctr.image, /:[^:]+$/);
      }
    }
  }
  const prom = all
    .find((s) => s.key === 'monitoring')!
    .objects.find((o) => o.metadata.name === 'prometheus' && o.kind === 'Deployment')!;
  assert.equal(
    prom.spec.template.spec.containers[0].image,
    serviceReleases.monitoring[0]!.components[0]!.image,
  );
  const c = cluster({ services: false });
  c.spec.services.registry = { enabled: true, version: '2.8.2' };
  const one = builtinCatalog.render(c);
  assert.equal(one.length, 1);
  assert.equal(one[0]!.version, '2.8.2');
  const dep = one[0]!.objects.find((o) => o.kind === 'Deployment')!;
  assert.equal(dep.spec.template.spec.containers[0].image, 'docker.io/library/registry:2.8.2');
  c.spec.services.registry = { enabled: true, version: '2.8.1' };
  assert.match(
    builtinCatalog.render(c)[0]!.problem ?? '',
    /2\.8\.1 is not in this release's catalog \(known: 2\.8\.3, 2\.8\.2\)/,
  );
});

test('applier: ownership labels and a hash that changes with the rendering only', () => {
  const [svc] = builtinCatalog.render(cluster());
  const deployment = svc!.objects.find((o) => o.kind === 'Deployment')!;
  const a = withOwnership(svc!, deployment);
  const b = withOwnership(svc!, structuredClone(deployment));
  assert.equal(a.metadata.labels?.['kaas.dev/managed-by'], 'kaas');
  assert.equal(a.metadata.labels?.['kaas.dev/service'], 'ingress-nginx');
  assert.equal(a.metadata.labels?.['kaas.dev/service-version'], '1.12.1');
  assert.equal(a.metadata.namespace, 'kaas-system');
  assert.equal(
    a.metadata.annotations?.['kaas.dev/applied-hash'],
    b.metadata.annotations?.['kaas.dev/applied-hash'],
  );
  const changed = structuredClone(deployment);
  changed.spec.replicas = 2;
  assert.notEqual(
    withOwnership(svc!, changed).metadata.annotations?.['kaas.dev/applied-hash'],
    a.metadata.annotations?.['kaas.dev/applied-hash'],
  );
});

test('workloadProblem: Available for the current generation, per kind', () => {
  const d = (status: Record<string, unknown>, generation = 1): KObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', namespace: 'kaas-system', generation },
    spec: { replicas: 1 },
    status,
  });
  const available = {
    observedGeneration: 1,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'True' }],
  };
  assert.equal(workloadProblem(d(available)), undefined);
  assert.match(workloadProblem(d(available, 2)) ?? '', /1 of 1 available/, 'a newer generation: not yet');
  assert.match(workloadProblem(d({}))!, /Deployment kaas-system\/x: 0 of 1 available/);
  const sts = { ...d({ observedGeneration: 1, readyReplicas: 1 }), kind: 'StatefulSet' };
  assert.equal(workloadProblem(sts), undefined);
  const ds = {
    ...d({ observedGeneration: 1, desiredNumberScheduled: 3, numberAvailable: 2 }),
    kind: 'DaemonSet',
  };
  assert.match(workloadProblem(ds)!, /2 of 3 available/);
  assert.equal(workloadProblem({ ...d({}), kind: 'Service' }), undefined);
});
