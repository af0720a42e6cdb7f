// The one table of what this KaaS release installs: per managed service, the releases the catalog
// can render (the first is the default a new cluster gets; the others are kept so that a cluster
// pinned to one keeps working until `kaasctl cluster update --services` moves it), each with the
// upstream image of every component. Nothing else in the repository names an image or a tag.
import type { ManagedService } from '@kaas/api';

export interface ServiceComponent {
  /** The component's name as the rendered workloads use it (container and workload names). */
  name: string;
  /** A pinned upstream image, tag included; no `latest`. */
  image: string;
}

export interface ServiceRelease {
  /** The service's version as spec.services.<key>.version pins it (no leading v). */
  version: string;
  components: readonly ServiceComponent[];
}

/** KaaS's own release: the sso-proxy workload runs `kaasctl sso-proxy` from KaaS's image. */
export const kaasVersion = '0.1.0';

/**
 * Each service's version is its main upstream component's version (ingress-nginx's controller,
 * Prometheus, Fluent Bit, Velero, distribution/registry), so that a pin reads as upstream's.
 */
export const serviceReleases: Record<ManagedService, readonly ServiceRelease[]> = {
  ingressNginx: [
    {
      version: '1.12.1',
      components: [
        { name: 'controller', image: 'registry.k8s.io/ingress-nginx/controller:v1.12.1' },
        { name: 'certgen', image: 'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.2' },
      ],
    },
    {
      version: '1.11.5',
      components: [
        { name: 'controller', image: 'registry.k8s.io/ingress-nginx/controller:v1.11.5' },
        { name: 'certgen', image: 'registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.1' },
      ],
    },
  ],
  monitoring: [
    {
      version: '3.2.1',
      components: [
        { name: 'prometheus', image: 'quay.io/prometheus/prometheus:v3.2.1' },
        { name: 'alertmanager', image: 'quay.io/prometheus/alertmanager:v0.28.1' },
        { name: 'grafana', image: 'docker.io/grafana/grafana:11.5.2' },
        { name: 'node-exporter', image: 'quay.io/prometheus/node-exporter:v1.9.0' },
        {
          name: 'kube-state-metrics',
          image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0',
        },
      ],
    },
    {
      version: '3.1.0',
      components: [
        { name: 'prometheus', image: 'quay.io/prometheus/prometheus:v3.1.0' },
        { name: 'alertmanager', image: 'quay.io/prometheus/alertmanager:v0.28.0' },
        { name: 'grafana', image: 'docker.io/grafana/grafana:11.4.0' },
        { name: 'node-exporter', image: 'quay.io/prometheus/node-exporter:v1.8.2' },
        {
          name: 'kube-state-metrics',
          image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0',
        },
      ],
    },
  ],
  logging: [
    {
      version: '3.2.9',
      components: [
        { name: 'fluent-bit', image: 'cr.fluentbit.io/fluent/fluent-bit:3.2.9' },
        { name: 'loki', image: 'docker.io/grafana/loki:3.4.2' },
      ],
    },
    {
      version: '3.2.4',
      components: [
        { name: 'fluent-bit', image: 'cr.fluentbit.io/fluent/fluent-bit:3.2.4' },
        { name: 'loki', image: 'docker.io/grafana/loki:3.3.2' },
      ],
    },
  ],
  backup: [
    {
      version: '1.15.2',
      components: [
        { name: 'velero', image: 'docker.io/velero/velero:v1.15.2' },
        { name: 'velero-plugin-for-aws', image: 'docker.io/velero/velero-plugin-for-aws:v1.11.1' },
      ],
    },
    {
      version: '1.15.0',
      components: [
        { name: 'velero', image: 'docker.io/velero/velero:v1.15.0' },
        { name: 'velero-plugin-for-aws', image: 'docker.io/velero/velero-plugin-for-aws:v1.11.0' },
      ],
    },
  ],
  registry: [
    { version: '2.8.3', components: [{ name: 'registry', image: 'docker.io/library/registry:2.8.3' }] },
    { version: '2.8.2', components: [{ name: 'registry', image: 'docker.io/library/registry:2.8.2' }] },
  ],
  // The token service and its TokenReview webhook run in the management plane; the cluster gets
  // the webhook's configuration only, versioned with KaaS.
  kubernetesAuth: [{ version: kaasVersion, components: [] }],
  // KaaS's own proxy (packages/ssoproxy), started as `kaasctl sso-proxy --config`. The image is
  // KaaS's release image; this repository does not publish it yet.
  ssoProxy: [
    {
      version: kaasVersion,
      components: [{ name: 'sso-proxy', image: `ghcr.io/kaas-dev/kaasctl:${kaasVersion}` }],
    },
  ],
};

/** The version a service installs unless pinned. */
export function defaultVersion(key: ManagedService): string {
  return serviceReleases[key][0]!.version;
}

/** The release of a service at `version` (a leading v is ignored), or undefined when the catalog has none. */
export function findRelease(key: ManagedService, version: string | undefined): ServiceRelease | undefined {
  if (version === undefined) return serviceReleases[key][0];
  const want = version.replace(/^v/, '');
  return serviceReleases[key].find((r) => r.version === want);
}

/** The image of one component of a release; throws on a typo in a module (a programming error). */
export function imageOf(release: ServiceRelease, component: string): string {
  const c = release.components.find((x) => x.name === component);
  if (!c) throw new Error(`catalog: release ${release.version} has no component ${component}`);
  return c.image;
}
