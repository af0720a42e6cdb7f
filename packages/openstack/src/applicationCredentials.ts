// Per-cluster application credentials for the nodes' cloud controller manager and cinder CSI
// driver (docs/openstack.md, "The CCM's credentials"). Every node of a cluster stores its
// credential in cloud.conf, so each cluster gets its own: revocable alone, deleted with the
// cluster, and holding only the roles the CCM (octavia load balancers, floating IPs, node
// addresses) and the CSI driver (cinder volumes and attachments) need: `member` and, where the
// cloud has it, `load-balancer_member` (octavia's default policy wants it for its API). It is
// made by the operator's own user in the operator's project (keystone lets only a user make its
// credentials), restricted (it cannot make credentials or trusts in turn), and named after the
// cluster's uid so that a sweep finds what a crash between create and record left behind: its
// secret is shown once, so such a credential is useless and deleted.
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';

/** The roles a cluster's CCM and CSI credential carries, when the operator has them. */
export const CCM_ROLES = ['member', 'load-balancer_member'] as const;

/** `kaas-ccm-<cluster uid>`: how the sweep finds a cluster's credentials. */
export const ccmCredentialName = (clusterUid: string): string => `kaas-ccm-${clusterUid}`;

export interface ApplicationCredential {
  id: string;
  name: string;
  /** shown by keystone only when it is made */
  secret?: string;
  projectId: string;
  roles: string[];
}

interface AcBody {
  id: string;
  name: string;
  secret?: string;
  project_id: string;
  roles?: { name: string }[];
}

const parse = (b: AcBody): ApplicationCredential => ({
  id: b.id,
  name: b.name,
  ...(b.secret === undefined ? {} : { secret: b.secret }),
  projectId: b.project_id,
  roles: (b.roles ?? []).map((r) => r.name).sort(),
});

/** keystone's v3 root: the catalog's identity endpoint, which some clouds register without /v3. */
async function v3(session: Session): Promise<string> {
  const base = await session.endpoint('identity');
  return /\/v3$/.test(base) ? base : `${base}/v3`;
}

async function whoAmI(session: Session): Promise<{ userId: string; roles: string[] }> {
  const t = await session.token();
  if (t.applicationCredential && t.applicationCredential.restricted)
    throw new CloudError(
      'AuthFailed',
      `the operator's credentials are the restricted application credential ${t.applicationCredential.name}: keystone lets it make no further credentials; make the operator's credential with --unrestricted, or use a password`,
    );
  return { userId: t.user.id, roles: t.roles.map((r) => r.name) };
}

/** The operator user's application credentials named `name` (keystone filters by exact name). */
export async function findApplicationCredentials(
  session: Session,
  name: string,
): Promise<ApplicationCredential[]> {
  const { userId } = await whoAmI(session);
  const r = await session.request<{ application_credentials: AcBody[] }>(
    'identity',
    'GET',
    `${await v3(session)}/users/${encodeURIComponent(userId)}/application_credentials`,
    { query: { name } },
  );
  return r.body.application_credentials.filter((c) => c.name === name).map(parse);
}

export async function deleteApplicationCredential(session: Session, id: string): Promise<void> {
  const { userId } = await whoAmI(session);
  await session.request(
    'identity',
    'DELETE',
    `${await v3(session)}/users/${encodeURIComponent(userId)}/application_credentials/${encodeURIComponent(id)}`,
  );
}

/** Deletes every credential of the cluster (the sweep; also what a crash left). Returns their ids. */
export async function deleteClusterCredentials(session: Session, clusterUid: string): Promise<string[]> {
  const found = await findApplicationCredentials(session, ccmCredentialName(clusterUid));
  for (const c of found) await deleteApplicationCredential(session, c.id);
  return found.map((c) => c.id);
}

/**
 * A new credential for the cluster's CCM and CSI driver, with the roles of CCM_ROLES the operator
 * holds on its project (`member` is required). Any earlier credential of the same name is deleted
 * first: its secret is gone with whatever crashed before recording it.
 */
export async function createClusterCredential(
  session: Session,
  clusterUid: string,
  opts: { clusterName?: string } = {},
): Promise<ApplicationCredential & { secret: string }> {
  const { userId, roles } = await whoAmI(session);
  const want = CCM_ROLES.filter((r) => roles.includes(r));
  if (!want.includes('member'))
    throw new CloudError(
      'InvalidSpec',
      `the operator's user has no role "member" on its project (it has: ${roles.join(', ') || 'none'}): the clusters' CCM credentials are made with it; grant it (\`openstack role add --user <operator> --project <project> member\`)`,
    );
  await deleteClusterCredentials(session, clusterUid);
  const r = await session.request<{ application_credential: AcBody }>(
    'identity',
    'POST',
    `${await v3(session)}/users/${encodeURIComponent(userId)}/application_credentials`,
    {
      body: {
        application_credential: {
          name: ccmCredentialName(clusterUid),
          description: `KaaS: the cloud controller manager and cinder CSI driver of cluster ${opts.clusterName ?? clusterUid} (uid ${clusterUid}); deleted with the cluster`,
          roles: want.map((name) => ({ name })),
          unrestricted: false,
        },
      },
      retryConflict: false,
    },
  );
  const made = parse(r.body.application_credential);
  if (made.secret === undefined)
    throw new CloudError(
      'CloudUnavailable',
      `keystone made application credential ${made.id} but sent no secret`,
    );
  return made as ApplicationCredential & { secret: string };
}
