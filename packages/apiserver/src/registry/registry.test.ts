import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinResources } from './builtin.ts';
import { ResourceRegistry, compareKubeAwareVersions, crdToResourceInfos } from './registry.ts';
import { apiVersionOf } from './types.ts';

function crontabCRD(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: {
        plural: 'crontabs',
        singular: 'crontab',
        kind: 'CronTab',
        shortNames: ['ct'],
        categories: ['all'],
      },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: false,
          schema: { openAPIV3Schema: { type: 'object' } },
        },
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object' } } } },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
          },
          additionalPrinterColumns: [{ name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' }],
          selectableFields: [{ jsonPath: '.spec.cronSpec' }],
        },
        { name: 'v2alpha1', served: false, storage: false },
      ],
      ...overrides,
    },
  };
}

test('builtin table: unique resources and kinds per group version, upstream short names', () => {
  const resources = new Set<string>();
  const kinds = new Set<string>();
  for (const r of builtinResources) {
    const rk = `${apiVersionOf(r)}/${r.plural}`;
    const kk = `${apiVersionOf(r)}/${r.kind}`;
    assert.ok(!resources.has(rk), `duplicate resource ${rk}`);
    assert.ok(!kinds.has(kk), `duplicate kind ${kk}`);
    resources.add(rk);
    kinds.add(kk);
    assert.equal(r.singular, r.kind.toLowerCase());
    assert.equal(r.listKind, `${r.kind}List`);
  }
  const short = (g: string, p: string) =>
    builtinResources.find((r) => r.group === g && r.plural === p)?.shortNames;
  const cases: [string, string, string[]][] = [
    ['', 'pods', ['po']],
    ['', 'services', ['svc']],
    ['', 'namespaces', ['ns']],
    ['', 'nodes', ['no']],
    ['', 'configmaps', ['cm']],
    ['', 'serviceaccounts', ['sa']],
    ['', 'persistentvolumeclaims', ['pvc']],
    ['', 'endpoints', ['ep']],
    ['', 'events', ['ev']],
    ['apps', 'deployments', ['deploy']],
    ['apps', 'statefulsets', ['sts']],
    ['apps', 'daemonsets', ['ds']],
    ['batch', 'cronjobs', ['cj']],
    ['autoscaling', 'horizontalpodautoscalers', ['hpa']],
    ['networking.k8s.io', 'networkpolicies', ['netpol']],
    ['policy', 'poddisruptionbudgets', ['pdb']],
    ['scheduling.k8s.io', 'priorityclasses', ['pc']],
    ['apiextensions.k8s.io', 'customresourcedefinitions', ['crd', 'crds']],
    ['storage.k8s.io', 'storageclasses', ['sc']],
  ];
  for (const [g, p, want] of cases) assert.deepEqual(short(g, p), want, `${g}/${p}`);
});

test('builtin table: the "all" category is exactly what kubectl get all lists upstream', () => {
  const all = builtinResources
    .filter((r) => r.categories?.includes('all'))
    .map((r) => r.plural)
    .sort();
  assert.deepEqual(all, [
    'cronjobs',
    'daemonsets',
    'deployments',
    'horizontalpodautoscalers',
    'jobs',
    'pods',
    'replicasets',
    'replicationcontrollers',
    'services',
    'statefulsets',
  ]);
});

test('builtin table: subresources, scale paths, verbs, protobuf and virtual kinds', () => {
  const reg = new ResourceRegistry();
  const deploy = reg.lookup('apps', 'v1', 'deployments')!;
  assert.deepEqual(deploy.subresources, ['status', 'scale']);
  assert.deepEqual(deploy.scale, {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.spec.selector',
  });
  assert.equal(reg.lookup('', 'v1', 'configmaps')!.subresources, undefined);
  assert.ok(!reg.lookup('', 'v1', 'namespaces')!.verbs.includes('deletecollection'));
  const tr = reg.lookup('authentication.k8s.io', 'v1', 'tokenreviews')!;
  assert.deepEqual([tr.verbs, tr.virtual], [['create'], true]);
  assert.equal(reg.lookup('authorization.k8s.io', 'v1', 'localsubjectaccessreviews')!.namespaced, true);
  assert.equal(reg.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!.protobuf, false);
  assert.ok(builtinResources.filter((r) => r.group !== 'apiextensions.k8s.io').every((r) => r.protobuf));
  assert.deepEqual(reg.lookup('', 'v1', 'pods')!.fieldSelectors?.slice(0, 2), [
    'spec.nodeName',
    'spec.restartPolicy',
  ]);
  assert.equal(reg.lookup('', 'v1', 'services')!.nameFormat, 'dns1035');
  assert.equal(reg.lookup('', 'v1', 'namespaces')!.nameFormat, 'label');
});

