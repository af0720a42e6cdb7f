// From a Cluster and one planned server to a NodeBootstrapInput: the spec's fields copied across,
// MAJOR.MINOR resolved to its patch, the node pool's labels and taints, and the per-cluster values
// the provider keeps. The provider still owns where those values come from (generated once with
// newBootstrapToken/newCertificateKey/createCA and stored in the management API).
import { checkKubernetesVersion, defaultPodCIDR, type Cluster } from '@kaas/api';
import type { NodeBootstrapInput } from './input.ts';
import { caCertHashOf } from './secrets.ts';

/** Generated once per cluster and reused for every node (the CA key and the rest are secrets). */
export interface ClusterBootstrapSecrets {
  bootstrapToken: string;
  certificateKey: string;
  clusterCa: { certPem: string; keyPem: string };
}

export interface NodeBootstrapOptions {
  cluster: Cluster;
  node: { name: string; role: 'controlPlane' | 'worker'; pool: string };
  /** True for exactly one server: the first control plane node. */
  init: boolean;
  controlPlaneEndpoint: string;
  apiServerCertSANs?: string[];
  secrets: ClusterBootstrapSecrets;
  tokenReviewWebhook: NodeBootstrapInput['tokenReviewWebhook'];
  openstack: NodeBootstrapInput['openstack'];
}

/** The label every node carries with its pool's name (kaas.dev/ is reserved for KaaS in the spec). */
export const poolLabel = 'kaas.dev/pool';

export function nodeBootstrapInput(opts: NodeBootstrapOptions): NodeBootstrapInput {
  const { cluster, node } = opts;
  const version = checkKubernetesVersion(cluster.spec.kubernetesVersion);
  if (!version.supported)
    throw new Error(
      `spec.kubernetesVersion ${JSON.stringify(cluster.spec.kubernetesVersion)}: ${version.reason}`,
    );
  const pool = cluster.spec.nodePools.find((p) => p.name === node.pool);
  const input: NodeBootstrapInput = {
    clusterName: cluster.metadata.name,
    clusterUid: cluster.metadata.uid ?? '',
    role: node.role,
    nodeName: node.name,
    init: opts.init,
    kubernetesVersion: version.resolved,
    controlPlaneEndpoint: opts.controlPlaneEndpoint,
    podCIDR: cluster.spec.network.podCIDR ?? defaultPodCIDR,
    serviceCIDR: cluster.spec.network.serviceCIDR,
    bootstrapToken: opts.secrets.bootstrapToken,
    caCertHash: caCertHashOf(opts.secrets.clusterCa.certPem),
    tokenReviewWebhook: opts.tokenReviewWebhook,
    openstack: opts.openstack,
    labels: { ...(node.role === 'worker' ? (pool?.labels ?? {}) : {}), [poolLabel]: node.pool },
  };
  if (opts.apiServerCertSANs !== undefined) input.apiServerCertSANs = opts.apiServerCertSANs;
  if (node.role === 'controlPlane') input.certificateKey = opts.secrets.certificateKey;
  // Only the init node writes the CA into /etc/kubernetes/pki; the others pin its hash.
  if (opts.init) input.clusterCa = opts.secrets.clusterCa;
  if (node.role === 'worker' && pool?.taints !== undefined) input.taints = pool.taints;
  return input;
}
