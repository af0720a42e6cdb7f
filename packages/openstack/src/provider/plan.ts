// The resource graph of an OpenStack Cluster: the seed's topology. A private network and subnet
// with a router to the external network; a security group per role with only the ports
// Kubernetes and Calico need (securityGroupRules below, the table in docs/openstack.md); an
// octavia load balancer for the Kubernetes API (listener 6443, the control plane servers as
// members) with a floating IP and a DNS record; the control plane in an anti-affinity server group,
// each control plane server with a floating IP; workers in a soft-anti-affinity group per pool; a
// designate A record per node; and, when asked, a cinder root volume per server (the pool's
// diskGiB: a flavor's disk size is fixed, a volume's is not). Pure: no cloud calls.
import { effectiveMachineType, type Cluster } from '@kaas/api';
import {
  CloudError,
  type GraphNode,
  type NodeRole,
  type ResourceGraph,
  type ResourceId,
  stableSuffix,
  type SecurityGroupRule,
  serverNodes,
} from '@kaas/providers';

export interface OpenStackPlanOptions {
  /**
   * Boot every server from a cinder volume of its pool's diskGiB (default true). Off: the
   * flavor's own disk, and spec diskGiB is not honoured.
   */
  rootVolumes?: boolean;
  /**
   * The control plane's server group policy (default anti-affinity: no two on one hypervisor).
   * A cloud with fewer hypervisors than control plane nodes needs soft-anti-affinity.
   */
  controlPlaneAffinity?: 'anti-affinity' | 'soft-anti-affinity';
  /** A floating IP per control plane server (default true): for operators reaching them over SSH. */
  controlPlaneFloatingIps?: boolean;
}

export const ids = {
  network: 'network/nodes',
  subnet: 'subnet/nodes',
  router: 'router/main',
  sgControlPlane: 'securityGroup/control-plane',
  sgWorkers: 'securityGroup/workers',
  apiLoadBalancer: 'loadBalancer/api',
  apiFloatingIp: 'floatingIp/api',
  apiDns: 'dnsRecord/api',
  serverGroup: (pool: string): ResourceId => `serverGroup/${pool}`,
  server: (pool: string, index: number): ResourceId => `server/${pool}-${index}`,
  floatingIp: (pool: string, index: number): ResourceId => `floatingIp/${pool}-${index}`,
  dns: (pool: string, index: number): ResourceId => `dnsRecord/${pool}-${index}`,
  volume: (pool: string, index: number): ResourceId => `volume/${pool}-${index}`,
} as const;

export const controlPlanePool = 'control-plane';
export const kubernetesApiPort = 6443;

/**
 * Every port a role's servers accept, and from where. Kubernetes: the API (6443, from anywhere:
 * clients come through the load balancer and its floating IP), etcd (2379-2380, control plane
 * only), the kubelet (10250, from the nodes); Calico: BGP (179/tcp) and VXLAN (4789/udp) between
 * nodes; NodePort services on workers (30000-32767, tcp and udp, from anywhere); ICMP between
 * nodes (path MTU discovery, ping). Egress is open.
 */
export function securityGroupRules(role: NodeRole, nodeCidr: string): SecurityGroupRule[] {
  const common: SecurityGroupRule[] = [
    { direction: 'ingress', protocol: 'tcp', portMin: 10250, portMax: 10250, remote: nodeCidr },
    { direction: 'ingress', protocol: 'tcp', portMin: 179, portMax: 179, remote: nodeCidr },
    { direction: 'ingress', protocol: 'udp', portMin: 4789, portMax: 4789, remote: nodeCidr },
    { direction: 'ingress', protocol: 'icmp', remote: nodeCidr },
    { direction: 'egress', protocol: 'any', remote: '0.0.0.0/0' },
  ];
  if (role === 'controlPlane') {
    return [
      {
        direction: 'ingress',
        protocol: 'tcp',
        portMin: kubernetesApiPort,
        portMax: kubernetesApiPort,
        remote: '0.0.0.0/0',
      },
      { direction: 'ingress', protocol: 'tcp', portMin: 2379, portMax: 2380, remote: 'self' },
      ...common,
    ];
  }
  return [
    { direction: 'ingress', protocol: 'tcp', portMin: 30000, portMax: 32767, remote: '0.0.0.0/0' },
    { direction: 'ingress', protocol: 'udp', portMin: 30000, portMax: 32767, remote: '0.0.0.0/0' },
    ...common,
  ];
}

/** The prefix of every name a cluster's resources get: its name and the start of its uid. */
export function namePrefix(cluster: Cluster): string {
  return `${cluster.metadata.name}-${(cluster.metadata.uid ?? '').slice(0, 8)}`;
}

/** The Kubernetes node (and nova server) name of a pool's index-th server. */
export function nodeNameOf(cluster: Cluster, pool: string, index: number): string {
  const uid = cluster.metadata.uid ?? '';
  return `${cluster.metadata.name}-${pool}-${stableSuffix(uid, ids.server(pool, index))}`;
}

