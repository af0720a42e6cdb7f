// Velero objects for clusters with real workloads (OpenStack, EKS), where KaaS cannot read volume
// directories itself: a KaaS Backup/Restore is rendered to velero.io/v1 Backup/Restore plus the
// BackupStorageLocation, using CSI snapshots (snapshotMoveData off, no file-system agent). Pure.
// The driving path (applying them in the workload cluster, watching Velero's status) needs a
// real cluster and is untested against a live one (docs/backups.md).
type Obj = Record<string, any>;

export const veleroNamespace = 'velero';

export interface VeleroRender {
  storageLocation: Obj;
  backup: Obj;
}

/** The BackupStorageLocation and Backup for a kaas.dev Backup. */
export function renderVeleroBackup(b: Obj, opts: { ttl?: string } = {}): VeleroRender {
  const s3 = b.spec.storage.s3;
  const name = `kaas-${b.metadata.namespace}-${b.metadata.name}`.slice(0, 63);
  const location = `kaas-${b.metadata.namespace}-${s3.bucket}`.slice(0, 63);
  const all = (b.spec.includedNamespaces as string[]).includes('*');
  const labels = { 'app.kubernetes.io/managed-by': 'kaas', 'kaas.dev/backup': b.metadata.name };
  return {
    storageLocation: {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: location, namespace: veleroNamespace, labels },
      spec: {
        provider: 'aws',
        objectStorage: {
          bucket: s3.bucket,
          prefix: `${String(s3.prefix ?? 'kaas').replace(/\/+$/, '')}/velero`,
        },
        config: { region: s3.region ?? 'us-east-1', s3Url: s3.endpoint, s3ForcePathStyle: 'true' },
        // the Secret is copied into the velero namespace under this name by the driving path
        credential: { name: `kaas-${s3.credentialsRef.name}`, key: 'cloud' },
      },
    },
    backup: {
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: { name, namespace: veleroNamespace, labels },
      spec: {
        includedNamespaces: all ? ['*'] : [...b.spec.includedNamespaces],
        includeClusterResources: all ? true : undefined,
        storageLocation: location,
        // CSI snapshots of every claim; no node agent reads the volumes
        snapshotVolumes: true,
        snapshotMoveData: false,
        defaultVolumesToFsBackup: false,
        csiSnapshotTimeout: '10m0s',
        ttl: opts.ttl ?? '720h0m0s',
      },
    },
  };
}

/** The velero.io/v1 Restore for a kaas.dev Restore of a Backup rendered above. */
export function renderVeleroRestore(r: Obj, backup: Obj): Obj {
  const ns = r.spec.includedNamespaces as string[] | undefined;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: {
      name: `kaas-${r.metadata.namespace}-${r.metadata.name}`.slice(0, 63),
      namespace: veleroNamespace,
      labels: { 'app.kubernetes.io/managed-by': 'kaas', 'kaas.dev/restore': r.metadata.name },
    },
    spec: {
      backupName: renderVeleroBackup(backup).backup.metadata.name,
      includedNamespaces: ns && !ns.includes('*') ? [...ns] : ['*'],
      restorePVs: true,
      existingResourcePolicy: 'none',
      // what the local path strips too: status is observed again, not restored
      excludedResources: ['nodes', 'events', 'events.events.k8s.io', 'leases.coordination.k8s.io'],
    },
  };
}

/** Drops the keys whose value is undefined, so rendered objects compare and serialise cleanly. */
export function compact<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
