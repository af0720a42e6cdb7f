// kaasctl server's per-Cluster CCM credential (ccmCredential.ts) against the real keystone
// (test/support/openstack.ts) and a real API server: exactly one per Cluster, recorded in its node
// bootstrap Secret, whoever asks at once; revoked, made again; the destroy's delete leaves none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCA } from '@kaas/apiserver';
import { InProcessClient } from '@kaas/controllers';
import type { Cluster } from '@kaas/api';
import {
  ccmCredentialName,
  deleteClusterCredentials,
  findApplicationCredentials,
  OpenStack,
  Session,
} from '@kaas/openstack';
import { openStackForTests, type OpenStackForTests } from '../../../../test/support/openstack.ts';
import { startTestServer } from '../../../../test/support/apiserver.ts';
import { installManagementAPI } from './management.ts';
import { clusterBootstrapSource, ensureNodeBootstrapSecret } from './nodeBootstrap.ts';
import { ccmKeys, deleteCcmCredentials, ensureCcmCredential } from './ccmCredential.ts';
import { openStackClusterObject } from './testing.ts';

let os: OpenStackForTests;
let operator: OpenStack;
const uids: string[] = [];

before(async () => {
  os = await openStackForTests(['neutron']);
  operator = OpenStack.fromCloud(os.member);
});
after(async () => {
  if (operator) {
    for (const u of uids) await deleteClusterCredentials(operator.session, u).catch(() => undefined);
    await operator.close();
  }
  await os?.release();
});

const signIn = async (id: string, secret: string): Promise<void> => {
  const s = new Session({
    authUrl: os.member.authUrl,
    credentials: { type: 'application_credential', id, secret },
    ...(os.member.region ? { region: os.member.region } : {}),
  });
  try {
    await s.token();
  } finally {
    await s.close();
  }
};

test("ensureCcmCredential: one credential per Cluster in its node bootstrap Secret, whoever asks at once; revoked, made again; the destroy's delete leaves none", async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  await installManagementAPI(s.server);
  const client = new InProcessClient(s.server);
  const cluster = (await client.create('root', openStackClusterObject('ccm') as never)) as unknown as Cluster;
  const uid = cluster.metadata.uid!;
  uids.push(uid);
  const kaasCa = await createCA('kaas-test-ca');
  await ensureNodeBootstrapSecret(client, cluster, kaasCa);
  // five servers' user data at once (the provider asks per server): one credential
  const got = await Promise.all(
    Array.from({ length: 5 }, () => ensureCcmCredential(client, operator.session, cluster)),
  );
  assert.equal(new Set(got.map((g) => g.id)).size, 1);
  assert.equal(got.filter((g) => g.made).length, 1);
  const inKeystone = await findApplicationCredentials(operator.session, ccmCredentialName(uid));
  assert.deepEqual(
    inKeystone.map((c) => c.id),
    [got[0]!.id],
  );
  const secret = (await client.get({
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: 'default',
    name: 'ccm-node-bootstrap',
  })) as unknown as { data: Record<string, string> };
  assert.equal(Buffer.from(secret.data[ccmKeys.id]!, 'base64').toString(), got[0]!.id);
  await signIn(got[0]!.id, got[0]!.secret);
  // a restart reads it back
  const again = await ensureCcmCredential(client, operator.session, cluster);
  assert.deepEqual([again.id, again.made], [got[0]!.id, false]);
  // revoked by hand: a new one, recorded; still exactly one
  await deleteClusterCredentials(operator.session, uid);
  const renewed = await ensureCcmCredential(client, operator.session, cluster);
  assert.ok(renewed.made && renewed.id !== got[0]!.id);
  assert.deepEqual(
    (await findApplicationCredentials(operator.session, ccmCredentialName(uid))).map((c) => c.id),
    [renewed.id],
  );
  // without --openstack-ccm-cloud, the nodes' bootstrap carries the cluster's own credential
  const bs = await clusterBootstrapSource({
    client,
    kaasCa,
    kaasUrl: 'https://kaas.example.com:6443',
    ccm: undefined,
    ccmPerCluster: { operator: operator.session, authUrl: os.member.authUrl },
  })(cluster);
  assert.equal(bs.openstack.applicationCredentialId, renewed.id);
  assert.equal(bs.openstack.applicationCredentialSecret, renewed.secret);
  assert.equal(bs.openstack.authUrl, os.member.authUrl);
  // destroy
  assert.deepEqual(await deleteCcmCredentials(operator.session, uid), [renewed.id]);
  assert.deepEqual(await findApplicationCredentials(operator.session, ccmCredentialName(uid)), []);
});
