// @kaas/catalog: the managed services as typed Kubernetes objects, one versioned module per
// service, every image pinned in versions.ts; restricted Pod Security by default with each
// exception declared where it is made. @kaas/clusters applies what it renders.
export { createCatalog, defaultCatalog, serviceModules } from './catalog.ts';
export type { CatalogOptions } from './catalog.ts';
export type {
  RenderedService,
  ServiceCatalog,
  ReadinessCheck,
  PodSecurityException,
  RenderContext,
  ServiceModule,
  ServiceOutput,
} from './types.ts';
export { serviceReleases, defaultVersion, findRelease, imageOf, kaasVersion } from './versions.ts';
export type { ServiceRelease, ServiceComponent } from './versions.ts';
export {
  servicesNamespace,
  nodeAgentsNamespace,
  eksIngressNamespace,
  managedNamespaces,
  namespaceFor,
} from './namespaces.ts';
export { validateObject, modelFor } from './models.ts';
export { generateKeysAnnotation, ssoRoutes, ssoProxyConfig } from './services/ssoProxy.ts';
export type { SsoRoute } from './services/ssoProxy.ts';
export { backupTarget, veleroCredentialsSecret } from './services/velero.ts';
export { webhookKubeconfig, tokenReviewPath } from './services/kubernetesAuth.ts';
