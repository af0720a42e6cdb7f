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
export { serverUserData, nodeUserData, initServerId, type ClusterBootstrap } from './userData.ts';
// what a caller of the `bootstrap` option generates once per cluster (../bootstrap/secrets.ts)
export { newBootstrapToken, newCertificateKey } from '../bootstrap/index.ts';
// the names the in-cluster CCM and cinder CSI give what they make (destroy's sweep finds them)
export {
  cloudClusterName,
  ccmLoadBalancerName,
  ccmFloatingIpDescription,
  csiClusterKey,
} from '../bootstrap/index.ts';
