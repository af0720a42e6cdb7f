import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore } from '@kaas/apiserver';
import { InProcessClient, isNotFound } from './client.ts';
import type { InformerEvent } from './informer.ts';
import { Informer, fieldIndex } from './informer.ts';
import { InstrumentedKV, configMap, sleep, startServer, until } from './testing.ts';

const configMaps = { group: '', plural: 'configmaps' };

function record(inf: Informer): InformerEvent[] {
  const events: InformerEvent[] = [];
  inf.addHandler((e) => events.push(e));
  return events;
}

test('lists every logical cluster, then follows changes', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  await c.create('root', configMap('a'));
  await c.create('tenant-a', configMap('b'));
  const inf = new Informer({ kv: s.kv, resource: configMaps });
  t.after(() => inf.stop());
  const events = record(inf);
  assert.equal(inf.hasSynced(), false);
  await inf.start();
  assert.equal(inf.hasSynced(), true);
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.key}`),
    ['add root/default/a', 'add tenant-a/default/b'],
  );
  assert.equal(inf.get('tenant-a/default/b')?.metadata.name, 'b');
  assert.ok(inf.get('root/default/a')?.metadata.resourceVersion);
  assert.deepEqual(
    inf.list('root').map((o) => o.metadata.name),
    ['a'],
  );
  events.length = 0;

  const b2 = await c.patch(
    { cluster: 'tenant-a', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'b' },
    { data: { x: '1' } },
  );
  await c.create('tenant-b', configMap('c', {}, 'kube-system'));
  await c.delete({ cluster: 'root', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' });
  await until(() => events.length === 3, 'three events');
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.key}`),
    ['update tenant-a/default/b', 'add tenant-b/kube-system/c', 'delete root/default/a'],
  );
  assert.equal(events[0]!.oldObj?.data?.x, undefined);
  assert.equal(events[0]!.obj.data.x, '1');
  assert.equal(inf.get('tenant-a/default/b')?.metadata.resourceVersion, b2.metadata.resourceVersion);
  assert.equal(events[2]!.obj.metadata.name, 'a');
  assert.equal(inf.get('root/default/a'), undefined);
  assert.deepEqual(
    inf.list(undefined, 'kube-system').map((o) => o.metadata.name),
    ['c'],
  );
  assert.ok(inf.revision >= Number(b2.metadata.resourceVersion));
});

test('cluster-scoped keys, one cluster only, apiVersion+kind resolution', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  await c.list({ cluster: 'other', apiVersion: 'v1', kind: 'Namespace' }); // makes cluster "other"
  const inf = new Informer({
    kv: s.kv,
    resource: { apiVersion: 'v1', kind: 'Namespace' },
    cluster: 'root',
    clusters: s.server.clusters,
  });
  t.after(() => inf.stop());
  await inf.start();
  assert.ok(inf.keys().includes('root/kube-system'));
  assert.ok(inf.keys().every((k) => k.startsWith('root/')));
  await c.create('other', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'elsewhere' } });
  await c.create('root', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'here' } });
  await until(() => inf.get('root/here') !== undefined, 'root namespace seen');
  assert.equal(inf.get('other/elsewhere'), undefined);
});

test('pages the initial list at one revision', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  for (let i = 0; i < 7; i++) await c.create('root', configMap(`cm-${i}`));
  const inf = new Informer({ kv: s.kv, resource: configMaps, pageSize: 2 });
  t.after(() => inf.stop());
  await inf.start();
  assert.equal(inf.list('root', 'default').length, 7);
});

test('a failed watch relists and reports what vanished meanwhile as deletes', async (t) => {
  const kv = new InstrumentedKV(new MemoryStore());
  const s = await startServer(kv);
  t.after(s.close);
  const c = new InProcessClient(s.server);
  for (const n of ['stay', 'change', 'go']) await c.create('root', configMap(n));
  const inf = new Informer({ kv, resource: configMaps, relistDelayMs: 10 });
  t.after(() => inf.stop());
  await inf.start();
  const events = record(inf);
  events.length = 0;
  kv.cutWatches();
  const ref = (name: string) => ({
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: 'default',
    name,
  });
  await c.patch(ref('change'), { data: { v: '2' } });
  await c.delete(ref('go'));
  await c.create('root', configMap('new'));
  await sleep(20);
  assert.equal(events.length, 0, 'the cut watch delivered nothing');
  await kv.compact(await kv.currentRevision());
  kv.failWatches();
  await until(() => events.length === 3, 'relist events');
  assert.deepEqual(events.map((e) => `${e.type} ${e.key}${e.synthetic ? ' synthetic' : ''}`).sort(), [
    'add root/default/new',
    'delete root/default/go synthetic',
    'update root/default/change',
  ]);
  assert.equal(inf.relists, 1);
  assert.equal(inf.get('root/default/change')?.data.v, '2');
  // The new watch works.
  await c.delete(ref('stay'));
  await until(() => inf.get('root/default/stay') === undefined, 'watch resumed');
});

