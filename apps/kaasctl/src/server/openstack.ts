// `kaasctl server --openstack-cloud NAME`: Clusters with spec.provider.type openstack are built in
// the operator's own OpenStack project, the clouds.yaml entry NAME (OS_CLIENT_CONFIG_FILE, ./,
// ~/.config/openstack/, /etc/openstack/; `cacert:` for a private CA such as Red Hat OpenStack's).
// That is the seed's tenancy model: the platform's project owns every cloud object, users'
// credentials are never used, so nobody leaving strands a resource. `--openstack-ccm-cloud NAME2`
// is the application credential the nodes' cloud controller manager and cinder CSI use (it is
// written onto every node, so it must never be the operator's password); the rest of the node
// bootstrap is made once per cluster (nodeBootstrap.ts).
import { existsSync } from 'node:fs';
import type { Cluster } from '@kaas/api';
import type { KeyAndCert } from '@kaas/apiserver';
import { cloudFromYaml, cloudsYamlPaths, fromCloud } from '@kaas/auth';
import type { InProcessClient } from '@kaas/controllers';
import { OpenStack } from '@kaas/openstack';
import { OpenStackProvider } from '@kaas/openstack/provider';
import { ccmCredentials, clusterBootstrapSource } from './nodeBootstrap.ts';

export interface OpenStackProviders {
  openstack: (cluster: Cluster) => OpenStackProvider;
  close: () => Promise<void>;
  /** Where the credentials came from, for the start-up line. */
  source: string;
}

export interface OpenStackProvidersOptions {
  cloudName: string;
  /** --openstack-ccm-cloud: without it clusters fail InvalidSpec when their first server is due. */
  ccmCloudName?: string;
  env: Record<string, string | undefined>;
  /** The management API, where each cluster's node bootstrap Secret is kept. */
  client: Pick<InProcessClient, 'get' | 'create'>;
  kaasCa: KeyAndCert;
  /** KaaS's URL as the nodes reach it: the TokenReview webhook's. */
  kaasUrl: string;
}

export function openStackProviders(o: OpenStackProvidersOptions): OpenStackProviders {
  const { cloudName, env } = o;
  const path = cloudsYamlPaths(env).find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      `--openstack-cloud ${cloudName}: no clouds.yaml in ${cloudsYamlPaths(env).join(', ')} (set OS_CLIENT_CONFIG_FILE)`,
    );
  }
  const source = `${path} cloud ${cloudName}`;
  const os = OpenStack.fromCloud(fromCloud(cloudFromYaml(path, cloudName), source));
  const ccm =
    o.ccmCloudName === undefined
      ? undefined
      : ccmCredentials(
          fromCloud(cloudFromYaml(path, o.ccmCloudName), `${path} cloud ${o.ccmCloudName}`),
          `${o.ccmCloudName} (${path})`,
        );
  const bootstrap = clusterBootstrapSource({ client: o.client, kaasCa: o.kaasCa, kaasUrl: o.kaasUrl, ccm });
  return {
    // one session (one token) for every cluster: they all live in the operator's project
    openstack: (cluster) => OpenStackProvider.forCluster(os, cluster, { bootstrap }),
    close: () => os.close(),
    source: ccm === undefined ? source : `${source} (nodes' CCM: cloud ${o.ccmCloudName})`,
  };
}
