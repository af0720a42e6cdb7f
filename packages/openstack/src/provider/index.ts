// @kaas/openstack/provider: OpenStack behind the provider contract (docs/openstack.md, "Provider").
export {
  OpenStackProvider,
  nodeError,
  neutronRule,
  serverMetadata,
  serverOutputs,
} from './openStackProvider.ts';
export type { OpenStackProviderOptions } from './openStackProvider.ts';
export {
  planOpenStackCluster,
  securityGroupRules,
  namePrefix,
  nodeNameOf,
  ids as openStackIds,
  controlPlanePool,
  kubernetesApiPort,
} from './plan.ts';
export type { OpenStackPlanOptions } from './plan.ts';
export { preflight, quotaRequests, shortfalls, servicesFor } from './preflight.ts';
export { encodeTag, encodeTags, decodeTags, tagsToText, tagsFromText } from './tags.ts';
export { serverUserData } from './userData.ts';
