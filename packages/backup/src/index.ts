// @kaas/backup: backups of the local cloud's clusters to S3-compatible storage (docs/backups.md):
// the archive format, the S3 client, the engine and the controller; Velero objects for clusters
// with real workloads.
export { S3Client, S3Error } from './s3.ts';
export type { S3Location, S3ClientOptions, S3ErrorReason } from './s3.ts';
export { signRequest, emptySha256, encodeKey, uriEncode } from './sigv4.ts';
export type { Credentials } from './sigv4.ts';
export * from './archive.ts';
export {
  runBackup,
  runRestore,
  runVerify,
  readManifest,
  readObjects,
  deletePrefix,
  hashFile,
  volumesDir,
  selectObjects,
  BackupError,
  reasonOf,
} from './engine.ts';
export type {
  BackupRequest,
  BackupResult,
  RestoreRequest,
  RestoreResult,
  VerifyResult,
  Difference,
  EngineOptions,
  Progress,
} from './engine.ts';
export { addBackupControllers, backupFinalizer, scheduleLabel } from './controller.ts';
export type { BackupControllerOptions } from './controller.ts';
export {
  renderVeleroBackup,
  renderVeleroRestore,
  renderDeleteBackupRequest,
  mapVeleroPhase,
  retentionTtl,
  veleroName,
  veleroNamespace,
  veleroDeployment,
  veleroStorageLocation,
  veleroRunningPhases,
  verifyKinds,
} from './velero.ts';
export {
  WorkloadClient,
  parseKubeconfig,
  kubeconfigSecretName,
  kubeconfigSecretKey,
  veleroPath,
} from './workload.ts';
export { workloadAccess } from './workloadAccess.ts';
export type { WorkloadAccessOptions } from './workloadAccess.ts';
