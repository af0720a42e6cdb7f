// How kaasctl server reaches the Kubernetes API of a cluster it deployed on OpenStack, with no
// step of the user's: the API load balancer's address (status.endpoint) and a short-lived client
// certificate in `system:masters` signed by the cluster CA kept in `<cluster>-node-bootstrap`
// (nodeBootstrap.ts). The cluster reconciler uses it before a destroy, the bootstrap token refresh
// in upkeep, and the backup controllers for Velero (docs/backups.md).
import type { WorkloadApiSource } from '@kaas/clusters';
import { issueCertificate } from '@kaas/apiserver';
import { isNotFound, type InProcessClient } from '@kaas/controllers';
import { nodeBootstrapSecretName } from './nodeBootstrap.ts';

/** Certificates are valid for a day and reused for half of it, then issued anew. */
const REUSE_MS = 12 * 3600_000;

/**
 * The cluster's own API: `status.endpoint` with a client certificate (one day, `commonName` so
 * the cluster's audit log tells the callers apart) in `system:masters`, signed by the cluster CA.
 * No endpoint or no CA in the Secret: undefined (each caller says so in its own terms).
 *
 * The certificate is kept per cluster and reused for 12 hours (or until the CA changes): the
 * callers ask on every reconcile pass and every backup poll, and a new key pair and signature
 * each time would be work for nothing.
 */
export function workloadApiSource(
  client: Pick<InProcessClient, 'get'>,
  commonName = 'kaas:destroy',
): WorkloadApiSource {
  const issued = new Map<
    string,
    { caPem: string; atMs: number; cert: { certPem: string; keyPem: string } }
  >();
  return async (cluster, status) => {
    if (!status.endpoint) return undefined;
    const ref = {
      cluster: 'root',
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: cluster.metadata.namespace ?? 'default',
      name: nodeBootstrapSecretName(cluster),
    };
    const secret = await client.get(ref).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    const data = (secret?.data ?? {}) as Record<string, string>;
    if (!data['ca.crt'] || !data['ca.key']) return undefined;
    const ca = {
      certPem: Buffer.from(data['ca.crt'], 'base64').toString('utf8'),
      keyPem: Buffer.from(data['ca.key'], 'base64').toString('utf8'),
    };
    const key = cluster.metadata.uid ?? `${ref.namespace}/${cluster.metadata.name}`;
    const now = Date.now();
    let hit = issued.get(key);
    if (!hit || hit.caPem !== ca.certPem || now - hit.atMs > REUSE_MS) {
      const cert = await issueCertificate(ca, {
        commonName,
        organizations: ['system:masters'],
        usage: 'client',
        validDays: 1,
      });
      // a deleted cluster's entry goes at the next issue after it is stale
      for (const [k, v] of issued) if (now - v.atMs > REUSE_MS) issued.delete(k);
      issued.set(key, (hit = { caPem: ca.certPem, atMs: now, cert }));
    }
    const admin = hit.cert;
    return {
      url: status.endpoint,
      caPem: ca.certPem,
      clientCertPem: admin.certPem,
      clientKeyPem: admin.keyPem,
    };
  };
}
