// The simulated kubelet's node half: a registered Node becomes Ready with the status a kubelet
// reports (conditions, nodeInfo, allocatable, daemon endpoints), and gets a /24 of the cluster's
// pod network as node-ipam would. No heartbeats: a node is written only when its status differs.
import { createHash } from 'node:crypto';
import type { KObject } from '@kaas/apiserver';
import { isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx } from './context.ts';
import type { Condition } from './util.ts';
import { KeyedMutex, jsonEqual, setCondition } from './util.ts';

export const kubeletVersionKey = 'kaas.dev/kubelet-version';
export const osImageKey = 'kaas.dev/os-image';
export const containerRuntimeVersion = 'containerd://1.7.24';
const defaultKubeletVersion = 'v1.32.0';
const defaultOsImage = 'Ubuntu 24.04.1 LTS';

const conditions: Condition[] = [
  {
    type: 'MemoryPressure',
    status: 'False',
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
  },
  {
    type: 'DiskPressure',
    status: 'False',
    reason: 'KubeletHasNoDiskPressure',
    message: 'kubelet has no disk pressure',
  },
  {
    type: 'PIDPressure',
    status: 'False',
    reason: 'KubeletHasSufficientPID',
    message: 'kubelet has sufficient PID available',
  },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

const uuidOf = (s: string) => {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** The status a kubelet would report for the node; times of unchanged conditions are kept. */
export function desiredNodeStatus(node: KObject): Record<string, any> {
  const status = structuredClone(node.status ?? {});
  const meta = node.metadata;
  const from = (k: string) => meta.labels?.[k] ?? meta.annotations?.[k];
  let conds = (status.conditions as Condition[] | undefined) ?? [];
  for (const c of conditions) conds = setCondition(conds, c, ['lastTransitionTime', 'lastHeartbeatTime']);
  status.conditions = conds;
  if (status.capacity && !status.allocatable) status.allocatable = structuredClone(status.capacity);
  const version = from(kubeletVersionKey) ?? status.nodeInfo?.kubeletVersion ?? defaultKubeletVersion;
  const uid = meta.uid ?? meta.name ?? '';
  status.nodeInfo = {
    machineID: uuidOf(`machine/${uid}`).replaceAll('-', ''),
    systemUUID: uuidOf(`system/${uid}`),
    bootID: uuidOf(`boot/${uid}`),
    kernelVersion: '6.8.0-kaas',
    osImage: from(osImageKey) ?? defaultOsImage,
    containerRuntimeVersion,
    kubeletVersion: version,
    kubeProxyVersion: version,
    operatingSystem: meta.labels?.['kubernetes.io/os'] ?? 'linux',
    architecture: meta.labels?.['kubernetes.io/arch'] ?? 'amd64',
    ...(status.nodeInfo?.swap ? { swap: status.nodeInfo.swap } : {}),
  };
  status.daemonEndpoints = { kubeletEndpoint: { Port: 10250 } };
  return status;
}

/** The /24s of a /16 pod network: 10.244.0.0/16 -> 10.244.<i>.0/24. */
export function nodeCIDR(clusterCIDR: string, i: number): string {
  const [a, b] = clusterCIDR.split('/')[0]!.split('.');
  return `${a}.${b}.${i}.0/24`;
}

export function addNodeController(ctx: Ctx): void {
  const { inf, client } = ctx;
  const mutex = new KeyedMutex();
  /** CIDRs given out but maybe not in the cache yet: cluster -> node -> cidr. */
  const assumed = new Map<string, Map<string, string>>();

  async function allocateCIDR(cluster: string, node: KObject): Promise<string | undefined> {
    return mutex.run(cluster, async () => {
      const mine = assumed.get(cluster) ?? new Map<string, string>();
      assumed.set(cluster, mine);
      const used = new Set<string>();
      for (const n of inf.nodes.byIndex(idx.cluster, cluster)) {
        if (n.spec?.podCIDR) {
          used.add(n.spec.podCIDR);
          if (mine.get(n.metadata.name!) === n.spec.podCIDR) mine.delete(n.metadata.name!);
        }
      }
      const prior = mine.get(node.metadata.name!);
      if (prior) return prior;
      for (const c of mine.values()) used.add(c);
      const base = ctx.opts.podCIDR?.(cluster) ?? '10.244.0.0/16';
      for (let i = 0; i < 256; i++) {
        const cidr = nodeCIDR(base, i);
        if (used.has(cidr)) continue;
        const next = structuredClone(node);
        next.spec = { ...(next.spec ?? {}), podCIDR: cidr, podCIDRs: [cidr] };
        await client.update(cluster, next);
        mine.set(node.metadata.name!, cidr);
        return cidr;
      }
      ctx.log?.('warn', 'pod network exhausted', { cluster, node: node.metadata.name });
      return undefined;
    });
  }

  ctx.manager.add({
    name: 'localcluster-nodes',
    workers: 4,
    watches: [{ informer: inf.nodes }],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const cached = inf.nodes.get(key);
      if (!cached) {
        assumed.get(cluster)?.delete(parseObjectKey(key).name);
        return;
      }
      if (cached.metadata.deletionTimestamp) return;
      // Registration is the object and then its status (our server drops status on create):
      // until capacity is there, writing would only race the registrar.
      if (!cached.status?.capacity) return;
      try {
        if (!cached.spec?.podCIDR) {
          await allocateCIDR(cluster, cached);
          return; // the update comes back as an event
        }
        const status = desiredNodeStatus(cached);
        if (jsonEqual(status, cached.status)) return;
        await client.updateStatus(cluster, { ...structuredClone(cached), status });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return; // a newer version (or none) brings us back
        throw e;
      }
    },
  });
}
