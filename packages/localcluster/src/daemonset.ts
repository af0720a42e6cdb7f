// The DaemonSet controller: one pod per eligible node (nodeSelector, required node affinity,
// taints the template tolerates), placed by the scheduler through node affinity on the node's
// name as upstream does; RollingUpdate replaces pods of an older template within maxUnavailable.
import type { KObject } from '@kaas/apiserver';
import { isConflict, isNotFound, ownerKeys, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { Expectations, isPodAvailable, podFromTemplate } from './pods.ts';
import type { Taint } from './scheduling.ts';
import { matchesNodeSelection, tolerates } from './scheduling.ts';
import { intOrPercent, isPodActive, isPodReady, jsonEqual, shortHash } from './util.ts';

export const revisionHashLabel = 'controller-revision-hash';

/** The tolerations upstream adds to every DaemonSet pod. */
const daemonTolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Whether the DaemonSet's pods belong on the node. */
export function nodeEligible(template: Record<string, any>, node: KObject): boolean {
  if (node.metadata.deletionTimestamp) return false;
  const pod: KObject = { metadata: {}, spec: template.spec ?? {} };
  if (!matchesNodeSelection(pod, node)) return false;
  const tolerations = [...(template.spec?.tolerations ?? []), ...daemonTolerations];
  return ((node.spec?.taints ?? []) as Taint[]).every(
    (t) => (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') || tolerates(tolerations, t),
  );
}

/** The node a DaemonSet pod is for: its nodeName, else its affinity on metadata.name. */
export function targetNode(pod: KObject): string | undefined {
  if (pod.spec?.nodeName) return String(pod.spec.nodeName);
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms as any[])
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return undefined;
}

function daemonPod(ds: KObject, node: string, hash: string): KObject {
  const pod = podFromTemplate(ds, ds.spec.template, {
    labels: { [revisionHashLabel]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
  });
  const spec = pod.spec;
  const affinity = structuredClone(spec.affinity ?? {});
  affinity.nodeAffinity = {
    ...(affinity.nodeAffinity ?? {}),
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
    },
  };
  spec.affinity = affinity;
  const have = (spec.tolerations ?? []) as any[];
  spec.tolerations = [
    ...have,
    ...daemonTolerations.filter((d) => !have.some((h) => h.key === d.key && h.effect === d.effect)),
  ];
  return pod;
}

export function addDaemonSetController(ctx: Ctx): void {
  const { inf, client } = ctx;
  const exp = new Expectations();
  const events = ctx.events('daemonset-controller');

  ctx.manager.add({
    name: 'localcluster-daemonsets',
    workers: 4,
    watches: [
      { informer: inf.daemonsets },
      { informer: inf.pods, keys: ownerKeys({ apiVersion: 'apps/v1', kind: 'DaemonSet' }) },
      {
        informer: inf.nodes,
        keys: (e) => inf.daemonsets.byIndex(idx.cluster, e.cluster).map((d) => keyOf(e.cluster, d)),
      },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const ds = inf.daemonsets.get(key);
      if (!ds) {
        exp.forget(key);
        return;
      }
      if (ds.metadata.deletionTimestamp) return;
      try {
        return await sync(cluster, key, ds);
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });

  async function sync(
    cluster: string,
    key: string,
    ds: KObject,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const ns = ds.metadata.namespace!;
    const hash = shortHash(ds.spec.template);
    const nodes = inf.nodes.byIndex(idx.cluster, cluster);
    const eligible = new Set(
      nodes.filter((n) => nodeEligible(ds.spec.template, n)).map((n) => n.metadata.name!),
    );
    const pending = exp.pending(key, (k) => !!inf.pods.get(k));
    const pods = inf.pods
      .byIndex(idx.owner, `${cluster}/${ns}/${ds.metadata.uid}`)
      .filter((p) => isPodActive(p) && !pending.dels.has(keyOf(cluster, p)));
    const byNode = new Map<string, KObject[]>();
    for (const p of pods) {
      const n = targetNode(p) ?? '';
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const creating = new Set(pending.addTags);
    const toCreate: string[] = [];
    const toDelete: KObject[] = [];
    for (const node of eligible) {
      const here = byNode.get(node) ?? [];
      if (!here.length && !creating.has(node)) toCreate.push(node);
      // Keep one, the newest template first, then the oldest pod.
      const sorted = [...here].sort(
        (a, b) =>
          Number(b.metadata.labels?.[revisionHashLabel] === hash) -
            Number(a.metadata.labels?.[revisionHashLabel] === hash) ||
          String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
      );
      toDelete.push(...sorted.slice(1));
    }
    for (const [node, here] of byNode) if (!eligible.has(node)) toDelete.push(...here);
    // Rolling update: replace pods of an older template while few enough are unavailable.
    if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const maxUnavailable = Math.max(
        1,
        intOrPercent(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, eligible.size, false),
      );
      let unavailable = [...eligible].filter((n) => !(byNode.get(n) ?? []).some(isPodReady)).length;
      for (const node of [...eligible].sort()) {
        const old = (byNode.get(node) ?? []).find((p) => p.metadata.labels?.[revisionHashLabel] !== hash);
        if (!old || toDelete.includes(old)) continue;
        if (isPodReady(old)) {
          if (unavailable >= maxUnavailable) continue;
          unavailable++;
        }
        toDelete.push(old);
      }
    }
    for (const node of toCreate) {
      const p = await client.create(cluster, daemonPod(ds, node, hash));
      exp.created(key, keyOf(cluster, p), node);
      await events.record(
        cluster,
        ds,
        { type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${p.metadata.name}` },
        { dedupe: false },
      );
    }
    for (const p of toDelete) {
      exp.deleted(key, keyOf(cluster, p));
      await client
        .delete(
          { cluster, apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name! },
          { preconditions: { uid: p.metadata.uid } },
        )
        .catch((e: unknown) => {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        });
      await events.record(
        cluster,
        ds,
        { type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${p.metadata.name}` },
        { dedupe: false },
      );
    }
    const minReady = Number(ds.spec.minReadySeconds ?? 0);
    const now = Date.now();
    const on = (n: string) => (byNode.get(n) ?? []).filter((p) => p.spec?.nodeName);
    const desired = eligible.size;
    const available = [...eligible].filter((n) => on(n).some((p) => isPodAvailable(p, minReady, now))).length;
    const status: Record<string, any> = {
      currentNumberScheduled: [...eligible].filter((n) => on(n).length > 0).length,
      numberMisscheduled: [...byNode].filter(
        ([n, ps]) => !eligible.has(n) && ps.some((p) => p.spec?.nodeName),
      ).length,
      desiredNumberScheduled: desired,
      numberReady: [...eligible].filter((n) => on(n).some(isPodReady)).length,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: [...eligible].filter((n) =>
        on(n).some((p) => p.metadata.labels?.[revisionHashLabel] === hash),
      ).length,
      numberAvailable: available,
      numberUnavailable: desired - available,
    };
    if (!status.numberAvailable) delete status.numberAvailable;
    if (!status.numberUnavailable) delete status.numberUnavailable;
    if (!jsonEqual(status, ds.status)) await client.updateStatus(cluster, { ...structuredClone(ds), status });
    return undefined;
  }
}
