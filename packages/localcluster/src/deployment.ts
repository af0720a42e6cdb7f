// The Deployment controller: one ReplicaSet per pod template (named and labelled by its
// pod-template-hash), rolled out by RollingUpdate (maxSurge/maxUnavailable) or Recreate, with
// upstream's revision annotation, status fields and Available/Progressing conditions, so
// `kubectl get deploy` and `kubectl rollout status` read it as they read upstream's.
import type { KObject } from '@kaas/apiserver';
import { isAlreadyExists, isConflict, isNotFound, ownerKeys, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { isPodAvailable } from './pods.ts';
import {
  controllerRef,
  intOrPercent,
  isPodActive,
  jsonEqual,
  ownerReference,
  nowISO,
  setCondition,
  shortHash,
} from './util.ts';

export const templateHashLabel = 'pod-template-hash';
export const revisionAnnotation = 'deployment.kubernetes.io/revision';
const desiredAnnotation = 'deployment.kubernetes.io/desired-replicas';
const maxAnnotation = 'deployment.kubernetes.io/max-replicas';

export function templateHash(template: unknown): string {
  return shortHash(template);
}

const revisionOf = (rs: KObject) => Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0) || 0;
const specReplicas = (rs: KObject) => Number(rs.spec?.replicas ?? 0);

export interface RolloutState {
  /** Desired spec.replicas of the Deployment. */
  replicas: number;
  strategy: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } };
  newRS: { name: string; spec: number; available: number };
  /** Old ReplicaSets, oldest first. */
  olds: { name: string; spec: number; available: number; pods: number }[];
}

