// workloadApiSource against a real API server: the certificate it issues from the CA in the
// `<cluster>-node-bootstrap` Secret reaches the cluster's API as system:masters, which is what
// the destroy and the backup controllers (Velero) rely on. The "cluster" is a logical cluster of
// the test server, and its CA stands in for the cluster CA (the server trusts client certificates
// it signed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster } from '@kaas/api';
import { workloadAccess } from '@kaas/backup';
import { InProcessClient, ignoreNotFound } from '@kaas/controllers';
import { startTestServer } from '../../../../test/support/apiserver.ts';
import { installManagementAPI } from './management.ts';
import { nodeBootstrapSecretName } from './nodeBootstrap.ts';
import { openStackClusterObject } from './testing.ts';
import { workloadApiSource } from './workloadApi.ts';

test('status.endpoint + a system:masters certificate from the cluster CA; undefined without either', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  await installManagementAPI(s.server);
  const client = new InProcessClient(s.server);
  const cluster = (await client.create(
    'root',
    openStackClusterObject('prod') as never,
  )) as unknown as Cluster;
  const source = workloadApiSource(client, 'kaas:backup');
  const endpoint = `${s.url}/clusters/wl`;

  // no endpoint yet, then no CA: nothing to reach it with
  assert.equal(await source(cluster, {}), undefined);
  assert.equal(await source(cluster, { endpoint }), undefined);

  const [caCrt, caKey] = await Promise.all(
    ['ca.crt', 'ca.key'].map((f) => readFile(join(s.dir, 'pki', f), 'utf8')),
  );
  await client.create('root', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: nodeBootstrapSecretName(cluster), namespace: 'default' },
    data: {
      'ca.crt': Buffer.from(caCrt!).toString('base64'),
      'ca.key': Buffer.from(caKey!).toString('base64'),
    },
  } as never);
  const api = await source(cluster, { endpoint });
  assert.ok(api);
  assert.equal(api.url, endpoint);
  const cert = new X509Certificate(api.clientCertPem);
  assert.match(cert.subject, /CN=kaas:backup/);
  assert.match(cert.subject, /O=system:masters/);
  assert.ok(cert.checkIssued(new X509Certificate(caCrt!)));
  assert.ok(Date.parse(cert.validTo) - Date.now() <= 25 * 3600_000, `valid until ${cert.validTo}`);
  // the next pass reuses it instead of making a key pair and a signature again
  assert.equal((await source(cluster, { endpoint }))?.clientCertPem, api.clientCertPem);

  // the backup controllers' lookup with this source: no Secret <cluster>-kubeconfig needed, and
  // the certificate is accepted by the cluster's API with full rights (it creates a namespace)
  await client.patch(
    { cluster: 'root', apiVersion: 'kaas.dev/v1alpha1', kind: 'Cluster', namespace: 'default', name: 'prod' },
    { status: { endpoint } },
    { subresource: 'status' },
  );
  const get = (kind: 'Secret' | 'Cluster', namespace: string, name: string) =>
    client
      .get({
        cluster: 'root',
        apiVersion: kind === 'Secret' ? 'v1' : 'kaas.dev/v1alpha1',
        kind,
        namespace,
        name,
      })
      .catch(ignoreNotFound);
  const wl = await workloadAccess({ get, workloadApi: source })('default', 'prod');
  assert.match(
    wl.access!,
    /^status\.endpoint https:\/\/127\.0\.0\.1:\d+\/clusters\/wl with a client certificate/,
  );
  await wl.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'velero-test' },
  });
  assert.equal((await wl.get('/api/v1/namespaces/velero-test'))?.metadata.name, 'velero-test');
});
