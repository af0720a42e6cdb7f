// @kaas/providers/local: the embedded local cloud (state in the server's KVStore) and its provider.
export { LocalCloud, defaultLocalCloudPrefix, externalNetwork } from './localCloud.ts';
export type { LocalRecord, LocalCloudOptions } from './localCloud.ts';
export { LocalCloudProvider, isLocalMachineType } from './localCloudProvider.ts';
export type { LocalCloudProviderOptions, LocalSettings, LocalSettingsInput } from './localCloudProvider.ts';
export { planLocalCluster, defaultLocalDnsZone, ids as localResourceIds } from './plan.ts';
export type { LocalPlanOptions } from './plan.ts';
export { ServiceLoadBalancers, serviceTagKeys } from './serviceLoadBalancers.ts';
export type { ServiceRef, ServiceLoadBalancersOptions } from './serviceLoadBalancers.ts';
