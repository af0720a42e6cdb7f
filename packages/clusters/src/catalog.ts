// Managed services as data: a catalog renders, per enabled service of a Cluster, the Kubernetes
// objects that make it up; the applier (applier.ts) writes them into kaas-system, prunes what is no
// longer rendered and reports health. The full catalog (config, RBAC, UIs behind the SSO proxy)
// comes later; the built-in one renders each service's upstream workload with the restricted pod
// security profile, so that ServicesReady means something on the local cloud today.
import { managedServiceKeys, managedServices, type Cluster, type ManagedService } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';

export const servicesNamespace = 'kaas-system';

export const serviceLabels = {
  managedBy: 'kaas.dev/managed-by',
  service: 'kaas.dev/service',
  version: 'kaas.dev/service-version',
} as const;
export const managedByValue = 'kaas';

export interface RenderedService {
  /** The managed service key of spec.services (ingressNginx, monitoring, ...). */
  key: ManagedService;
  /** Its name as users see it (ingress-nginx, velero, ...). */
  name: string;
  version: string;
  /** Objects for the service's namespace (kaas-system); the applier adds the ownership labels. */
  objects: KObject[];
}

export interface ServiceCatalog {
  /** Every enabled service of the cluster, rendered. Pure: the same Cluster gives the same objects. */
  render(cluster: Cluster): RenderedService[];
}

/** One upstream image per service: the one place versions are pinned. */
export const serviceImages: Record<
  ManagedService,
  { version: string; image: string; port?: number; args?: string[] } | undefined
> = {
  ingressNginx: {
    version: '1.12.1',
    image: 'registry.k8s.io/ingress-nginx/controller:v1.12.1',
    port: 8443,
    args: ['/nginx-ingress-controller', '--election-id=ingress-nginx-leader', '--ingress-class=nginx'],
  },
  monitoring: {
    version: '3.2.1',
    image: 'quay.io/prometheus/prometheus:v3.2.1',
    port: 9090,
    args: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'],
  },
  logging: { version: '3.2.9', image: 'cr.fluentbit.io/fluent/fluent-bit:3.2.9', port: 2020 },
  backup: {
    version: '1.15.2',
    image: 'docker.io/velero/velero:v1.15.2',
    port: 8085,
    args: ['/velero', 'server', '--features='],
  },
  registry: { version: '2.8.3', image: 'docker.io/library/registry:2.8.3', port: 5000 },
  // The token service and its TokenReview webhook run in the KaaS management plane; the cluster
  // gets the webhook's configuration only.
  kubernetesAuth: undefined,
  ssoProxy: { version: '7.8.1', image: 'quay.io/oauth2-proxy/oauth2-proxy:v7.8.1', port: 4180 },
};

/** What `kaasctl versions` and the catalog agree on: the version a service installs by default. */
export const kubernetesAuthVersion = '0.1.0';

function restrictedDeployment(
  name: string,
  svc: { image: string; port?: number; args?: string[] },
  appLabel: string,
): KObject {
  const labels = { 'app.kubernetes.io/name': appLabel, 'app.kubernetes.io/instance': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: servicesNamespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: appLabel,
              image: svc.image,
              ...(svc.args ? { args: svc.args } : {}),
              ...(svc.port ? { ports: [{ name: 'http', containerPort: svc.port }] } : {}),
              resources: {
                requests: { cpu: '50m', memory: '64Mi' },
                limits: { memory: '256Mi' },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
        },
      },
    },
  };
}

function serviceFor(name: string, appLabel: string, port: number): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: servicesNamespace },
    spec: {
      selector: { 'app.kubernetes.io/name': appLabel, 'app.kubernetes.io/instance': name },
      ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** The built-in catalog: one restricted Deployment (and Service) per enabled service. */
export const builtinCatalog: ServiceCatalog = {
  render(cluster) {
    const out: RenderedService[] = [];
    for (const key of managedServiceKeys) {
      const want = cluster.spec.services[key];
      if (!want.enabled) continue;
      const name = managedServices[key].name;
      const entry = serviceImages[key];
      if (!entry) {
        out.push({
          key,
          name,
          version: want.version ?? kubernetesAuthVersion,
          objects: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name, namespace: servicesNamespace },
              data: {
                'token-webhook': `clusters/${cluster.metadata.name}/apis/authentication.k8s.io/v1/tokenreviews`,
                clusterAdminRoleIds: cluster.spec.auth.clusterAdminRoleIds.join(','),
              },
            },
          ],
        });
        continue;
      }
      const version = want.version?.replace(/^v/, '') ?? entry.version;
      const image = want.version ? entry.image.replace(/:v?[^:/]+$/, `:${want.version}`) : entry.image;
      const objects = [restrictedDeployment(name, { ...entry, image }, name)];
      if (entry.port) objects.push(serviceFor(name, name, entry.port));
      out.push({ key, name, version, objects });
    }
    return out;
  },
};
