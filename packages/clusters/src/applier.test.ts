// The applier's server-side apply, on the local cloud as `kaasctl server` runs it: an idle pass
// writes nothing; a label a user adds to a managed object survives the next pass; a user's change
// to a field KaaS renders is set back, and the object records KaaS ("kaas") as that field's manager.
// Prune: a StatefulSet an upgrade drops leaves its claims; a service switched off takes them, and
// the result says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDefaults, type ClusterInput } from '@kaas/api';
import { MemoryStore } from '@kaas/apiserver';
import { defaultCatalog } from '@kaas/catalog';
import { applyServices, fieldManager } from './applier.ts';
import { clusterObject, condition, startProcess, until } from './testing.ts';

test(
  'applier: server-side apply keeps what users add, reverts what they change, idle writes 0',
  { timeout: 180_000 },
  async () => {
    const p = await startProcess(new MemoryStore(), { asServer: true });
    const client = p.manager.client;
    try {
      // every service: CRDs, custom resources, Services, RBAC... an idle pass must write none of them
      const obj = clusterObject('ssa', { workers: 1 });
      await client.create('root', obj);
      const ref = {
        cluster: 'root',
        apiVersion: 'kaas.dev/v1alpha1',
        kind: 'Cluster',
        namespace: 'default',
        name: 'ssa',
      };
      const ready = await until(
        async () => {
          const c = await client.get(ref);
          return condition(c, 'ServicesReady')?.status === 'True' ? c : undefined;
        },
        'ServicesReady',
        120_000,
      );
      const cluster = withDefaults(structuredClone(ready) as ClusterInput);
      cluster.status = { endpoint: ready.status?.endpoint };
      const rendered = defaultCatalog.render(cluster);

      // idle: every object applied, nothing changes, nothing written
      const idle = await applyServices(client, 'ssa', rendered);
      assert.equal(idle.written, 0);
      assert.equal(idle.pruned, 0);

      const dep = {
        cluster: 'ssa',
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'kaas-system',
        name: 'registry',
      };
      const live = await client.get(dep);
      const entry = (
        live.metadata.managedFields as { manager: string; operation: string; fieldsV1: any }[]
      ).find((m) => m.manager === fieldManager);
      assert.equal(entry?.operation, 'Apply');
      assert.ok(entry?.fieldsV1['f:spec']['f:template'], 'kaas owns the pod template');
      const image = live.spec.template.spec.containers[0].image as string;

      // a user adds a label and changes the image (a PUT, as kubectl edit does)
      for (;;) {
        const cur = await client.get(dep);
        cur.metadata.labels = { ...cur.metadata.labels, 'team.example.com/owner': 'blue' };
        cur.spec.template.spec.containers[0].image = 'docker.io/library/registry:evil';
        cur.metadata.managedFields = undefined;
        try {
          await client.update('ssa', cur);
          break;
        } catch (e) {
          if ((e as { code?: number }).code !== 409) throw e;
        }
      }
      // the reconciler may get there first (the Deployment's event wakes it): either way, after a
      // pass the image is KaaS's again and the label is still there
      await applyServices(client, 'ssa', rendered);
      const after = await client.get(dep);
      assert.equal(after.spec.template.spec.containers[0].image, image);
      assert.equal(after.metadata.labels?.['team.example.com/owner'], 'blue');
      await until(
        async () => ((await applyServices(client, 'ssa', rendered)).written === 0 ? true : undefined),
        'an idle pass again',
        30_000,
      );
      assert.equal((await client.get(dep)).metadata.labels?.['team.example.com/owner'], 'blue');
    } finally {
      await p.stop();
    }
  },
);

test(
  "prune: the claims of a disabled service's StatefulSets go with it, not on an upgrade",
  { timeout: 120_000 },
  async () => {
    const p = await startProcess(new MemoryStore(), { asServer: true });
    const client = p.manager.client;
    try {
      // a bare logical cluster (no Cluster object, so no reconciler competes with these passes)
      await p.server.clusters.get('prune');
      const obj = clusterObject('prune', { services: false });
      obj.spec.services.logging = { enabled: true };
      const logging = defaultCatalog.render(withDefaults(obj as ClusterInput));
      assert.deepEqual(
        logging.map((s) => s.key),
        ['logging'],
      );
      await applyServices(client, 'prune', logging);
      const sts = await client.get({
        cluster: 'prune',
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        namespace: 'kaas-system',
        name: 'loki',
      });
      const template = (sts.spec.volumeClaimTemplates as { metadata: { name: string } }[])[0]!.metadata.name;
      // one that only looks like a claim of the StatefulSet's
      const claim = (name: string) => ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: 'kaas-system' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      await client.create('prune', claim(`${template}-loki-extra`));
      const claims = async () =>
        (
          await client.list({
            cluster: 'prune',
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: 'kaas-system',
          })
        ).items
          .filter((c) => !c.metadata.deletionTimestamp)
          .map((c) => c.metadata.name)
          .sort();

      // the local cloud's StatefulSet controller makes <template>-loki-0 (with no label of ours)
      await until(
        async () => ((await claims()).includes(`${template}-loki-0`) ? true : undefined),
        "the StatefulSet's claim",
        30_000,
      );
      // a new version without the StatefulSet: it goes, its claim (the data) stays
      const upgraded = logging.map((s) => ({
        ...s,
        objects: s.objects.filter((o) => o.kind !== 'StatefulSet'),
      }));
      const up = await applyServices(client, 'prune', upgraded);
      assert.ok(up.pruned >= 1);
      assert.deepEqual(up.removed, []);
      assert.deepEqual(await claims(), [`${template}-loki-0`, `${template}-loki-extra`]);

      // switched off: everything of it goes, the StatefulSet's claim too, and the result says why
      await applyServices(client, 'prune', logging);
      const off = await applyServices(client, 'prune', []);
      assert.equal(off.removed.length, 1);
      assert.equal(off.removed[0]!.name, 'logging');
      assert.match(
        off.removed[0]!.message,
        new RegExp(
          `^disabled: removed \\d+ objects and the claims its StatefulSets made, .*PersistentVolumeClaim kaas-system/${template}-loki-0$`,
        ),
      );
      assert.deepEqual(await claims(), [`${template}-loki-extra`]);
      const again = await applyServices(client, 'prune', []);
      assert.deepEqual([again.pruned, again.removed], [0, []]);
    } finally {
      await p.stop();
    }
  },
);
