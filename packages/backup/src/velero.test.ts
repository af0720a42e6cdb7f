import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mapVeleroPhase,
  renderDeleteBackupRequest,
  renderVeleroBackup,
  renderVeleroRestore,
  retentionTtl,
  veleroCompareForm,
  veleroName,
} from './velero.ts';
import { parseKubeconfig } from './workload.ts';

const backup = (includedNamespaces: string[]) => ({
  metadata: { name: 'nightly', namespace: 'team-a', uid: 'u-1' },
  spec: {
    cluster: 'prod',
    includedNamespaces,
    storage: {
      s3: {
        endpoint: 'https://s3.example.com',
        bucket: 'kaas-backups',
        region: 'eu-west-1',
        prefix: 'kaas',
        credentialsRef: { name: 's3' },
      },
    },
  },
});

test("renderVeleroBackup: CSI snapshots, no file-system agent, the catalog's storage location", () => {
  const r = renderVeleroBackup(backup(['shop', 'db']), { ttl: '192h0m0s' });
  assert.deepEqual(r.spec, {
    includedNamespaces: ['shop', 'db'],
    storageLocation: 'default',
    snapshotVolumes: true,
    snapshotMoveData: false,
    defaultVolumesToFsBackup: false,
    csiSnapshotTimeout: '10m0s',
    ttl: '192h0m0s',
  });
  assert.equal(r.metadata.name, 'kaas-team-a-nightly');
  assert.equal(r.metadata.namespace, 'kaas-system');
  assert.equal(r.metadata.annotations['kaas.dev/backup-uid'], 'u-1');
  assert.ok(!JSON.stringify(r).includes('secretAccessKey'));
});

test('renderVeleroBackup: "*" backs up every namespace and the cluster-scoped resources', () => {
  const r = renderVeleroBackup(backup(['*']));
  assert.deepEqual(r.spec.includedNamespaces, ['*']);
  assert.equal(r.spec.includeClusterResources, true);
  assert.equal(r.spec.ttl, '720h0m0s');
});

test('veleroName stays within 63 characters and distinct for long names', () => {
  const a = veleroName('a-very-long-namespace-name-for-testing', 'a-very-long-backup-name-number-1');
  const b = veleroName('a-very-long-namespace-name-for-testing', 'a-very-long-backup-name-number-2');
  assert.ok(a.length <= 63 && b.length <= 63);
  assert.notEqual(a, b);
});

test("retentionTtl: keep+1 periods of the schedule's every", () => {
  assert.equal(retentionTtl(24 * 3600_000, 7), '192h0m0s');
  assert.equal(retentionTtl(90_000, 2), '0h4m30s');
});

test('renderVeleroRestore names the Velero Backup, restores volumes, maps namespaces for verify', () => {
  const r = renderVeleroRestore(
    {
      metadata: { name: 'r1', namespace: 'team-a', uid: 'r' },
      spec: { backupName: 'nightly', includedNamespaces: ['shop'] },
    },
    'kaas-team-a-nightly',
    { namespaceMapping: { shop: 'kaas-verify-r-shop' } },
  );
  assert.equal(r.spec.backupName, 'kaas-team-a-nightly');
  assert.deepEqual(r.spec.includedNamespaces, ['shop']);
  assert.deepEqual(r.spec.namespaceMapping, { shop: 'kaas-verify-r-shop' });
  assert.equal(r.spec.restorePVs, true);
  assert.equal(r.spec.existingResourcePolicy, 'none');
  const d = renderDeleteBackupRequest('kaas-team-a-nightly');
  assert.deepEqual(d.spec, { backupName: 'kaas-team-a-nightly' });
  assert.equal(d.metadata.labels['velero.io/backup-name'], 'kaas-team-a-nightly');
});

const vb = (status: object) => ({
  metadata: { name: 'kaas-team-a-nightly', namespace: 'kaas-system' },
  spec: { storageLocation: 'default' },
  status,
});

