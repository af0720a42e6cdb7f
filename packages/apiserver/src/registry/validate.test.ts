import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceRegistry } from './registry.ts';
import type { FieldCause, ResourceInfo } from './types.ts';
import { unknownFieldReason, validateObject, validateObjectMetaUpdate } from './validate.ts';

const reg = new ResourceRegistry();
const info = (group: string, plural: string, version = 'v1'): ResourceInfo => {
  const i = reg.lookup(group, version, plural);
  if (!i) throw new Error(`no ${group}/${version}/${plural}`);
  return i;
};

function deployment(): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, creationTimestamp: null },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: 'web' }, creationTimestamp: null },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80 }],
              resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 0.1 } },
              env: [{ name: 'A', value: '1' }],
            },
          ],
        },
      },
    },
    status: {},
  };
}

const fields = (causes: FieldCause[]) => causes.map((c) => `${c.reason} ${c.field}`);

test('a well-formed Deployment (as kubectl sends it) has no causes', () => {
  assert.deepEqual(validateObject(info('apps', 'deployments'), deployment(), { strict: true }), []);
});

test('schema violations map to Kubernetes-style causes', () => {
  type Case = [string, (d: Record<string, any>) => void, FieldCause];
  const cases: Case[] = [
    [
      'wrong type',
      (d) => (d.spec.replicas = 'three'),
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.replicas',
        message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      },
    ],
    [
      'missing required field',
      (d) => delete d.spec.selector,
      { reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' },
    ],
    [
      'required inside an array element',
      (d) => delete d.spec.template.spec.containers[0].name,
      {
        reason: 'FieldValueRequired',
        field: 'spec.template.spec.containers[0].name',
        message: 'Required value',
      },
    ],
    [
      'enum',
      (d) => (d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes'),
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.template.spec.containers[0].imagePullPolicy',
        message: 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
      },
    ],
    [
      'int-or-string alternatives fold into one cause',
      (d) => (d.spec.strategy.rollingUpdate.maxSurge = true),
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.strategy.rollingUpdate.maxSurge',
        message:
          'Invalid value: "boolean": spec.strategy.rollingUpdate.maxSurge in body must be of type integer,string: "boolean"',
      },
    ],
    [
      'int32 out of range',
      (d) => (d.spec.replicas = 2 ** 40),
      {
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: `Invalid value: ${2 ** 40}: spec.replicas in body must be of type int32`,
      },
    ],
  ];
  for (const [name, mutate, want] of cases) {
    const d = deployment();
    mutate(d);
    assert.deepEqual(validateObject(info('apps', 'deployments'), d, { strict: true }), [want], name);
  }
});

test('unknown fields: reported when strict, always pruned unless prune is false', () => {
  const d = deployment();
  d.spec.foo = 1;
  d.metadata.bar = 2;
  d.spec.template.spec.containers[0].imagee = 'typo';
  d.spec.template.metadata.labels.ok = 'still-known'; // map values are data, not fields
  const causes = validateObject(info('apps', 'deployments'), d, { strict: true });
  assert.deepEqual(
    causes.filter((c) => c.reason === unknownFieldReason).map((c) => [c.field, c.message]),
    [
      ['metadata.bar', 'unknown field "metadata.bar"'],
      ['spec.template.spec.containers[0].imagee', 'unknown field "spec.template.spec.containers[0].imagee"'],
      ['spec.foo', 'unknown field "spec.foo"'],
    ],
  );
  assert.equal(d.spec.foo, undefined);
  assert.equal(d.metadata.bar, undefined);
  assert.equal(d.spec.template.spec.containers[0].imagee, undefined);
  assert.equal(d.spec.template.metadata.labels.ok, 'still-known');

  const lax = deployment();
  lax.spec.foo = 1;
  assert.deepEqual(validateObject(info('apps', 'deployments'), lax, { strict: false }), []);
  assert.equal(lax.spec.foo, undefined, 'pruned even when not strict');

  const kept = deployment();
  kept.spec.foo = 1;
  assert.deepEqual(
    fields(validateObject(info('apps', 'deployments'), kept, { strict: true, prune: false })),
    ['FieldValueUnknown spec.foo'],
  );
  assert.equal(kept.spec.foo, 1);
});