test('custom resources before their CRD exists, by group and plural', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  const inf = new Informer({ kv: s.kv, resource: { group: 'example.com', plural: 'widgets' } });
  t.after(() => inf.stop());
  await inf.start();
  assert.equal(inf.size(), 0);
  await c.create('tenant-x', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
  const w = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' } };
  await until(
    () =>
      c.create('tenant-x', w).then(
        () => true,
        (e) => {
          if (isNotFound(e)) return false;
          throw e;
        },
      ),
    'the CRD is served',
  );
  await until(() => inf.get('tenant-x/default/w1') !== undefined, 'widget seen');
});

test('indexers, late handlers replay the cache, handler errors are contained', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'nginx' }] },
  });
  await c.create('root', pod('p1', 'node-a'));
  await c.create('root', pod('p2', 'node-b'));
  await c.create('tenant', pod('p3', 'node-a'));
  const logged: string[] = [];
  const inf = new Informer({
    kv: s.kv,
    resource: { group: '', plural: 'pods' },
    log: (_l, msg) => logged.push(msg),
  });
  t.after(() => inf.stop());
  inf.addIndexer('node', fieldIndex('spec.nodeName'));
  inf.addHandler(() => {
    throw new Error('boom');
  });
  await inf.start();
  assert.ok(logged.includes('informer handler threw'));
  const names = (v: string) =>
    inf
      .byIndex('node', v)
      .map((o) => o.metadata.name)
      .sort();
  assert.deepEqual(names('root/node-a'), ['p1']);
  assert.deepEqual(names('tenant/node-a'), ['p3']);
  await c.create('root', pod('p4', 'node-a'));
  await c.delete({ cluster: 'root', apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'p1' });
  await until(() => names('root/node-a').join() === 'p4', 'index follows changes');
  // An index added later covers what is already cached.
  inf.addIndexer('any-node', fieldIndex('spec.nodeName', { perCluster: false }));
  assert.deepEqual(names('root/node-b'), ['p2']);
  assert.equal(inf.byIndex('any-node', 'node-a').length, 2);
  const late = record(inf);
  assert.equal(late.length, 3);
  assert.ok(late.every((e) => e.type === 'add'));
});

test('stop before the first sync rejects waitForSync; restart relists', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const c = new InProcessClient(s.server);
  const inf = new Informer({ kv: s.kv, resource: configMaps });
  const waiting = inf.waitForSync();
  inf.stop();
  await assert.rejects(waiting, /stopped before it synced/);
  await inf.start();
  const events = record(inf);
  inf.stop();
  await c.create('root', configMap('while-stopped'));
  await inf.start();
  t.after(() => inf.stop());
  assert.ok(events.some((e) => e.type === 'add' && e.key === 'root/default/while-stopped'));
});

test('works the same over SQLite', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-informer-'));
  const kv = SqliteStore.open(join(dir, 'kaas.db'));
  const s = await startServer(kv);
  t.after(async () => {
    await s.close();
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  });
  const c = new InProcessClient(s.server);
  await c.create('root', configMap('before'));
  const inf = new Informer({ kv, resource: configMaps, pageSize: 1 });
  t.after(() => inf.stop());
  await inf.start();
  const events = record(inf);
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.key}`),
    ['add root/default/before'],
  );
  await c.create('t2', configMap('after'));
  await c.delete({
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: 'default',
    name: 'before',
  });
  await until(() => events.length === 3, 'watch events from SQLite');
  assert.deepEqual(
    events.slice(1).map((e) => `${e.type} ${e.key}`),
    ['add t2/default/after', 'delete root/default/before'],
  );
});
