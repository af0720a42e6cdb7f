// A Cluster's own application credential for its nodes' cloud controller manager and cinder CSI
// driver (@kaas/openstack applicationCredentials.ts says what it may do), kept with the other
// node secrets in `<cluster>-node-bootstrap` (nodeBootstrap.ts): keys `ccm-application-credential-id`
// and `-secret`. Order, so that nothing leaks: keystone makes the credential (named
// `kaas-ccm-<uid>`; any earlier one of that name is deleted first, its secret being lost), then the
// Secret records it with the resourceVersion read. A crash between the two leaves a credential
// nobody can use, which the next ensure (or the destroy's `deleteClusterCredentials`, by name)
// deletes. Making one deletes every unrecorded credential of the name, so ensures of one cluster
// run one at a time in this process (the provider asks per server, in parallel); a record that
// loses to another writer (409) deletes its own credential and reads the winner's.
// `--openstack-ccm-cloud` stays an override: with it none of this runs.
import type { Cluster } from '@kaas/api';
import { isConflict, type InProcessClient } from '@kaas/controllers';
import {
  ccmCredentialName,
  createClusterCredential,
  deleteApplicationCredential,
  deleteClusterCredentials,
  findApplicationCredentials,
  type Session,
} from '@kaas/openstack';
import { CloudError } from '@kaas/providers';
import { nodeBootstrapSecretName } from './nodeBootstrap.ts';

export const ccmKeys = {
  id: 'ccm-application-credential-id',
  secret: 'ccm-application-credential-secret',
} as const;

interface SecretObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

const unb64 = (s: string | undefined): string | undefined =>
  s === undefined || s === '' ? undefined : Buffer.from(s, 'base64').toString('utf8');

export interface CcmCredential {
  id: string;
  secret: string;
  /** made in this call (else read from the Secret) */
  made: boolean;
}

/**
 * The Cluster's CCM credential: from its node bootstrap Secret (which must exist:
 * ensureNodeBootstrapSecret first) if recorded and still known to keystone, else made and recorded.
 */
export function ensureCcmCredential(
  client: Pick<InProcessClient, 'get' | 'update'>,
  operator: Session,
  cluster: Cluster,
): Promise<CcmCredential> {
  const key = cluster.metadata.uid ?? '';
  const run = (inFlight.get(key) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => ensureOnce(client, operator, cluster));
  inFlight.set(key, run);
  return run.finally(() => {
    if (inFlight.get(key) === run) inFlight.delete(key);
  });
}

const inFlight = new Map<string, Promise<unknown>>();

async function ensureOnce(
  client: Pick<InProcessClient, 'get' | 'update'>,
  operator: Session,
  cluster: Cluster,
): Promise<CcmCredential> {
  const uid = cluster.metadata.uid;
  const namespace = cluster.metadata.namespace ?? 'default';
  const name = nodeBootstrapSecretName(cluster);
  if (!uid)
    throw new CloudError('InvalidSpec', `Cluster ${namespace}/${cluster.metadata.name}: no metadata.uid`);
  const ref = { cluster: 'root', apiVersion: 'v1', kind: 'Secret', namespace, name };
  for (let round = 0; round < 5; round++) {
    const secret = (await client.get(ref)) as unknown as SecretObject;
    const id = unb64(secret.data?.[ccmKeys.id]);
    const value = unb64(secret.data?.[ccmKeys.secret]);
    if (id !== undefined && value !== undefined) {
      const known = await findApplicationCredentials(operator, ccmCredentialName(uid));
      if (known.some((c) => c.id === id)) return { id, secret: value, made: false };
      // recorded but gone from keystone (revoked by hand): made again below
    }
    const made = await createClusterCredential(operator, uid, {
      clusterName: `${namespace}/${cluster.metadata.name}`,
    });
    try {
      await client.update('root', {
        ...secret,
        data: {
          ...(secret.data ?? {}),
          [ccmKeys.id]: Buffer.from(made.id, 'utf8').toString('base64'),
          [ccmKeys.secret]: Buffer.from(made.secret, 'utf8').toString('base64'),
        },
      } as never);
      return { id: made.id, secret: made.secret, made: true };
    } catch (e) {
      // someone else recorded one meanwhile: ours is unused, and the next round reads theirs
      await deleteApplicationCredential(operator, made.id);
      if (!isConflict(e)) throw e;
    }
  }
  throw new Error(`Secret ${namespace}/${name}: changed under every one of 5 updates`);
}

/** For the destroy: every credential of the cluster, recorded or left by a crash, by its name. */
export const deleteCcmCredentials = (operator: Session, clusterUid: string): Promise<string[]> =>
  deleteClusterCredentials(operator, clusterUid);
