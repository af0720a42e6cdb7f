// Node bootstrap for the OpenStack provider (issue 6): the cloud-init user data that turns a fresh
// Debian/Ubuntu server into a kubeadm control plane or worker node (docs/openstack.md, "Node
// bootstrap"). Pure rendering: no cloud calls, no clock; the provider generates the token, keys and
// CA once per cluster (secrets.ts) and passes them in.
export type { NodeBootstrapInput, Taint } from './input.ts';
export { BootstrapInputError, checkBootstrapInput, secretFields } from './input.ts';
export { renderNodeUserData, maxUserDataBase64Bytes } from './userData.ts';
export { renderKubeadmConfig } from './kubeadm.ts';
export { componentVersions, kubernetesReleases, artifactUrls, images } from './versions.ts';
export { apiReadinessProbe, type ApiReadinessProbe } from './readiness.ts';
export { newBootstrapToken, newCertificateKey, caCertHashOf } from './secrets.ts';
export { podSecurityExceptions } from './manifests.ts';
export {
  nodeBootstrapInput,
  poolLabel,
  type ClusterBootstrapSecrets,
  type NodeBootstrapOptions,
} from './fromCluster.ts';
export {
  cloudClusterName,
  ccmLoadBalancerPrefix,
  ccmLoadBalancerName,
  ccmFloatingIpDescription,
  isCcmDescription,
  csiClusterKey,
} from './cloudNames.ts';
