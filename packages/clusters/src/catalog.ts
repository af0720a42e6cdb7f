// Managed services as data: @kaas/catalog renders, per enabled service of a Cluster, the typed
// Kubernetes objects that make it up; the applier (applier.ts) writes them with ownership labels,
// prunes what is no longer rendered and reports health. This file re-exports the catalog's
// vocabulary for the reconciler and names the ownership labels the applier writes.
import { defaultCatalog, type ServiceCatalog } from '@kaas/catalog';

export {
  servicesNamespace,
  nodeAgentsNamespace,
  managedNamespaces,
  generateKeysAnnotation,
  serviceReleases,
  defaultVersion,
} from '@kaas/catalog';
export type { ServiceCatalog, RenderedService, ReadinessCheck, PodSecurityException } from '@kaas/catalog';

export const serviceLabels = {
  managedBy: 'kaas.dev/managed-by',
  service: 'kaas.dev/service',
  version: 'kaas.dev/service-version',
} as const;
export const managedByValue = 'kaas';

/** The catalog the reconciler uses unless given another (@kaas/catalog's). */
export const builtinCatalog: ServiceCatalog = defaultCatalog;
