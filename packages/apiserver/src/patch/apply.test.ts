import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.ts';
import { applyIsNoOp, fieldSet, fromFieldsV1, serverSideApply, toFieldsV1 } from './apply.ts';

const deployment = (replicas: number, image = 'nginx:1.27') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] },
    },
  },
});

const opts = (fieldManager: string, force = false) => ({
  fieldManager,
  force,
  kind: 'Deployment',
  now: '2026-12-07T01:00:00Z',
  ignoreStatus: true,
});

test('a new object records the applier as the owner of every field it set, in FieldsV1', () => {
  const out = serverSideApply(undefined, deployment(2), opts('kaas'));
  const [entry] = out.metadata.managedFields;
  assert.equal(entry.manager, 'kaas');
  assert.equal(entry.operation, 'Apply');
  assert.equal(entry.apiVersion, 'apps/v1');
  assert.deepEqual(entry.fieldsV1['f:spec']['f:replicas'], {});
  assert.deepEqual(
    entry.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}']['.'],
    {},
  );
  assert.equal(entry.fieldsV1['f:metadata']['f:name'], undefined, 'the name is the server’s');
  // the wire form reads back to the same set
  assert.deepEqual(
    fromFieldsV1(toFieldsV1(fieldSet(deployment(2), 'Deployment', true))),
    fieldSet(deployment(2), 'Deployment', true),
  );
});

test('re-applying the same configuration changes nothing (not even the time)', () => {
  const first = serverSideApply(undefined, deployment(2), opts('kaas'));
  const again = serverSideApply(structuredClone(first), deployment(2), { ...opts('kaas'), now: 'later' });
  assert.deepEqual(again, first);
});

test('a field someone else added survives a re-apply; a managed field someone changed is set back', () => {
  const live = serverSideApply(undefined, deployment(2), opts('kaas'));
  live.metadata.labels.team = 'blue'; // a user's PUT (no managedFields sent: kept as they were)
  live.spec.template.spec.containers[0].image = 'nginx:evil';
  const out = serverSideApply(live, deployment(2), opts('kaas', true));
  assert.equal(out.metadata.labels.team, 'blue');
  assert.equal(out.spec.template.spec.containers[0].image, 'nginx:1.27');
});

test('another manager setting a field the applier owns to another value is a 409 naming the owner', () => {
  const live = serverSideApply(undefined, deployment(2), opts('kaas'));
  assert.throws(
    () => serverSideApply(structuredClone(live), deployment(5), opts('kubectl')),
    (e: unknown) =>
      e instanceof StatusError &&
      e.code === 409 &&
      /Apply failed with 1 conflict: conflict with "kaas" using apps\/v1:\n- \.spec\.replicas/.test(
        e.message,
      ) &&
      e.details?.causes?.[0]?.field === '.spec.replicas',
  );
  // a live element with fields the server defaulted is not a conflict by itself: only values are
  const defaulted = structuredClone(live);
  defaulted.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
  assert.equal(serverSideApply(defaulted, deployment(2), opts('kubectl')).spec.replicas, 2);
  // the same value is shared ownership, no conflict
  const shared = serverSideApply(structuredClone(live), deployment(2), opts('kubectl'));
  assert.deepEqual(
    shared.metadata.managedFields.map((m: { manager: string }) => m.manager),
    ['kaas', 'kubectl'],
  );
  // forced: the field moves to the new manager, and kaas's next forced apply takes it back
  const taken = serverSideApply(structuredClone(live), deployment(5), opts('kubectl', true));
  assert.equal(taken.spec.replicas, 5);
  const kaasFields = fromFieldsV1(taken.metadata.managedFields[0].fieldsV1);
  assert.ok(![...kaasFields].some((p) => p.endsWith('f:replicas')));
  assert.equal(serverSideApply(taken, deployment(2), opts('kaas', true)).spec.replicas, 2);
});

test('a field the applier stops applying is removed unless another manager owns it', () => {
  const withEnv = deployment(2);
  (withEnv.spec.template.spec.containers[0] as Record<string, unknown>).env = [{ name: 'A', value: '1' }];
  (withEnv.metadata.labels as Record<string, string>).tier = 'front';
  const live = serverSideApply(undefined, withEnv, opts('kaas'));
  // another manager also applies the tier label
  const shared = serverSideApply(
    live,
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { tier: 'front' } } },
    opts('ops'),
  );
  const out = serverSideApply(shared, deployment(2), opts('kaas'));
  assert.equal(out.spec.template.spec.containers[0].env, undefined);
  assert.equal(out.metadata.labels.tier, 'front', 'ops still owns it');
  assert.equal(out.spec.template.spec.containers[0].name, 'web');
});

test('keyed lists merge by element: a container another manager added stays', () => {
  const live = serverSideApply(undefined, deployment(2), opts('kaas'));
  const sidecar = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }] } } },
  };
  const both = serverSideApply(live, sidecar, opts('mesh'));
  assert.deepEqual(
    both.spec.template.spec.containers.map((c: { name: string }) => c.name),
    ['web', 'sidecar'],
  );
  const again = serverSideApply(both, deployment(2, 'nginx:1.28'), opts('kaas'));
  assert.deepEqual(
    again.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`),
    ['web=nginx:1.28', 'sidecar=busybox'],
  );
});

test('an apply without a field manager is refused with how to fix it', () => {
  assert.throws(() => serverSideApply(undefined, deployment(1), opts('')), /fieldManager is required/);
});

test('applyIsNoOp says whether an apply would change anything, without applying', () => {
  const live = serverSideApply(undefined, deployment(2), opts('kaas'));
  const o = { fieldManager: 'kaas', kind: 'Deployment', ignoreStatus: true };
  assert.equal(applyIsNoOp(live, deployment(2), o), true);
  const withLabel = structuredClone(live);
  withLabel.metadata.labels.team = 'blue'; // not kaas's: still nothing to do
  assert.equal(applyIsNoOp(withLabel, deployment(2), o), true);
  assert.equal(applyIsNoOp(live, deployment(3), o), false, 'a value changes');
  assert.equal(applyIsNoOp(live, deployment(2, 'nginx:1.28'), o), false);
  const fewer = deployment(2) as Record<string, any>;
  delete fewer.spec.replicas;
  assert.equal(applyIsNoOp(live, fewer, o), false, 'a field to drop');
  assert.equal(
    applyIsNoOp(live, deployment(2), { ...o, fieldManager: 'other' }),
    false,
    'not its object yet',
  );
  // whenever it says no-op, the apply indeed returns the object unchanged
  for (const cfg of [deployment(2), deployment(3), fewer])
    if (applyIsNoOp(live, cfg, o))
      assert.deepEqual(serverSideApply(structuredClone(live), cfg, opts('kaas', true)), live);
});
