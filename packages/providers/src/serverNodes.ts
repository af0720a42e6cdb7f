// The server part of a cluster's resource graph, shared by the local cloud's plan and OpenStack's:
// per node pool a server group, then per server its root volume (when asked), the server, what the
// provider adds beside it (OpenStack: a control plane floating IP) and its DNS record, in that
// order. What differs between providers (names, group policies, extra dependencies, zones) comes in
// as data and callbacks.
import type { GraphNode, ResourceId, ServerGroupSpec } from './contract.ts';

export interface ServerPool {
  pool: string;
  replicas: number;
  role: 'controlPlane' | 'worker';
  machine: string;
  disk: number;
  labels?: Record<string, string> | undefined;
}

export interface ServerNodesOptions {
  pools: readonly ServerPool[];
  ids: {
    subnet: ResourceId;
    sgControlPlane: ResourceId;
    sgWorkers: ResourceId;
    apiLoadBalancer: ResourceId;
    serverGroup: (pool: string) => ResourceId;
    server: (pool: string, index: number) => ResourceId;
    volume: (pool: string, index: number) => ResourceId;
    dns: (pool: string, index: number) => ResourceId;
  };
  /** The server's (and Kubernetes node's) name. */
  nodeName: (pool: string, index: number) => string;
  /** The server group's name and policy. */
  group: (pool: ServerPool) => ServerGroupSpec;
  rootVolumes: boolean;
  /** Dependencies of a server after its subnet, security group and server group (and before its root volume). */
  dependsOn: (role: ServerPool['role'], group: ResourceId, sg: ResourceId) => ResourceId[];
  /** Availability zones, taken round-robin across every server. */
  availabilityZones?: readonly string[];
  /** DNS zone and the namespace part of the records' names (`<node>.<namespace>`). */
  zone: string;
  namespace: string;
  /** Nodes the provider adds after a server (before its DNS record). */
  beside?: (server: { id: ResourceId; role: ServerPool['role']; pool: string; index: number }) => GraphNode[];
}

export function serverNodes(o: ServerNodesOptions): GraphNode[] {
  const { ids } = o;
  const nodes: GraphNode[] = [];
  const zones = o.availabilityZones ?? [];
  let serverIndex = 0;
  for (const p of o.pools) {
    const group = ids.serverGroup(p.pool);
    nodes.push({ id: group, type: 'serverGroup', dependsOn: [], spec: o.group(p) });
    const cp = p.role === 'controlPlane';
    const sg = cp ? ids.sgControlPlane : ids.sgWorkers;
    for (let i = 0; i < p.replicas; i++) {
      const serverId = ids.server(p.pool, i);
      const nodeName = o.nodeName(p.pool, i);
      const loadBalancers = cp ? [ids.apiLoadBalancer] : [];
      const dependsOn = o.dependsOn(p.role, group, sg);
      let bootVolume: ResourceId | undefined;
      if (o.rootVolumes) {
        bootVolume = ids.volume(p.pool, i);
        nodes.push({
          id: bootVolume,
          type: 'volume',
          dependsOn: [],
          spec: { name: `${nodeName}-root`, sizeGiB: p.disk, bootable: true },
        });
        dependsOn.push(bootVolume);
      }
      const az = zones.length > 0 ? zones[serverIndex % zones.length] : undefined;
      serverIndex++;
      nodes.push({
        id: serverId,
        type: 'server',
        dependsOn,
        spec: {
          name: nodeName,
          role: p.role,
          pool: p.pool,
          machineType: p.machine,
          diskGiB: p.disk,
          subnet: ids.subnet,
          securityGroups: [sg],
          serverGroup: group,
          loadBalancers,
          ...(bootVolume === undefined ? {} : { bootVolume }),
          ...(az === undefined ? {} : { availabilityZone: az }),
          ...(p.labels === undefined ? {} : { labels: p.labels }),
        },
      });
      nodes.push(...(o.beside?.({ id: serverId, role: p.role, pool: p.pool, index: i }) ?? []));
      nodes.push({
        id: ids.dns(p.pool, i),
        type: 'dnsRecord',
        dependsOn: [serverId],
        spec: { zone: o.zone, name: `${nodeName}.${o.namespace}`, target: serverId },
      });
    }
  }
  return nodes;
}