test('free-form fields (RawExtension, JSON) are not walked for unknown fields', () => {
  const cr = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'web-1', namespace: 'default' },
    revision: 1,
    data: { anything: { goes: true } },
  };
  assert.deepEqual(validateObject(info('apps', 'controllerrevisions'), cr, { strict: true }), []);
});

test('metadata rules: names per kind, generateName, labels, annotations, namespace scope', () => {
  type Case = [string, ResourceInfo, Record<string, any>, string[]];
  const cm = (metadata: Record<string, any>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata });
  const cases: Case[] = [
    ['no name', info('', 'configmaps'), cm({ namespace: 'default' }), ['FieldValueRequired metadata.name']],
    ['generateName only', info('', 'configmaps'), cm({ generateName: 'cfg-', namespace: 'default' }), []],
    ['subdomain name with dots', info('', 'configmaps'), cm({ name: 'a.b', namespace: 'default' }), []],
    [
      'uppercase name',
      info('', 'configmaps'),
      cm({ name: 'Web', namespace: 'default' }),
      ['FieldValueInvalid metadata.name'],
    ],
    [
      'namespace required',
      info('', 'configmaps'),
      cm({ name: 'a' }),
      ['FieldValueRequired metadata.namespace'],
    ],
    [
      'namespace names are labels',
      info('', 'namespaces'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } },
      ['FieldValueInvalid metadata.name'],
    ],
    [
      'cluster-scoped with a namespace',
      info('', 'namespaces'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', namespace: 'x' } },
      ['FieldValueForbidden metadata.namespace'],
    ],
    [
      'service names are DNS-1035 labels',
      info('', 'services'),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: '1web', namespace: 'default' } },
      ['FieldValueInvalid metadata.name'],
    ],
    [
      'RBAC names are path segments',
      info('rbac.authorization.k8s.io', 'clusterroles'),
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:Admin' } },
      [],
    ],
    [
      'labels',
      info('', 'configmaps'),
      cm({ name: 'a', namespace: 'default', labels: { 'bad key': 'ok', good: 'bad value' } }),
      ['FieldValueInvalid metadata.labels', 'FieldValueInvalid metadata.labels'],
    ],
    [
      'annotations over 256 KiB',
      info('', 'configmaps'),
      cm({ name: 'a', namespace: 'default', annotations: { big: 'x'.repeat(256 * 1024) } }),
      ['FieldValueTooLong metadata.annotations'],
    ],
    [
      'two controller owners',
      info('', 'configmaps'),
      cm({
        name: 'a',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true },
        ],
      }),
      ['FieldValueInvalid metadata.ownerReferences'],
    ],
    [
      'virtual kinds have no metadata rules',
      info('authentication.k8s.io', 'tokenreviews'),
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'x' } },
      [],
    ],
  ];
  for (const [name, i, obj, want] of cases)
    assert.deepEqual(fields(validateObject(i, obj, { strict: true })), want, name);

  const [nameCause] = validateObject(info('', 'configmaps'), cm({ namespace: 'default' }), { strict: true });
  assert.equal(nameCause?.message, 'Required value: name or generateName is required');
  const [tooLong] = validateObject(
    info('', 'configmaps'),
    cm({ name: 'a', namespace: 'default', annotations: { big: 'x'.repeat(256 * 1024) } }),
    { strict: true },
  );
  assert.equal(tooLong?.message, 'Too long: may not be more than 262144 bytes');
});

test('validateObjectMetaUpdate: immutable identity, generation, finalizers while deleting', () => {
  const old = {
    name: 'a',
    namespace: 'ns',
    uid: 'u1',
    generation: 3,
    creationTimestamp: '2024-01-01T00:00:00Z',
  };
  const cases: [string, Record<string, any>, Record<string, any>, string[]][] = [
    ['unchanged', { ...old, labels: { x: 'y' } }, old, []],
    ['rename', { ...old, name: 'b' }, old, ['FieldValueInvalid metadata.name']],
    ['new uid', { ...old, uid: 'u2' }, old, ['FieldValueInvalid metadata.uid']],
    ['generation back', { ...old, generation: 2 }, old, ['FieldValueInvalid metadata.generation']],
    [
      'finalizer added while deleting',
      { ...old, deletionTimestamp: 'x', finalizers: ['a', 'b'] },
      { ...old, deletionTimestamp: 'x', finalizers: ['a'] },
      ['FieldValueForbidden metadata.finalizers'],
    ],
    [
      'finalizer removed while deleting',
      { ...old, deletionTimestamp: 'x', finalizers: [] },
      { ...old, deletionTimestamp: 'x', finalizers: ['a'] },
      [],
    ],
  ];
  for (const [name, next, prev, want] of cases)
    assert.deepEqual(fields(validateObjectMetaUpdate(next, prev)), want, name);
  const [f] = validateObjectMetaUpdate(
    { ...old, deletionTimestamp: 'x', finalizers: ['b'] },
    { ...old, deletionTimestamp: 'x' },
  );
  assert.equal(
    f?.message,
    'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b"}',
  );
  const [n] = validateObjectMetaUpdate({ ...old, name: 'b' }, old);
  assert.equal(n?.message, 'Invalid value: "b": field is immutable');
});