/** The graph for an OpenStack Cluster (defaults applied, metadata.uid set). Pure. */
export function planOpenStackCluster(cluster: Cluster, opts: OpenStackPlanOptions = {}): ResourceGraph {
  const uid = cluster.metadata.uid;
  if (uid === undefined || uid === '') {
    throw new CloudError('InvalidSpec', 'metadata.uid: required to tag cloud resources');
  }
  const spec = cluster.spec;
  if (spec.provider.type !== 'openstack') {
    throw new CloudError('InvalidSpec', `spec.provider.type: ${spec.provider.type} is not openstack`);
  }
  const settings = spec.provider.openstack;
  const name = cluster.metadata.name;
  const namespace = cluster.metadata.namespace ?? 'default';
  const prefix = namePrefix(cluster);
  const zone = settings.dnsZone;
  const nodeCidr = spec.network.nodeCIDR;
  const external = settings.externalNetwork;
  const rootVolumes = opts.rootVolumes ?? true;
  const cpFloatingIps = opts.controlPlaneFloatingIps ?? true;
  const nodes: GraphNode[] = [
    { id: ids.network, type: 'network', dependsOn: [], spec: { name: `${prefix}-nodes` } },
    {
      id: ids.subnet,
      type: 'subnet',
      dependsOn: [ids.network],
      spec: { name: `${prefix}-nodes`, network: ids.network, cidr: nodeCidr },
    },
    {
      id: ids.router,
      type: 'router',
      dependsOn: [ids.subnet],
      spec: { name: `${prefix}-router`, subnets: [ids.subnet], externalNetwork: external },
    },
    {
      id: ids.sgControlPlane,
      type: 'securityGroup',
      dependsOn: [],
      spec: {
        name: `${prefix}-control-plane`,
        role: 'controlPlane',
        rules: securityGroupRules('controlPlane', nodeCidr),
      },
    },
    {
      id: ids.sgWorkers,
      type: 'securityGroup',
      dependsOn: [],
      spec: { name: `${prefix}-workers`, role: 'worker', rules: securityGroupRules('worker', nodeCidr) },
    },
    {
      id: ids.apiLoadBalancer,
      type: 'loadBalancer',
      dependsOn: [ids.subnet],
      spec: {
        name: `${prefix}-api`,
        subnet: ids.subnet,
        listeners: [{ port: kubernetesApiPort, protocol: 'TCP' }],
        purpose: 'kubernetesApi',
      },
    },
    {
      id: ids.apiFloatingIp,
      type: 'floatingIp',
      // the router makes the VIP's subnet reachable from the external network
      dependsOn: [ids.apiLoadBalancer, ids.router],
      spec: { target: ids.apiLoadBalancer, externalNetwork: external },
    },
    {
      id: ids.apiDns,
      type: 'dnsRecord',
      dependsOn: [ids.apiFloatingIp],
      spec: { zone, name: `api.${name}.${namespace}`, target: ids.apiFloatingIp },
    },
  ];

  const pools = [
    {
      pool: controlPlanePool,
      replicas: spec.controlPlane?.replicas ?? 3,
      role: 'controlPlane' as const,
      machine: effectiveMachineType(spec, 'controlPlane') ?? settings.flavors.controlPlane,
      disk: 50,
      labels: undefined as Record<string, string> | undefined,
    },
    ...spec.nodePools.map((p) => ({
      pool: p.name,
      replicas: p.replicas,
      role: 'worker' as const,
      machine: effectiveMachineType(spec, p) ?? settings.flavors.workers,
      disk: p.diskGiB,
      labels: p.labels,
    })),
  ];
  nodes.push(
    ...serverNodes({
      pools,
      ids,
      nodeName: (pool, i) => nodeNameOf(cluster, pool, i),
      group: (p) => ({
        name: `${prefix}-${p.pool}`,
        policy:
          p.role === 'controlPlane' ? (opts.controlPlaneAffinity ?? 'anti-affinity') : 'soft-anti-affinity',
      }),
      rootVolumes,
      // every server's user data needs the API LB's VIP (the kubeadm endpoint), workers too though
      // they are not its members; the control plane's also the API floating IP (a certificate SAN)
      dependsOn: (role, group, sg) => [
        ids.subnet,
        ids.router,
        sg,
        group,
        ...(role === 'controlPlane' ? [ids.apiLoadBalancer, ids.apiFloatingIp] : [ids.apiLoadBalancer]),
      ],
      ...(settings.availabilityZones === undefined ? {} : { availabilityZones: settings.availabilityZones }),
      zone,
      namespace,
      beside: (s) =>
        s.role === 'controlPlane' && cpFloatingIps
          ? [
              {
                id: ids.floatingIp(s.pool, s.index),
                type: 'floatingIp',
                dependsOn: [s.id, ids.router],
                spec: { target: s.id, externalNetwork: external },
              },
            ]
          : [],
    }),
  );
  return { provider: 'openstack', clusterUid: uid, nodes };
}
