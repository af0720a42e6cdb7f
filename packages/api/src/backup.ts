// Backup, Restore and BackupSchedule of kaas.dev/v1alpha1: what an operator asks for and what the
// backup controller (@kaas/backup) observed. Credentials are always a Secret reference.
import { z } from 'zod';
import { apiVersion } from './cluster.ts';
import { ConditionSchema, ObjectMetaSchema, SecretReferenceSchema, dnsLabel, formatted } from './fields.ts';
import { errorReasonNames, progressReasonNames } from './errorReasons.ts';

/** Reasons only backups have, besides the Cluster's coded vocabulary. */
export const backupOnlyReasons = {
  Interrupted: 'The server stopped during the run; nothing was marked complete. Create the object again.',
  ChecksumMismatch: 'What was read back differs from what was written (sha256): the archive is damaged.',
  Differs: 'Verify found differences; status.verify.differences lists them.',
  VeleroUnavailable:
    "The workload cluster has no working Velero (CRDs absent, its Deployment not Available, or no storage location): enable the backup service and update the cluster's services.",
  PartiallyFailed:
    "Velero finished with errors: some items were not backed up or restored; status.velero has Velero's counts and messages.",
} as const;

export const backupConditionReasons = [
  ...errorReasonNames,
  ...progressReasonNames,
  ...(Object.keys(backupOnlyReasons) as (keyof typeof backupOnlyReasons)[]),
] as const;

export const BackupConditionSchema = ConditionSchema.extend({
  reason: z.enum(backupConditionReasons).describe('A coded reason; see docs/backups.md.'),
});

export const backupPhases = ['New', 'InProgress', 'Completed', 'Failed', 'Deleting'] as const;

export const S3StorageSchema = z.strictObject({
  endpoint: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .describe(
      'S3 endpoint URL, e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:6280 (path-style).',
    ),
  bucket: formatted(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be an S3 bucket name: 3-63 lowercase letters, digits, "." and "-"',
    'format',
    63,
  ).describe('Bucket; it must exist.'),
  region: z.string().min(1).max(64).default('us-east-1').describe('Region the requests are signed for.'),
  prefix: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9!_.*'()/-]*$/)
    .default('kaas')
    .describe('Key prefix inside the bucket.'),
  credentialsRef: SecretReferenceSchema.describe(
    'Secret (same namespace) with keys accessKeyId and secretAccessKey (optionally sessionToken). Never inline.',
  ),
});

export const StorageLocationSchema = z.strictObject({
  s3: S3StorageSchema.describe('S3-compatible object storage.'),
});

const namespaceList = z
  .array(z.union([dnsLabel(), z.literal('*')]))
  .min(1)
  .max(256)
  .describe('Namespaces to back up; ["*"] for all of them.');

export const BackupSpecSchema = z.strictObject({
  cluster: dnsLabel(32).describe('Name of a Cluster in the same namespace.'),
  includedNamespaces: namespaceList,
  storage: StorageLocationSchema.describe('Where the archive goes.'),
});

const count = z.int().min(0);

/** What Velero reported for the velero.io/v1 object a Backup or Restore of a non-local cluster drives. */
export const VeleroStatusSchema = z
  .strictObject({
    cluster: z.string().max(63).describe('The workload cluster the object lives in.'),
    access: z
      .string()
      .max(1024)
      .optional()
      .describe(
        "How KaaS reached the cluster's API: status.endpoint with a client certificate from the cluster CA, or the Secret <cluster>-kubeconfig (override).",
      ),
    storageLocation: z
      .string()
      .max(253)
      .optional()
      .describe(
        "Velero's BackupStorageLocation the backup went to (Backup); spec.storage's endpoint, prefix and credentials are not used.",
      ),
    namespace: z.string().max(63).describe("Velero's namespace there."),
    name: z.string().max(253).describe('Name of the velero.io/v1 object.'),
    phase: z.string().max(64).optional().describe("Velero's status.phase as last seen."),
    errors: count.optional().describe("Velero's status.errors."),
    warnings: count.optional().describe("Velero's status.warnings."),
    failureReason: z.string().max(4096).optional(),
    validationErrors: z.array(z.string().max(1024)).max(20).optional(),
    totalItems: count.optional(),
    itemsDone: count.optional().describe('Items backed up (Backup) or restored (Restore) so far.'),
    volumeSnapshotsAttempted: count.optional().describe('CSI volume snapshots attempted (Backup).'),
    volumeSnapshotsCompleted: count.optional(),
    expiration: z.string().max(64).optional().describe('When Velero garbage-collects the backup (its ttl).'),
    namespaceMapping: z.record(z.string().max(63), z.string().max(63)).optional(),
  })
  .describe('Set only for clusters whose backups Velero makes (docs/backups.md, Velero).');

