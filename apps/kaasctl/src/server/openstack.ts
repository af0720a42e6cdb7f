// `kaasctl server --openstack-cloud NAME`: Clusters with spec.provider.type openstack are built in
// the operator's own OpenStack project, the clouds.yaml entry NAME (OS_CLIENT_CONFIG_FILE, ./,
// ~/.config/openstack/, /etc/openstack/; `cacert:` for a private CA such as Red Hat OpenStack's).
// That is the seed's tenancy model: the platform's project owns every cloud object, users'
// credentials are never used, so nobody leaving strands a resource.
import { existsSync } from 'node:fs';
import type { Cluster } from '@kaas/api';
import { cloudFromYaml, cloudsYamlPaths, fromCloud } from '@kaas/auth';
import { OpenStack } from '@kaas/openstack';
import { OpenStackProvider } from '@kaas/openstack/provider';

export interface OpenStackProviders {
  openstack: (cluster: Cluster) => OpenStackProvider;
  close: () => Promise<void>;
  /** Where the credentials came from, for the start-up line. */
  source: string;
}

export function openStackProviders(
  cloudName: string,
  env: Record<string, string | undefined>,
): OpenStackProviders {
  const path = cloudsYamlPaths(env).find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      `--openstack-cloud ${cloudName}: no clouds.yaml in ${cloudsYamlPaths(env).join(', ')} (set OS_CLIENT_CONFIG_FILE)`,
    );
  }
  const source = `${path} cloud ${cloudName}`;
  const os = OpenStack.fromCloud(fromCloud(cloudFromYaml(path, cloudName), source));
  return {
    // one session (one token) for every cluster: they all live in the operator's project
    openstack: (cluster) => OpenStackProvider.forCluster(os, cluster),
    close: () => os.close(),
    source,
  };
}
