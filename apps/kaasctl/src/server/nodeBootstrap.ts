// What every node of an OpenStack Cluster shares (packages/openstack/src/provider/userData.ts,
// ClusterBootstrap), as kaasctl server makes and keeps it. The secrets (bootstrap token, certificate
// key, the cluster's CA and the client certificate its kube-apiserver shows the TokenReview
// webhook) are generated once per Cluster and kept in the Secret `<cluster>-node-bootstrap` in the
// Cluster's namespace, owned by the Cluster (deleted with it). It is created if absent: a second
// pass, a second server or a restart that finds it (409) reads it back, so a cluster never gets two
// CAs. The CCM's credentials are the application credential of `--openstack-ccm-cloud`.
import type { Cluster } from '@kaas/api';
import { createCA, issueCertificate, type KeyAndCert } from '@kaas/apiserver';
import type { CloudConfig } from '@kaas/auth';
import { isAlreadyExists, isNotFound, type InProcessClient } from '@kaas/controllers';
import { CloudError } from '@kaas/providers';
import { newBootstrapToken, newCertificateKey, type ClusterBootstrap } from '@kaas/openstack/provider';
import type { Session } from '@kaas/openstack';
import { ensureCcmCredential } from './ccmCredential.ts';

/** The Secret's name for a Cluster. */
export const nodeBootstrapSecretName = (cluster: Cluster): string =>
  `${cluster.metadata.name}-node-bootstrap`;

const keys = {
  bootstrapToken: 'bootstrap-token',
  certificateKey: 'certificate-key',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  webhookCert: 'webhook-client.crt',
  webhookKey: 'webhook-client.key',
} as const;

export interface NodeBootstrapSecret {
  secrets: ClusterBootstrap['secrets'];
  webhookClient: KeyAndCert;
}

type Client = Pick<InProcessClient, 'get' | 'create'>;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function decode(secret: { metadata?: { name?: string }; data?: unknown }, name: string): NodeBootstrapSecret {
  const data = (secret.data ?? {}) as Record<string, string>;
  const get = (k: string): string => {
    const v = data[k];
    if (v === undefined || v === '')
      throw new CloudError(
        'InvalidSpec',
        `Secret ${name}: key ${k} missing; delete the Secret only if no node of the cluster was made with it`,
      );
    return Buffer.from(v, 'base64').toString('utf8');
  };
  return {
    secrets: {
      bootstrapToken: get(keys.bootstrapToken),
      certificateKey: get(keys.certificateKey),
      clusterCa: { certPem: get(keys.caCert), keyPem: get(keys.caKey) },
    },
    webhookClient: { certPem: get(keys.webhookCert), keyPem: get(keys.webhookKey) },
  };
}

/**
 * The Cluster's node bootstrap Secret: read, else made and created; a create that loses a race
 * (409 AlreadyExists) reads the winner's, so every caller gets the same values.
 */
