// The local cloud's resource graph for a Cluster: the same shape an OpenStack cluster gets
// (network, subnet, router, security groups, API load balancer with a floating IP, server groups,
// servers, a DNS record per node), so the engine is exercised as it will be on a real cloud.
import { effectiveMachineType, type Cluster } from '@kaas/api';
import {
  CloudError,
  type GraphNode,
  type ResourceGraph,
  type ResourceId,
  type SecurityGroupRule,
} from '../contract.ts';
import { stableSuffix } from '../util.ts';
import { serverNodes, type ServerPool } from '../serverNodes.ts';

export interface LocalPlanOptions {
  /** Boot every server from its own volume (created first) instead of a local disk. */
  rootVolumes?: boolean;
  /** DNS zone of node and API records. */
  dnsZone?: string;
}

export const defaultLocalDnsZone = 'kaas.local';

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
  dns: (pool: string, index: number): ResourceId => `dnsRecord/${pool}-${index}`,
  volume: (pool: string, index: number): ResourceId => `volume/${pool}-${index}`,
} as const;

const controlPlanePool = 'control-plane';

function rules(nodeCidr: string, podCidr: string | undefined, role: 'controlPlane' | 'worker') {
  const common: SecurityGroupRule[] = [
    { direction: 'ingress', protocol: 'tcp', portMin: 22, portMax: 22, remote: '0.0.0.0/0' },
    { direction: 'ingress', protocol: 'tcp', portMin: 10250, portMax: 10250, remote: nodeCidr },
    { direction: 'ingress', protocol: 'tcp', portMin: 179, portMax: 179, remote: nodeCidr },
    { direction: 'ingress', protocol: 'icmp', remote: nodeCidr },
    { direction: 'egress', protocol: 'any', remote: '0.0.0.0/0' },
  ];
  if (podCidr !== undefined) common.push({ direction: 'ingress', protocol: 'any', remote: podCidr });
  if (role === 'controlPlane') {
    return [
      ...common,
      { direction: 'ingress', protocol: 'tcp', portMin: 6443, portMax: 6443, remote: '0.0.0.0/0' },
      { direction: 'ingress', protocol: 'tcp', portMin: 2379, portMax: 2380, remote: 'self' },
    ] satisfies SecurityGroupRule[];
  }
  return [
    ...common,
    { direction: 'ingress', protocol: 'tcp', portMin: 30000, portMax: 32767, remote: '0.0.0.0/0' },
  ] satisfies SecurityGroupRule[];
}

/** The graph for a local Cluster (defaults applied, metadata.uid set). Pure. */
export function planLocalCluster(cluster: Cluster, opts: LocalPlanOptions = {}): ResourceGraph {
  const uid = cluster.metadata.uid;
  if (uid === undefined || uid === '') {
    throw new CloudError('InvalidSpec', 'metadata.uid: required to tag cloud resources');
  }
  const spec = cluster.spec;
  if (spec.provider.type !== 'local') {
    throw new CloudError('InvalidSpec', `spec.provider.type: ${spec.provider.type} is not local`);
  }
  const name = cluster.metadata.name;
  const namespace = cluster.metadata.namespace ?? 'default';
  const zone = opts.dnsZone ?? defaultLocalDnsZone;
  const nodeCidr = spec.network.nodeCIDR;
  const nodes: GraphNode[] = [
    { id: ids.network, type: 'network', dependsOn: [], spec: { name: `${name}-nodes` } },
    {
      id: ids.subnet,
      type: 'subnet',
      dependsOn: [ids.network],
      spec: { name: `${name}-nodes`, network: ids.network, cidr: nodeCidr },
    },
    {
      id: ids.router,
      type: 'router',
      dependsOn: [ids.subnet],
      spec: { name: `${name}-router`, subnets: [ids.subnet] },
    },
    {
      id: ids.sgControlPlane,
      type: 'securityGroup',
      dependsOn: [],
      spec: {
        name: `${name}-control-plane`,
        role: 'controlPlane',
        rules: rules(nodeCidr, spec.network.podCIDR, 'controlPlane'),
      },
    },
    {
      id: ids.sgWorkers,
      type: 'securityGroup',
      dependsOn: [],
      spec: {
        name: `${name}-workers`,
        role: 'worker',
        rules: rules(nodeCidr, spec.network.podCIDR, 'worker'),
      },
    },
    {
      id: ids.apiLoadBalancer,
      type: 'loadBalancer',
      dependsOn: [ids.subnet],
      spec: {
        name: `${name}-api`,
        subnet: ids.subnet,
        listeners: [{ port: 6443, protocol: 'TCP' }],
        purpose: 'kubernetesApi',
      },
    },
    {
      id: ids.apiFloatingIp,
      type: 'floatingIp',
      dependsOn: [ids.apiLoadBalancer, ids.router],
      spec: { target: ids.apiLoadBalancer },
    },
    {
      id: ids.apiDns,
      type: 'dnsRecord',
      dependsOn: [ids.apiFloatingIp],
      spec: { zone, name: `api.${name}.${namespace}`, target: ids.apiFloatingIp },
    },
  ];

  const pools: ServerPool[] = [
    {
      pool: controlPlanePool,
      replicas: spec.controlPlane?.replicas ?? 1,
      role: 'controlPlane',
      machine: effectiveMachineType(spec, 'controlPlane') ?? 'medium',
      disk: 50,
    },
    ...spec.nodePools.map((p) => ({
      pool: p.name,
      replicas: p.replicas,
      role: 'worker' as const,
      machine: effectiveMachineType(spec, p) ?? 'medium',
      disk: p.diskGiB,
      ...(p.labels === undefined ? {} : { labels: p.labels }),
    })),
  ];

  nodes.push(
    ...serverNodes({
      pools,
      ids,
      nodeName: (pool, i) => `${name}-${pool}-${stableSuffix(uid, ids.server(pool, i))}`,
      group: (p) => ({ name: `${name}-${p.pool}`, policy: 'soft-anti-affinity' }),
      rootVolumes: opts.rootVolumes === true,
      dependsOn: (role, group, sg) => [
        ids.subnet,
        sg,
        group,
        ...(role === 'controlPlane' ? [ids.apiLoadBalancer] : []),
      ],
      zone,
      namespace,
    }),
  );
  return { provider: 'local', clusterUid: uid, nodes };
}
