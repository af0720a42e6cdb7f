// Cordon and drain, as `kubectl drain` does: mark the node unschedulable, then evict every pod on
// it except DaemonSet pods (their controller would put them straight back) and mirror pods,
// respecting PodDisruptionBudgets. Our API server has no pods/eviction subresource, so an eviction
// is the delete the eviction API would make once the budgets allow it; the pods' controllers
// recreate them and the local scheduler binds them to other (schedulable) nodes.
import type { KObject } from '@kaas/apiserver';
import { isNotFound, type InProcessClient } from '@kaas/controllers';

export interface DrainResult {
  node: string;
  /** Pods deleted by this call. */
  evicted: string[];
  /** Pods a PodDisruptionBudget protects right now: `ns/name (pdb ns/name)`. */
  blocked: string[];
  /** Pods still on the node that drain waits for (being deleted, or blocked). */
  remaining: number;
  /** Nothing but DaemonSet and mirror pods left. */
  done: boolean;
}

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** Label selector semantics of metav1.LabelSelector; an empty selector matches everything. */
export function selectorMatches(
  sel: Selector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function isDaemonSetPod(pod: KObject): boolean {
  return (pod.metadata.ownerReferences ?? []).some(
    (r: { kind?: string; controller?: boolean }) => r.kind === 'DaemonSet' && r.controller !== false,
  );
}

const isMirrorPod = (pod: KObject) => pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const isFinished = (pod: KObject) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
export const isPodReady = (pod: KObject): boolean =>
  !pod.metadata.deletionTimestamp &&
  ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/** Pods drain must move off the node: not DaemonSet, not mirror, not finished. */
export function podsToEvict(pods: readonly KObject[], node: string): KObject[] {
  return pods.filter(
    (p) => p.spec?.nodeName === node && !isDaemonSetPod(p) && !isMirrorPod(p) && !isFinished(p),
  );
}

function scaled(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) / 100) * total;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * How many more pods a budget lets go now, as the disruption controller computes
 * status.disruptionsAllowed: healthy minus minAvailable, or maxUnavailable minus the unhealthy.
 */
export function disruptionsAllowed(pdb: KObject, namespacePods: readonly KObject[]): number {
  const matching = namespacePods.filter(
    (p) => !isFinished(p) && selectorMatches(pdb.spec?.selector, p.metadata.labels),
  );
  const expected = matching.length;
  const healthy = matching.filter(isPodReady).length;
  if (pdb.spec?.minAvailable !== undefined)
    return healthy - scaled(pdb.spec.minAvailable as number | string, expected, true);
  if (pdb.spec?.maxUnavailable !== undefined)
    return scaled(pdb.spec.maxUnavailable as number | string, expected, true) - (expected - healthy);
  return expected; // a budget without either field does not limit
}

/** spec.unschedulable on (cordon) or off (uncordon); writes only when it changes. */
export async function setUnschedulable(
  client: InProcessClient,
  cluster: string,
  node: KObject,
  unschedulable: boolean,
): Promise<void> {
  if (Boolean(node.spec?.unschedulable) === unschedulable) return;
  await client.patch(
    { cluster, apiVersion: 'v1', kind: 'Node', name: node.metadata.name! },
    { spec: { unschedulable: unschedulable ? true : null } },
  );
}

async function listPdbs(client: InProcessClient, cluster: string): Promise<KObject[]> {
  try {
    return (await client.list({ cluster, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' })).items;
  } catch (e) {
    if (isNotFound(e)) return []; // the server does not serve them
    throw e;
  }
}

/**
 * One drain step: evicts what may go now and reports what is left. Call again until `done`
 * (level-triggered: it re-reads pods and budgets every time, so a restart just continues).
 */
export async function drainNode(
  client: InProcessClient,
  cluster: string,
  node: string,
): Promise<DrainResult> {
  const pods = (await client.list({ cluster, apiVersion: 'v1', kind: 'Pod' })).items;
  const pdbs = await listPdbs(client, cluster);
  const targets = podsToEvict(pods, node);
  const out: DrainResult = { node, evicted: [], blocked: [], remaining: 0, done: false };
  const spent = new Map<string, number>(); // evictions this step, per budget
  for (const pod of targets) {
    const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
    out.remaining++;
    if (pod.metadata.deletionTimestamp) continue;
    const ns = pod.metadata.namespace;
    const nsPods = pods.filter((p) => p.metadata.namespace === ns);
    const budgets = pdbs.filter(
      (b) => b.metadata.namespace === ns && selectorMatches(b.spec?.selector, pod.metadata.labels),
    );
    const blocking = budgets.find((b) => {
      const key = `${ns}/${b.metadata.name}`;
      return disruptionsAllowed(b, nsPods) - (spent.get(key) ?? 0) <= 0 && isPodReady(pod);
    });
    if (blocking) {
      out.blocked.push(`${id} (PodDisruptionBudget ${ns}/${blocking.metadata.name})`);
      continue;
    }
    for (const b of budgets)
      spent.set(`${ns}/${b.metadata.name}`, (spent.get(`${ns}/${b.metadata.name}`) ?? 0) + 1);
    try {
      await client.delete({
        cluster,
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        name: pod.metadata.name!,
      });
      out.evicted.push(id);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  out.done = out.remaining === 0;
  return out;
}
