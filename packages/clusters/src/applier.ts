// Applies a catalog's rendered services into a cluster: creates what is missing, updates what the
// catalog changed (by a hash of the rendered object, so an unchanged service costs reads only),
// prunes what no longer renders (a service switched off, or an object a new version dropped), and
// reports each service's health: every workload Available with its rollout complete, plus the
// service's own readiness checks (endpoints answering, a load balancer address, a custom
// resource's phase). Objects may be namespaced in any of the catalog's namespaces or
// cluster-scoped; CRDs go first, and an object whose kind is not served yet waits a pass.
import { createHash, randomBytes } from 'node:crypto';
import { applyIsNoOp, type KObject } from '@kaas/apiserver';
import { ignoreNotFound, isAlreadyExists, isNotFound, type InProcessClient } from '@kaas/controllers';
import { stable } from './stable.ts';
import {
  generateKeysAnnotation,
  managedByValue,
  managedNamespaces,
  serviceLabels,
  servicesNamespace,
  type ReadinessCheck,
  type RenderedService,
} from './catalog.ts';

export const appliedHashAnnotation = 'kaas.dev/applied-hash';

/** The kinds the applier prunes (by the managed-by label); CRDs are never pruned. */
export const managedKinds = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation' },
  { apiVersion: 'velero.io/v1', kind: 'Schedule' },
] as const;

/** Cluster-scoped kinds the applier prunes. */
export const managedClusterKinds = [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration' },
  { apiVersion: 'v1', kind: 'Namespace' },
] as const;

export interface ServiceHealth {
  key: string;
  name: string;
  version: string;
  healthy: boolean;
  /** What is not yet healthy (which object, why), or "healthy". */
  message: string;
}

/** A service switched off whose objects this pass removed, and what went with it. */
export interface RemovedService {
  name: string;
  version: string;
  /** "disabled: removed 10 objects and the claims its StatefulSets made ...: PersistentVolumeClaim ..." */
  message: string;
}

export interface ApplyResult {
  /** Objects created or updated. */
  written: number;
  pruned: number;
  services: ServiceHealth[];
  /** services switched off that this pass pruned (empty once they are gone) */
  removed: RemovedService[];
}

/** The object as the applier writes it: ownership labels and the hash of everything else. */
export function withOwnership(svc: Pick<RenderedService, 'name' | 'version'>, obj: KObject): KObject {
  const out = structuredClone(obj);
  out.metadata.labels = {
    ...out.metadata.labels,
    [serviceLabels.managedBy]: managedByValue,
    [serviceLabels.service]: svc.name,
    [serviceLabels.version]: svc.version,
  };
  const hash = createHash('sha256').update(stable(out)).digest('hex').slice(0, 16);
  out.metadata.annotations = { ...out.metadata.annotations, [appliedHashAnnotation]: hash };
  return out;
}

const conditionTrue = (obj: KObject, type: string): boolean =>
  ((obj.status?.conditions as { type: string; status: string }[] | undefined) ?? []).some(
    (c) => c.type === type && c.status === 'True',
  );

/**
 * Why a workload is not Available with its rollout complete, or undefined when it is (other kinds
 * are always fine). A Deployment still rolling counts as not healthy even while old pods serve:
 * an upgrade is done when the new version runs, as `kubectl rollout status` says.
 */
export function workloadProblem(obj: KObject): string | undefined {
  const s = (obj.status ?? {}) as Record<string, number | undefined>;
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const what = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
  const stale = (s.observedGeneration ?? 0) < (obj.metadata.generation ?? 0);
  const want = spec.replicas ?? 1;
  switch (obj.kind) {
    case 'Deployment': {
      const updated = s.updatedReplicas ?? want;
      if (!stale && conditionTrue(obj, 'Available') && updated >= want && (s.replicas ?? want) <= updated)
        return undefined;
      if (!stale && conditionTrue(obj, 'Available') && updated < want)
        return `${what}: ${updated} of ${want} updated replicas (rollout in progress)`;
      return `${what}: ${s.availableReplicas ?? 0} of ${want} available`;
    }
    case 'StatefulSet':
      if (!stale && (s.readyReplicas ?? 0) >= want && (s.updatedReplicas ?? want) >= want) return undefined;
      return `${what}: ${s.readyReplicas ?? 0} of ${want} ready`;
    case 'DaemonSet': {
      const desired = s.desiredNumberScheduled ?? 0;
      if (
        !stale &&
        desired > 0 &&
        (s.numberAvailable ?? 0) >= desired &&
        (s.updatedNumberScheduled ?? desired) >= desired
      )
        return undefined;
      return `${what}: ${s.numberAvailable ?? 0} of ${desired} available`;
    }
    default:
      return undefined;
  }
}

