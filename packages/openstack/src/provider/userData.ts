// The one place the provider gets a server's cloud-init user data. With a ClusterBootstrap (the
// per-cluster secrets, the TokenReview webhook and the CCM's application credential, which kaasctl
// server keeps in the management API) a server gets the real node bootstrap (../bootstrap:
// containerd, kubeadm init on control-plane-0 and join elsewhere against the API load balancer's
// VIP, Calico, CCM, cinder CSI). Without one it gets a stub that only names the node: the provider
// conformance tests and any caller that does not make the secrets use that, and such a server never
// becomes a Kubernetes node.
import type { Cluster } from '@kaas/api';
import { CloudError, type GraphNodeOf, type Inputs, type ServerSpec } from '@kaas/providers';
import {
  nodeBootstrapInput,
  renderNodeUserData,
  type ClusterBootstrapSecrets,
  type NodeBootstrapInput,
} from '../bootstrap/index.ts';
import { controlPlanePool, ids, kubernetesApiPort } from './plan.ts';

/** What every node of one cluster shares; made once per cluster by whoever runs the provider. */
export interface ClusterBootstrap {
  secrets: ClusterBootstrapSecrets;
  tokenReviewWebhook: NodeBootstrapInput['tokenReviewWebhook'];
  /** The CCM's and cinder CSI's credentials: an application credential, never a password. */
  openstack: NodeBootstrapInput['openstack'];
}

/** The server that runs `kubeadm init`: the first control plane server (plan.ts names it). */
export const initServerId = ids.server(controlPlanePool, 0);

/**
 * The real user data for one planned server. `inputs` must hold the API load balancer (every
 * server depends on it: its VIP is the control plane endpoint) and, when the plan has it, the API
 * floating IP (a SAN of the API server's certificate). `network` adds the node network's ids for
 * the CCM (the provider knows them; a test may leave them out).
 */
export function nodeUserData(
  cluster: Cluster,
  node: GraphNodeOf<'server'>,
  inputs: Inputs,
  bootstrap: ClusterBootstrap,
  network: { networkId?: string; subnetId?: string; floatingNetworkId?: string } = {},
): string {
  const lb = inputs[ids.apiLoadBalancer];
  if (lb?.type !== 'loadBalancer' || lb.outputs.vip === '') {
    throw new CloudError(
      'InvalidSpec',
      `${node.id}: input ${ids.apiLoadBalancer} (its VIP is the control plane endpoint) missing: not in dependsOn?`,
      { resource: node.id },
    );
  }
  const fip = inputs[ids.apiFloatingIp];
  const sans = fip?.type === 'floatingIp' && fip.outputs.address !== '' ? [fip.outputs.address] : undefined;
  const spec = node.spec;
  const input = nodeBootstrapInput({
    cluster,
    node: { name: spec.name, role: spec.role, pool: spec.pool },
    init: node.id === initServerId,
    controlPlaneEndpoint: `${lb.outputs.vip}:${kubernetesApiPort}`,
    ...(sans === undefined ? {} : { apiServerCertSANs: sans }),
    secrets: bootstrap.secrets,
    tokenReviewWebhook: bootstrap.tokenReviewWebhook,
    openstack: { ...bootstrap.openstack, ...network },
  });
  return renderNodeUserData(input);
}

/** The stub: hostname and role only (see the top of this file for who gets it). */
export function serverUserData(cluster: Cluster | undefined, server: ServerSpec): string {
  return [
    '#cloud-config',
    '# KaaS node: no ClusterBootstrap given to the provider, so no node bootstrap (packages/openstack/src/provider/userData.ts)',
    `hostname: ${server.name}`,
    `fqdn: ${server.name}`,
    'write_files:',
    '  - path: /etc/kaas/node',
    '    content: |',
    `      cluster=${cluster?.metadata.name ?? ''}`,
    `      role=${server.role}`,
    `      pool=${server.pool}`,
    '',
  ].join('\n');
}
