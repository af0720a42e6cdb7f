// `kaasctl server --openstack-cloud NAME`: Clusters with spec.provider.type openstack are built in
// the operator's own OpenStack project, the clouds.yaml entry NAME (OS_CLIENT_CONFIG_FILE, ./,
// ~/.config/openstack/, /etc/openstack/; `cacert:` for a private CA such as Red Hat OpenStack's).
// That is the seed's tenancy model: the platform's project owns every cloud object, users'
// credentials are never used, so nobody leaving strands a resource. The nodes' cloud controller
// manager and cinder CSI get an application credential of their cluster's own (ccmCredential.ts:
// made on deploy, deleted on destroy), or, with `--openstack-ccm-cloud NAME2`, that one for every
// cluster (it is written onto every node, so it must never be the operator's password); the rest
// of the node bootstrap is made once per cluster (nodeBootstrap.ts).
import { existsSync } from 'node:fs';
import type { Cluster, ClusterStatus } from '@kaas/api';
import type { KeyAndCert } from '@kaas/apiserver';
import { cloudFromYaml, cloudsYamlPaths, fromCloud } from '@kaas/auth';
import type { InProcessClient } from '@kaas/controllers';
import { OpenStack } from '@kaas/openstack';
import { OpenStackProvider } from '@kaas/openstack/provider';
import type { WorkloadApiSource } from '@kaas/clusters';
import { ccmCredentials, clusterBootstrapSource } from './nodeBootstrap.ts';
import { workloadApiSource } from './workloadApi.ts';
import { refreshBootstrapToken, workloadTokenRegistrar } from './bootstrapToken.ts';
import { deleteCcmCredentials } from './ccmCredential.ts';

export interface OpenStackProviders {
  openstack: (cluster: Cluster) => OpenStackProvider;
  /** How the reconciler reaches a cluster's own API before destroying it (workloadApiSource). */
  workloadApi: WorkloadApiSource;
  /** After a destroy: the cluster's own CCM application credential, when it has one. */
  teardown: (cluster: Cluster) => Promise<void>;
  /** The node bootstrap token refresh (bootstrapToken.ts), through workloadApi. */
  upkeep: (cluster: Cluster, status: ClusterStatus) => Promise<{ requeueAfterMs?: number }>;
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
  client: Pick<InProcessClient, 'get' | 'create' | 'update'>;
  kaasCa: KeyAndCert;
  /** KaaS's URL as the nodes reach it: the TokenReview webhook's (--kaas-url, else the listen URL). */
  kaasUrl: string;
  /** Whether kaasUrl came from --kaas-url. */
  kaasUrlFromFlag?: boolean;
}

const loopback = (host: string): boolean =>
  host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '0.0.0.0';

/**
 * What the server's flags lack for an openstack Cluster's nodes, each naming the flag and the fix:
 * every Cluster's preflight report carries them (OpenStackProviderOptions.bootstrapCheck), so a
 * cluster is refused before anything is created rather than at its first server.
 */
export function serverFlagProblems(o: { kaasUrl: string; kaasUrlFromFlag?: boolean }): string[] {
  const out: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(o.kaasUrl);
  } catch {
    out.push(`--kaas-url ${o.kaasUrl}: not a URL; give https://HOST:PORT of KaaS as the nodes reach it`);
  }
  if (url && url.protocol !== 'https:')
    out.push(
      `--kaas-url ${o.kaasUrl}: must be https (kube-apiserver's TokenReview webhook verifies KaaS's CA)`,
    );
  if (url && loopback(url.hostname))
    out.push(
      `${o.kaasUrlFromFlag ? '--kaas-url' : "KaaS's URL (the listen address; no --kaas-url)"} ${o.kaasUrl} is loopback: the nodes' kube-apiserver cannot reach KaaS's TokenReview webhook there; restart the server with --kaas-url https://HOST:PORT, an address of this server the nodes reach`,
    );
  return out;
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
  const operatorCloud = fromCloud(cloudFromYaml(path, cloudName), source);
  const os = OpenStack.fromCloud(operatorCloud);
  const ccm =
    o.ccmCloudName === undefined
      ? undefined
      : ccmCredentials(
          fromCloud(cloudFromYaml(path, o.ccmCloudName), `${path} cloud ${o.ccmCloudName}`),
          `${o.ccmCloudName} (${path})`,
        );
  // without --openstack-ccm-cloud each Cluster's nodes get an application credential of their
  // own, made by the operator's session (ccmCredential.ts) and deleted with the cluster
  const ccmPerCluster =
    ccm === undefined
      ? {
          operator: os.session,
          authUrl: operatorCloud.authUrl,
          ...(operatorCloud.region ? { region: operatorCloud.region } : {}),
          ...(operatorCloud.caBundle ? { caPem: operatorCloud.caBundle } : {}),
        }
      : undefined;
  const bootstrap = clusterBootstrapSource({
    client: o.client,
    kaasCa: o.kaasCa,
    kaasUrl: o.kaasUrl,
    ccm,
    ...(ccmPerCluster ? { ccmPerCluster } : {}),
  });
  // one source for the destroy and the token refresh, so they share its certificates
  const workloadApi = workloadApiSource(o.client);
  return {
    // one session (one token) for every cluster: they all live in the operator's project
    openstack: (cluster) =>
      OpenStackProvider.forCluster(os, cluster, {
        bootstrap,
        bootstrapCheck: () =>
          serverFlagProblems({ kaasUrl: o.kaasUrl, kaasUrlFromFlag: o.kaasUrlFromFlag ?? false }),
      }),
    workloadApi,
    upkeep: async (cluster, status) => {
      const api = await workloadApi(cluster, status);
      if (api === undefined) return {};
      const r = await refreshBootstrapToken({
        client: o.client,
        cluster,
        register: workloadTokenRegistrar(api),
      });
      return { requeueAfterMs: r.requeueAfterMs };
    },
    // by name, so a credential a crash left unrecorded goes too; none made (the flag): a no-op
    teardown: async (cluster) => {
      if (ccmPerCluster && cluster.metadata.uid) await deleteCcmCredentials(os.session, cluster.metadata.uid);
    },
    close: () => os.close(),
    source: ccm === undefined ? source : `${source} (nodes' CCM: cloud ${o.ccmCloudName})`,
  };
}