test("mapVeleroPhase: each of Velero's phases to ours, with its counts and messages", () => {
  const table: [object, string, string, RegExp][] = [
    [{}, 'InProgress', 'Provisioning', /New/],
    [
      { phase: 'InProgress', progress: { totalItems: 10, itemsBackedUp: 4 } },
      'InProgress',
      'Provisioning',
      /4 of 10 items/,
    ],
    [{ phase: 'WaitingForPluginOperations' }, 'InProgress', 'Provisioning', /WaitingForPluginOperations/],
    [{ phase: 'FinalizingPartiallyFailed' }, 'InProgress', 'Provisioning', /FinalizingPartiallyFailed/],
    [
      {
        phase: 'Completed',
        progress: { totalItems: 10, itemsBackedUp: 10 },
        csiVolumeSnapshotsAttempted: 1,
        csiVolumeSnapshotsCompleted: 1,
        warnings: 2,
      },
      'Completed',
      'Ready',
      /10 of 10 items backed up, 1 of 1 CSI volume snapshots; 0 errors, 2 warnings/,
    ],
    [
      { phase: 'PartiallyFailed', errors: 3, warnings: 1 },
      'Failed',
      'PartiallyFailed',
      /3 errors, 1 warnings.*--details/,
    ],
    [
      { phase: 'Failed', failureReason: 'error getting backup store: bucket gone' },
      'Failed',
      'Internal',
      /bucket gone/,
    ],
    [
      { phase: 'FailedValidation', validationErrors: ['invalid included namespace "x y"'] },
      'Failed',
      'InvalidSpec',
      /x y/,
    ],
    [{ phase: 'Deleting' }, 'Failed', 'NotFound', /being deleted there/],
    [{ phase: 'Queued' }, 'InProgress', 'Provisioning', /Queued/],
    [{ phase: 'Bogus' }, 'Failed', 'Internal', /does not know/],
  ];
  for (const [status, phase, reason, message] of table) {
    const m = mapVeleroPhase('Backup', 'prod', vb(status));
    assert.equal(m.phase, phase, JSON.stringify(status));
    assert.equal(m.reason, reason, JSON.stringify(status));
    assert.match(m.message, message);
    assert.equal(m.velero.name, 'kaas-team-a-nightly');
  }
  const p = mapVeleroPhase('Backup', 'prod', vb({ phase: 'PartiallyFailed', errors: 3, warnings: 1 }));
  assert.equal(p.velero.errors, 3);
  assert.equal(p.velero.warnings, 1);
  // where it went (Velero's location, not spec.storage) and how KaaS reached the cluster
  assert.equal(p.velero.storageLocation, 'default');
  assert.equal(p.velero.access, undefined);
  const via = mapVeleroPhase(
    'Backup',
    'prod',
    vb({ phase: 'Completed' }),
    'Secret team-a/prod-kubeconfig (override)',
  );
  assert.equal(via.velero.access, 'Secret team-a/prod-kubeconfig (override)');
  const r = mapVeleroPhase(
    'Restore',
    'prod',
    vb({ phase: 'Completed', progress: { totalItems: 5, itemsRestored: 5 } }),
  );
  assert.match(r.message, /5 of 5 items restored/);
});

test("veleroCompareForm ignores Velero's labels, the namespace and what the cluster allocates", () => {
  const src = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: '1', resourceVersion: '5', labels: { app: 'web' } },
    spec: { clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] },
  };
  const restored = {
    ...src,
    metadata: {
      name: 'web',
      namespace: 'kaas-verify-x-shop',
      uid: '2',
      labels: { app: 'web', 'velero.io/backup-name': 'b', 'velero.io/restore-name': 'r' },
    },
    spec: { clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'], ports: [{ port: 80 }] },
  };
  const id = (n: string) => n;
  assert.deepEqual(veleroCompareForm(src, id), veleroCompareForm(restored, id));
  assert.notDeepEqual(
    veleroCompareForm(src, id),
    veleroCompareForm({ ...restored, spec: { ports: [{ port: 81 }] } }, id),
  );
});

test('parseKubeconfig: embedded credentials of the current context; others named', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kc = `apiVersion: v1
kind: Config
current-context: admin
clusters:
  - { name: c, cluster: { server: "https://10.0.0.5:6443/", certificate-authority-data: ${b64('CA')} } }
users:
  - { name: u, user: { token: abc } }
contexts:
  - { name: admin, context: { cluster: c, user: u } }
`;
  assert.deepEqual(parseKubeconfig(kc, 'Secret x'), {
    server: 'https://10.0.0.5:6443',
    caPem: 'CA',
    token: 'abc',
  });
  assert.throws(
    () => parseKubeconfig(kc.replace('token: abc', 'exec: { command: aws }'), 'Secret x'),
    /Secret x: the kubeconfig's user uses exec/,
  );
});
