// Backups of clusters with real workloads (OpenStack, EKS), where KaaS cannot read volume
// directories itself: a KaaS Backup/Restore becomes a velero.io/v1 Backup/Restore in the workload
// cluster, made by the Velero the catalog installs there (CSI snapshots, no file-system agent), and
// Velero's status.phase is mirrored into ours. Rendering and the phase mapping are pure; the rest
// talks to the workload cluster's Kubernetes API (WorkloadClient). docs/backups.md, "Velero".
import { createHash } from 'node:crypto';
import { canonicalJson, compareForm, diffPaths, isControllerOwned } from './archive.ts';
import { BackupError } from './engine.ts';
import { veleroPath, type WorkloadClient } from './workload.ts';

type Obj = Record<string, any>;

/**
 * Where the catalog installs Velero: the managed namespace (@kaas/catalog's servicesNamespace; the
 * seed's rackspace-system is ours kaas-system), its Deployment, and the BackupStorageLocation it
 * renders from spec.objectStorage. The integration test checks these against the catalog's render.
 */
export const veleroNamespace = 'kaas-system';
export const veleroDeployment = 'velero';
export const veleroStorageLocation = 'default';
/** The catalog runs Velero with EnableCSI and no data mover: snapshots stay with the CSI driver. */
export const veleroSnapshotMoveData = false;

const managedBy = { 'app.kubernetes.io/managed-by': 'kaas' };

/** A Velero object name for a namespaced KaaS object: readable, unique, at most 63 characters. */
export function veleroName(namespace: string, name: string, suffix = ''): string {
  const full = `kaas-${namespace}-${name}${suffix}`;
  if (full.length <= 63) return full;
  const h = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${h}`;
}

/** Go duration of a schedule's retention: `keep` runs of `every`, plus one so Velero's GC is never first. */
export function retentionTtl(everyMs: number, keep: number): string {
  const s = Math.ceil((everyMs * (keep + 1)) / 1000);
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m${s % 60}s`;
}

/** The velero.io/v1 Backup for a kaas.dev Backup. */
export function renderVeleroBackup(b: Obj, opts: { ttl?: string } = {}): Obj {
  const all = (b.spec.includedNamespaces as string[]).includes('*');
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name: veleroName(b.metadata.namespace, b.metadata.name),
      namespace: veleroNamespace,
      labels: {
        ...managedBy,
        'kaas.dev/backup': b.metadata.name,
        'kaas.dev/backup-namespace': b.metadata.namespace,
      },
      annotations: { 'kaas.dev/backup-uid': b.metadata.uid ?? '' },
    },
    spec: {
      includedNamespaces: all ? ['*'] : [...b.spec.includedNamespaces],
      ...(all ? { includeClusterResources: true } : {}),
      storageLocation: veleroStorageLocation,
      // CSI snapshots of every claim; no node agent reads the volumes
      snapshotVolumes: true,
      snapshotMoveData: veleroSnapshotMoveData,
      defaultVolumesToFsBackup: false,
      csiSnapshotTimeout: '10m0s',
      ttl: opts.ttl ?? '720h0m0s',
    },
  };
}

/** The scratch namespace a verify maps `ns` to. */
export function scratchNamespace(restoreUid: string, ns: string): string {
  const full = `kaas-verify-${restoreUid.slice(0, 8)}-${ns}`;
  return full.length <= 63 ? full : full.slice(0, 63).replace(/-+$/, '');
}

/** The velero.io/v1 Restore for a kaas.dev Restore of a Velero-backed Backup. */
export function renderVeleroRestore(
  r: Obj,
  veleroBackupName: string,
  opts: { namespaceMapping?: Record<string, string> } = {},
): Obj {
  const ns = r.spec.includedNamespaces as string[] | undefined;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: {
      name: veleroName(r.metadata.namespace, r.metadata.name, r.spec.verify ? '-verify' : ''),
      namespace: veleroNamespace,
      labels: {
        ...managedBy,
        'kaas.dev/restore': r.metadata.name,
        'kaas.dev/restore-namespace': r.metadata.namespace,
      },
      annotations: { 'kaas.dev/restore-uid': r.metadata.uid ?? '' },
    },
    spec: {
      backupName: veleroBackupName,
      includedNamespaces: ns && !ns.includes('*') ? [...ns] : ['*'],
      ...(opts.namespaceMapping ? { namespaceMapping: opts.namespaceMapping } : {}),
      restorePVs: true,
      existingResourcePolicy: 'none',
      // what the local path leaves out too: status is observed again, not restored
      excludedResources: ['nodes', 'events', 'events.events.k8s.io', 'leases.coordination.k8s.io'],
    },
  };
}

