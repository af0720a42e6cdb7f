import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../server/objects.ts';
import type { BinderWorld, ClaimDecision } from './pvbinder.ts';
import {
  annBindCompleted,
  annBoundByController,
  annDefaultStorageClass,
  annProvisionedBy,
  annSelectedNode,
  annStorageProvisioner,
  deleteFailed,
  findBestMatch,
  parseQuantity,
  recycleFinished,
  scrubCommand,
  syncClaim,
  syncVolume,
} from './pvbinder.ts';

interface PVOpts {
  size?: string;
  modes?: string[];
  cls?: string;
  labels?: Record<string, string>;
  phase?: string;
  claim?: { name: string; namespace?: string; uid?: string };
  policy?: string;
  source?: Record<string, unknown>;
  annotations?: Record<string, string>;
  volumeMode?: string;
}

function pv(name: string, o: PVOpts = {}): KObject {
  const spec: Record<string, any> = {
    capacity: { storage: o.size ?? '10Gi' },
    accessModes: o.modes ?? ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: o.policy ?? 'Retain',
    ...(o.source ?? { hostPath: { path: `/data/${name}` } }),
  };
  if (o.cls !== undefined) spec.storageClassName = o.cls;
  if (o.volumeMode) spec.volumeMode = o.volumeMode;
  if (o.claim) spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'ns', ...o.claim };
  const v: KObject = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name }, spec };
  if (o.labels) v.metadata.labels = o.labels;
  if (o.annotations) v.metadata.annotations = o.annotations;
  if (o.phase !== undefined) v.status = { phase: o.phase };
  return v;
}

interface PVCOpts {
  size?: string;
  modes?: string[];
  /** undefined: unset (default class applies); '' no class. */
  cls?: string;
  volumeName?: string;
  selector?: Record<string, unknown>;
  uid?: string;
  annotations?: Record<string, string>;
  phase?: string;
}

function pvc(name: string, o: PVCOpts = {}): KObject {
  const spec: Record<string, any> = {
    accessModes: o.modes ?? ['ReadWriteOnce'],
    resources: { requests: { storage: o.size ?? '5Gi' } },
  };
  if (o.cls !== undefined) spec.storageClassName = o.cls;
  if (o.volumeName) spec.volumeName = o.volumeName;
  if (o.selector) spec.selector = o.selector;
  const c: KObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'ns', uid: o.uid ?? `uid-${name}`, resourceVersion: '7' },
    spec,
  };
  if (o.annotations) c.metadata.annotations = o.annotations;
  if (o.phase) c.status = { phase: o.phase };
  return c;
}

function sc(
  name: string,
  o: { provisioner?: string; isDefault?: boolean; mode?: string; reclaim?: string } = {},
): KObject {
  const c: KObject = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: o.provisioner ?? 'kaas.dev/local',
  };
  if (o.isDefault) c.metadata.annotations = { [annDefaultStorageClass]: 'true' };
  if (o.mode) c.volumeBindingMode = o.mode;
  if (o.reclaim) c.reclaimPolicy = o.reclaim;
  return c;
}

const world = (volumes: KObject[], classes: KObject[] = []): BinderWorld => ({ volumes, classes });
const boundClaim = (name: string, volumeName: string, extra: PVCOpts = {}) =>
  pvc(name, { volumeName, annotations: { [annBindCompleted]: 'yes' }, phase: 'Bound', ...extra });

/** The parts of a decision the tables compare. */
function summary(d: ClaimDecision) {
  return {
    action: d.action,
    pv: 'pv' in d && d.pv ? d.pv.metadata.name : undefined,
    claimPhase: d.pvc.status?.phase,
    event: 'event' in d && d.event ? `${d.event.reason}: ${d.event.message}` : undefined,
  };
}

