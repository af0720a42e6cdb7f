// How the backup controllers reach the Kubernetes API of a Cluster that is not on the local cloud
// (the Velero path), in order:
//   1. the Secret `<cluster>-kubeconfig` (key `value`, Cluster API's convention), when it exists:
//      an explicit override, e.g. for a cluster whose API KaaS reaches only through a proxy;
//   2. the cluster's own source, injected by kaasctl server (workloadApiSource: status.endpoint
//      and a short-lived system:masters client certificate from the cluster CA it keeps), so a
//      cluster KaaS deployed needs no step of the user's;
//   3. neither: a coded error (NotFound) naming both ways and what is missing.
// Each client says which way it came (`access`), and the Backup's status.velero shows it.
import type { Cluster, ClusterStatus } from '@kaas/api';
import type { WorkloadApiSource } from '@kaas/clusters';
import { BackupError } from './engine.ts';
import {
  WorkloadClient,
  kubeconfigSecretKey,
  kubeconfigSecretName,
  parseKubeconfig,
  type WorkloadConnection,
} from './workload.ts';

type Obj = Record<string, any>;

export interface WorkloadAccessOptions {
  /** A Secret or Cluster of the management API's root cluster; undefined when it does not exist. */
  get: (kind: 'Secret' | 'Cluster', namespace: string, name: string) => Promise<Obj | undefined>;
  /** The cluster's own API without a Secret (kaasctl server); absent: only the Secret works. */
  workloadApi?: WorkloadApiSource;
}

/** A key of a Secret's data (base64) or stringData. */
export function secretValue(secret: Obj, key: string): string | undefined {
  const d = secret.data?.[key];
  if (typeof d === 'string') return Buffer.from(d, 'base64').toString('utf8');
  const s = secret.stringData?.[key];
  return typeof s === 'string' ? s : undefined;
}

/** `(namespace, cluster) => client` for the Velero passes; throws coded BackupErrors. */
export function workloadAccess(o: WorkloadAccessOptions) {
  return async (namespace: string, cluster: string): Promise<WorkloadClient> => {
    const name = kubeconfigSecretName(cluster);
    const where = `Secret ${namespace}/${name}`;
    const secret = await o.get('Secret', namespace, name);
    if (secret) {
      const text = secretValue(secret, kubeconfigSecretKey);
      if (!text)
        throw new BackupError(
          'InvalidSpec',
          `${where} has no key ${kubeconfigSecretKey}: put the admin kubeconfig of Cluster ${namespace}/${cluster} there (\`kubectl create secret generic ${name} --from-file=${kubeconfigSecretKey}=admin.conf\`), or delete the Secret to let KaaS reach the cluster itself`,
        );
      return new WorkloadClient(parseKubeconfig(text, where), cluster, {
        access: `${where} (override)`,
      });
    }
    const create = `\`kubectl create secret generic ${name} --from-file=${kubeconfigSecretKey}=admin.conf\``;
    if (!o.workloadApi)
      throw new BackupError(
        'NotFound',
        `the admin kubeconfig of Cluster ${namespace}/${cluster} is not in ${where} (key ${kubeconfigSecretKey}), and this server has no other way to reach the cluster's API: create it: ${create}`,
      );
    const c = await o.get('Cluster', namespace, cluster);
    if (!c) throw new BackupError('NotFound', `Cluster ${namespace}/${cluster} does not exist`);
    const endpoint = c.status?.endpoint as string | undefined;
    const api = await o.workloadApi(c as Cluster, (c.status ?? {}) as ClusterStatus);
    if (!api)
      throw new BackupError(
        'NotFound',
        `KaaS cannot reach the Kubernetes API of Cluster ${namespace}/${cluster}: ${
          endpoint
            ? `it has status.endpoint ${endpoint} but no cluster CA for it (Secret ${namespace}/${cluster}-node-bootstrap, made when KaaS deploys the cluster's nodes)`
            : 'it has no status.endpoint yet (not deployed, or its control plane is still being built: `kaasctl cluster get ' +
              cluster +
              '`)'
        }, and no ${where} (key ${kubeconfigSecretKey}) overrides that. Wait until the cluster's API answers and create the Backup again, or give its admin kubeconfig: ${create}`,
      );
    const conn: WorkloadConnection = {
      server: api.url.replace(/\/+$/, ''),
      certPem: api.clientCertPem,
      keyPem: api.clientKeyPem,
      ...(api.caPem ? { caPem: api.caPem } : { insecure: true }),
    };
    return new WorkloadClient(conn, cluster, {
      access: `status.endpoint ${conn.server} with a client certificate from the cluster CA`,
    });
  };
}
