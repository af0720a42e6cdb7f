// @kubernetes/client-node against our server: typed calls, and an informer (list+watch) that
// reconnects after the connection drops and relists after 410 Gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { TestServer } from '../support/apiserver.ts';
import { startTestServer } from '../support/apiserver.ts';

let ts: TestServer;
let kc: k8s.KubeConfig;

before(async () => {
  ts = await startTestServer();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(ts.kubeconfig);
});
after(async () => ts?.stop());

async function until(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('typed client: namespaces, configmaps, conflicts and not-found are real Kubernetes answers', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'cn1' } } });
  const cm = await core.createNamespacedConfigMap({
    namespace: 'cn1',
    body: { metadata: { name: 'a' }, data: { k: 'v' } },
  });
  assert.equal(cm.data?.k, 'v');
  assert.ok(cm.metadata?.uid);
  const list = await core.listNamespacedConfigMap({ namespace: 'cn1' });
  assert.deepEqual(
    list.items.map((i) => i.metadata?.name),
    ['a'],
  );
  // Stale resourceVersion -> 409 Conflict.
  const stale = { ...cm, data: { k: 'x' } };
  await core.replaceNamespacedConfigMap({ namespace: 'cn1', name: 'a', body: { ...cm, data: { k: 'w' } } });
  await assert.rejects(
    core.replaceNamespacedConfigMap({ namespace: 'cn1', name: 'a', body: stale }),
    (e: any) => e.code === 409,
  );
  await assert.rejects(
    core.readNamespacedConfigMap({ namespace: 'cn1', name: 'nope' }),
    (e: any) => e.code === 404,
  );
});

test('informer: list+watch, reconnect after a dropped connection, relist after 410', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'inf' } } });
  for (const n of ['a', 'b', 'c'])
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: n } } });
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/inf/configmaps', () =>
    core.listNamespacedConfigMap({ namespace: 'inf' }),
  );
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
  informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
  // client-node's documented pattern: on a transport error the informer stops; restart it.
  let restarts = 0;
  let stopping = false;
  informer.on('error', () => {
    if (stopping) return;
    restarts++;
    setTimeout(() => void informer.start().catch(() => undefined), 100);
  });
  await informer.start();
  try {
    await until('initial list', () => informer.list().length === 3);
    await core.patchNamespacedConfigMap(
      { namespace: 'inf', name: 'a', body: { data: { x: '1' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'b' });
    await until('update and delete events', () => seen.includes('update:a') && seen.includes('delete:b'));

    // Drop every connection (the watch included), change things while the informer is away,
    // then compact history so its resume point is gone: it must get 410 and relist.
    ts.server.server.closeAllConnections();
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'd' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'c' });
    await ts.kv.compact(await ts.kv.currentRevision());
    ts.server.server.closeAllConnections();
    await until(
      'informer to converge after relist',
      () =>
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort()
          .join(',') === 'a,d',
      20_000,
    );
    assert.equal(informer.get('a', 'inf')?.data?.x, '1');
    assert.ok(restarts >= 1, 'the dropped connection was noticed');
  } finally {
    stopping = true;
    await informer.stop();
  }
});
