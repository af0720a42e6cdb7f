// The scheduler: binds pods without spec.nodeName (schedulerName default-scheduler) to a node of
// their cluster. Decisions are in scheduling.ts; here: observe from the shared caches, remember
// bindings the cache has not caught up with yet ("assumed" pods, as upstream's scheduler cache
// does), write the binding, or the PodScheduled=False condition and a FailedScheduling event.
// Our API server has no pods/binding subresource, so a binding is a patch of spec.nodeName.
import type { KObject } from '@kaas/apiserver';
import { isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import type { NodeUsage } from './scheduling.ts';
import { addUsage, schedule, usageOf } from './scheduling.ts';
import { getCondition, isPodActive, setCondition } from './util.ts';

export const defaultScheduler = 'default-scheduler';

export function wantsScheduling(pod: KObject): boolean {
  return (
    !pod.spec?.nodeName &&
    (pod.spec?.schedulerName ?? defaultScheduler) === defaultScheduler &&
    isPodActive(pod)
  );
}

export function addScheduler(ctx: Ctx): void {
  const { inf, client } = ctx;
  const events = ctx.events('default-scheduler');
  /** Pods bound by us that the cache still shows unbound: pod key -> { cluster, node, pod }. */
  const assumed = new Map<string, { cluster: string; node: string; pod: KObject }>();

  const pendingOfCluster = (cluster: string): string[] =>
    inf.pods.byIndex(idx.unscheduled, cluster).map((p) => keyOf(cluster, p));

  function usageFor(cluster: string): (node: string) => NodeUsage {
    const extra = new Map<string, KObject[]>();
    for (const [key, a] of assumed) {
      const cached = inf.pods.get(key);
      if (!cached || cached.spec?.nodeName || cached.metadata.uid !== a.pod.metadata.uid) {
        assumed.delete(key); // the cache caught up (or the pod is gone, or is another by that name)
        continue;
      }
      if (a.cluster !== cluster) continue;
      extra.set(a.node, [...(extra.get(a.node) ?? []), a.pod]);
    }
    return (node) => {
      const u = usageOf(inf.pods.byIndex(idx.node, `${cluster}/${node}`).filter(isPodActive));
      for (const p of extra.get(node) ?? []) addUsage(u, p);
      return u;
    };
  }

  ctx.manager.add({
    name: 'localcluster-scheduler',
    // One worker: every decision sees every earlier binding (through `assumed`).
    workers: 1,
    watches: [
      { informer: inf.pods, keys: (e) => (e.type === 'delete' ? pendingOfCluster(e.cluster) : e.key) },
      // A node that appears, becomes Ready or changes may fit pods that did not fit before.
      { informer: inf.nodes, keys: (e) => pendingOfCluster(e.cluster) },
    ],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const cached = inf.pods.get(key);
      if (!cached || !wantsScheduling(cached)) return;
      // Bound already by us, the cache not there yet. A pod re-created under the same name (a
      // StatefulSet's) is another pod.
      if (assumed.get(key)?.pod.metadata.uid === cached.metadata.uid) return;
      const nodes = inf.nodes.byIndex(idx.cluster, cluster).filter((n) => !n.metadata.deletionTimestamp);
      const r = schedule(cached, nodes, usageFor(cluster));
      const ref = { cluster, apiVersion: 'v1', kind: 'Pod', namespace, name };
      try {
        if (r.node !== undefined) {
          await client.patch(ref, {
            metadata: { resourceVersion: cached.metadata.resourceVersion },
            spec: { nodeName: r.node },
          });
          assumed.set(key, { cluster, node: r.node, pod: cached });
          await events.record(
            cluster,
            cached,
            {
              type: 'Normal',
              reason: 'Scheduled',
              message: `Successfully assigned ${namespace}/${name} to ${r.node}`,
            },
            { dedupe: false },
          );
          return;
        }
        const old = getCondition(cached, 'PodScheduled');
        if (old?.status === 'False' && old.reason === 'Unschedulable' && old.message === r.message) return;
        const conditions = setCondition(cached.status?.conditions, {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: r.message,
          lastProbeTime: null,
        });
        await client.patch(
          ref,
          { metadata: { resourceVersion: cached.metadata.resourceVersion }, status: { conditions } },
          { subresource: 'status' },
        );
        await events.record(cluster, cached, {
          type: 'Warning',
          reason: 'FailedScheduling',
          message: r.message,
        });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });
}
