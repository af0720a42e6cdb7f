// How the in-cluster controllers name what they make in the cloud, and the cluster name we give them
// so that KaaS can find those objects again when it destroys the cluster (the sweep in
// provider/openStackProvider.ts). The conventions are cloud-provider-openstack's own:
//   openstack-cloud-controller-manager (pkg/openstack/loadbalancer.go), for a Service of type
//     LoadBalancer: an octavia load balancer named `kube_service_<cluster-name>_<namespace>_<name>`
//     (cut to 255 characters), and a floating IP whose description is `Floating IP for Kubernetes
//     external service <namespace>/<name> from cluster <cluster-name>`; with manage-security-groups,
//     a security group described `Security Group for Service LoadBalancer in cluster <cluster-name>`.
//   cinder-csi-plugin (pkg/csi/cinder/controllerserver.go): volume metadata
//     `cinder.csi.openstack.org/cluster` = its --cluster.
// The name is derived from the Cluster's uid, not its name: a Cluster re-created under the same name,
// or one of the same name in another namespace, must never sweep another's objects, and destroy
// finds them from the uid alone (the ledger and the spec may be gone).

/** `--cluster-name` of the CCM and `--cluster` of cinder CSI for the Cluster with this uid. */
export function cloudClusterName(clusterUid: string): string {
  return `kaas-${clusterUid}`;
}

/** The prefix of every octavia load balancer the CCM makes for the cluster. */
export function ccmLoadBalancerPrefix(clusterUid: string): string {
  return `kube_service_${cloudClusterName(clusterUid)}_`;
}

/** The octavia load balancer name the CCM gives a Service. */
export function ccmLoadBalancerName(clusterUid: string, namespace: string, service: string): string {
  return `${ccmLoadBalancerPrefix(clusterUid)}${namespace}_${service}`.slice(0, 255);
}

/** The floating IP description the CCM writes for a Service's load balancer. */
export function ccmFloatingIpDescription(clusterUid: string, namespace: string, service: string): string {
  return `Floating IP for Kubernetes external service ${namespace}/${service} from cluster ${cloudClusterName(clusterUid)}`;
}

/** Whether a floating IP or security group description is the CCM's for this cluster. */
export function isCcmDescription(description: string | null | undefined, clusterUid: string): boolean {
  const d = description ?? '';
  const name = cloudClusterName(clusterUid);
  return (
    (d.startsWith('Floating IP for Kubernetes external service ') && d.endsWith(` from cluster ${name}`)) ||
    d === `Security Group for Service LoadBalancer in cluster ${name}`
  );
}

/** The volume metadata key cinder CSI marks its volumes with; the value is its --cluster. */
export const csiClusterKey = 'cinder.csi.openstack.org/cluster';