/** The velero.io/v1 DeleteBackupRequest Velero acts on to delete a backup and its data. */
export function renderDeleteBackupRequest(veleroBackupName: string): Obj {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'DeleteBackupRequest',
    metadata: {
      generateName: `${veleroBackupName.slice(0, 50)}-`,
      namespace: veleroNamespace,
      labels: { ...managedBy, 'velero.io/backup-name': veleroBackupName },
    },
    spec: { backupName: veleroBackupName },
  };
}

// ---- Velero's phases -> ours ----

/**
 * Velero's phases (velero.io/v1 BackupPhase and RestorePhase, v1.15) that mean "still running";
 * Queued and ReadyToStart are newer Velero's (1.17) queue of backups, running too.
 */
export const veleroRunningPhases = [
  'New',
  'Queued',
  'ReadyToStart',
  'InProgress',
  'WaitingForPluginOperations',
  'WaitingForPluginOperationsPartiallyFailed',
  'Finalizing',
  'FinalizingPartiallyFailed',
] as const;

export interface MappedPhase {
  phase: 'InProgress' | 'Completed' | 'Failed';
  reason: string;
  message: string;
  velero: Obj;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** Velero's status, in the shape of our status.velero. */
export function veleroStatusBlock(
  kind: 'Backup' | 'Restore',
  cluster: string,
  obj: Obj,
  access?: string,
): Obj {
  const s = obj.status ?? {};
  const block: Obj = {
    cluster,
    access,
    storageLocation: kind === 'Backup' ? obj.spec?.storageLocation : undefined,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    phase: s.phase,
    errors: num(s.errors),
    warnings: num(s.warnings),
    failureReason: typeof s.failureReason === 'string' ? s.failureReason.slice(0, 4096) : undefined,
    validationErrors: Array.isArray(s.validationErrors)
      ? s.validationErrors.slice(0, 20).map((e: unknown) => String(e).slice(0, 1024))
      : undefined,
    totalItems: num(s.progress?.totalItems),
    itemsDone: num(kind === 'Backup' ? s.progress?.itemsBackedUp : s.progress?.itemsRestored),
    volumeSnapshotsAttempted: kind === 'Backup' ? num(s.csiVolumeSnapshotsAttempted) : undefined,
    volumeSnapshotsCompleted: kind === 'Backup' ? num(s.csiVolumeSnapshotsCompleted) : undefined,
    expiration: typeof s.expiration === 'string' ? s.expiration : undefined,
    namespaceMapping: obj.spec?.namespaceMapping,
  };
  return JSON.parse(JSON.stringify(block)) as Obj;
}

/** Decide: what Velero's object says about our Backup or Restore. Pure. */
export function mapVeleroPhase(
  kind: 'Backup' | 'Restore',
  cluster: string,
  obj: Obj,
  access?: string,
): MappedPhase {
  const velero = veleroStatusBlock(kind, cluster, obj, access);
  const where = `Velero ${kind} ${obj.metadata.namespace}/${obj.metadata.name} in cluster ${cluster}`;
  const phase: string = obj.status?.phase ?? 'New';
  const tally = `${velero.errors ?? 0} errors, ${velero.warnings ?? 0} warnings`;
  const items =
    velero.totalItems !== undefined
      ? `${velero.itemsDone ?? 0} of ${velero.totalItems} items ${kind === 'Backup' ? 'backed up' : 'restored'}`
      : '';
  const snaps =
    kind === 'Backup' && velero.volumeSnapshotsAttempted !== undefined
      ? `, ${velero.volumeSnapshotsCompleted ?? 0} of ${velero.volumeSnapshotsAttempted} CSI volume snapshots`
      : '';
  const detail = `velero describe ${kind.toLowerCase()} ${obj.metadata.name} -n ${obj.metadata.namespace} --details`;
  if ((veleroRunningPhases as readonly string[]).includes(phase))
    return {
      phase: 'InProgress',
      reason: 'Provisioning',
      message: `${where}: ${phase}${items ? ` (${items}${snaps})` : ''}`,
      velero,
    };
  if (phase === 'Completed')
    return {
      phase: 'Completed',
      reason: 'Ready',
      message: `${where} Completed: ${items || 'no item counts'}${snaps}; ${tally}`,
      velero,
    };
  if (phase === 'PartiallyFailed')
    return {
      phase: 'Failed',
      reason: 'PartiallyFailed',
      message: `${where} PartiallyFailed: ${items ? `${items}${snaps}; ` : ''}${tally}; the items' messages are in Velero's results (${detail})`,
      velero,
    };
  if (phase === 'Deleting')
    return {
      phase: 'Failed',
      reason: 'NotFound',
      message: `${where} is being deleted there (a DeleteBackupRequest, or its ttl expired)`,
      velero,
    };
  if (phase === 'FailedValidation')
    return {
      phase: 'Failed',
      reason: 'InvalidSpec',
      message: `${where} FailedValidation: ${(velero.validationErrors ?? []).join('; ') || 'no validation errors given'}`,
      velero,
    };
  if (phase === 'Failed')
    return {
      phase: 'Failed',
      reason: 'Internal',
      message: `${where} Failed: ${velero.failureReason ?? 'no failureReason given'}; ${tally} (${detail})`,
      velero,
    };
  return {
    phase: 'Failed',
    reason: 'Internal',
    message: `${where} is in phase ${phase}, which this KaaS release does not know (Velero 1.15 phases expected)`,
    velero,
  };
}

// ---- is Velero there? ----

/** The fix for a cluster without a working Velero, named in every VeleroUnavailable error. */
export function enableVeleroFix(cluster: string): string {
  return `enable the backup service: spec.services.backup.enabled: true in the bootstrap file, then \`kaasctl cluster deploy -f <bootstrap file>\`; if it is enabled, \`kaasctl cluster update ${cluster} --services\` re-applies it`;
}

/**
 * Observe: Velero's CRDs, its Deployment Available and its storage location, in the workload
 * cluster; returns the location (its bucket is where backups go). Throws a coded BackupError.
 */
export async function checkVelero(c: WorkloadClient, kinds: readonly string[]): Promise<Obj> {
  const cluster = c.cluster;
  for (const plural of kinds) {
    const crd = await c.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.velero.io`);
    if (!crd)
      throw new BackupError(
        'VeleroUnavailable',
        `Velero is not installed in cluster ${cluster}: its CRD ${plural}.velero.io does not exist; ${enableVeleroFix(cluster)}`,
      );
  }
  const dep = await c.get(`/apis/apps/v1/namespaces/${veleroNamespace}/deployments/${veleroDeployment}`);
  if (!dep)
    throw new BackupError(
      'VeleroUnavailable',
      `Velero is not running in cluster ${cluster}: Deployment ${veleroNamespace}/${veleroDeployment} does not exist; ${enableVeleroFix(cluster)}`,
    );
  const available = (dep.status?.conditions ?? []).find((x: Obj) => x.type === 'Available');
  if (available?.status !== 'True')
    throw new BackupError(
      'VeleroUnavailable',
      `Velero is not Available in cluster ${cluster}: Deployment ${veleroNamespace}/${veleroDeployment} has ${dep.status?.readyReplicas ?? 0} of ${dep.spec?.replicas ?? 1} replicas ready${available?.message ? ` (${available.message})` : ''}; see \`kubectl -n ${veleroNamespace} describe deployment ${veleroDeployment}\`, or ${enableVeleroFix(cluster)}`,
    );
  const bsl = await c.get(veleroPath(veleroNamespace, 'backupstoragelocations', veleroStorageLocation));
  if (!bsl)
    throw new BackupError(
      'VeleroUnavailable',
      `Velero in cluster ${cluster} has no BackupStorageLocation ${veleroNamespace}/${veleroStorageLocation}; ${enableVeleroFix(cluster)}`,
    );
  if (bsl.status?.phase === 'Unavailable')
    throw new BackupError(
      'CloudUnavailable',
      `Velero's BackupStorageLocation ${veleroNamespace}/${veleroStorageLocation} in cluster ${cluster} is Unavailable${bsl.status?.message ? `: ${bsl.status.message}` : ''}; check the bucket ${bsl.spec?.objectStorage?.bucket} and the credentials in Secret ${veleroNamespace}/velero-credentials`,
    );
  return bsl;
}

// ---- verify: compare the scratch namespaces with the source ----

/** The kinds a Velero-backed verify compares (namespaced, listed through the API). */
export const verifyKinds: readonly { path: string; kind: string }[] = [
  { path: '/api/v1', kind: 'ConfigMap' },
  { path: '/api/v1', kind: 'Secret' },
  { path: '/api/v1', kind: 'Service' },
  { path: '/api/v1', kind: 'ServiceAccount' },
  { path: '/api/v1', kind: 'PersistentVolumeClaim' },
  { path: '/apis/apps/v1', kind: 'Deployment' },
  { path: '/apis/apps/v1', kind: 'StatefulSet' },
  { path: '/apis/apps/v1', kind: 'DaemonSet' },
  { path: '/apis/batch/v1', kind: 'Job' },
  { path: '/apis/batch/v1', kind: 'CronJob' },
  { path: '/apis/networking.k8s.io/v1', kind: 'Ingress' },
  { path: '/apis/networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { path: '/apis/rbac.authorization.k8s.io/v1', kind: 'Role' },
  { path: '/apis/rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
];

const plural = (kind: string) => (kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind.toLowerCase()}s`);

/** What a verify compares of one object: the restore form without what Velero or the cluster sets. */
export function veleroCompareForm(o: Obj, nsOf: (ns: string) => string): Obj {
  const f = compareForm(o);
  delete f.metadata.namespace;
  for (const field of ['labels', 'annotations'] as const) {
    const m = f.metadata[field] as Obj | undefined;
    if (!m) continue;
    for (const k of Object.keys(m))
      if (
        k.startsWith('velero.io/') ||
        k.startsWith('pv.kubernetes.io/') ||
        k === 'kubectl.kubernetes.io/last-applied-configuration'
      )
        delete m[k];
    if (Object.keys(m).length === 0) delete f.metadata[field];
  }
  if (f.kind === 'PersistentVolumeClaim' && f.spec) delete f.spec.volumeName;
  if (f.kind === 'RoleBinding')
    for (const s of f.subjects ?? []) if (s.namespace) s.namespace = nsOf(s.namespace);
  return f;
}

export interface VeleroDifference {
  against: 'backup' | 'cluster';
  kind: string;
  namespace?: string;
  name: string;
  path?: string;
  message: string;
}

/** Lists `verifyKinds` in each source namespace and its scratch namespace and compares them. */
export async function compareNamespaces(
  c: WorkloadClient,
  mapping: Record<string, string>,
): Promise<{ compared: number; differences: VeleroDifference[] }> {
  const differences: VeleroDifference[] = [];
  let compared = 0;
  const back = Object.fromEntries(Object.entries(mapping).map(([s, t]) => [t, s]));
  const nsOf = (ns: string) => back[ns] ?? ns;
  const skip = (o: Obj) =>
    isControllerOwned(o) || (o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token');
  for (const [src, dst] of Object.entries(mapping)) {
    for (const k of verifyKinds) {
      const list = async (ns: string) =>
        new Map(
          (await c.list(`${k.path}/namespaces/${encodeURIComponent(ns)}/${plural(k.kind)}`))
            .map((o): Obj => ({ ...o, apiVersion: k.path.replace(/^\/apis?\//, ''), kind: k.kind }))
            .filter((o) => !skip(o))
            .map((o): [string, Obj] => [o.metadata.name as string, o]),
        );
      const [a, b] = [await list(src), await list(dst)];
      for (const [name, o] of a) {
        const r = b.get(name);
        if (!r) {
          differences.push({
            against: 'cluster',
            kind: k.kind,
            namespace: src,
            name,
            message: `in the source cluster but not restored into ${dst} (added since the backup, or not restored)`,
          });
          continue;
        }
        compared++;
        const [fa, fb] = [veleroCompareForm(o, nsOf), veleroCompareForm(r, nsOf)];
        if (canonicalJson(fa) !== canonicalJson(fb))
          differences.push({
            against: 'cluster',
            kind: k.kind,
            namespace: src,
            name,
            message: `differs from the restored copy in ${dst} at ${diffPaths(fa, fb).join(', ')} (changed since the backup, or not restored as it was)`,
          });
      }
      for (const name of b.keys())
        if (!a.has(name))
          differences.push({
            against: 'cluster',
            kind: k.kind,
            namespace: src,
            name,
            message: `restored into ${dst} but no longer in the source cluster (deleted since the backup)`,
          });
    }
  }
  return { compared, differences };
}
