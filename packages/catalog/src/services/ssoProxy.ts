// The SSO proxy in front of the managed UIs: KaaS's own proxy (packages/ssoproxy) run as
// `kaasctl sso-proxy --config /etc/sso-proxy/sso-proxy.yaml`. Its configuration is a ConfigMap in
// exactly the format `loadSsoProxyConfig` reads; secrets are files from a Secret the applier
// generates once (never rendered, never logged). Each route lets through the cluster admins'
// role IDs plus the ones spec.auth.uiRoleIds gives that UI. With ingress-nginx on, an Ingress
// exposes the proxy; the UIs themselves have only ClusterIP Services.
import type { Cluster } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import { imageOf } from '../versions.ts';
import {
  appLabels,
  httpProbe,
  plain,
  resources,
  restrictedContainer,
  restrictedPod,
  scratch,
  selectorLabels,
} from '../kube.ts';
import type { RenderContext, ServiceModule } from '../types.ts';
import { managementOrigin } from './kubernetesAuth.ts';
import { ingressClassName } from './ingressNginx.ts';
import { monitoringPorts } from './monitoring.ts';

const name = 'sso-proxy';
export const ssoProxyPort = 4180;
/** The applier fills these keys of a Secret with random values when it creates it, and never again. */
export const generateKeysAnnotation = 'kaas.dev/generate-keys';
export const secretsDir = '/etc/sso-proxy/secrets';

export type UiName = keyof NonNullable<Cluster['spec']['auth']['uiRoleIds']>;

export interface SsoRoute {
  name: string;
  pathPrefix: string;
  upstream: string;
  allowedGroups: string[];
}

/** Role IDs allowed on a route: the cluster admins, then each listed UI's own, without repeats. */
function allowed(cluster: Cluster, uis: UiName[]): string[] {
  const extra = uis.flatMap((ui) => cluster.spec.auth.uiRoleIds?.[ui] ?? []);
  return [...new Set([...cluster.spec.auth.clusterAdminRoleIds, ...extra])];
}

/** The routes to the enabled UIs. Logs are read in Grafana (Explore, Loki datasource). */
export function ssoRoutes(ctx: Pick<RenderContext, 'cluster' | 'enabled' | 'namespaceOf'>): SsoRoute[] {
  const { cluster } = ctx;
  if (!ctx.enabled('monitoring')) return [];
  const ns = ctx.namespaceOf('monitoring');
  const grafanaUis: UiName[] = ctx.enabled('logging') ? ['grafana', 'logs'] : ['grafana'];
  return [
    {
      name: 'grafana',
      pathPrefix: '/grafana/',
      upstream: `http://grafana.${ns}.svc:${monitoringPorts.grafana}`,
      allowedGroups: allowed(cluster, grafanaUis),
    },
    {
      name: 'prometheus',
      pathPrefix: '/prometheus/',
      upstream: `http://prometheus.${ns}.svc:${monitoringPorts.prometheus}`,
      allowedGroups: allowed(cluster, ['prometheus']),
    },
    {
      name: 'alertmanager',
      pathPrefix: '/alertmanager/',
      upstream: `http://alertmanager.${ns}.svc:${monitoringPorts.alertmanager}`,
      allowedGroups: allowed(cluster, ['alertmanager']),
    },
  ];
}

/** The proxy's configuration file (loadSsoProxyConfig's YAML form). */
export function ssoProxyConfig(ctx: RenderContext, routes: SsoRoute[]): Record<string, unknown> {
  const { cluster } = ctx;
  const origin = managementOrigin(cluster) ?? 'https://kaas-management.invalid';
  return {
    listen: `0.0.0.0:${ssoProxyPort}`,
    oidc: {
      issuer: `${origin}/oidc`,
      clientId: `sso-proxy-${cluster.metadata.namespace ?? 'default'}-${cluster.metadata.name}`,
      clientSecretFile: `${secretsDir}/client-secret`,
      caFile: '/etc/sso-proxy/ca/ca.crt',
    },
    cookie: { name: '_kaas_sso', secretsFile: `${secretsDir}/cookie-secrets`, secure: true },
    session: { storage: 'auto' },
    routes,
  };
}

export const ssoProxy: ServiceModule = {
  key: 'ssoProxy',
  render(ctx) {
    const { release, namespace } = ctx;
    const routes = ssoRoutes(ctx);
    // nothing to front: no UI is enabled (the config format needs at least one route)
    if (routes.length === 0) return { objects: [] };
    const labels = appLabels(name, name, release.version);
    const tmp = scratch({ tmp: '/tmp' });
    const objects: KObject[] = [
      plain(
        new Secret({
          metadata: {
            name: 'sso-proxy-secrets',
            namespace,
            labels,
            annotations: { [generateKeysAnnotation]: 'client-secret,cookie-secrets' },
          },
          type: 'Opaque',
        }),
      ),
      plain(
        new ConfigMap({
          metadata: { name: 'sso-proxy-config', namespace, labels },
          data: { 'sso-proxy.yaml': stringify(ssoProxyConfig(ctx, routes)) },
        }),
      ),
      plain(
        new Deployment({
          metadata: { name, namespace, labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: selectorLabels(name, name) },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                securityContext: restrictedPod(65532),
                containers: [
                  {
                    name,
                    image: imageOf(release, 'sso-proxy'),
                    args: ['sso-proxy', '--config', '/etc/sso-proxy/sso-proxy.yaml'],
                    ports: [{ name: 'http', containerPort: ssoProxyPort }],
                    readinessProbe: httpProbe('/oauth2/healthz', 'http'),
                    resources: resources('50m', '64Mi', '256Mi'),
                    securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                    volumeMounts: [
                      {
                        name: 'config',
                        mountPath: '/etc/sso-proxy/sso-proxy.yaml',
                        subPath: 'sso-proxy.yaml',
                        readOnly: true,
                      },
                      { name: 'secrets', mountPath: secretsDir, readOnly: true },
                      { name: 'ca', mountPath: '/etc/sso-proxy/ca', readOnly: true },
                      ...tmp.mounts,
                    ],
                  },
                ],
                volumes: [
                  { name: 'config', configMap: { name: 'sso-proxy-config' } },
                  { name: 'secrets', secret: { secretName: 'sso-proxy-secrets' } },
                  // the management plane's CA, as Kubernetes publishes it in every namespace
                  { name: 'ca', configMap: { name: 'kube-root-ca.crt', optional: true } },
                  ...tmp.volumes,
                ],
              },
            },
          },
        }),
      ),
      plain(
        new Service({
          metadata: { name, namespace, labels },
          spec: {
            selector: selectorLabels(name, name),
            ports: [{ name: 'http', port: ssoProxyPort, targetPort: 'http' }],
          },
        }),
      ),
    ];
    if (ctx.enabled('ingressNginx'))
      objects.push(
        plain(
          new Ingress({
            metadata: { name, namespace, labels },
            spec: {
              ingressClassName,
              rules: [
                {
                  http: {
                    paths: [
                      {
                        path: '/',
                        pathType: 'Prefix',
                        backend: { service: { name, port: { name: 'http' } } },
                      },
                    ],
                  },
                },
              ],
            },
          }),
        ),
      );
    return { objects, readiness: [{ type: 'endpoints', namespace, service: name }] };
  },
};
