export type { LocalClusterOptions, LoadBalancerBackend, ServiceName } from './context.ts';
export { installLocalClusterControllers } from './install.ts';
export { ensureClusterDefaults, localVolumeProvisioner, standardStorageClass } from './defaults.ts';
export { kubeletVersionKey, osImageKey } from './nodes.ts';
export {
  filterNode,
  matchesNodeSelection,
  schedule,
  scoreNode,
  tolerates,
  unschedulableMessage,
} from './scheduling.ts';
export { planRollout } from './deployment.ts';
