// The Node a local-cloud server becomes, decided purely from the Cluster and the server's outputs:
// what kubeadm join and the kubelet would register (labels, taints, pod CIDR, capacity, addresses).
// The simulated kubelet of @kaas/localcluster then reports it Ready.
import { formatCidr, kubernetesVersions, parseCidr, parseKubernetesVersion, type Cluster } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import type { ServerOutputs } from '@kaas/providers';

export const nodeLabels = {
  pool: 'kaas.dev/nodepool',
  controlPlane: 'node-role.kubernetes.io/control-plane',
  instanceType: 'node.kubernetes.io/instance-type',
  hostname: 'kubernetes.io/hostname',
} as const;
export const kubeletVersionAnnotation = 'kaas.dev/kubelet-version';
export const controlPlaneTaint = {
  key: 'node-role.kubernetes.io/control-plane',
  effect: 'NoSchedule',
} as const;

/** MAJOR.MINOR.PATCH with a v: `1.33` becomes its newest supported patch, `v1.33.2`. */
export function kubeletVersion(spec: string): string {
  const v = parseKubernetesVersion(spec);
  if (!v) return `v${spec.replace(/^v/, '')}`;
  if (v.patch !== undefined) return `v${v.major}.${v.minor}.${v.patch}`;
  const row = kubernetesVersions.find((r) => r.minor === `${v.major}.${v.minor}`);
  return `v${row?.latestPatch ?? `${v.major}.${v.minor}.0`}`;
}

/** The i-th /24 of the pod network (IPv4), as node-ipam hands them out; undefined when too small. */
export function podCidrFor(podCIDR: string | undefined, index: number): string | undefined {
  if (!podCIDR) return undefined;
  const parsed = parseCidr(podCIDR);
  if (!parsed.ok || parsed.cidr.family !== 'IPv4' || parsed.cidr.prefixLength > 24) return undefined;
  if (index >= 2 ** (24 - parsed.cidr.prefixLength)) return undefined;
  return formatCidr({
    network: parsed.cidr.network + BigInt(index) * 256n,
    prefixLength: 24,
    family: 'IPv4',
  });
}

export interface ServerInfo {
  /** Graph id, e.g. server/workers-0. */
  id: string;
  cloudId: string;
  outputs: ServerOutputs;
}

/** Servers in node order: control plane first, then pools as in spec.nodePools, by index. */
export function orderServers(cluster: Cluster, servers: readonly ServerInfo[]): ServerInfo[] {
  const poolRank = new Map<string, number>([['control-plane', -1]]);
  cluster.spec.nodePools.forEach((p, i) => poolRank.set(p.name, i));
  const indexOf = (id: string) => Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
  return [...servers].sort(
    (a, b) =>
      (poolRank.get(a.outputs.pool) ?? 1e6) - (poolRank.get(b.outputs.pool) ?? 1e6) ||
      indexOf(a.id) - indexOf(b.id),
  );
}

/** The Node object (with the status a joining kubelet reports first: capacity and addresses). */
export function desiredNode(cluster: Cluster, server: ServerInfo, index: number): KObject {
  const o = server.outputs;
  const controlPlane = o.role === 'controlPlane';
  const pool = controlPlane ? undefined : cluster.spec.nodePools.find((p) => p.name === o.pool);
  const labels: Record<string, string> = {
    ...pool?.labels,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    [nodeLabels.hostname]: o.nodeName,
    [nodeLabels.instanceType]: o.machineType,
    [nodeLabels.pool]: o.pool,
  };
  if (controlPlane) labels[nodeLabels.controlPlane] = '';
  const taints = [
    ...(controlPlane ? [{ ...controlPlaneTaint }] : []),
    ...(pool?.taints ?? []).map((t) => ({
      key: t.key,
      effect: t.effect,
      ...(t.value ? { value: t.value } : {}),
    })),
  ];
  const podCIDR = podCidrFor(cluster.spec.network.podCIDR, index);
  const diskGiB = pool?.diskGiB ?? 50;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.nodeName,
      labels,
      annotations: { [kubeletVersionAnnotation]: kubeletVersion(cluster.spec.kubernetesVersion) },
    },
    spec: {
      providerID: `kaas-local:///${server.cloudId}`,
      ...(podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {}),
      ...(taints.length ? { taints } : {}),
    },
    status: {
      capacity: {
        cpu: String(o.vcpus),
        memory: `${o.memoryGiB}Gi`,
        pods: '110',
        'ephemeral-storage': `${diskGiB}Gi`,
      },
      addresses: [
        { type: 'InternalIP', address: o.ip },
        { type: 'Hostname', address: o.nodeName },
      ],
    },
  };
}