describe('parseQuantity', () => {
  const table: [string | number | undefined, number][] = [
    ['1Gi', 2 ** 30],
    ['500Mi', 500 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1G', 1e9],
    ['100k', 1e5],
    ['1e3', 1000],
    ['42', 42],
    [7, 7],
    ['1500m', 1.5],
  ];
  for (const [q, want] of table) test(String(q), () => assert.equal(parseQuantity(q), want));
  for (const q of ['', 'Gi', '1GB', '1 Gi', undefined])
    test(`${JSON.stringify(q)} is unreadable`, () => assert.ok(Number.isNaN(parseQuantity(q))));
});

describe('syncClaim: the claim names a PV (seed step 1)', () => {
  const table: [string, KObject, BinderWorld, ReturnType<typeof summary>][] = [
    [
      'the PV does not exist: wait indefinitely, Pending, no event',
      pvc('c', { volumeName: 'pv1' }),
      world([]),
      { action: 'wait', pv: undefined, claimPhase: 'Pending', event: undefined },
    ],
    [
      'the PV is Available and fits: bind',
      pvc('c', { volumeName: 'pv1' }),
      world([pv('pv1', { phase: 'Available' })]),
      { action: 'bind', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
    [
      'the PV is pre-bound to this claim by an administrator: bind',
      pvc('c', { volumeName: 'pv1' }),
      world([pv('pv1', { phase: 'Available', claim: { name: 'c' } })]),
      { action: 'bind', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
    [
      'the PV is bound to another claim: error',
      pvc('c', { volumeName: 'pv1' }),
      world([pv('pv1', { phase: 'Bound', claim: { name: 'other', uid: 'u2' } })]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'FailedBinding: volume "pv1" already bound to a different claim.',
      },
    ],
    [
      'the PV is too small: VolumeMismatch',
      pvc('c', { volumeName: 'pv1', size: '20Gi' }),
      world([pv('pv1', { phase: 'Available' })]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'VolumeMismatch: Cannot bind to requested volume "pv1": requested PV is too small',
      },
    ],
    [
      'the PV has another class: VolumeMismatch',
      pvc('c', { volumeName: 'pv1', cls: 'fast' }),
      world([pv('pv1', { phase: 'Available', cls: 'slow' })]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'VolumeMismatch: Cannot bind to requested volume "pv1": storageClassName does not match',
      },
    ],
    [
      'the PV lacks an access mode: VolumeMismatch',
      pvc('c', { volumeName: 'pv1', modes: ['ReadWriteMany'] }),
      world([pv('pv1', { phase: 'Available' })]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'VolumeMismatch: Cannot bind to requested volume "pv1": incompatible accessMode',
      },
    ],
  ];
  for (const [name, claim, w, want] of table)
    test(name, () => assert.deepEqual(summary(syncClaim(claim, w)), want));

  test('binding writes both sides the way upstream does, without touching the inputs', () => {
    const claim = pvc('c', { volumeName: 'pv1' });
    const vol = pv('pv1', { phase: 'Available' });
    const before = JSON.stringify([claim, vol]);
    const d = syncClaim(claim, world([vol]));
    assert.equal(d.action, 'bind');
    if (d.action !== 'bind') return;
    assert.deepEqual(d.pv.spec.claimRef, {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      namespace: 'ns',
      name: 'c',
      uid: 'uid-c',
      resourceVersion: '7',
    });
    assert.equal(d.pv.status.phase, 'Bound');
    assert.equal(d.pv.metadata.annotations?.[annBoundByController], 'yes');
    assert.equal(d.pvc.metadata.annotations?.[annBindCompleted], 'yes');
    // The user named the volume: the controller did not bind the claim side.
    assert.equal(d.pvc.metadata.annotations?.[annBoundByController], undefined);
    assert.deepEqual(d.pvc.status, {
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '10Gi' },
    });
    assert.equal(JSON.stringify([claim, vol]), before);
  });
});

describe('syncClaim: any suitable PV (seed step 2)', () => {
  const claim = () => pvc('c', { size: '5Gi', cls: 'std', selector: { matchLabels: { tier: 'db' } } });
  const fit = (name: string, o: PVOpts = {}) =>
    pv(name, { phase: 'Available', cls: 'std', labels: { tier: 'db' }, size: '8Gi', ...o });
  const filtered: [string, KObject][] = [
    ['bound to another claim', fit('x', { claim: { name: 'other', uid: 'u2' }, phase: 'Bound' })],
    ['pre-bound to another claim', fit('x', { claim: { name: 'other' } })],
    ['mismatching labels', fit('x', { labels: { tier: 'web' } })],
    ['no labels', fit('x', { labels: {} })],
    ['another storage class', fit('x', { cls: 'fast' })],
    ['no storage class', fit('x', { cls: '' })],
    ['missing access mode', fit('x', { modes: ['ReadOnlyMany'] })],
    ['too small', fit('x', { size: '4Gi' })],
    ['Released', fit('x', { phase: 'Released' })],
    ['Failed', fit('x', { phase: 'Failed' })],
    ['Pending (not yet Available)', fit('x', { phase: 'Pending' })],
    ['block volume for a filesystem claim', fit('x', { volumeMode: 'Block' })],
  ];
  for (const [why, vol] of filtered) {
    test(`a PV is passed over when ${why}`, () => {
      assert.equal(findBestMatch(claim(), [vol]), undefined);
      assert.equal(findBestMatch(claim(), [vol, fit('ok')])?.metadata.name, 'ok');
    });
  }

  test('the smallest PV that fits wins, then the first name', () => {
    const vols = [
      fit('big', { size: '100Gi' }),
      fit('b', { size: '6Gi' }),
      fit('a', { size: '6144Mi' }),
      fit('exact', { size: '5Gi' }),
    ];
    assert.equal(findBestMatch(claim(), vols)?.metadata.name, 'exact');
    assert.equal(findBestMatch(claim(), vols.slice(0, 3))?.metadata.name, 'a');
  });

  test('a PV pre-bound to the claim wins over smaller ones', () => {
    const vols = [
      fit('small', { size: '5Gi' }),
      fit('mine', { size: '50Gi', claim: { name: 'c' }, labels: {} }),
    ];
    assert.equal(findBestMatch(claim(), vols)?.metadata.name, 'mine');
  });

  test('a match is bound, claim side marked bound-by-controller', () => {
    const d = syncClaim(claim(), world([fit('pv1')], [sc('std')]));
    assert.equal(d.action, 'bind');
    if (d.action !== 'bind') return;
    assert.equal(d.pvc.spec.volumeName, 'pv1');
    assert.equal(d.pvc.metadata.annotations?.[annBoundByController], 'yes');
    assert.equal(d.pv.spec.claimRef.uid, 'uid-c');
  });

  test('matchExpressions are honoured', () => {
    const c = pvc('c', {
      cls: 'std',
      selector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] },
    });
    assert.equal(
      findBestMatch(c, [fit('z', { labels: { zone: 'c' } }), fit('y', { labels: { zone: 'b' } })])?.metadata
        .name,
      'y',
    );
  });
});

describe('syncClaim: dynamic provisioning through the storage class', () => {
  const table: [string, KObject, BinderWorld, ReturnType<typeof summary>][] = [
    [
      'no match and no class: wait',
      pvc('c', { cls: '' }),
      world([]),
      {
        action: 'wait',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'FailedBinding: no persistent volumes available for this claim and no storage class is set',
      },
    ],
    [
      'the class does not exist',
      pvc('c', { cls: 'gold' }),
      world([], [sc('std')]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'ProvisioningFailed: storageclass.storage.k8s.io "gold" not found',
      },
    ],
    [
      'WaitForFirstConsumer waits for a pod to pick a node',
      pvc('c', { cls: 'std' }),
      world([], [sc('std', { mode: 'WaitForFirstConsumer' })]),
      {
        action: 'wait',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'WaitForFirstConsumer: waiting for first consumer to be created before binding',
      },
    ],
    [
      'WaitForFirstConsumer provisions once a node is selected',
      pvc('c', { cls: 'std', annotations: { [annSelectedNode]: 'node-1' } }),
      world([], [sc('std', { mode: 'WaitForFirstConsumer' })]),
      {
        action: 'provision',
        pv: 'pvc-uid-c',
        claimPhase: 'Pending',
        event: 'ProvisioningSucceeded: Successfully provisioned volume pvc-uid-c using kaas.dev/local',
      },
    ],
    [
      'a no-provisioner class waits for an administrator',
      pvc('c', { cls: 'manual' }),
      world([], [sc('manual', { provisioner: 'kubernetes.io/no-provisioner' })]),
      {
        action: 'wait',
        pv: undefined,
        claimPhase: 'Pending',
        event:
          'FailedBinding: no persistent volumes available for this claim and storage class "manual" does not provision volumes',
      },
    ],
    [
      'a claim with a selector is never provisioned',
      pvc('c', { cls: 'std', selector: { matchLabels: { a: 'b' } } }),
      world([], [sc('std')]),
      {
        action: 'error',
        pv: undefined,
        claimPhase: 'Pending',
        event: 'ProvisioningFailed: claim.Spec.Selector is not supported for dynamic provisioning',
      },
    ],
    [
      'an existing PV is preferred to provisioning',
      pvc('c', { cls: 'std' }),
      world([pv('pv1', { phase: 'Available', cls: 'std' })], [sc('std')]),
      { action: 'bind', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
  ];
  for (const [name, claim, w, want] of table)
    test(name, () => assert.deepEqual(summary(syncClaim(claim, w)), want));

  test('the provisioned PV is pre-bound to the claim and follows the class', () => {
    const d = syncClaim(
      pvc('c', { cls: 'std', size: '3Gi', modes: ['ReadWriteOnce', 'ReadOnlyMany'] }),
      world([], [sc('std', { reclaim: 'Retain' })]),
      { volumesDir: '/srv/vols' },
    );
    assert.equal(d.action, 'provision');
    if (d.action !== 'provision') return;
    assert.deepEqual(d.pv.metadata, {
      name: 'pvc-uid-c',
      annotations: { [annProvisionedBy]: 'kaas.dev/local' },
    });
    assert.deepEqual(d.pv.spec, {
      capacity: { storage: '3Gi' },
      accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'std',
      volumeMode: 'Filesystem',
      claimRef: {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: 'ns',
        name: 'c',
        uid: 'uid-c',
        resourceVersion: '7',
      },
      hostPath: { path: '/srv/vols/pvc-uid-c', type: 'DirectoryOrCreate' },
    });
    assert.equal(d.pvc.metadata.annotations?.[annStorageProvisioner], 'kaas.dev/local');
    // Upstream's default reclaim policy for provisioned volumes is Delete.
    const d2 = syncClaim(pvc('c', { cls: 'std' }), world([], [sc('std')]), {
      volumeSource: (name) => ({ csi: { driver: 'x', volumeHandle: name } }),
    });
    assert.equal(d2.action === 'provision' && d2.pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.deepEqual(d2.action === 'provision' && d2.pv.spec.csi, { driver: 'x', volumeHandle: 'pvc-uid-c' });
  });

  test('an unset class takes the default class (the newest default), written back on the claim', () => {
    const older = { ...sc('old', { isDefault: true }) };
    older.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    const newer = sc('std', { isDefault: true });
    newer.metadata.creationTimestamp = '2026-06-01T00:00:00Z';
    const d = syncClaim(pvc('c'), world([], [older, newer]));
    assert.equal(d.action, 'provision');
    assert.equal(d.pvc.spec.storageClassName, 'std');
    const m = syncClaim(pvc('c'), world([pv('a', { phase: 'Available', cls: 'std' })], [older, newer]));
    assert.deepEqual(summary(m), { action: 'bind', pv: 'a', claimPhase: 'Bound', event: undefined });
    // "" means no class, default or not.
    assert.equal(syncClaim(pvc('c', { cls: '' }), world([], [newer])).action, 'wait');
  });

  test('the whole loop: provision, the PV appears, bind, both Bound, then nothing to do', () => {
    let claim = pvc('c', { cls: 'std' });
    const classes = [sc('std')];
    const p = syncClaim(claim, world([], classes));
    assert.equal(p.action, 'provision');
    if (p.action !== 'provision') return;
    claim = p.pvc;
    let vol = p.pv;
    assert.deepEqual(syncVolume(vol, [claim]), { action: 'none', pv: vol }); // waits for the claim side
    const b = syncClaim(claim, world([vol], classes));
    assert.equal(b.action, 'bind');
    if (b.action !== 'bind') return;
    claim = b.pvc;
    vol = b.pv;
    assert.equal(syncClaim(claim, world([vol], classes)).action, 'none');
    assert.equal(syncVolume(vol, [claim]).action, 'none');
  });
});

describe('syncClaim: bound claims', () => {
  const table: [string, KObject, BinderWorld, ReturnType<typeof summary>][] = [
    [
      'the PV is gone: Lost',
      boundClaim('c', 'pv1'),
      world([]),
      {
        action: 'lost',
        pv: undefined,
        claimPhase: 'Lost',
        event: 'ClaimLost: Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      },
    ],
    [
      'the claim lost its volumeName: Lost',
      pvc('c', { annotations: { [annBindCompleted]: 'yes' }, phase: 'Bound' }),
      world([]),
      {
        action: 'lost',
        pv: undefined,
        claimPhase: 'Lost',
        event: 'ClaimLost: Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      },
    ],
    [
      'the PV is bound to another claim: Lost (misbound)',
      boundClaim('c', 'pv1'),
      world([pv('pv1', { phase: 'Bound', claim: { name: 'd', uid: 'uid-d' } })]),
      {
        action: 'lost',
        pv: undefined,
        claimPhase: 'Lost',
        event: 'ClaimMisbound: Two claims are bound to the same volume, this one is bound incorrectly',
      },
    ],
    [
      'the PV lost its claimRef: bind again',
      boundClaim('c', 'pv1'),
      world([pv('pv1', { phase: 'Available' })]),
      { action: 'bind', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
    [
      'both Bound: nothing to do',
      boundClaim('c', 'pv1'),
      world([pv('pv1', { phase: 'Bound', claim: { name: 'c', uid: 'uid-c' } })]),
      { action: 'none', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
    [
      'bound but the PV phase lags: bind fixes the phase',
      boundClaim('c', 'pv1'),
      world([pv('pv1', { phase: 'Available', claim: { name: 'c', uid: 'uid-c' } })]),
      { action: 'bind', pv: 'pv1', claimPhase: 'Bound', event: undefined },
    ],
  ];
  for (const [name, claim, w, want] of table)
    test(name, () => assert.deepEqual(summary(syncClaim(claim, w)), want));
});

describe('syncVolume: phases and reclaim', () => {
  const bound = (o: PVOpts = {}) =>
    pv('pv1', {
      phase: 'Bound',
      claim: { name: 'c', uid: 'uid-c' },
      annotations: { [annBoundByController]: 'yes' },
      ...o,
    });
  const claimC = boundClaim('c', 'pv1');
  const table: [string, KObject, KObject[], string, string | undefined][] = [
    ['a new PV becomes Available', pv('pv1'), [], 'update', 'Available'],
    ['an Available PV stays', pv('pv1', { phase: 'Available' }), [], 'none', 'Available'],
    [
      'pre-bound by an administrator, claim not there yet: Available',
      pv('pv1', { claim: { name: 'c' } }),
      [],
      'update',
      'Available',
    ],
    ['bound, claim bound to it: Bound', bound(), [claimC], 'none', 'Bound'],
    ['bound, phase lags: Bound', bound({ phase: 'Available' }), [claimC], 'update', 'Bound'],
    [
      'binding in progress (claim has no volumeName yet)',
      bound({ phase: undefined }),
      [pvc('c')],
      'none',
      undefined,
    ],
    ['Retain: the claim is deleted: Released, data kept', bound(), [], 'release', 'Released'],
    ['Retain: already Released stays Released', bound({ phase: 'Released' }), [], 'none', 'Released'],
    [
      'the claim was re-created (new uid): the old binding is released',
      bound(),
      [pvc('c', { uid: 'new', volumeName: 'pv1' })],
      'release',
      'Released',
    ],
    ['Recycle: the claim is deleted: scrub', bound({ policy: 'Recycle' }), [], 'recycle', 'Released'],
    ['Delete: the claim is deleted: delete', bound({ policy: 'Delete' }), [], 'delete', 'Released'],
    [
      'Recycle on a volume that cannot be scrubbed: Failed',
      bound({ policy: 'Recycle', source: { csi: { driver: 'x' } } }),
      [],
      'fail',
      'Failed',
    ],
    ['an unknown policy: Failed', bound({ policy: 'Shred' }), [], 'fail', 'Failed'],
    [
      'a Failed volume waits for an administrator',
      bound({ phase: 'Failed', policy: 'Delete' }),
      [],
      'none',
      'Failed',
    ],
    [
      'the controller bound it but the claim went to another PV: unbind',
      bound(),
      [boundClaim('c', 'pv2')],
      'update',
      'Available',
    ],
    [
      'an administrator pre-bound it but the claim went elsewhere: leave it',
      bound({ annotations: {} }),
      [boundClaim('c', 'pv2')],
      'none',
      'Bound',
    ],
  ];
  for (const [name, vol, claims, action, phase] of table) {
    test(name, () => {
      const d = syncVolume(vol, claims);
      assert.equal(d.action, action);
      assert.equal(d.pv.status?.phase, phase);
    });
  }

  test('the unbinding drops the claimRef and the annotation', () => {
    const d = syncVolume(bound(), [boundClaim('c', 'pv2')]);
    assert.equal(d.pv.spec.claimRef, undefined);
    assert.equal(d.pv.metadata.annotations, undefined);
  });

  test('Recycle: the seed scrub on the volume directory, then Available for the next claim', () => {
    const d = syncVolume(bound({ policy: 'Recycle' }), []);
    assert.equal(d.action, 'recycle');
    if (d.action !== 'recycle') return;
    assert.deepEqual(d.scrub.source, { hostPath: { path: '/data/pv1' } });
    assert.equal(d.scrub.mountPath, '/vol');
    assert.ok(d.scrub.command.join(' ').includes('rm -rf /vol/*'));
    const ok = recycleFinished(d.pv, { ok: true });
    assert.equal(ok.pv.status.phase, 'Available');
    assert.equal(ok.pv.spec.claimRef, undefined);
    assert.deepEqual(ok.event, {
      on: 'volume',
      type: 'Normal',
      reason: 'VolumeRecycled',
      message: 'Volume recycled',
    });
    // Available and unbound: the next claim can have it.
    assert.equal(findBestMatch(pvc('next'), [ok.pv])?.metadata.name, 'pv1');
    const bad = recycleFinished(d.pv, { ok: false, message: 'exit status 1' });
    assert.equal(bad.pv.status.phase, 'Failed');
    assert.equal(bad.event.reason, 'VolumeFailedRecycle');
    assert.equal(bad.event.message, 'Recycle failed: exit status 1');
  });

  test('Recycle keeps an administrator pre-binding by name', () => {
    const pre = pv('pv1', { phase: 'Released', policy: 'Recycle', claim: { name: 'c', uid: 'gone' } });
    const r = recycleFinished(pre, { ok: true });
    assert.deepEqual(r.pv.spec.claimRef, { kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'c' });
  });

  test('Delete failures leave the PV Failed with the reason', () => {
    const r = deleteFailed(bound({ policy: 'Delete' }), 'cinder: volume in use');
    assert.equal(r.pv.status.phase, 'Failed');
    assert.equal(r.pv.status.message, 'cinder: volume in use');
    assert.equal(r.event.reason, 'VolumeFailedDelete');
  });

  test('the scrub command empties a real directory, hidden entries too, and keeps it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kaas-scrub-'));
    try {
      const vol = join(dir, 'vol');
      mkdirSync(join(vol, 'sub'), { recursive: true });
      for (const f of ['a', '.hidden', '..dots', 'sub/b']) writeFileSync(join(vol, f), 'data');
      const [sh, flag, script] = scrubCommand;
      execFileSync(sh!, [flag!, script!.replaceAll('/vol', vol)]);
      assert.deepEqual(readdirSync(vol), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
