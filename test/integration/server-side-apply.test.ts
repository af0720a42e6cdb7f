// Server-side apply with the real kubectl against an object KaaS applies as field manager "kaas":
// `kubectl apply --server-side` that changes a field KaaS owns fails with the conflict naming
// "kaas"; with the same values it shares the fields; a label kubectl adds survives KaaS's next
// forced apply, and `--force-conflicts` takes a field that KaaS's next apply takes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessClient } from '@kaas/controllers';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => ts?.stop());

const config = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
    },
  },
});

test('kubectl apply --server-side meets KaaS as field manager "kaas"', { timeout: 120_000 }, async () => {
  const client = new InProcessClient(ts.server);
  const kaasApply = () => client.apply('root', config(2), { fieldManager: 'kaas', force: true });
  const first = await kaasApply();
  assert.equal(first.created, true);

  // a different replica count: a conflict that names kaas and the field, nothing changed
  const yaml = (replicas: number) => JSON.stringify(config(replicas));
  const conflict = await kubectl(ts.kubeconfig, ['apply', '--server-side', '-f', '-'], { input: yaml(5) });
  assert.notEqual(conflict.code, 0, conflict.stdout);
  assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kaas" using apps\/v1/);
  assert.match(conflict.stderr, /\.spec\.replicas/);
  const get = async () =>
    JSON.parse((await kubectl(ts.kubeconfig, ['get', 'deployment', 'web', '-o', 'json'])).stdout);
  assert.equal((await get()).spec.replicas, 2);

  // the same values: applied, both managers listed
  const same = await kubectl(ts.kubeconfig, ['apply', '--server-side', '-f', '-'], { input: yaml(2) });
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /deployment.apps\/web serverside-applied/);
  const managers = (await get()).metadata.managedFields?.map((m: { manager: string }) => m.manager);
  assert.deepEqual(managers, undefined, 'kubectl hides managedFields unless asked');
  const shown = JSON.parse(
    (await kubectl(ts.kubeconfig, ['get', 'deployment', 'web', '-o', 'json', '--show-managed-fields']))
      .stdout,
  );
  assert.deepEqual(
    shown.metadata.managedFields.map(
      (m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`,
    ),
    ['kaas/Apply', 'kubectl/Apply'],
  );

  // a label the user adds survives KaaS's next apply; KaaS's idle apply writes nothing
  assert.equal((await kubectl(ts.kubeconfig, ['label', 'deployment', 'web', 'team=blue'])).code, 0);
  const rv = (await get()).metadata.resourceVersion;
  const reapplied = await kaasApply();
  assert.equal(reapplied.obj.metadata.labels?.team, 'blue');
  assert.equal(reapplied.obj.metadata.resourceVersion, rv, 'a no-op apply does not write');

  // forced by the user: the field moves to kubectl; KaaS's forced apply takes it back
  const forced = await kubectl(ts.kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: yaml(5),
  });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((await get()).spec.replicas, 5);
  assert.equal((await kaasApply()).obj.spec.replicas, 2);
});
