import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessClient, ignoreNotFound, isConflict, isNotFound } from './client.ts';
import { configMap, startServer, until } from './testing.ts';

const cmRef = (name: string, cluster = 'root') => ({
  cluster,
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'default',
  name,
});

test('create, get, list with selectors, resourceVersions set', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  const input = {
    ...configMap('a', { k: 'v' }),
    metadata: { name: 'a', namespace: 'default', labels: { app: 'x' } },
  };
  const created = await c.create('root', input);
  assert.ok(created.metadata.resourceVersion);
  assert.ok(created.metadata.uid);
  assert.equal((input.metadata as Record<string, unknown>).uid, undefined, 'the input is not mutated');
  await c.create('root', configMap('b'));
  const got = await c.get(cmRef('a'));
  assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
  assert.deepEqual(got.data, { k: 'v' });
  const all = await c.list({ cluster: 'root', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default' });
  assert.deepEqual(
    all.items.map((o) => o.metadata.name),
    ['a', 'b'],
  );
  assert.ok(all.items.every((o) => o.metadata.resourceVersion));
  assert.ok(Number(all.resourceVersion) >= Number(created.metadata.resourceVersion));
  const sel = await c.list({ cluster: 'root', apiVersion: 'v1', kind: 'ConfigMap', labels: { app: 'x' } });
  assert.deepEqual(
    sel.items.map((o) => o.metadata.name),
    ['a'],
  );
  const none = await c.list({ cluster: 'root', apiVersion: 'v1', kind: 'ConfigMap', labels: { app: 'y' } });
  assert.equal(none.items.length, 0);
});

test('not found and conflict surface as StatusError 404 / 409', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  await assert.rejects(c.get(cmRef('missing')), (e) => isNotFound(e));
  assert.equal(await c.get(cmRef('missing')).catch(ignoreNotFound), undefined);
  await assert.rejects(
    c.get({ cluster: 'root', apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' }),
    (e) => isNotFound(e),
  );
  const a = await c.create('root', configMap('a'));
  await assert.rejects(c.create('root', configMap('a')), (e) => isConflict(e));
  const first = await c.update('root', { ...a, data: { n: '1' } });
  assert.notEqual(first.metadata.resourceVersion, a.metadata.resourceVersion);
  // A write from the stale resourceVersion loses.
  await assert.rejects(c.update('root', { ...a, data: { n: '2' } }), (e) => isConflict(e));
  await assert.rejects(c.delete(cmRef('missing')), (e) => isNotFound(e));
});

test('writes go through validation, defaulting and generation like HTTP requests', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  await assert.rejects(c.create('root', configMap('Not_Valid')), (e: any) => e.code === 422);
  await assert.rejects(c.create('root', configMap('x', {}, 'no-such-ns')), (e) => isNotFound(e));
  const dep = await c.create('root', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
  });
  assert.equal(dep.metadata.generation, 1);
  const ref = {
    cluster: 'root',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'default',
    name: 'web',
  };
  const scaled = await c.patch(ref, { spec: { replicas: 3 } });
  assert.equal(scaled.spec.replicas, 3);
  assert.equal(scaled.metadata.generation, 2);
  // Status goes through the status subresource and does not bump generation.
  const withStatus = await c.updateStatus('root', {
    ...scaled,
    status: { replicas: 3, observedGeneration: 2 },
  });
  assert.equal(withStatus.status.replicas, 3);
  assert.equal(withStatus.metadata.generation, 2);
  // A plain update cannot change status.
  const upd = await c.update('root', { ...withStatus, status: { replicas: 99 } });
  assert.equal(upd.status.replicas, 3);
  const patchedStatus = await c.patch(ref, { status: { readyReplicas: 2 } }, { subresource: 'status' });
  assert.equal(patchedStatus.status.readyReplicas, 2);
  assert.equal(patchedStatus.metadata.generation, 2);
  // ConfigMaps have no status subresource.
  const cm = await c.create('root', configMap('plain'));
  await assert.rejects(c.updateStatus('root', cm), (e) => isNotFound(e));
});

test('finalizers and the garbage collector apply to in-process deletes', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  const owner = await c.create('root', {
    ...configMap('owner'),
    metadata: { name: 'owner', namespace: 'default', finalizers: ['kaas.dev/test'] },
  });
  await c.create('root', {
    ...configMap('dep'),
    metadata: {
      name: 'dep',
      namespace: 'default',
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid!, controller: true },
      ],
    },
  });
  const r = await c.delete(cmRef('owner'));
  assert.equal(r.deleted, false);
  assert.ok(r.obj.metadata.deletionTimestamp);
  const gone = await c.patch(cmRef('owner'), { metadata: { finalizers: null } });
  assert.ok(gone.metadata.deletionTimestamp);
  await assert.rejects(c.get(cmRef('owner')), (e) => isNotFound(e));
  await until(
    async () => (await c.get(cmRef('dep')).catch(ignoreNotFound)) === undefined,
    'dependent collected',
  );
});

test('logical clusters are isolated', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  await c.create('tenant-a', configMap('same', { in: 'a' }));
  await c.create('root', configMap('same', { in: 'root' }));
  assert.equal((await c.get(cmRef('same', 'tenant-a'))).data.in, 'a');
  assert.equal((await c.get(cmRef('same'))).data.in, 'root');
  const ns = await c.list({ cluster: 'tenant-a', apiVersion: 'v1', kind: 'Namespace' });
  assert.ok(ns.items.some((n) => n.metadata.name === 'kube-system'));
});