export const BackupStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(backupPhases).optional(),
  conditions: z
    .array(BackupConditionSchema)
    .max(16)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .describe('Ready (Completed) with a coded reason.'),
  startedAt: z.iso.datetime({ offset: true }).optional(),
  completedAt: z.iso.datetime({ offset: true }).optional(),
  counts: z
    .strictObject({ objects: count, volumes: count, files: count })
    .optional()
    .describe('What the archive holds.'),
  sizes: z
    .strictObject({ objectBytes: count, volumeBytes: count, manifestBytes: count })
    .optional()
    .describe('Bytes of objects (uncompressed ndjson), volume files and the manifest.'),
  progress: z
    .strictObject({ bytesDone: count, bytesTotal: count })
    .optional()
    .describe('Volume bytes uploaded so far.'),
  manifest: z
    .strictObject({ key: z.string().max(2048), sha256: z.string().length(64), formatVersion: z.int().min(1) })
    .optional()
    .describe('The manifest, uploaded last and read back: its key and sha256.'),
  error: z
    .string()
    .max(32768)
    .optional()
    .describe('The last error, naming the bucket and endpoint and the fix.'),
  velero: VeleroStatusSchema.optional(),
});

export const BackupSchema = z.strictObject({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('Backup'),
  metadata: ObjectMetaSchema,
  spec: BackupSpecSchema,
  status: BackupStatusSchema.optional(),
});
export type Backup = z.output<typeof BackupSchema>;
export type BackupSpec = z.output<typeof BackupSpecSchema>;

export const RestoreSpecSchema = z.strictObject({
  backupName: dnsLabel().describe('Name of a Completed Backup in the same namespace.'),
  targetCluster: dnsLabel(32)
    .optional()
    .describe(
      "Cluster to restore into (same namespace). Default: the backup's cluster. Ignored with verify.",
    ),
  includedNamespaces: namespaceList
    .optional()
    .describe("A subset of the backup's namespaces; default all of them."),
  verify: z
    .boolean()
    .default(false)
    .describe(
      'Restore into a scratch cluster instead, compare every object and file with the archive and with the live cluster, report, delete the scratch cluster.',
    ),
});

export const DifferenceSchema = z.strictObject({
  against: z.enum(['backup', 'cluster']),
  kind: z.string().max(63),
  namespace: z.string().max(63).optional(),
  name: z.string().max(253),
  path: z.string().max(4096).optional(),
  message: z.string().max(4096),
});

export const RestoreStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(backupPhases).optional(),
  conditions: z
    .array(BackupConditionSchema)
    .max(16)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  startedAt: z.iso.datetime({ offset: true }).optional(),
  completedAt: z.iso.datetime({ offset: true }).optional(),
  counts: z
    .strictObject({ created: count, existing: count, failed: count, files: count, bytes: count })
    .optional(),
  progress: z.strictObject({ bytesDone: count, bytesTotal: count }).optional(),
  verify: z
    .strictObject({
      scratchCluster: z.string().max(253),
      objectsCompared: count,
      filesCompared: count,
      identical: z.boolean(),
      differences: z.array(DifferenceSchema).max(200).describe('The first 200 differences.'),
      differenceCount: count,
    })
    .optional(),
  failures: z
    .array(z.strictObject({ object: z.string().max(512), message: z.string().max(4096) }))
    .max(100)
    .optional(),
  error: z.string().max(32768).optional(),
  velero: VeleroStatusSchema.optional(),
});

export const RestoreSchema = z.strictObject({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('Restore'),
  metadata: ObjectMetaSchema,
  spec: RestoreSpecSchema,
  status: RestoreStatusSchema.optional(),
});
export type Restore = z.output<typeof RestoreSchema>;

export const BackupScheduleSpecSchema = z.strictObject({
  every: formatted(/^[0-9]+(s|m|h|d)$/, 'must be a duration like 90s, 30m, 6h or 1d', 'format', 16).describe(
    'How often to make a Backup.',
  ),
  keep: z
    .int()
    .min(1)
    .max(1000)
    .describe('Completed Backups to keep; older ones are deleted (with their archives).'),
  paused: z.boolean().default(false).describe('Make no new Backups while true.'),
  template: BackupSpecSchema.describe('The spec of every Backup this schedule makes.'),
});

export const BackupScheduleSchema = z.strictObject({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('BackupSchedule'),
  metadata: ObjectMetaSchema,
  spec: BackupScheduleSpecSchema,
  status: z
    .strictObject({
      observedGeneration: z.int().min(0).optional(),
      lastBackup: z.string().max(253).optional(),
      lastScheduleTime: z.iso.datetime({ offset: true }).optional(),
      deleted: z.array(z.string().max(253)).max(100).optional().describe('Backups retention deleted last.'),
    })
    .optional(),
});
export type BackupSchedule = z.output<typeof BackupScheduleSchema>;

/** "90s", "30m", "6h", "1d" in milliseconds. */
export function parseEvery(s: string): number {
  const m = /^([0-9]+)(s|m|h|d)$/.exec(s);
  if (!m) throw new Error(`${JSON.stringify(s)}: a duration like 90s, 30m, 6h or 1d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
