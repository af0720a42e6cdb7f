// Small builders every service module shares: labels, the restricted security contexts, and the
// conversion from kubernetes-models' typed objects (checked by the compiler against upstream's
// OpenAPI types) to the plain objects the applier writes.
import type { KObject } from '@kaas/apiserver';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';

/** A kubernetes-models object, or anything with the same shape. */
export function plain(model: { toJSON(): unknown } | Record<string, unknown>): KObject {
  const json = typeof model.toJSON === 'function' ? (model as { toJSON(): unknown }).toJSON() : model;
  return JSON.parse(JSON.stringify(json)) as KObject;
}

/** The recommended labels; `app.kubernetes.io/name` + `instance` select a workload's pods. */
export function appLabels(service: string, component: string, version: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': service,
    'app.kubernetes.io/part-of': 'kaas',
    'app.kubernetes.io/version': version,
  };
}

export function selectorLabels(service: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': service };
}

/** Pod-level restricted settings: a non-root UID, RuntimeDefault seccomp, fsGroup for volumes. */
export function restrictedPod(uid: number, gid = uid): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Container-level restricted settings. `readOnlyRootFilesystem` is not part of Pod Security
 * "restricted"; the modules set it wherever the software allows, with emptyDirs for its writable paths.
 */
export function restrictedContainer(o: { readOnlyRootFilesystem: boolean }): ISecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: o.readOnlyRootFilesystem,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** emptyDir volumes and their mounts for a container's writable paths. */
export function scratch(paths: Record<string, string>): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  const entries = Object.entries(paths);
  return {
    volumes: entries.map(([name]) => ({ name, emptyDir: {} })),
    mounts: entries.map(([name, mountPath]) => ({ name, mountPath })),
  };
}

export function resources(cpu: string, memory: string, memoryLimit: string): IContainer['resources'] {
  return { requests: { cpu, memory }, limits: { memory: memoryLimit } };
}

/** A TCP readiness probe on a named port, or an HTTP GET on a path. */
export function httpProbe(path: string, port: string | number): IContainer['readinessProbe'] {
  return { httpGet: { path, port }, periodSeconds: 10, failureThreshold: 3 };
}
