// The reconciler of docs/controllers.md, run for real: a Widget (custom resource) gets an owned
// ConfigMap, a finalizer and status; deleting it runs the cleanup and the garbage collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '@kaas/apiserver';
import { ignoreNotFound, isConflict, isNotFound } from './client.ts';
import { ownerKeys } from './controller.ts';
import { parseObjectKey } from './keys.ts';
import { Manager } from './manager.ts';
import { startServer, until } from './testing.ts';

const finalizer = 'example.com/cleanup';

test('the documented Widget reconciler converges and cleans up', async (t) => {
  const { server, kv, close } = await startServer();
  t.after(close);
  const manager = new Manager({ server, kv, leaderElection: false });
  t.after(() => manager.stop());
  const widgets = manager.informer({ group: 'example.com', plural: 'widgets' });
  const configMaps = manager.informer({ group: '', plural: 'configmaps' });
  const cleanedUp: string[] = [];

  async function ensureConfigMap(cluster: string, w: KObject): Promise<boolean> {
    const ns = w.metadata.namespace!;
    const name = `${w.metadata.name}-config`;
    if (configMaps.get(`${cluster}/${ns}/${name}`)) return true;
    await manager.client
      .create(cluster, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace: ns,
          ownerReferences: [
            {
              apiVersion: 'example.com/v1',
              kind: 'Widget',
              name: w.metadata.name!,
              uid: w.metadata.uid!,
              controller: true,
            },
          ],
        },
        data: { size: String(w.spec?.size ?? 1) },
      })
      .catch((e: unknown) => {
        if (!isConflict(e)) throw e;
      });
    return false;
  }

  manager.add({
    name: 'widgets',
    workers: 2,
    watches: [
      { informer: widgets },
      { informer: configMaps, keys: ownerKeys({ apiVersion: 'example.com/v1', kind: 'Widget' }) },
    ],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      const cached = widgets.get(key);
      if (!cached) return;
      const w = structuredClone(cached);
      const ref = { cluster, apiVersion: 'example.com/v1', kind: 'Widget', namespace, name };
      if (w.metadata.deletionTimestamp) {
        cleanedUp.push(key);
        await manager.client
          .patch(ref, {
            metadata: { finalizers: (w.metadata.finalizers ?? []).filter((f) => f !== finalizer) },
          })
          .catch(ignoreNotFound);
        return;
      }
      if (!w.metadata.finalizers?.includes(finalizer)) {
        await manager.client.patch(ref, {
          metadata: { finalizers: [...(w.metadata.finalizers ?? []), finalizer] },
        });
        return;
      }
      const ready = await ensureConfigMap(cluster, w);
      const status = { observedGeneration: w.metadata.generation, phase: ready ? 'Ready' : 'Pending' };
      if (JSON.stringify(status) !== JSON.stringify(w.status)) {
        await manager.client.updateStatus(cluster, { ...w, status }).catch((e: unknown) => {
          if (!isConflict(e)) throw e;
        });
      }
      return ready ? undefined : { requeueAfterMs: 5_000 };
    },
  });
  await manager.start();
  await manager.waitUntilRunning();

  // The CRD arrives after the controller started: the informer works off the key prefix.
  await manager.client.create('tenant', {
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
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
  const widget = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'default' },
    spec: { size: 3 },
  };
  await until(
    () =>
      manager.client.create('tenant', widget).then(
        () => true,
        (e: unknown) => {
          if (isNotFound(e)) return false;
          throw e;
        },
      ),
    'the CRD is served',
  );
  const ref = {
    cluster: 'tenant',
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    namespace: 'default',
    name: 'w',
  };
  await until(async () => (await manager.client.get(ref)).status?.phase === 'Ready', 'widget Ready');
  const w = await manager.client.get(ref);
  assert.deepEqual(w.metadata.finalizers, [finalizer]);
  assert.equal(w.status.observedGeneration, 1);
  const cm = await manager.client.get({ ...ref, apiVersion: 'v1', kind: 'ConfigMap', name: 'w-config' });
  assert.equal(cm.data.size, '3');

  // Deleting the ConfigMap: the owner mapping brings the Widget back, which recreates it.
  await manager.client.delete({ ...ref, apiVersion: 'v1', kind: 'ConfigMap', name: 'w-config' });
  await until(
    async () =>
      (await manager.client
        .get({ ...ref, apiVersion: 'v1', kind: 'ConfigMap', name: 'w-config' })
        .catch(ignoreNotFound)) !== undefined,
    'ConfigMap recreated',
  );

  await manager.client.delete(ref);
  await until(async () => (await manager.client.get(ref).catch(ignoreNotFound)) === undefined, 'widget gone');
  assert.deepEqual(cleanedUp.slice(0, 1), ['tenant/default/w']);
  await until(
    async () =>
      (await manager.client
        .get({ ...ref, apiVersion: 'v1', kind: 'ConfigMap', name: 'w-config' })
        .catch(ignoreNotFound)) === undefined,
    'owned ConfigMap collected',
  );
});