export async function ensureNodeBootstrapSecret(
  client: Client,
  cluster: Cluster,
  kaasCa: KeyAndCert,
): Promise<NodeBootstrapSecret> {
  const namespace = cluster.metadata.namespace ?? 'default';
  const name = nodeBootstrapSecretName(cluster);
  const ref = { cluster: 'root', apiVersion: 'v1', kind: 'Secret', namespace, name };
  const read = async (): Promise<NodeBootstrapSecret | undefined> => {
    try {
      return decode(await client.get(ref), `${namespace}/${name}`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const found = await read();
  if (found) return found;
  const uid = cluster.metadata.uid;
  if (!uid)
    throw new CloudError('InvalidSpec', `Cluster ${namespace}/${cluster.metadata.name}: no metadata.uid`);
  const clusterCa = await createCA('kubernetes');
  // the kube-apiserver's identity at KaaS's TokenReview webhook (kaasctl server's CA signs it)
  const webhookClient = await issueCertificate(kaasCa, {
    commonName: `system:kaas:apiserver:${cluster.metadata.name}`,
    usage: 'client',
    validDays: 3650,
  });
  const made: NodeBootstrapSecret = {
    secrets: { bootstrapToken: newBootstrapToken(), certificateKey: newCertificateKey(), clusterCa },
    webhookClient,
  };
  try {
    await client.create('root', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace,
        labels: { 'kaas.dev/cluster': cluster.metadata.name },
        ownerReferences: [
          {
            apiVersion: cluster.apiVersion,
            kind: 'Cluster',
            name: cluster.metadata.name,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      type: 'Opaque',
      data: {
        [keys.bootstrapToken]: b64(made.secrets.bootstrapToken),
        [keys.certificateKey]: b64(made.secrets.certificateKey),
        [keys.caCert]: b64(clusterCa.certPem),
        [keys.caKey]: b64(clusterCa.keyPem),
        [keys.webhookCert]: b64(webhookClient.certPem),
        [keys.webhookKey]: b64(webhookClient.keyPem),
      },
    } as never);
    return made;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const winner = await read();
    if (!winner) throw e;
    return winner;
  }
}

/** The CCM's OpenStack credentials from a clouds.yaml cloud: an application credential by id only. */
export function ccmCredentials(cloud: CloudConfig, where: string): ClusterBootstrap['openstack'] {
  if (cloud.credentials.type !== 'application_credential' || !('id' in cloud.credentials)) {
    throw new Error(
      `--openstack-ccm-cloud ${where}: must be an application credential with application_credential_id and application_credential_secret (auth_type v3applicationcredential), not ${cloud.credentials.type === 'password' ? 'a password' : 'an application credential by name'}: every node stores these credentials, so they must be revocable and never the operator's password (\`openstack application credential create kaas-ccm\`)`,
    );
  }
  return {
    authUrl: cloud.authUrl,
    ...(cloud.region ? { region: cloud.region } : {}),
    applicationCredentialId: cloud.credentials.id,
    applicationCredentialSecret: cloud.credentials.secret,
    ...(cloud.caBundle ? { caPem: cloud.caBundle } : {}),
  };
}

export interface ClusterBootstrapSourceOptions {
  client: Client & Pick<InProcessClient, 'update'>;
  /** kaasctl server's CA: signs the webhook client certificate, and the webhook's trust root. */
  kaasCa: KeyAndCert;
  /** KaaS's own URL as the nodes reach it (the TokenReview webhook's host). */
  kaasUrl: string;
  /** From --openstack-ccm-cloud: one application credential for every cluster's nodes. */
  ccm: ClusterBootstrap['openstack'] | undefined;
  /**
   * Without --openstack-ccm-cloud: each Cluster gets an application credential of its own, made
   * by the operator's session and kept in its node bootstrap Secret (ccmCredential.ts). Neither
   * this nor `ccm`: every cluster fails InvalidSpec naming the flag.
   */
  ccmPerCluster?: PerClusterCcm;
}

/** Where the nodes' CCM signs in with a per-cluster credential: the operator's cloud. */
export interface PerClusterCcm {
  operator: Session;
  authUrl: string;
  region?: string;
  caPem?: string;
}

/** The OpenStackProvider's `bootstrap` option for kaasctl server. */
export function clusterBootstrapSource(
  o: ClusterBootstrapSourceOptions,
): (c: Cluster) => Promise<ClusterBootstrap> {
  return async (cluster) => {
    if (o.ccm === undefined && o.ccmPerCluster === undefined) {
      throw new CloudError(
        'InvalidSpec',
        "kaasctl server has no --openstack-ccm-cloud NAME: the nodes' cloud controller manager needs an application credential (a clouds.yaml cloud with application_credential_id and _secret); restart the server with the flag",
      );
    }
    const { secrets, webhookClient } = await ensureNodeBootstrapSecret(o.client, cluster, o.kaasCa);
    return {
      secrets,
      // the route apps/kaasctl/src/server/auth.ts serves for every logical cluster
      // (localClusterName: the Cluster's name); the URL's cluster is the token's audience
      tokenReviewWebhook: {
        url: `${o.kaasUrl}/clusters/${cluster.metadata.name}/apis/authentication.k8s.io/v1/tokenreviews`,
        caPem: o.kaasCa.certPem,
        clientCertPem: webhookClient.certPem,
        clientKeyPem: webhookClient.keyPem,
      },
      openstack: o.ccm ?? (await perClusterCcm(o.client, o.ccmPerCluster!, cluster)),
    };
  };
}

async function perClusterCcm(
  client: Client & Pick<InProcessClient, 'update'>,
  p: PerClusterCcm,
  cluster: Cluster,
): Promise<ClusterBootstrap['openstack']> {
  const cred = await ensureCcmCredential(client, p.operator, cluster);
  return {
    authUrl: p.authUrl,
    ...(p.region ? { region: p.region } : {}),
    applicationCredentialId: cred.id,
    applicationCredentialSecret: cred.secret,
    ...(p.caPem ? { caPem: p.caPem } : {}),
  };
}
