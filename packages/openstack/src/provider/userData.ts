// The one place the provider gets a server's cloud-init user data. The node bootstrap
// (../bootstrap: containerd, kubeadm init/join against the API load balancer, Calico, CCM, cinder
// CSI, the TokenReview webhook) needs inputs the provider does not make yet: a bootstrap token, the
// cluster CA's hash and certificate key, and an application credential for the CCM, all of which
// must be generated once per cluster and kept in the management API. Until they are, servers get
// this stub, which only names the node; swapping it for renderNodeUserData is this function.
import type { Cluster } from '@kaas/api';
import type { ServerSpec } from '@kaas/providers';

export function serverUserData(cluster: Cluster | undefined, server: ServerSpec): string {
  return [
    '#cloud-config',
    '# KaaS node: bootstrap not wired yet (packages/openstack/src/provider/userData.ts)',
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