/** Why the first unready pod of a workload is not ready (scheduling, image, ...), if a pod says. */
async function podDetail(client: InProcessClient, cluster: string, w: KObject): Promise<string | undefined> {
  const match = (w.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
  if (!Object.keys(match).length) return undefined;
  const pods = (
    await client.list({
      cluster,
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: w.metadata.namespace!,
      labels: match,
    })
  ).items.filter((p) => !conditionTrue(p, 'Ready'));
  const pod = pods[0];
  if (!pod) return undefined;
  const conds = (pod.status?.conditions ?? []) as { type: string; status: string; message?: string }[];
  const why = conds.find((c) => c.status === 'False' && c.message)?.message;
  return `pod ${pod.metadata.name} ${pod.status?.phase ?? 'Pending'}${why ? `: ${why}` : ''}`;
}

const isWorkload = (o: KObject) =>
  o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet';

async function readinessProblem(
  client: InProcessClient,
  cluster: string,
  c: ReadinessCheck,
): Promise<string | undefined> {
  switch (c.type) {
    case 'endpoints': {
      const slices = (
        await client.list({
          cluster,
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          namespace: c.namespace,
          labels: { 'kubernetes.io/service-name': c.service },
        })
      ).items;
      const ready = slices.some((s) =>
        ((s.endpoints ?? []) as { conditions?: { ready?: boolean } }[]).some(
          (e) => e.conditions?.ready !== false,
        ),
      );
      return ready ? undefined : `Service ${c.namespace}/${c.service}: no ready endpoint`;
    }
    case 'loadBalancer': {
      const svc = await client
        .get({ cluster, apiVersion: 'v1', kind: 'Service', namespace: c.namespace, name: c.service })
        .catch(ignoreNotFound);
      const ingress = (svc?.status?.loadBalancer?.ingress ?? []) as unknown[];
      return ingress.length ? undefined : `Service ${c.namespace}/${c.service}: no load balancer address yet`;
    }
    case 'phase': {
      const obj = await client
        .get({ cluster, apiVersion: c.apiVersion, kind: c.kind, namespace: c.namespace, name: c.name })
        .catch(ignoreNotFound);
      const phase = obj?.status?.phase as string | undefined;
      if (!obj) return `${c.kind} ${c.namespace}/${c.name}: missing`;
      return phase && c.failOn.includes(phase)
        ? `${c.kind} ${c.namespace}/${c.name}: phase ${phase}${obj.status?.message ? ` (${obj.status.message})` : ''}`
        : undefined;
    }
  }
}

async function ensureNamespace(client: InProcessClient, cluster: string, name: string): Promise<void> {
  try {
    await client.get({ cluster, apiVersion: 'v1', kind: 'Namespace', name });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client
      .create(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }
}

const keyOf = (o: { apiVersion?: string; kind?: string; metadata: { namespace?: string; name?: string } }) =>
  `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Secrets the catalog asks to generate: random values for the named keys, written once at creation. */
function generated(obj: KObject): KObject {
  const keys = obj.metadata.annotations?.[generateKeysAnnotation];
  if (obj.kind !== 'Secret' || !keys) return obj;
  const data: Record<string, string> = { ...(obj.data as Record<string, string> | undefined) };
  for (const k of keys.split(','))
    data[k] = Buffer.from(randomBytes(32).toString('base64url')).toString('base64');
  return { ...obj, data };
}

/** The field manager KaaS applies as: `kubectl apply --server-side` conflicts name it. */
export const fieldManager = 'kaas';

/**
 * Applies one object by server-side apply as `kaas`, forced: fields KaaS renders are KaaS's (a
 * user's change to one is set back on the next pass, and another applier's claim on it is taken
 * back), fields KaaS does not render (a label a user adds, what a controller sets) are left alone,
 * and fields KaaS rendered before and renders no more are removed. The server writes nothing when
 * the apply changes nothing, so an idle pass costs a read and a no-op apply per object. Returns
 * the live object (undefined when its kind is not served yet) and whether it wrote.
 */
async function applyOne(
  client: InProcessClient,
  cluster: string,
  desired: KObject,
): Promise<{ live?: KObject; wrote: boolean }> {
  let info;
  try {
    info = await client.resourceInfo(cluster, desired.apiVersion!, desired.kind!);
  } catch (e) {
    if (isNotFound(e)) return { wrote: false };
    throw e;
  }
  const ref = {
    cluster,
    apiVersion: desired.apiVersion!,
    kind: desired.kind!,
    ...(desired.metadata.namespace ? { namespace: desired.metadata.namespace } : {}),
    name: desired.metadata.name!,
  };
  const live = await client.get(ref).catch(ignoreNotFound);
  // generated secrets keep their values: created once, never rewritten
  if (live && desired.metadata.annotations?.[generateKeysAnnotation]) return { live, wrote: false };
  // what the server would find, here: when the apply changes nothing (an idle pass, the usual
  // case) the server's admission, validation and write path are not worth running
  if (
    live &&
    applyIsNoOp(live, desired, {
      fieldManager,
      kind: desired.kind!,
      ignoreStatus: info.subresources?.includes('status') ?? false,
    })
  )
    return { live, wrote: false };
  const r = await client.apply(cluster, live ? desired : generated(desired), { fieldManager, force: true });
  return {
    live: r.obj,
    wrote: r.created || r.obj.metadata.resourceVersion !== live?.metadata.resourceVersion,
  };
}

/** Makes the cluster hold exactly the rendered services' objects; returns their health. */
export async function applyServices(
  client: InProcessClient,
  cluster: string,
  services: readonly RenderedService[],
): Promise<ApplyResult> {
  const result: ApplyResult = { written: 0, pruned: 0, services: [], removed: [] };
  if (services.length > 0) await ensureNamespace(client, cluster, servicesNamespace);
  const wanted = new Set<string>();
  // a service that cannot render keeps what it runs
  const kept = new Set(services.filter((s) => s.problem).map((s) => s.name));
  // namespaces first (two services may render the same one: the first owns it), then CRDs
  const claimed = new Set<string>();
  const ordered = services.map((svc) => {
    const rank = (o: KObject) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
    const objects = svc.objects
      .filter((o) => {
        if (claimed.has(keyOf(o))) return false;
        claimed.add(keyOf(o));
        return true;
      })
      .map((o, i) => ({ o, i }))
      .sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i)
      .map((x) => x.o);
    return { svc, objects };
  });
  // every service's namespaces before any workload: a pod must never meet an unlabelled namespace
  const ensured = new Set<string>([servicesNamespace]);
  for (const { svc, objects } of ordered)
    for (const raw of objects.filter((o) => o.kind === 'Namespace')) {
      const desired = withOwnership(svc, raw);
      wanted.add(keyOf(desired));
      if ((await applyOne(client, cluster, desired)).wrote) result.written++;
      ensured.add(desired.metadata.name!);
    }
  for (const { svc, objects } of ordered) {
    const problems: string[] = svc.problem ? [svc.problem] : [];
    for (const raw of objects.filter((o) => o.kind !== 'Namespace')) {
      const desired = withOwnership(svc, raw);
      wanted.add(keyOf(desired));
      const ns = desired.metadata.namespace;
      if (ns && !ensured.has(ns)) {
        await ensureNamespace(client, cluster, ns);
        ensured.add(ns);
      }
      const { live, wrote } = await applyOne(client, cluster, desired);
      if (wrote) result.written++;
      if (!live) {
        problems.push(
          `${desired.kind} ${desired.metadata.name}: kind ${desired.apiVersion} ${desired.kind} not served yet`,
        );
        continue;
      }
      if (!isWorkload(live)) continue;
      const problem = workloadProblem(live);
      if (problem) {
        const detail = await podDetail(client, cluster, live);
        problems.push(detail ? `${problem} (${detail})` : problem);
      }
    }
    if (problems.length === 0)
      for (const check of svc.readiness) {
        const p = await readinessProblem(client, cluster, check);
        if (p) problems.push(p);
      }
    result.services.push({
      key: svc.key,
      name: svc.name,
      version: svc.version,
      healthy: problems.length === 0,
      message: problems.length ? problems.join('; ') : 'healthy',
    });
  }
  const removed = await prune(client, cluster, {
    wanted,
    kept,
    rendered: new Set(services.map((s) => s.name)),
  });
  result.pruned = removed.pruned;
  result.removed = removed.services;
  return result;
}

async function listManaged(
  client: InProcessClient,
  cluster: string,
  k: { apiVersion: string; kind: string },
  namespace?: string,
): Promise<KObject[]> {
  try {
    return (
      await client.list({
        cluster,
        apiVersion: k.apiVersion,
        kind: k.kind,
        ...(namespace ? { namespace } : {}),
        labels: { [serviceLabels.managedBy]: managedByValue },
      })
    ).items;
  } catch (e) {
    if (isNotFound(e)) return []; // a kind not served (no CRD): nothing of it to prune
    throw e;
  }
}

const claimRef = (cluster: string, namespace: string, name: string) => ({
  cluster,
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  namespace,
  name,
});

/**
 * The claims a StatefulSet's volumeClaimTemplates made (<template>-<statefulset>-<ordinal>, as
 * the StatefulSet controller names them); they carry no label of ours, so they are found by name.
 */
async function templateClaims(client: InProcessClient, cluster: string, sts: KObject): Promise<KObject[]> {
  const templates = ((sts.spec?.volumeClaimTemplates ?? []) as KObject[]).map((t) => t.metadata?.name);
  if (!templates.length) return [];
  const made = (name: string) =>
    templates.some((t) => {
      const prefix = `${t}-${sts.metadata.name}-`;
      return name.startsWith(prefix) && /^(0|[1-9]\d*)$/.test(name.slice(prefix.length));
    });
  const claims = await client.list({
    cluster,
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: sts.metadata.namespace!,
  });
  return claims.items.filter((c) => made(c.metadata.name ?? ''));
}

/**
 * Deletes managed objects that no rendered service wants (namespaces last: they take their
 * contents). A StatefulSet of a service switched off takes the claims its templates made (the
 * service's data: Loki's chunks); one that an upgrade drops leaves them, as upstream does.
 */
async function prune(
  client: InProcessClient,
  cluster: string,
  want: { wanted: ReadonlySet<string>; kept: ReadonlySet<string>; rendered: ReadonlySet<string> },
): Promise<{ pruned: number; services: RemovedService[] }> {
  let pruned = 0;
  const removed = new Map<string, { version: string; objects: number; claims: string[] }>();
  const del = async (ref: Parameters<InProcessClient['delete']>[0]) =>
    client.delete(ref).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  const drop = async (obj: KObject) => {
    const service = obj.metadata.labels?.[serviceLabels.service] ?? '';
    if (want.wanted.has(keyOf(obj)) || want.kept.has(service)) return;
    const disabled = !want.rendered.has(service);
    const r = removed.get(service) ?? {
      version: obj.metadata.labels?.[serviceLabels.version] ?? '',
      objects: 0,
      claims: [],
    };
    if (disabled) removed.set(service, r);
    // the claims first: a crash after them leaves the StatefulSet, and the next pass finds them again
    if (disabled && obj.kind === 'StatefulSet')
      for (const c of await templateClaims(client, cluster, obj)) {
        await del(claimRef(cluster, c.metadata.namespace!, c.metadata.name!));
        r.claims.push(`${c.metadata.namespace}/${c.metadata.name}`);
      }
    await del({
      cluster,
      apiVersion: obj.apiVersion!,
      kind: obj.kind!,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      name: obj.metadata.name!,
    });
    r.objects++;
    pruned++;
  };
  for (const ns of managedNamespaces)
    for (const k of managedKinds)
      for (const obj of await listManaged(client, cluster, k, ns))
        await drop({ ...obj, apiVersion: k.apiVersion, kind: k.kind });
  for (const k of managedClusterKinds)
    for (const obj of await listManaged(client, cluster, k))
      await drop({ ...obj, apiVersion: k.apiVersion, kind: k.kind });
  const services = [...removed].map(([name, r]) => ({
    name,
    version: r.version,
    message:
      `disabled: removed ${r.objects} object${r.objects === 1 ? '' : 's'}` +
      (r.claims.length
        ? ` and the claims its StatefulSets made, with their data (a disabled service's data goes; an upgrade keeps it): PersistentVolumeClaim ${r.claims.join(', ')}`
        : ''),
  }));
  return { pruned, services };
}