test('CustomResourceDefinition: the rules the registry relies on', () => {
  const crdInfo = info('apiextensions.k8s.io', 'customresourcedefinitions');
  const crd = (spec: Record<string, any>, name = 'crontabs.stable.example.com') => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', listKind: 'CronTabList' },
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
      ...spec,
    },
  });
  const cases: [string, Record<string, any>, string[]][] = [
    ['valid', crd({}), []],
    ['name must be plural.group', crd({}, 'crontab.stable.example.com'), ['FieldValueInvalid metadata.name']],
    ['group needs a dot', crd({ group: 'stable' }, 'crontabs.stable'), ['FieldValueInvalid spec.group']],
    ['scope', crd({ scope: 'Global' }), ['FieldValueNotSupported spec.scope']],
    [
      'exactly one storage version',
      crd({
        versions: [
          { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
          { name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
        ],
      }),
      ['FieldValueInvalid spec.versions'],
    ],
    [
      'schema required, object at the root',
      crd({
        versions: [
          { name: 'v1', served: true, storage: true },
          { name: 'v2', served: true, storage: false, schema: { openAPIV3Schema: { type: 'string' } } },
        ],
      }),
      [
        'FieldValueRequired spec.versions[0].schema.openAPIV3Schema',
        'FieldValueInvalid spec.versions[1].schema.openAPIV3Schema.type',
      ],
    ],
  ];
  for (const [name, obj, want] of cases)
    assert.deepEqual(fields(validateObject(crdInfo, obj, { strict: true })), want, name);
});

test('custom resources: schema validation, pruning and metadata through validateObject', () => {
  const r = new ResourceRegistry();
  r.addCRD({
    metadata: { name: 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', kind: 'CronTab' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['cronSpec'],
                  properties: {
                    cronSpec: { type: 'string' },
                    replicas: { type: 'integer', minimum: 1 },
                    image: { type: 'string', default: 'busybox' },
                  },
                },
              },
            },
          },
        },
      ],
    },
  });
  const ct = r.lookup('stable.example.com', 'v1', 'crontabs')!;
  const obj: Record<string, any> = {
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name: 'Bad_Name', namespace: 'default', junk: 1 },
    spec: { replicas: 0, extra: true },
  };
  assert.deepEqual(fields(validateObject(ct, obj, { strict: true })), [
    'FieldValueUnknown spec.extra',
    'FieldValueUnknown metadata.junk',
    'FieldValueInvalid metadata.name',
    'FieldValueRequired spec.cronSpec',
    'FieldValueInvalid spec.replicas',
  ]);
  assert.equal(obj.spec.extra, undefined);
  assert.equal(obj.metadata.junk, undefined);
  assert.equal(obj.spec.image, 'busybox', 'schema defaults applied');
});

// A guard against pathological regressions (a validator recompiled per call costs milliseconds),
// not a benchmark: the bound is 10x the ~5 µs measured on an idle machine, so parallel test load
// cannot trip it. The figure itself belongs to `npm run bench`.
test('validating a Deployment stays far below a millisecond', () => {
  const i = info('apps', 'deployments');
  const d = deployment();
  for (let n = 0; n < 500; n++) validateObject(i, d, { strict: true });
  const runs = 3000;
  const start = performance.now();
  for (let n = 0; n < runs; n++) validateObject(i, d, { strict: true });
  const perCallMicros = ((performance.now() - start) * 1000) / runs;
  assert.ok(perCallMicros < 250, `validateObject took ${perCallMicros.toFixed(1)} µs per Deployment`);
});
