// The per-cluster node bootstrap Secret against a real API server: made once (concurrent and later
// callers get the same CA), owned by its Cluster (gone with it); and the CCM credentials' rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCA } from '@kaas/apiserver';
import type { CloudConfig } from '@kaas/auth';
import { InProcessClient, isNotFound } from '@kaas/controllers';
import type { Cluster } from '@kaas/api';
import { CloudError } from '@kaas/providers';
import { startTestServer } from '../../../../test/support/apiserver.ts';
import { installManagementAPI } from './management.ts';
import {
  ccmCredentials,
  clusterBootstrapSource,
  ensureNodeBootstrapSecret,
  nodeBootstrapSecretName,
} from './nodeBootstrap.ts';
import { openStackClusterObject } from './testing.ts';

const clusterObject = openStackClusterObject('demo');

test('node bootstrap Secret: created once, the same CA for every caller, deleted with its Cluster', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  await installManagementAPI(s.server);
  const client = new InProcessClient(s.server);
  const cluster = (await client.create('root', clusterObject as never)) as unknown as Cluster;
  const kaasCa = await createCA('kaas-test-ca');

  // two passes at once, then a third (a restart): one Secret, one CA
  const [a, b] = await Promise.all([
    ensureNodeBootstrapSecret(client, cluster, kaasCa),
    ensureNodeBootstrapSecret(client, cluster, kaasCa),
  ]);
  const c = await ensureNodeBootstrapSecret(client, cluster, kaasCa);
  assert.equal(a.secrets.clusterCa.certPem, b.secrets.clusterCa.certPem);
  assert.deepEqual(c, a);
  assert.match(a.secrets.bootstrapToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  // the webhook client certificate is KaaS's CA's, for this cluster's apiserver
  const client509 = new X509Certificate(a.webhookClient.certPem);
  assert.ok(client509.verify(new X509Certificate(kaasCa.certPem).publicKey));
  assert.match(client509.subject, /CN=system:kaas:apiserver:demo/);

  const ref = {
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: 'default',
    name: nodeBootstrapSecretName(cluster),
  };
  const secret = await client.get(ref);
  assert.deepEqual(
    (secret.metadata.ownerReferences ?? []).map((o) => [o.kind, o.name, o.uid]),
    [['Cluster', 'demo', cluster.metadata.uid]],
  );

  // the provider's option: the webhook URL is the TokenReview route of the cluster's logical cluster
  const source = clusterBootstrapSource({
    client,
    kaasCa,
    kaasUrl: 'https://kaas.example.com:6443',
    ccm: {
      authUrl: 'https://keystone.example.com/v3',
      applicationCredentialId: 'id',
      applicationCredentialSecret: 'x',
    },
  });
  const bs = await source(cluster);
  assert.equal(
    bs.tokenReviewWebhook.url,
    'https://kaas.example.com:6443/clusters/demo/apis/authentication.k8s.io/v1/tokenreviews',
  );
  assert.equal(bs.secrets.clusterCa.certPem, a.secrets.clusterCa.certPem);
  // without --openstack-ccm-cloud: InvalidSpec naming the flag
  await assert.rejects(
    clusterBootstrapSource({ client, kaasCa, kaasUrl: 'https://k', ccm: undefined })(cluster),
    (e: unknown) =>
      e instanceof CloudError && e.code === 'InvalidSpec' && /--openstack-ccm-cloud/.test(e.message),
  );

  await client.delete({
    cluster: 'root',
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    namespace: 'default',
    name: 'demo',
  });
  const deadline = Date.now() + 20_000;
  let gone = false;
  while (!gone && Date.now() < deadline) {
    gone = await client.get(ref).then(
      () => false,
      (e: unknown) => {
        if (isNotFound(e)) return true;
        throw e;
      },
    );
    if (!gone) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(gone, 'the Secret is garbage-collected with its Cluster');
});

test('CCM credentials: an application credential by id, never a password', () => {
  const base = {
    authUrl: 'https://keystone.example.com/v3',
    scope: undefined,
    caBundle: undefined,
    insecure: false,
    interface: 'public',
  } as const;
  const app: CloudConfig = {
    ...base,
    region: 'RegionOne',
    credentials: { type: 'application_credential', id: 'abc', secret: 's3cret' },
  };
  assert.deepEqual(ccmCredentials(app, 'ccm'), {
    authUrl: 'https://keystone.example.com/v3',
    region: 'RegionOne',
    applicationCredentialId: 'abc',
    applicationCredentialSecret: 's3cret',
  });
  const password: CloudConfig = {
    ...base,
    region: undefined,
    credentials: { type: 'password', user: { name: 'admin', domain: { name: 'Default' } }, password: 'p' },
  };
  assert.throws(
    () => ccmCredentials(password, 'ops'),
    /--openstack-ccm-cloud ops: must be an application credential.*not a password/,
  );
});
