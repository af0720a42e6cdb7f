// Applies a catalog's rendered services into a cluster's kaas-system namespace: creates what is
// missing, updates what the catalog changed (by a hash of the rendered object, so an unchanged
// service costs reads only), prunes what no longer renders, and reports each service's health.
import { createHash } from 'node:crypto';
import type { KObject } from '@kaas/apiserver';
import { isAlreadyExists, isNotFound, type InProcessClient } from '@kaas/controllers';
import { stable } from './stable.ts';
import { managedByValue, serviceLabels, servicesNamespace, type RenderedService } from './catalog.ts';

export const appliedHashAnnotation = 'kaas.dev/applied-hash';

/** The kinds the applier prunes; a catalog renders nothing else. */
export const managedKinds = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
] as const;

export interface ServiceHealth {
  key: string;
  name: string;
  version: string;
  healthy: boolean;
  /** What is not yet healthy, or "healthy". */
  message: string;
}

export interface ApplyResult {
  /** Objects created or updated. */
  written: number;
  pruned: number;
  services: ServiceHealth[];
}

/** The object as the applier writes it: ownership labels and the hash of everything else. */
export function withOwnership(svc: RenderedService, obj: KObject): KObject {
  const out = structuredClone(obj);
  out.metadata.namespace = servicesNamespace;
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

/** Why a workload is not Available yet, or undefined when it is (other kinds are always fine). */
export function workloadProblem(obj: KObject): string | undefined {
  const s = (obj.status ?? {}) as Record<string, number | undefined>;
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const what = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
  const stale = (s.observedGeneration ?? 0) < (obj.metadata.generation ?? 0);
  switch (obj.kind) {
    case 'Deployment':
      if (!stale && conditionTrue(obj, 'Available')) return undefined;
      return `${what}: ${s.availableReplicas ?? 0} of ${spec.replicas ?? 1} available`;
    case 'StatefulSet':
      if (!stale && (s.readyReplicas ?? 0) >= (spec.replicas ?? 1)) return undefined;
      return `${what}: ${s.readyReplicas ?? 0} of ${spec.replicas ?? 1} ready`;
    case 'DaemonSet': {
      const want = s.desiredNumberScheduled ?? 0;
      if (!stale && want > 0 && (s.numberAvailable ?? 0) >= want) return undefined;
      return `${what}: ${s.numberAvailable ?? 0} of ${want} available`;
    }
    default:
      return undefined;
  }
}

async function ensureNamespace(client: InProcessClient, cluster: string): Promise<void> {
  try {
    await client.get({ cluster, apiVersion: 'v1', kind: 'Namespace', name: servicesNamespace });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client
      .create(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: servicesNamespace } })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }
}

/** Makes kaas-system of `cluster` hold exactly the rendered services; returns their health. */
export async function applyServices(
  client: InProcessClient,
  cluster: string,
  services: readonly RenderedService[],
): Promise<ApplyResult> {
  const result: ApplyResult = { written: 0, pruned: 0, services: [] };
  if (services.length > 0) await ensureNamespace(client, cluster);
  const wanted = new Set<string>();
  for (const svc of services) {
    const problems: string[] = [];
    for (const raw of svc.objects) {
      const desired = withOwnership(svc, raw);
      wanted.add(`${desired.kind}/${desired.metadata.name}`);
      const ref = {
        cluster,
        apiVersion: desired.apiVersion!,
        kind: desired.kind!,
        namespace: servicesNamespace,
        name: desired.metadata.name!,
      };
      let live: KObject | undefined;
      try {
        live = await client.get(ref);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!live) {
        live = await client.create(cluster, desired);
        result.written++;
      } else if (
        live.metadata.annotations?.[appliedHashAnnotation] !==
        desired.metadata.annotations?.[appliedHashAnnotation]
      ) {
        // a conflict throws: the reconcile is retried and re-reads
        live = await client.update(cluster, {
          ...desired,
          metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion },
        });
        result.written++;
      }
      const problem = workloadProblem(live);
      if (problem) problems.push(problem);
    }
    result.services.push({
      key: svc.key,
      name: svc.name,
      version: svc.version,
      healthy: problems.length === 0,
      message: problems.length ? problems.join('; ') : 'healthy',
    });
  }
  for (const k of managedKinds) {
    let items: KObject[];
    try {
      items = (
        await client.list({
          cluster,
          apiVersion: k.apiVersion,
          kind: k.kind,
          namespace: servicesNamespace,
          labels: { [serviceLabels.managedBy]: managedByValue },
        })
      ).items;
    } catch (e) {
      if (isNotFound(e)) continue;
      throw e;
    }
    for (const obj of items) {
      if (wanted.has(`${k.kind}/${obj.metadata.name}`)) continue;
      await client
        .delete({ cluster, ...k, namespace: servicesNamespace, name: obj.metadata.name! })
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      result.pruned++;
    }
  }
  return result;
}
