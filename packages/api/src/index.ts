// @kaas/api: the management API's types (kaas.dev/v1alpha1) as zod schemas, their defaults,
// validation, CRD registration data, and the bootstrap file parser. Browser-safe: zod and yaml only.
export {
  apiVersion,
  group,
  version,
  providerTypes,
  localMachineTypes,
  localMachineTypeNames,
  defaultLocalMachineType,
  managedServices,
  managedServiceKeys,
  eksEndpointAccess,
  taintEffects,
  identityBackends,
  resourcePhases,
  defaultPodCIDR,
  ClusterSchema,
  ClusterMetaSchema,
  ClusterSpecSchema,
  ClusterStatusSchema,
  ProviderSchema,
  LocalProviderSchema,
  LocalFaultsSchema,
  LocalQuotasSchema,
  OpenStackProviderSchema,
  CaBundleReferenceSchema,
  EksProviderSchema,
  ControlPlaneSchema,
  NodePoolSchema,
  TaintSchema,
  NetworkSchema,
  ServicesSchema,
  ManagedServiceSchema,
  AuthSchema,
  LedgerEntrySchema,
  ClusterConditionSchema,
  clusterConditionReasons,
} from './cluster.ts';
export type {
  Cluster,
  ClusterInput,
  ClusterSpec,
  ClusterStatus,
  ControlPlane,
  NodePool,
  Provider,
  ProviderType,
  LocalProvider,
  OpenStackProvider,
  EksProvider,
  LocalMachineType,
  ManagedService,
  ManagedServiceSpec,
  LedgerEntry,
  ClusterCondition,
} from './cluster.ts';
export {
  ConditionSchema,
  ObjectMetaSchema,
  SecretReferenceSchema,
  conditionStatuses,
  bootstrapMetadataFields,
  serverMetadataFields,
} from './fields.ts';
export type { Condition, ObjectMeta, SecretReference } from './fields.ts';
export {
  errorReasons,
  errorReasonNames,
  isErrorReason,
  progressReasons,
  progressReasonNames,
  clusterConditionTypes,
} from './errorReasons.ts';
export type { ErrorReason, ProgressReason, ClusterConditionType } from './errorReasons.ts';
export {
  kubernetesVersions,
  defaultKubernetesVersion,
  parseKubernetesVersion,
  checkKubernetesVersion,
} from './kubernetesVersions.ts';
export type { KubernetesVersion, KubernetesVersionRow, VersionSupport } from './kubernetesVersions.ts';
export { parseCidr, formatCidr, cidrsOverlap, cidrSize, hasHostBits } from './cidr.ts';
export type { Cidr, CidrParse, IpFamily } from './cidr.ts';
export {
  withDefaults,
  effectiveMachineType,
  logicalClusterName,
  defaultNamespace,
  defaultControlPlaneReplicas,
} from './withDefaults.ts';
export {
  validateCluster,
  clusterRules,
  reservedPoolNames,
  reservedLabelPrefixes,
} from './validateCluster.ts';
export { SecretSchema, validateSecret, credentialProblems, credentialKeys } from './secret.ts';
export type { Secret } from './secret.ts';
export { validationRules, formatPath, formatProblem } from './problems.ts';
export type { FieldProblem, Problem, RuleCode, PathSegment } from './problems.ts';
export { didYouMean, editDistance } from './didYouMean.ts';
export { toStructuralSchema } from './openapi.ts';
export type { JSONSchemaProps } from './openapi.ts';
export { kindsTable, kindInfo, crdFor, clusterPrinterColumns } from './kindsTable.ts';
export {
  BackupSchema,
  BackupSpecSchema,
  BackupStatusSchema,
  BackupConditionSchema,
  RestoreSchema,
  RestoreSpecSchema,
  RestoreStatusSchema,
  BackupScheduleSchema,
  BackupScheduleSpecSchema,
  S3StorageSchema,
  StorageLocationSchema,
  DifferenceSchema,
  backupPhases,
  backupConditionReasons,
  backupOnlyReasons,
  parseEvery,
} from './backup.ts';
export type { Backup, BackupSpec, Restore, BackupSchedule } from './backup.ts';
export type { KindInfo, PrinterColumn } from './kindsTable.ts';
export { parseBootstrap, bootstrapKinds, bootstrapLimits } from './parseBootstrap.ts';
export type { BootstrapObject, BootstrapResult, BootstrapOptions } from './parseBootstrap.ts';