test('compareKubeAwareVersions orders GA > beta > alpha, higher first, others last', () => {
  const versions = [
    'v1alpha1',
    'foo',
    'v2beta1',
    'v1',
    'v10',
    'v11alpha2',
    'v2',
    'v1beta2',
    'v1beta1',
    'bar',
    'v12alpha1',
  ];
  assert.deepEqual([...versions].sort(compareKubeAwareVersions), [
    'v10',
    'v2',
    'v1',
    'v2beta1',
    'v1beta2',
    'v1beta1',
    'v12alpha1',
    'v11alpha2',
    'v1alpha1',
    'bar',
    'foo',
  ]);
});

test('lookups by resource, preferred version and kind', () => {
  const reg = new ResourceRegistry();
  const cases: [string | undefined, string | undefined][] = [
    [reg.lookup('apps', 'v1', 'deployments')?.kind, 'Deployment'],
    [reg.lookup('apps', 'v2', 'deployments')?.kind, undefined],
    [reg.lookup('', 'v1', 'pods')?.kind, 'Pod'],
    [reg.lookupPreferred('autoscaling', 'horizontalpodautoscalers')?.version, 'v2'],
    [reg.lookupPreferred('nope', 'pods')?.kind, undefined],
    [reg.lookupKind('v1', 'Event')?.group, ''],
    [reg.lookupKind('events.k8s.io/v1', 'Event')?.group, 'events.k8s.io'],
    [reg.lookupKind('apps/v1', 'Pod')?.kind, undefined],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
  assert.equal(reg.groups()[0]!.group, '', 'core group first');
  assert.ok(reg.groups().some((g) => g.group === 'rbac.authorization.k8s.io'));
});

test('addCRD serves each served version; removeCRD takes them away; revision bumps', () => {
  const reg = new ResourceRegistry();
  const before = reg.revision;
  const infos = reg.addCRD(crontabCRD());
  assert.deepEqual(
    infos.map((i) => i.version),
    ['v1beta1', 'v1'],
  );
  assert.ok(reg.revision > before);
  const v1 = reg.lookup('stable.example.com', 'v1', 'crontabs')!;
  assert.equal(v1.kind, 'CronTab');
  assert.equal(v1.listKind, 'CronTabList');
  assert.equal(v1.namespaced, true);
  assert.equal(v1.protobuf, false);
  assert.deepEqual(v1.shortNames, ['ct']);
  assert.deepEqual(v1.subresources, ['status', 'scale']);
  assert.deepEqual(v1.fieldSelectors, ['spec.cronSpec']);
  assert.equal(v1.custom?.storage, true);
  assert.equal(v1.custom?.printerColumns[0]?.jsonPath, '.spec.cronSpec');
  assert.equal(reg.lookup('stable.example.com', 'v2alpha1', 'crontabs'), undefined, 'unserved version');
  assert.equal(reg.preferredVersion('stable.example.com'), 'v1');
  assert.deepEqual(reg.group('stable.example.com')?.versions, ['v1', 'v1beta1']);
  assert.equal(reg.lookupKind('stable.example.com/v1beta1', 'CronTab')?.version, 'v1beta1');

  // Updating the CRD replaces what it serves.
  const updated = crontabCRD();
  updated.spec.versions = [updated.spec.versions[1]];
  reg.addCRD(updated);
  assert.equal(reg.lookup('stable.example.com', 'v1beta1', 'crontabs'), undefined);

  assert.equal(reg.removeCRD('crontabs.stable.example.com'), true);
  assert.equal(reg.lookup('stable.example.com', 'v1', 'crontabs'), undefined);
  assert.equal(reg.group('stable.example.com'), undefined);
  assert.equal(reg.removeCRD('crontabs.stable.example.com'), false);
});

test('crdToResourceInfos: defaults and malformed definitions', () => {
  const cluster = crontabCRD({ scope: 'Cluster', names: { plural: 'crontabs', kind: 'CronTab' } });
  const [info] = crdToResourceInfos(cluster);
  assert.equal(info?.namespaced, false);
  assert.equal(info?.singular, 'crontab');
  assert.equal(info?.listKind, 'CronTabList');
  const malformed: unknown[] = [
    undefined,
    {},
    { metadata: { name: 'x' } },
    { metadata: { name: 'x' }, spec: { group: 'a.b' } },
  ];
  for (const m of malformed) assert.deepEqual(crdToResourceInfos(m), []);
});

test('a CRD cannot shadow a built-in resource', () => {
  const reg = new ResourceRegistry();
  const crd = crontabCRD({ group: 'apps', names: { plural: 'deployments', kind: 'Deployment' } });
  crd.metadata.name = 'deployments.apps';
  crd.spec.versions = [{ name: 'v1', served: true, storage: true }];
  assert.deepEqual(reg.addCRD(crd), []);
  assert.equal(reg.lookup('apps', 'v1', 'deployments')?.custom, undefined);
});
