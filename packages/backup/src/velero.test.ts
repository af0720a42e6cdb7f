import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compact, renderVeleroBackup, renderVeleroRestore } from './velero.ts';

const backup = (includedNamespaces: string[]) => ({
  metadata: { name: 'nightly', namespace: 'team-a' },
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

test('renderVeleroBackup: CSI snapshots, no file-system agent, the storage location from spec.storage', () => {
  const r = compact(renderVeleroBackup(backup(['shop', 'db'])));
  assert.deepEqual(r.backup.spec, {
    includedNamespaces: ['shop', 'db'],
    storageLocation: 'kaas-team-a-kaas-backups',
    snapshotVolumes: true,
    snapshotMoveData: false,
    defaultVolumesToFsBackup: false,
    csiSnapshotTimeout: '10m0s',
    ttl: '720h0m0s',
  });
  assert.equal(r.backup.metadata.name, 'kaas-team-a-nightly');
  assert.equal(r.backup.metadata.namespace, 'velero');
  assert.deepEqual(r.storageLocation.spec.config, {
    region: 'eu-west-1',
    s3Url: 'https://s3.example.com',
    s3ForcePathStyle: 'true',
  });
  assert.deepEqual(r.storageLocation.spec.objectStorage, { bucket: 'kaas-backups', prefix: 'kaas/velero' });
  // a Secret reference, never the credentials
  assert.deepEqual(r.storageLocation.spec.credential, { name: 'kaas-s3', key: 'cloud' });
  assert.ok(!JSON.stringify(r).includes('secretAccessKey'));
});

test('renderVeleroBackup: "*" backs up every namespace and the cluster-scoped resources', () => {
  const r = compact(renderVeleroBackup(backup(['*'])));
  assert.deepEqual(r.backup.spec.includedNamespaces, ['*']);
  assert.equal(r.backup.spec.includeClusterResources, true);
});

test('renderVeleroRestore names the rendered Backup and restores volumes from snapshots', () => {
  const r = renderVeleroRestore(
    {
      metadata: { name: 'r1', namespace: 'team-a' },
      spec: { backupName: 'nightly', includedNamespaces: ['shop'] },
    },
    backup(['shop', 'db']),
  );
  assert.equal(r.spec.backupName, 'kaas-team-a-nightly');
  assert.deepEqual(r.spec.includedNamespaces, ['shop']);
  assert.equal(r.spec.restorePVs, true);
  assert.equal(r.spec.existingResourcePolicy, 'none');
});
