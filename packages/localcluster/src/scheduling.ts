// The scheduler's decisions as pure functions: filters in upstream's plugin order (each node
// stops at its first failing filter), least-allocated scoring, and upstream's "0/N nodes are
// available" message.
import type { KObject } from '@kaas/apiserver';
import { isNodeReady, mapMatches, podRequests, quantity } from './util.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export function tolerates(tolerations: readonly Toleration[] | undefined, t: Taint): boolean {
  return (tolerations ?? []).some((tol) => {
    if (tol.effect && tol.effect !== t.effect) return false;
    if (tol.operator === 'Exists') return !tol.key || tol.key === t.key;
    return tol.key === t.key && (tol.value ?? '') === (t.value ?? '');
  });
}

/** The first NoSchedule/NoExecute taint of the node the pod does not tolerate. */
export function untoleratedTaint(pod: KObject, node: KObject): Taint | undefined {
  const taints: Taint[] = [...((node.spec?.taints as Taint[] | undefined) ?? [])];
  // A node that is not Ready carries upstream's not-ready taint.
  if (!isNodeReady(node)) taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
  return taints.find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod.spec?.tolerations, t),
  );
}

interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.hasOwn(values, r.key);
  const v = values[r.key];
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const a = Number(v);
      const b = Number(r.values?.[0]);
      if (!has || !Number.isFinite(a) || !Number.isFinite(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** nodeSelector and required node affinity (terms ORed, requirements ANDed). */
export function matchesNodeSelection(pod: KObject, node: KObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  if (!mapMatches(pod.spec?.nodeSelector, labels)) return false;
  const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = (req?.nodeSelectorTerms ?? []) as {
    matchExpressions?: NodeSelectorRequirement[];
    matchFields?: NodeSelectorRequirement[];
  }[];
  if (!req) return true;
  const fields = { 'metadata.name': node.metadata.name! };
  return terms.some(
    (t) =>
      ((t.matchExpressions ?? []).length > 0 || (t.matchFields ?? []).length > 0) &&
      (t.matchExpressions ?? []).every((r) => requirementMatches(r, labels)) &&
      (t.matchFields ?? []).every((r) => requirementMatches(r, fields)),
  );
}

export interface NodeUsage {
  cpu: number;
  memory: number;
  pods: number;
  /** Requests with upstream's non-zero defaults (100m, 200Mi) for scoring. */
  scoreCpu: number;
  scoreMemory: number;
}

export function usageOf(pods: readonly KObject[]): NodeUsage {
  const u: NodeUsage = { cpu: 0, memory: 0, pods: 0, scoreCpu: 0, scoreMemory: 0 };
  for (const p of pods) addUsage(u, p);
  return u;
}

export function addUsage(u: NodeUsage, pod: KObject): void {
  const r = podRequests(pod);
  const s = podRequests(pod, true);
  u.cpu += r.cpu;
  u.memory += r.memory;
  u.pods += 1;
  u.scoreCpu += s.cpu;
  u.scoreMemory += s.memory;
}

function allocatable(node: KObject): { cpu: number; memory: number; pods: number } {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  const num = (v: unknown, d: number) => (Number.isFinite(quantity(v)) ? quantity(v) : d);
  return { cpu: num(a.cpu, 0), memory: num(a.memory, 0), pods: num(a.pods, 110) };
}

/** Why the pod cannot go to the node (upstream's reason strings), or [] when it fits. */
export function filterNode(pod: KObject, node: KObject, usage: NodeUsage): string[] {
  if (node.spec?.unschedulable) {
    const tol = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
    if (!tolerates(pod.spec?.tolerations, tol)) return ['node(s) were unschedulable'];
  }
  const taint = untoleratedTaint(pod, node);
  if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
  if (!matchesNodeSelection(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const a = allocatable(node);
  const r = podRequests(pod);
  const out: string[] = [];
  if (usage.pods + 1 > a.pods) out.push('Too many pods');
  if (r.cpu > 0 && usage.cpu + r.cpu > a.cpu + 1e-9) out.push('Insufficient cpu');
  if (r.memory > 0 && usage.memory + r.memory > a.memory) out.push('Insufficient memory');
  return out;
}

/** Least allocated: the mean free fraction of cpu and memory after placing the pod (0..100). */
export function scoreNode(pod: KObject, node: KObject, usage: NodeUsage): number {
  const a = allocatable(node);
  const r = podRequests(pod, true);
  const free = (cap: number, used: number) => (cap > 0 ? Math.max(0, (cap - used) / cap) : 0);
  return ((free(a.cpu, usage.scoreCpu + r.cpu) + free(a.memory, usage.scoreMemory + r.memory)) / 2) * 100;
}

export type ScheduleResult = { node: string } | { node?: undefined; message: string };

/**
 * Picks a node for the pod among `nodes`, given each node's usage; ties go to the node with
 * fewer pods, then by name, so replicas spread evenly.
 */
export function schedule(
  pod: KObject,
  nodes: readonly KObject[],
  usageOfNode: (name: string) => NodeUsage,
): ScheduleResult {
  const reasons = new Map<string, number>();
  let best: { name: string; score: number; pods: number } | undefined;
  for (const node of nodes) {
    const name = node.metadata.name!;
    const usage = usageOfNode(name);
    const why = filterNode(pod, node, usage);
    if (why.length) {
      for (const w of why) reasons.set(w, (reasons.get(w) ?? 0) + 1);
      continue;
    }
    const score = scoreNode(pod, node, usage);
    if (
      !best ||
      score > best.score + 1e-9 ||
      (Math.abs(score - best.score) <= 1e-9 &&
        (usage.pods < best.pods || (usage.pods === best.pods && name < best.name)))
    )
      best = { name, score, pods: usage.pods };
  }
  if (best) return { node: best.name };
  return { message: unschedulableMessage(nodes.length, reasons) };
}

/** "0/4 nodes are available: 1 node(s) had untolerated taint {…}, 3 Insufficient cpu." */
export function unschedulableMessage(total: number, reasons: ReadonlyMap<string, number>): string {
  if (total === 0) return 'no nodes available to schedule pods';
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}
