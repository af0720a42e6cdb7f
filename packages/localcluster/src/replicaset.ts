// The ReplicaSet controller: as many active pods as spec.replicas, owned by the ReplicaSet
// (controller: true, so the garbage collector removes them with it), and the status
// `kubectl get rs` and the Deployment controller read.
import type { KObject } from '@kaas/apiserver';
import { isConflict, isNotFound, ownerKeys, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { Expectations, deletionOrder, isPodAvailable, podFromTemplate } from './pods.ts';
import { isPodActive, isPodReady, jsonEqual, mapMatches, setCondition } from './util.ts';

/** At most this many pods are created or deleted per pass. */
const batch = 100;

export function addReplicaSetController(ctx: Ctx): void {
  const { inf, client } = ctx;
  const exp = new Expectations();
  const events = ctx.events('replicaset-controller');

  ctx.manager.add({
    name: 'localcluster-replicasets',
    workers: 4,
    watches: [
      { informer: inf.replicasets },
      { informer: inf.pods, keys: ownerKeys({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }) },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const rs = inf.replicasets.get(key);
      if (!rs) {
        exp.forget(key);
        return;
      }
      if (rs.metadata.deletionTimestamp) return;
      const owned = inf.pods.byIndex(idx.owner, `${cluster}/${rs.metadata.namespace}/${rs.metadata.uid}`);
      const pending = exp.pending(key, (k) => !!inf.pods.get(k));
      const active = owned.filter((p) => isPodActive(p) && !pending.dels.has(keyOf(cluster, p)));
      const want = Number(rs.spec?.replicas ?? 1);
      const diff = active.length + pending.adds.length - want;
      let failure: string | undefined;
      if (diff < 0) {
        const n = Math.min(-diff, batch);
        const results = await Promise.allSettled(
          Array.from({ length: n }, async () => {
            const p = await client.create(cluster, podFromTemplate(rs, rs.spec.template));
            exp.created(key, keyOf(cluster, p));
            await events.record(
              cluster,
              rs,
              { type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${p.metadata.name}` },
              { dedupe: false },
            );
          }),
        );
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) {
          const e = failed.reason;
          failure = e instanceof Error ? e.message : String(e);
          await events.record(cluster, rs, {
            type: 'Warning',
            reason: 'FailedCreate',
            message: `Error creating: ${failure}`,
          });
        }
      } else if (diff > 0) {
        const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, batch));
        await Promise.all(
          victims.map(async (p) => {
            const ref = {
              cluster,
              apiVersion: 'v1',
              kind: 'Pod',
              namespace: p.metadata.namespace,
              name: p.metadata.name!,
            };
            exp.deleted(key, keyOf(cluster, p));
            await client.delete(ref, { preconditions: { uid: p.metadata.uid } }).catch((e: unknown) => {
              if (!isNotFound(e) && !isConflict(e)) throw e;
            });
            await events.record(
              cluster,
              rs,
              { type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${p.metadata.name}` },
              { dedupe: false },
            );
          }),
        );
      }
      const requeue = await writeStatus(cluster, rs, active, failure);
      if (failure) throw new Error(failure); // retry with backoff, as upstream does
      return requeue;
    },
  });

  async function writeStatus(
    cluster: string,
    rs: KObject,
    active: KObject[],
    failure: string | undefined,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const minReady = Number(rs.spec?.minReadySeconds ?? 0);
    const now = Date.now();
    const ready = active.filter(isPodReady);
    const available = active.filter((p) => isPodAvailable(p, minReady, now));
    const status: Record<string, any> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) =>
        mapMatches(rs.spec?.template?.metadata?.labels, p.metadata.labels),
      ).length,
      readyReplicas: ready.length,
      availableReplicas: available.length,
      observedGeneration: rs.metadata.generation,
    };
    let conditions = (rs.status?.conditions ?? []) as any[];
    if (failure)
      conditions = setCondition(conditions, {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: failure,
      });
    else conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    if (conditions.length) status.conditions = conditions;
    if (!jsonEqual(status, rs.status)) {
      await client.updateStatus(cluster, { ...structuredClone(rs), status }).catch((e: unknown) => {
        if (!isConflict(e) && !isNotFound(e)) throw e;
      });
    }
    // Ready but not yet available for minReadySeconds: look again when they will be.
    return ready.length > available.length ? { requeueAfterMs: 1000 } : undefined;
  }
}
