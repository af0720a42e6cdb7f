// The archive format (docs/backups.md): what goes where in the bucket, the manifest, and the
// normal forms of an object (as archived, as restored, as compared). Pure.
import { createHash } from 'node:crypto';

export const formatVersion = 1;

/** Everything of one backup lives under this prefix; the manifest is written last. */
export function backupRoot(prefix: string, namespace: string, name: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return `${p ? `${p}/` : ''}backups/${namespace}/${name}/`;
}

export const keys = {
  manifest: (root: string) => `${root}manifest.json`,
  objects: (root: string, chunk: number) => `${root}objects/${String(chunk).padStart(5, '0')}.ndjson.gz`,
  file: (root: string, volume: number, file: number) =>
    `${root}volumes/${String(volume).padStart(4, '0')}/${String(file).padStart(7, '0')}`,
};

export interface ArchivedObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** sha256 of the object's canonical JSON as archived (ndjson line) */
  sha256: string;
  /** sha256 of compareForm: what verify compares */
  compareSha256: string;
  chunk: number;
  /** false: kept for the record only (controller-owned, recreated by its controller) */
  restore: boolean;
}

export interface ArchivedFile {
  /** path inside the volume, "/"-separated */
  path: string;
  size: number;
  mode: number;
  sha256: string;
  key: string;
}

export interface ArchivedVolume {
  persistentVolume: string;
  claim: { namespace: string; name: string };
  files: ArchivedFile[];
  bytes: number;
}

export interface Manifest {
  formatVersion: number;
  kind: 'KaaSBackup';
  backup: { namespace: string; name: string; uid?: string };
  cluster: string;
  includedNamespaces: string[];
  startedAt: string;
  completedAt: string;
  chunks: { key: string; sha256: string; bytes: number; objects: number }[];
  objects: ArchivedObject[];
  volumes: ArchivedVolume[];
  totals: { objects: number; volumes: number; files: number; objectBytes: number; volumeBytes: number };
}

/** JSON with object keys sorted at every level: the same object always hashes the same. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

type Obj = Record<string, any>;

/** Metadata the server owns: it makes new values on create. */
const serverMetadata = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
];

/** As archived: the object minus server-owned metadata; status kept (the record of what was). */
export function archiveForm(obj: Obj): Obj {
  const o = structuredClone(obj);
  for (const f of serverMetadata) delete o.metadata?.[f];
  return o;
}

/** Kinds never archived: records of the moment or derived by controllers from other objects. */
export const skippedKinds = new Set([
  'v1/Event',
  'events.k8s.io/v1/Event',
  'coordination.k8s.io/v1/Lease',
  'v1/Endpoints',
  'discovery.k8s.io/v1/EndpointSlice',
  'v1/Node',
  'v1/Binding',
  'v1/ComponentStatus',
]);

/** A controller owns it: its owner is restored and makes it again (a Deployment's ReplicaSets, their Pods). */
export function isControllerOwned(obj: Obj): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r: Obj) => r.controller === true);
}

export interface RestoreContext {
  /** the directory a restored PersistentVolume's data goes to */
  volumePath(pvName: string): string;
}

/**
 * As written on restore: no status (controllers observe it again), no owner references (the
 * owners' uids are new), PersistentVolumes re-pointed at the target's directory and unbound from
 * the old claim's uid (the binder binds them to the restored claim by name), Services without
 * their allocated cluster IPs.
 */
export function restoreForm(archived: Obj, ctx: RestoreContext): Obj {
  const o = structuredClone(archived);
  delete o.status;
  for (const f of serverMetadata) delete o.metadata?.[f];
  delete o.metadata?.ownerReferences;
  delete o.metadata?.finalizers;
  const gvk = `${o.apiVersion}/${o.kind}`;
  if (gvk === 'v1/PersistentVolume') {
    if (o.spec?.hostPath) o.spec.hostPath.path = ctx.volumePath(o.metadata.name);
    else if (o.spec?.local) o.spec.local.path = ctx.volumePath(o.metadata.name);
    if (o.spec?.claimRef) {
      delete o.spec.claimRef.uid;
      delete o.spec.claimRef.resourceVersion;
    }
  }
  if (gvk === 'v1/Service' && o.spec) {
    if (o.spec.clusterIP !== 'None') {
      delete o.spec.clusterIP;
      delete o.spec.clusterIPs;
    }
  }
  if (gvk === 'v1/Namespace') delete o.spec;
  return o;
}

/** What verify compares: the restore form, with the target-specific volume path made neutral. */
export function compareForm(obj: Obj): Obj {
  return restoreForm(obj, { volumePath: (name) => `<volume ${name}>` });
}

export function compareSha(obj: Obj): string {
  return sha256(canonicalJson(compareForm(obj)));
}

/** JSON paths where two values differ (at most `max`), for a readable report. */
export function diffPaths(a: unknown, b: unknown, max = 5, path = ''): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      out.push(...diffPaths(a[k], b[k], max - out.length, `${path}.${k}`));
      if (out.length >= max) break;
    }
    return out;
  }
  return [path || '.'];
}

/** Restore order: what others need first (namespaces, CRDs, classes, volumes before claims). */
export function restorePriority(apiVersion: string, kind: string): number {
  const order = [
    'CustomResourceDefinition',
    'Namespace',
    'StorageClass',
    'PersistentVolume',
    'ServiceAccount',
    'Secret',
    'ConfigMap',
    'LimitRange',
    'ResourceQuota',
    'Role',
    'RoleBinding',
    'ClusterRole',
    'ClusterRoleBinding',
    'PersistentVolumeClaim',
    'Service',
  ];
  const i = order.indexOf(kind);
  if (i >= 0 && (apiVersion === 'v1' || apiVersion.includes('.k8s.io/'))) return i;
  return order.length;
}
