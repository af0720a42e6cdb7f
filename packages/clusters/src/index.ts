// @kaas/clusters: the Cluster reconciler (cloud resources through the provider's graph and the
// ledger, the logical cluster with its nodes, namespaces and RBAC, managed services) and the
// managed-services mechanism (catalog, applier, health).
export { ClusterController, addClusterController, clusterFinalizer, localClusterName } from './reconciler.ts';
export type { ClusterControllerOptions } from './reconciler.ts';
export {
  probeReadyz,
  reconcileExternal,
  deleteCloudBackedObjects,
  tokenReviewWebhookRbac,
  tokenReviewWebhookUser,
} from './external.ts';
export type {
  ProviderFactory,
  ReadyzProbe,
  ProbeResult,
  WorkloadApi,
  WorkloadApiSource,
  InClusterCleanup,
} from './external.ts';
export {
  builtinCatalog,
  serviceReleases,
  defaultVersion,
  serviceLabels,
  servicesNamespace,
  nodeAgentsNamespace,
  managedByValue,
} from './catalog.ts';
export type { ServiceCatalog, RenderedService, PodSecurityException } from './catalog.ts';
export {
  applyServices,
  withOwnership,
  workloadProblem,
  managedKinds,
  managedClusterKinds,
  appliedHashAnnotation,
} from './applier.ts';
export type { ApplyResult, ServiceHealth } from './applier.ts';
export {
  mergeConditions,
  readyCondition,
  errorCondition,
  failed,
  conditionOrder,
  partConditions,
} from './conditions.ts';
export type { ConditionValue, PartCondition } from './conditions.ts';
export {
  desiredNode,
  kubeletVersion,
  podCidrFor,
  orderServers,
  nodeLabels,
  controlPlaneTaint,
  kubeletVersionAnnotation,
} from './nodes.ts';
export type { ServerInfo } from './nodes.ts';
export { operationAnnotations, versionSkewProblem, planRoll } from './rolling.ts';
export type { RollStatus, RollNode } from './rolling.ts';
export type { ValidationReport, ValidationCheck } from './validate.ts';
export type { ServicesReport } from './operations.ts';
