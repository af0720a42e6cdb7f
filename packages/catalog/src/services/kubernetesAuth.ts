// kubernetes-auth's cluster half: the token service and its TokenReview endpoint run in the KaaS
// management plane (packages/auth); the cluster's kube-apiserver is pointed at them with
// `--authentication-token-webhook-config-file`, a kubeconfig-format file. This module renders that
// file (and the settings beside it) as a ConfigMap, which the node bootstrap on real clouds writes
// to /etc/kubernetes/kaas/ and which `kubectl -n kaas-system get cm kubernetes-auth -o yaml` shows.
import type { Cluster } from '@kaas/api';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { stringify } from 'yaml';
import { appLabels, plain } from '../kube.ts';
import type { ServiceModule } from '../types.ts';

const name = 'kubernetes-auth';
/** Where the kube-apiserver reads the webhook file and the CA of the management plane. */
export const webhookConfigPath = '/etc/kubernetes/kaas/token-webhook.kubeconfig';
export const managementCaPath = '/etc/kubernetes/kaas/management-ca.crt';

/** The management plane's origin, from the cluster endpoint (https://HOST:PORT/clusters/NAME). */
export function managementOrigin(cluster: Cluster): string | undefined {
  const endpoint = cluster.status?.endpoint;
  if (!endpoint) return undefined;
  try {
    return new URL(endpoint).origin;
  } catch {
    return undefined;
  }
}

export function tokenReviewPath(cluster: Cluster): string {
  return `/clusters/${cluster.metadata.name}/apis/authentication.k8s.io/v1/tokenreviews`;
}

/** The `--authentication-token-webhook-config-file` kubeconfig. */
export function webhookKubeconfig(cluster: Cluster): Record<string, unknown> {
  const origin = managementOrigin(cluster) ?? 'https://kaas-management.invalid';
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'kaas',
        cluster: {
          server: `${origin}${tokenReviewPath(cluster)}`,
          'certificate-authority': managementCaPath,
        },
      },
    ],
    users: [{ name: 'kube-apiserver', user: {} }],
    contexts: [{ name: 'token-webhook', context: { cluster: 'kaas', user: 'kube-apiserver' } }],
    'current-context': 'token-webhook',
  };
}

export const kubernetesAuth: ServiceModule = {
  key: 'kubernetesAuth',
  render({ cluster, release, namespace }) {
    return {
      objects: [
        plain(
          new ConfigMap({
            metadata: { name, namespace, labels: appLabels(name, 'token-webhook', release.version) },
            data: {
              'token-webhook.kubeconfig': stringify(webhookKubeconfig(cluster)),
              // the kube-apiserver flags that go with it
              'apiserver-flags': [
                `--authentication-token-webhook-config-file=${webhookConfigPath}`,
                '--authentication-token-webhook-version=v1',
                '--authentication-token-webhook-cache-ttl=2m',
              ].join('\n'),
              'token-webhook': tokenReviewPath(cluster).slice(1),
              clusterAdminRoleIds: cluster.spec.auth.clusterAdminRoleIds.join(','),
            },
          }),
        ),
      ],
    };
  },
};
