// Per-kind behaviour that upstream keeps in each type's "strategy": what create resets, which
// fields a status write may touch, and the few defaults clients rely on when reading back.
import { randomInt } from 'node:crypto';
import type { ResourceInfo } from '../registry/types.ts';
import type { KObject } from './objects.ts';

export function hasStatusSubresource(info: ResourceInfo): boolean {
  return info.subresources?.includes('status') ?? false;
}

const unset = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Upstream's defaulting for pod specs, wherever one sits (pods and workload templates). An empty
 * string counts as unset: protobuf clients send Go's zero values for non-pointer fields.
 */
export function defaultPodSpec(spec: Record<string, any> | undefined): void {
  if (!spec || typeof spec !== 'object') return;
  if (unset(spec.restartPolicy)) spec.restartPolicy = 'Always';
  if (unset(spec.dnsPolicy)) spec.dnsPolicy = 'ClusterFirst';
  if (unset(spec.schedulerName)) spec.schedulerName = 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const list of ['containers', 'initContainers']) {
    for (const c of (spec[list] ?? []) as Record<string, any>[]) {
      if (unset(c.imagePullPolicy)) {
        const image = String(c.image ?? '');
        const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
        c.imagePullPolicy = tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
      }
      if (unset(c.terminationMessagePath)) c.terminationMessagePath = '/dev/termination-log';
      if (unset(c.terminationMessagePolicy)) c.terminationMessagePolicy = 'File';
      for (const p of (c.ports ?? []) as Record<string, any>[]) if (unset(p.protocol)) p.protocol = 'TCP';
    }
  }
}

function templateSpec(obj: KObject): Record<string, any> | undefined {
  return obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec;
}

export function prepareForCreate(info: ResourceInfo, obj: KObject, now: string): void {
  const gk = `${info.group}/${info.kind}`;
  switch (gk) {
    case '/Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
      obj.status = { phase: 'Active' };
      obj.metadata.labels = {
        ...(obj.metadata.labels ?? {}),
        'kubernetes.io/metadata.name': obj.metadata.name!,
      };
      return;
    case '/Pod':
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      defaultPodSpec((obj.spec ??= {}));
      return;
    case '/Service': {
      const spec = (obj.spec ??= {});
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
        // Cluster IPs come from the documentation-free 10.96.0.0/12 service range, as kubeadm's default.
        spec.clusterIP = `10.96.${randomInt(0, 256)}.${randomInt(1, 255)}`;
        spec.clusterIPs = [spec.clusterIP];
      }
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      obj.status = { loadBalancer: {} };
      return;
    }
    case 'apps/Deployment': {
      const spec = (obj.spec ??= {});
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      if (!spec.strategy || unset(spec.strategy.type))
        spec.strategy = { ...(spec.strategy ?? {}), type: 'RollingUpdate' };
      if (spec.strategy.type === 'RollingUpdate')
        spec.strategy.rollingUpdate ??= { maxSurge: '25%', maxUnavailable: '25%' };
      defaultPodSpec(templateSpec(obj));
      obj.status = {};
      return;
    }
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
      (obj.spec ??= {}).replicas ??= 1;
      defaultPodSpec(templateSpec(obj));
      obj.status = { replicas: 0 };
      return;
    case 'apps/DaemonSet':
    case 'batch/Job':
    case 'batch/CronJob':
      defaultPodSpec(templateSpec(obj));
      if (hasStatusSubresource(info)) delete obj.status;
      return;
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), crdCleanupFinalizer])];
      obj.status = crdStatus(obj, now);
      return;
    default:
      if (hasStatusSubresource(info) && obj.status !== undefined) delete obj.status;
  }
}

export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

/**
 * A CRD's names are accepted and it is established as soon as it is stored: this server serves
 * its kinds synchronously, so there is no window in which they would not be.
 */
function crdStatus(crd: KObject, now: string): Record<string, unknown> {
  const versions = (crd.spec?.versions ?? []) as { name: string; storage?: boolean }[];
  const storage = versions.find((v) => v.storage)?.name;
  const prev = (crd.status?.storedVersions ?? []) as string[];
  return {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
    acceptedNames: crd.spec?.names ?? {},
    storedVersions: [...new Set([...prev, ...(storage ? [storage] : [])])],
  };
}

/** Status the server itself maintains on update (kinds whose status no controller writes). */
export function prepareForUpdate(info: ResourceInfo, next: KObject, current: KObject): void {
  if (info.group === 'apiextensions.k8s.io' && info.kind === 'CustomResourceDefinition') {
    const conds = (current.status?.conditions ?? []) as { lastTransitionTime?: string }[];
    const at = conds[0]?.lastTransitionTime ?? new Date().toISOString();
    next.status = crdStatus({ ...next, status: current.status }, at);
  }
}

/** Spec-ish content for generation bumps: everything but metadata and status. */
export function specOf(obj: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}