/** New spec.replicas per ReplicaSet name (only those that change). Pure: table-tested. */
export function planRollout(s: RolloutState): Map<string, number> {
  const out = new Map<string, number>();
  const { replicas, newRS, olds } = s;
  if (s.strategy.type === 'Recreate') {
    const live = olds.filter((o) => o.spec > 0);
    if (live.length) {
      for (const o of live) out.set(o.name, 0);
      return out;
    }
    if (olds.some((o) => o.pods > 0)) return out; // wait for the old pods to go
    if (newRS.spec !== replicas) out.set(newRS.name, replicas);
    return out;
  }
  const ru = s.strategy.rollingUpdate ?? {};
  const surge = intOrPercent(ru.maxSurge ?? '25%', replicas, true);
  let unavailable = intOrPercent(ru.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  const total = newRS.spec + olds.reduce((n, o) => n + o.spec, 0);
  // Scale the new ReplicaSet up within maxSurge (or down, when the Deployment was scaled down).
  if (newRS.spec > replicas) {
    out.set(newRS.name, replicas);
    return out;
  }
  if (newRS.spec < replicas) {
    const room = replicas + surge - total;
    if (room > 0) {
      out.set(newRS.name, Math.min(newRS.spec + room, replicas));
      return out;
    }
  }
  // Scale old ReplicaSets down, never below minAvailable: first their unavailable pods, then
  // as many available ones as the new ReplicaSet's available pods allow.
  const minAvailable = replicas - unavailable;
  const specs = new Map(olds.map((o) => [o.name, o.spec]));
  let cleanup = total - minAvailable - (newRS.spec - newRS.available);
  for (const o of olds) {
    if (cleanup <= 0) break;
    const unhealthy = Math.max(0, o.spec - o.available);
    const down = Math.min(unhealthy, cleanup);
    if (down > 0) specs.set(o.name, o.spec - down);
    cleanup -= down;
  }
  const allAvailable =
    newRS.available + olds.reduce((n, o) => n + Math.min(o.available, specs.get(o.name)!), 0);
  let scaleDown = allAvailable - minAvailable;
  for (const o of olds) {
    if (scaleDown <= 0) break;
    const cur = specs.get(o.name)!;
    const down = Math.min(cur, scaleDown);
    specs.set(o.name, cur - down);
    scaleDown -= down;
  }
  for (const o of olds) if (specs.get(o.name) !== o.spec) out.set(o.name, specs.get(o.name)!);
  return out;
}

export function addDeploymentController(ctx: Ctx): void {
  const { inf, client } = ctx;
  const events = ctx.events('deployment-controller');

  // A pod's change reaches its ReplicaSet's Deployment (its availability drives the rollout).
  const podToDeployment = (e: { cluster: string; obj: KObject }): string[] => {
    const r = controllerRef(e.obj);
    if (r?.kind !== 'ReplicaSet') return [];
    const rs = inf.replicasets.get(`${e.cluster}/${e.obj.metadata.namespace}/${r.name}`);
    const d = rs && controllerRef(rs);
    return d?.kind === 'Deployment' ? [`${e.cluster}/${e.obj.metadata.namespace}/${d.name}`] : [];
  };

  ctx.manager.add({
    name: 'localcluster-deployments',
    workers: 4,
    watches: [
      { informer: inf.deployments },
      { informer: inf.replicasets, keys: ownerKeys({ apiVersion: 'apps/v1', kind: 'Deployment' }) },
      { informer: inf.pods, keys: podToDeployment },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const d = inf.deployments.get(key);
      if (!d || d.metadata.deletionTimestamp) return;
      try {
        return await sync(cluster, d);
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });

  async function sync(cluster: string, d: KObject): Promise<{ requeueAfterMs: number } | undefined> {
    const ns = d.metadata.namespace!;
    const all = inf.replicasets
      .byIndex(idx.owner, `${cluster}/${ns}/${d.metadata.uid}`)
      .filter((rs) => !rs.metadata.deletionTimestamp);
    const hash = templateHash(d.spec.template);
    let newRS = all.find((rs) => rs.metadata.labels?.[templateHashLabel] === hash);
    const olds = all
      .filter((rs) => rs !== newRS)
      .sort(
        (a, b) => revisionOf(a) - revisionOf(b) || String(a.metadata.name).localeCompare(b.metadata.name!),
      );
    const maxOld = olds.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const replicas = Number(d.spec.replicas ?? 1);
    const minReady = Number(d.spec.minReadySeconds ?? 0);
    const now = Date.now();
    const podsOf = (rs: KObject) =>
      inf.pods.byIndex(idx.owner, `${cluster}/${ns}/${rs.metadata.uid}`).filter(isPodActive);
    // Available pods of a ReplicaSet, at most its spec: pods it is about to delete do not count.
    const availableOf = (rs: KObject) =>
      Math.min(podsOf(rs).filter((p) => isPodAvailable(p, minReady, now)).length, specReplicas(rs));
    let created = false;
    if (!newRS) {
      const plan = planRollout({
        replicas,
        strategy: d.spec.strategy ?? {},
        newRS: { name: '', spec: 0, available: 0 },
        olds: olds.map((rs) => ({
          name: rs.metadata.name!,
          spec: specReplicas(rs),
          available: availableOf(rs),
          pods: podsOf(rs).length,
        })),
      });
      const template = structuredClone(d.spec.template);
      template.metadata = {
        ...(template.metadata ?? {}),
        labels: { ...(template.metadata?.labels ?? {}), [templateHashLabel]: hash },
      };
      const rs: KObject = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: template.metadata.labels,
          annotations: {
            [revisionAnnotation]: String(maxOld + 1),
            [desiredAnnotation]: String(replicas),
            [maxAnnotation]: String(
              replicas + intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? 0, replicas, true),
            ),
          },
          ownerReferences: [ownerReference(d) as any],
        },
        spec: {
          replicas: plan.get('') ?? 0,
          minReadySeconds: minReady,
          selector: {
            ...structuredClone(d.spec.selector),
            matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [templateHashLabel]: hash },
          },
          template,
        },
      };
      try {
        newRS = await client.create(cluster, rs);
        created = true;
        await events.record(
          cluster,
          d,
          {
            type: 'Normal',
            reason: 'ScalingReplicaSet',
            message: `Scaled up replica set ${rs.metadata.name} from 0 to ${rs.spec.replicas}`,
          },
          { dedupe: false },
        );
      } catch (e) {
        if (isAlreadyExists(e)) return; // the cache is behind: its event brings us back
        throw e;
      }
    } else {
      if (revisionOf(newRS) <= maxOld) {
        // A rollback to an older template: it becomes the newest revision again.
        newRS = await client.patch(
          { cluster, apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns, name: newRS.metadata.name! },
          { metadata: { annotations: { [revisionAnnotation]: String(maxOld + 1) } } },
        );
      }
      if (!d.spec.paused) {
        const plan = planRollout({
          replicas,
          strategy: d.spec.strategy ?? {},
          newRS: { name: newRS.metadata.name!, spec: specReplicas(newRS), available: availableOf(newRS) },
          olds: olds.map((rs) => ({
            name: rs.metadata.name!,
            spec: specReplicas(rs),
            available: availableOf(rs),
            pods: podsOf(rs).length,
          })),
        });
        for (const [name, n] of plan) {
          const rs = all.find((r) => r.metadata.name === name)!;
          await client.patch(
            { cluster, apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns, name },
            {
              metadata: {
                resourceVersion: rs.metadata.resourceVersion,
                annotations: { [desiredAnnotation]: String(replicas) },
              },
              spec: { replicas: n },
            },
          );
          const from = specReplicas(rs);
          await events.record(
            cluster,
            d,
            {
              type: 'Normal',
              reason: 'ScalingReplicaSet',
              message: `Scaled ${n > from ? 'up' : 'down'} replica set ${name} from ${from} to ${n}`,
            },
            { dedupe: false },
          );
        }
      }
      await cleanupHistory(cluster, d, olds, podsOf);
    }
    return writeStatus(cluster, d, newRS, olds, created);
  }

  async function cleanupHistory(
    cluster: string,
    d: KObject,
    olds: KObject[],
    podsOf: (rs: KObject) => KObject[],
  ): Promise<void> {
    const limit = Number(d.spec.revisionHistoryLimit ?? 10);
    const idle = olds.filter(
      (rs) => specReplicas(rs) === 0 && !rs.status?.replicas && podsOf(rs).length === 0,
    );
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      await client
        .delete(
          {
            cluster,
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            namespace: rs.metadata.namespace,
            name: rs.metadata.name!,
          },
          { preconditions: { uid: rs.metadata.uid } },
        )
        .catch((e: unknown) => {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        });
    }
  }

  async function writeStatus(
    cluster: string,
    d: KObject,
    newRS: KObject,
    olds: KObject[],
    created: boolean,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const all = [newRS, ...olds];
    const sum = (f: (rs: KObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const replicas = Number(d.spec.replicas ?? 1);
    const st = (rs: KObject, f: string) => Number(rs.status?.[f] ?? 0);
    const available = sum((rs) => st(rs, 'availableReplicas'));
    const status: Record<string, any> = {
      observedGeneration: d.metadata.generation,
      replicas: sum((rs) => st(rs, 'replicas')),
      updatedReplicas: st(newRS, 'replicas'),
      readyReplicas: sum((rs) => st(rs, 'readyReplicas')),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(specReplicas) - available),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    const ru = d.spec.strategy?.rollingUpdate ?? {};
    const maxUnavailable =
      d.spec.strategy?.type === 'Recreate' ? 0 : intOrPercent(ru.maxUnavailable ?? '25%', replicas, false);
    const stamps = ['lastUpdateTime', 'lastTransitionTime'] as const;
    let conditions = setCondition(
      d.status?.conditions,
      available >= replicas - maxUnavailable
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      stamps,
    );
    const name = newRS.metadata.name;
    const complete =
      status.updatedReplicas === replicas &&
      status.replicas === replicas &&
      status.availableReplicas >= replicas &&
      specReplicas(newRS) === replicas;
    // Progress as upstream measures it: more updated, ready or available pods, or fewer old
    // ones, refresh lastUpdateTime; no progress for progressDeadlineSeconds times out.
    const prev = (d.status?.conditions ?? []).find((c: any) => c.type === 'Progressing');
    const old = d.status ?? {};
    const progressed =
      status.updatedReplicas > (old.updatedReplicas ?? 0) ||
      status.readyReplicas > (old.readyReplicas ?? 0) ||
      status.availableReplicas > (old.availableReplicas ?? 0) ||
      status.replicas - status.updatedReplicas < (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
    const deadlineMs = Number(d.spec.progressDeadlineSeconds ?? 600) * 1000;
    let requeueAfterMs: number | undefined;
    if (complete) {
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${name}" has successfully progressed.`,
        },
        stamps,
      );
    } else if (created || progressed || !prev || prev.reason === 'NewReplicaSetAvailable') {
      const now = nowISO();
      const c = created
        ? { reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }
        : { reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` };
      const same = prev?.status === 'True';
      conditions = [
        ...conditions.filter((x) => x.type !== 'Progressing'),
        {
          type: 'Progressing',
          status: 'True',
          ...c,
          lastUpdateTime: now,
          lastTransitionTime: same && prev.lastTransitionTime ? prev.lastTransitionTime : now,
        },
      ];
      requeueAfterMs = deadlineMs;
    } else if (prev.status === 'True') {
      const since = Date.parse(prev.lastUpdateTime ?? prev.lastTransitionTime ?? '');
      const left = since + deadlineMs - Date.now();
      if (Number.isFinite(left) && left <= 0)
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${name}" has timed out progressing.`,
          },
          stamps,
        );
      else requeueAfterMs = Number.isFinite(left) ? left + 10 : deadlineMs;
    }
    // Upstream lists Available first, then Progressing.
    status.conditions = ['Available', 'Progressing']
      .map((t) => conditions.find((c) => c.type === t)!)
      .concat(conditions.filter((c) => c.type !== 'Available' && c.type !== 'Progressing'));
    const ref = {
      cluster,
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: d.metadata.namespace,
      name: d.metadata.name!,
    };
    const revision = newRS.metadata.annotations?.[revisionAnnotation];
    if (revision && d.metadata.annotations?.[revisionAnnotation] !== revision) {
      await client.patch(ref, { metadata: { annotations: { [revisionAnnotation]: revision } } });
    }
    if (!jsonEqual(status, d.status)) {
      await client.updateStatus(cluster, { ...structuredClone(d), status });
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }
}

/** The Deployment a ReplicaSet key belongs to (for tests and tools). */
export const deploymentKeyOf = (cluster: string, rs: KObject): string | undefined => {
  const r = controllerRef(rs);
  return r?.kind === 'Deployment'
    ? keyOf(cluster, { metadata: { namespace: rs.metadata.namespace, name: r.name } })
    : undefined;
};
