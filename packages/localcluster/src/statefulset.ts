// The StatefulSet controller: pods <name>-0..N-1 with stable names and hostnames, one claim per
// volumeClaimTemplate and ordinal (<template>-<name>-<i>), created in order (OrderedReady waits
// for each pod to be Running and Ready; Parallel does not), removed from the highest ordinal,
// and a RollingUpdate that replaces pods from the highest ordinal down to the partition.
import type { KObject } from '@kaas/apiserver';
import {
  formatKey,
  isAlreadyExists,
  isConflict,
  isNotFound,
  ownerKeys,
  parseObjectKey,
} from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { isPodAvailable, podFromTemplate } from './pods.ts';
import { isPodActive, isPodReady, jsonEqual, ownerReference, shortHash } from './util.ts';
import { revisionHashLabel } from './daemonset.ts';

export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

export function ordinalOf(sts: KObject, pod: KObject): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export const claimName = (template: KObject, sts: KObject, i: number) =>
  `${template.metadata?.name}-${sts.metadata.name}-${i}`;

function statefulPod(sts: KObject, i: number, revision: string): KObject {
  const name = `${sts.metadata.name}-${i}`;
  const pod = podFromTemplate(sts, sts.spec.template, {
    name,
    labels: { [revisionHashLabel]: revision, [podNameLabel]: name, [podIndexLabel]: String(i) },
  });
  pod.spec.hostname = name;
  if (sts.spec.serviceName) pod.spec.subdomain = sts.spec.serviceName;
  const claims = (sts.spec.volumeClaimTemplates ?? []) as KObject[];
  if (claims.length) {
    const names = new Set(claims.map((c) => c.metadata?.name));
    pod.spec.volumes = [
      ...((pod.spec.volumes ?? []) as any[]).filter((v) => !names.has(v.name)),
      ...claims.map((c) => ({
        name: c.metadata.name,
        persistentVolumeClaim: { claimName: claimName(c, sts, i) },
      })),
    ];
  }
  return pod;
}

