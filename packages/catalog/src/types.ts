// The catalog's vocabulary: what a service module renders and what the applier in @kaas/clusters
// consumes (objects, readiness checks, declared pod-security exceptions).
import type { Cluster, ManagedService } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import type { ServiceRelease } from './versions.ts';

/**
 * A pod template that does not pass Pod Security "restricted", and why. The grant is the
 * namespace's pod-security label, which only the operator (the applier, in-process) may set; the
 * declaration is what `kaasctl cluster validate` lists and what the tests hold every template to.
 */
export interface PodSecurityException {
  service: string;
  kind: string;
  namespace: string;
  name: string;
  /** The PodSecurity "restricted" check ids the template breaks, as checkPod reports them (hostNamespaces, restrictedVolumes for hostPath, ...). */
  allows: readonly string[];
  reason: string;
}

/** What must hold besides every workload being Available for the service to count as ready. */
export type ReadinessCheck =
  /** The Service has at least one ready endpoint (its pods answer). */
  | { type: 'endpoints'; namespace: string; service: string }
  /** The Service of type LoadBalancer has an address. */
  | { type: 'loadBalancer'; namespace: string; service: string }
  /** A custom resource's status.phase is not one of `failOn` (e.g. a Velero BackupStorageLocation). */
  | {
      type: 'phase';
      apiVersion: string;
      kind: string;
      namespace: string;
      name: string;
      failOn: readonly string[];
    };

export interface RenderedService {
  /** The managed service key of spec.services (ingressNginx, monitoring, ...). */
  key: ManagedService;
  /** Its name as users see it (ingress-nginx, velero, ...). */
  name: string;
  version: string;
  /** Every object, each with its namespace (cluster-scoped ones without); the applier adds ownership labels. */
  objects: KObject[];
  readiness: ReadinessCheck[];
  podSecurityExceptions: PodSecurityException[];
  /** Why the service cannot render (an unknown pinned version): the applier reports it unhealthy and keeps what runs. */
  problem?: string;
}

export interface ServiceCatalog {
  /** Every enabled service of the cluster, rendered. Pure: the same Cluster gives the same objects. */
  render(cluster: Cluster): RenderedService[];
}

/** What a module gets: the cluster, the release to render and the namespaces the catalog chose. */
export interface RenderContext {
  cluster: Cluster;
  release: ServiceRelease;
  /** The service's own namespace: kaas-system (ingress-nginx on EKS: ingress-nginx). */
  namespace: string;
  /** Where node-level agents run (hostPath, host namespaces): see namespaces.ts. */
  nodeNamespace: string;
  /** Whether another service of the cluster is enabled (Grafana adds Loki's datasource, ...). */
  enabled(key: ManagedService): boolean;
  /** The namespace another service's objects live in. */
  namespaceOf(key: ManagedService): string;
}

export interface ServiceOutput {
  objects: KObject[];
  readiness?: ReadinessCheck[];
  podSecurityExceptions?: PodSecurityException[];
}

export interface ServiceModule {
  key: ManagedService;
  render(ctx: RenderContext): ServiceOutput;
}
