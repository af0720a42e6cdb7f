// Where managed services run. Most run in kaas-system under the restricted profile like any
// workload. The admission's exemptions are per namespace only (configuration or the
// pod-security labels; there is no per-workload exemption), so the two node-level agents that
// need the host (node-exporter, Fluent Bit) run in their own namespace, kaas-system-node, which
// the applier labels `pod-security.kubernetes.io/enforce: privileged` as the operator: nothing
// else is rendered there, and cluster users cannot set or change that label.
import type { Cluster, ManagedService } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import { podSecurityEnforceLabel, podSecurityWarnLabel } from '@kaas/apiserver';

export const servicesNamespace = 'kaas-system';
export const nodeAgentsNamespace = 'kaas-system-node';
/** ingress-nginx on EKS lives where EKS users and AWS's load balancer docs expect it. */
export const eksIngressNamespace = 'ingress-nginx';

/** Every namespace the catalog may render into (the applier prunes in these). */
export const managedNamespaces = [servicesNamespace, nodeAgentsNamespace, eksIngressNamespace] as const;

export function namespaceFor(cluster: Cluster, key: ManagedService): string {
  return key === 'ingressNginx' && cluster.spec.provider.type === 'eks'
    ? eksIngressNamespace
    : servicesNamespace;
}

/** A namespace a service owns; `privileged` only for the node agents' namespace. */
export function namespaceObject(name: string, o: { privileged?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: o.privileged
        ? { [podSecurityEnforceLabel]: 'privileged', [podSecurityWarnLabel]: 'privileged' }
        : { [podSecurityEnforceLabel]: 'restricted' },
    },
  };
}