export function addStatefulSetController(ctx: Ctx): void {
  const { inf, client } = ctx;
  const events = ctx.events('statefulset-controller');

  ctx.manager.add({
    name: 'localcluster-statefulsets',
    workers: 4,
    watches: [
      { informer: inf.statefulsets },
      { informer: inf.pods, keys: ownerKeys({ apiVersion: 'apps/v1', kind: 'StatefulSet' }) },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const sts = inf.statefulsets.get(key);
      if (!sts || sts.metadata.deletionTimestamp) return;
      try {
        await sync(cluster, sts);
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });

  async function ensureClaims(cluster: string, sts: KObject, i: number): Promise<void> {
    const ns = sts.metadata.namespace!;
    for (const t of (sts.spec.volumeClaimTemplates ?? []) as KObject[]) {
      const name = claimName(t, sts, i);
      if (inf.pvcs.get(formatKey({ cluster, namespace: ns, name }))) continue;
      const deleteWithSet = sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
      const pvc: KObject = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(sts.spec.selector?.matchLabels ?? {}), ...(t.metadata?.labels ?? {}) },
          ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
          ...(deleteWithSet
            ? { ownerReferences: [{ ...ownerReference(sts), controller: false } as any] }
            : {}),
        },
        spec: structuredClone(t.spec ?? {}),
      };
      try {
        await client.create(cluster, pvc);
        await events.record(
          cluster,
          sts,
          {
            type: 'Normal',
            reason: 'SuccessfulCreate',
            message: `create Claim ${name} Pod ${sts.metadata.name}-${i} in StatefulSet ${sts.metadata.name} success`,
          },
          { dedupe: false },
        );
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
  }

  async function deletePod(cluster: string, sts: KObject, p: KObject): Promise<void> {
    await client
      .delete(
        { cluster, apiVersion: 'v1', kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name! },
        { preconditions: { uid: p.metadata.uid } },
      )
      .catch((e: unknown) => {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      });
    await events.record(
      cluster,
      sts,
      {
        type: 'Normal',
        reason: 'SuccessfulDelete',
        message: `delete Pod ${p.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
      },
      { dedupe: false },
    );
  }

  async function sync(cluster: string, sts: KObject): Promise<void> {
    const ns = sts.metadata.namespace!;
    const replicas = Number(sts.spec.replicas ?? 1);
    const parallel = sts.spec.podManagementPolicy === 'Parallel';
    const revision = `${sts.metadata.name}-${shortHash(sts.spec.template)}`;
    const owned = inf.pods.byIndex(idx.owner, `${cluster}/${ns}/${sts.metadata.uid}`);
    const byOrdinal = new Map<number, KObject>();
    for (const p of owned) {
      const i = ordinalOf(sts, p);
      if (i !== undefined) byOrdinal.set(i, p);
    }
    const healthy = (p: KObject | undefined) =>
      !!p && isPodActive(p) && p.status?.phase === 'Running' && isPodReady(p);
    // Create (or replace failed) pods in order.
    for (let i = 0; i < replicas; i++) {
      const p = byOrdinal.get(i);
      if (p && (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) {
        await deletePod(cluster, sts, p);
        if (!parallel) break;
        continue;
      }
      if (!p) {
        await ensureClaims(cluster, sts, i);
        try {
          await client.create(cluster, statefulPod(sts, i, revision));
          await events.record(
            cluster,
            sts,
            {
              type: 'Normal',
              reason: 'SuccessfulCreate',
              message: `create Pod ${sts.metadata.name}-${i} in StatefulSet ${sts.metadata.name} successful`,
            },
            { dedupe: false },
          );
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        if (!parallel) break;
        continue;
      }
      if (!parallel && !healthy(p)) break;
    }
    // Scale down from the highest ordinal.
    const extra = [...byOrdinal]
      .filter(([i, p]) => i >= replicas && !p.metadata.deletionTimestamp)
      .sort((a, b) => b[0] - a[0]);
    const allHealthy = Array.from({ length: replicas }, (_, i) => byOrdinal.get(i)).every(healthy);
    for (const [, p] of parallel ? extra : extra.slice(0, allHealthy ? 1 : 0))
      await deletePod(cluster, sts, p);
    // Rolling update from the highest ordinal, one pod at a time, once all are healthy.
    const strategy = sts.spec.updateStrategy ?? {};
    if ((strategy.type ?? 'RollingUpdate') === 'RollingUpdate' && allHealthy && extra.length === 0) {
      const partition = Number(strategy.rollingUpdate?.partition ?? 0);
      for (let i = replicas - 1; i >= partition; i--) {
        const p = byOrdinal.get(i);
        if (p && p.metadata.labels?.[revisionHashLabel] !== revision) {
          await deletePod(cluster, sts, p);
          break;
        }
      }
    }
    // Status.
    const active = owned.filter(isPodActive);
    const updated = active.filter((p) => p.metadata.labels?.[revisionHashLabel] === revision).length;
    let current = String(sts.status?.currentRevision ?? revision);
    if (updated === replicas && active.length === replicas) current = revision;
    const now = Date.now();
    const minReady = Number(sts.spec.minReadySeconds ?? 0);
    const status: Record<string, any> = {
      observedGeneration: sts.metadata.generation,
      replicas: active.length,
      readyReplicas: active.filter(isPodReady).length,
      currentReplicas: active.filter((p) => p.metadata.labels?.[revisionHashLabel] === current).length,
      updatedReplicas: updated,
      currentRevision: current,
      updateRevision: revision,
      collisionCount: 0,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
    };
    if (!jsonEqual(status, sts.status))
      await client.updateStatus(cluster, { ...structuredClone(sts), status });
  }
}

/** The key of a StatefulSet's pod (for tests). */
export const statefulPodKey = (cluster: string, sts: KObject, i: number) =>
  keyOf(cluster, { metadata: { namespace: sts.metadata.namespace, name: `${sts.metadata.name}-${i}` } });
