// The simulated kubelet's pod half. A pod bound to a node of a local cluster is reported Running
// and Ready at once (no container runs) with an IP from its node's pod CIDR; claims it mounts
// must be Bound first, as a kubelet waits to mount them. A pod marked for deletion is removed
// (grace period 0), and a pod bound to a node that no longer exists is deleted as pod GC does.
import { createHash } from 'node:crypto';
import type { KObject } from '@kaas/apiserver';
import { formatKey, isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import type { Condition } from './util.ts';
import { KeyedMutex, jsonEqual, nowISO, setCondition } from './util.ts';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

function imageRef(image: string): string {
  const name = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  const full = name.includes('/') ? name : `library/${name}`;
  const host = full.split('/')[0]!.includes('.') ? '' : 'docker.io/';
  return `${host}${full}`;
}

/** docker.io/library/nginx:1.27 -> docker.io/library/nginx@sha256:… (stable per image). */
export function imageIDOf(image: string): string {
  if (image.includes('@')) return `${imageRef(image)}@${image.split('@')[1]}`;
  return `${imageRef(image)}@sha256:${hex(`image/${image}`)}`;
}

function qosClass(pod: KObject): string {
  const containers: any[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const want = lim[r];
      if (want === undefined || (req[r] !== undefined && String(req[r]) !== String(want))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The status a kubelet reports for a running pod; unchanged parts keep their times. */
export function runningPodStatus(pod: KObject, o: { podIP: string; hostIP: string }): Record<string, any> {
  const old = pod.status ?? {};
  const now = nowISO();
  const startTime = old.startTime ?? now;
  let conds = (old.conditions as Condition[] | undefined) ?? [];
  for (const type of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'])
    conds = setCondition(conds, { type, status: 'True', lastProbeTime: null });
  const oldStatuses = new Map<string, any>(
    ((old.containerStatuses ?? []) as any[]).map((s) => [s.name as string, s]),
  );
  const containerStatuses = ((pod.spec?.containers ?? []) as any[]).map((c) => {
    const prev = oldStatuses.get(c.name);
    const same = prev?.image === c.image && prev?.state?.running;
    return {
      name: c.name,
      image: c.image,
      imageID: imageIDOf(String(c.image)),
      containerID: `containerd://${hex(`${pod.metadata.uid}/${c.name}/${c.image}`).slice(0, 64)}`,
      ready: true,
      started: true,
      restartCount: prev?.restartCount ?? 0,
      state: { running: { startedAt: same ? prev.state.running.startedAt : now } },
      lastState: {},
    };
  });
  const status: Record<string, any> = {
    ...old,
    phase: 'Running',
    conditions: conds,
    hostIP: o.hostIP,
    hostIPs: [{ ip: o.hostIP }],
    podIP: o.podIP,
    podIPs: [{ ip: o.podIP }],
    startTime,
    containerStatuses,
    qosClass: qosClass(pod),
  };
  const inits = (pod.spec?.initContainers ?? []) as any[];
  if (inits.length) {
    const oldInit = new Map<string, any>(
      ((old.initContainerStatuses ?? []) as any[]).map((s) => [s.name as string, s]),
    );
    status.initContainerStatuses = inits.map((c) => {
      const prev = oldInit.get(c.name);
      const at = prev?.state?.terminated?.finishedAt ?? now;
      return {
        name: c.name,
        image: c.image,
        imageID: imageIDOf(String(c.image)),
        containerID: `containerd://${hex(`${pod.metadata.uid}/init/${c.name}`).slice(0, 64)}`,
        ready: true,
        started: false,
        restartCount: 0,
        state: {
          terminated: { exitCode: 0, reason: 'Completed', startedAt: at, finishedAt: at },
        },
        lastState: {},
      };
    });
  }
  delete status.message;
  delete status.reason;
  delete status.nominatedNodeName;
  return status;
}

function waitingPodStatus(pod: KObject, hostIP: string, message: string): Record<string, any> {
  const old = pod.status ?? {};
  let conds = (old.conditions as Condition[] | undefined) ?? [];
  conds = setCondition(conds, { type: 'PodScheduled', status: 'True', lastProbeTime: null });
  conds = setCondition(conds, {
    type: 'ContainersReady',
    status: 'False',
    reason: 'ContainersNotReady',
    message,
    lastProbeTime: null,
  });
  conds = setCondition(conds, {
    type: 'Ready',
    status: 'False',
    reason: 'ContainersNotReady',
    message,
    lastProbeTime: null,
  });
  return {
    ...old,
    phase: 'Pending',
    conditions: conds,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    startTime: old.startTime ?? nowISO(),
    containerStatuses: ((pod.spec?.containers ?? []) as any[]).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
    })),
    qosClass: qosClass(pod),
  };
}

export function nodeInternalIP(node: KObject): string {
  const addrs = (node.status?.addresses ?? []) as { type: string; address: string }[];
  return (
    addrs.find((a) => a.type === 'InternalIP')?.address ??
    addrs.find((a) => a.type === 'ExternalIP')?.address ??
    ''
  );
}

/** Pod addresses of a node's /24: .2 to .254 (.1 is the node's bridge). */
export function podAddress(cidr: string, used: ReadonlySet<string>): string | undefined {
  const base = cidr.split('/')[0]!.split('.').slice(0, 3).join('.');
  for (let i = 2; i < 255; i++) {
    const ip = `${base}.${i}`;
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** Names of the claims the pod mounts. */
export function claimsOf(pod: KObject): string[] {
  return ((pod.spec?.volumes ?? []) as any[])
    .map((v) => v.persistentVolumeClaim?.claimName as string | undefined)
    .filter((n): n is string => !!n);
}

export function addKubelet(ctx: Ctx): void {
  const { inf, client } = ctx;
  const mutex = new KeyedMutex();
  /** IPs given out that the cache may not show yet: `<cluster>/<node>` -> pod key -> ip. */
  const assumed = new Map<string, Map<string, string>>();

  function allocateIP(cluster: string, node: KObject, podKey: string): string | undefined {
    const nodeKey = `${cluster}/${node.metadata.name}`;
    const mine = assumed.get(nodeKey) ?? new Map<string, string>();
    assumed.set(nodeKey, mine);
    const used = new Set<string>();
    for (const p of inf.pods.byIndex(idx.node, nodeKey)) {
      const ip = p.status?.podIP;
      if (!ip) continue;
      const k = keyOf(cluster, p);
      if (mine.get(k) === ip) mine.delete(k); // the cache caught up
      if (k !== podKey) used.add(ip);
    }
    for (const [k, ip] of mine) {
      if (!inf.pods.get(k)) mine.delete(k);
      else if (k !== podKey) used.add(ip);
    }
    const prior = mine.get(podKey);
    if (prior) return prior;
    const ip = podAddress(String(node.spec?.podCIDR ?? ''), used);
    if (ip) mine.set(podKey, ip);
    if (!mine.size) assumed.delete(nodeKey);
    return ip;
  }

  ctx.manager.add({
    name: 'localcluster-kubelet',
    workers: 8,
    watches: [
      { informer: inf.pods },
      // A node that got its CIDR, or went away, affects its pods.
      {
        informer: inf.nodes,
        keys: (e) =>
          inf.pods.byIndex(idx.node, `${e.cluster}/${e.obj.metadata.name}`).map((p) => keyOf(e.cluster, p)),
      },
      // A claim that becomes Bound lets the pods mounting it start.
      {
        informer: inf.pvcs,
        keys: (e) =>
          inf.pods
            .byIndex(idx.namespace, `${e.cluster}/${e.obj.metadata.namespace}`)
            .filter((p) => p.spec?.nodeName && claimsOf(p).includes(e.obj.metadata.name!))
            .map((p) => keyOf(e.cluster, p)),
      },
    ],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const pod = inf.pods.get(key);
      if (!pod) {
        for (const m of assumed.values()) m.delete(key);
        return;
      }
      const nodeName = pod.spec?.nodeName as string | undefined;
      if (!nodeName) return;
      const ref = { cluster, apiVersion: 'v1', kind: 'Pod', namespace, name };
      try {
        if (pod.metadata.deletionTimestamp) {
          // The containers "stopped" at once: finish the deletion as a kubelet does.
          await client.delete(ref, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
          return;
        }
        const phase = pod.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') return;
        const node = inf.nodes.get(formatKey({ cluster, name: nodeName }));
        if (!node) {
          await client.delete(ref, { preconditions: { uid: pod.metadata.uid } });
          return;
        }
        if (!node.spec?.podCIDR) return; // the node controller gives it one; its event brings us back
        const hostIP = nodeInternalIP(node);
        const claims = claimsOf(pod);
        const unbound = claims.filter(
          (c) => inf.pvcs.get(formatKey({ cluster, namespace, name: c }))?.status?.phase !== 'Bound',
        );
        let status: Record<string, any>;
        if (unbound.length) {
          status = waitingPodStatus(
            pod,
            hostIP,
            `containers with unready status: [${(pod.spec?.containers ?? []).map((c: any) => c.name).join(' ')}]`,
          );
        } else {
          const podIP = await mutex.run(`${cluster}/${nodeName}`, async () =>
            pod.status?.podIP ? String(pod.status.podIP) : allocateIP(cluster, node, key),
          );
          if (!podIP) {
            ctx.log?.('warn', 'node out of pod addresses', { cluster, node: nodeName });
            return;
          }
          status = runningPodStatus(pod, { podIP, hostIP });
        }
        if (jsonEqual(status, pod.status)) return;
        await client.updateStatus(cluster, { ...structuredClone(pod), status });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });
}
