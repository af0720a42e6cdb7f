// The PersistentVolume controller of the local cloud. The decisions are the seed's algorithm in
// @kaas/apiserver's pvbinder (syncClaim, syncVolume, recycleFinished, deleteFailed); this file
// observes claims, volumes and classes from the shared caches, carries decisions out, and owns
// the storage: each volume of the `kaas.dev/local-volume` provisioner is a real directory,
// `<dataDir>/volumes/<cluster>/<pv-name>`, created on provisioning, emptied by Recycle and
// removed by Delete.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { BinderEvent, KObject } from '@kaas/apiserver';
import { deleteFailed, recycleFinished, syncClaim, syncVolume } from '@kaas/apiserver';
import { formatKey, isAlreadyExists, isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { localVolumeProvisioner } from './defaults.ts';
import { jsonEqual } from './util.ts';

export function volumesRoot(dataDir: string): string {
  return resolve(dataDir, 'volumes');
}

/** The directory of a volume: hostPath.path or local.path. */
export function volumePath(pv: KObject): string | undefined {
  return pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
}

/** The directory when it lies inside this cluster's volumes directory; we touch nothing else. */
function ownedPath(root: string, cluster: string, pv: KObject): string | undefined {
  const p = volumePath(pv);
  if (!p) return undefined;
  const abs = resolve(p);
  const base = join(root, cluster) + sep;
  return abs.startsWith(base) && abs.length > base.length ? abs : undefined;
}

/** The seed's scrub (`rm -rf /vol/* /vol/.[!.]* /vol/..?*`): every entry goes, the directory stays. */
export async function scrubDirectory(dir: string): Promise<void> {
  for (const e of await readdir(dir)) await rm(join(dir, e), { recursive: true, force: true });
}

export function addVolumeControllers(ctx: Ctx): void {
  const { inf, client } = ctx;
  const root = volumesRoot(ctx.opts.dataDir);
  const events = ctx.events('persistentvolume-controller');

  const world = (cluster: string) => ({
    volumes: inf.pvs.byIndex(idx.cluster, cluster),
    classes: inf.storageclasses.byIndex(idx.cluster, cluster),
  });
  const unboundClaims = (cluster: string) =>
    inf.pvcs
      .byIndex(idx.cluster, cluster)
      .filter((c) => c.status?.phase !== 'Bound')
      .map((c) => keyOf(cluster, c));

  async function record(cluster: string, obj: KObject, e: BinderEvent | undefined): Promise<void> {
    if (e) await events.record(cluster, obj, { type: e.type, reason: e.reason, message: e.message });
  }

  /** Writes spec/metadata then status, each only when it differs from `cur`. */
  async function write(cluster: string, cur: KObject, next: KObject): Promise<KObject> {
    let obj = cur;
    const { status: _s, ...a } = cur;
    const { status: _n, ...b } = next;
    if (!jsonEqual(a, b)) obj = await client.update(cluster, { ...next, status: cur.status });
    if (!jsonEqual(cur.status ?? {}, next.status ?? {}))
      obj = await client.updateStatus(cluster, {
        ...obj,
        status: next.status,
        metadata: { ...obj.metadata, resourceVersion: obj.metadata.resourceVersion },
      });
    return obj;
  }

  ctx.manager.add({
    name: 'localcluster-claims',
    workers: 4,
    watches: [
      { informer: inf.pvcs },
      {
        informer: inf.pvs,
        keys: (e) => {
          const keys = unboundClaims(e.cluster);
          const r = e.obj.spec?.claimRef;
          if (r?.name) keys.push(formatKey({ cluster: e.cluster, namespace: r.namespace, name: r.name }));
          return keys;
        },
      },
      { informer: inf.storageclasses, keys: (e) => unboundClaims(e.cluster) },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const pvc = inf.pvcs.get(key);
      if (!pvc || pvc.metadata.deletionTimestamp) return;
      const w = world(cluster);
      const d = syncClaim(pvc, w, {
        volumeSource: (name) => ({
          hostPath: { path: join(root, cluster, name), type: 'DirectoryOrCreate' },
        }),
      });
      try {
        switch (d.action) {
          case 'none':
            return;
          case 'wait':
          case 'error':
          case 'lost':
            await write(cluster, pvc, d.pvc);
            await record(cluster, pvc, d.event);
            return;
          case 'bind': {
            const cur = w.volumes.find((v) => v.metadata.name === d.pv.metadata.name)!;
            await write(cluster, cur, d.pv);
            await write(cluster, pvc, d.pvc);
            return;
          }
          case 'provision': {
            const cls = w.classes.find((c) => c.metadata.name === d.pv.spec.storageClassName);
            if (cls?.provisioner !== localVolumeProvisioner) {
              // Another provisioner's claim: not ours to provision (an external provisioner's).
              await record(cluster, pvc, {
                on: 'claim',
                type: 'Normal',
                reason: 'ExternalProvisioning' as BinderEvent['reason'],
                message: `Waiting for a volume to be created either by the external provisioner '${cls?.provisioner}' or manually by the system administrator.`,
              });
              return;
            }
            const dir = volumePath(d.pv)!;
            await mkdir(dir, { recursive: true, mode: 0o777 });
            try {
              await client.create(cluster, d.pv);
            } catch (e) {
              if (!isAlreadyExists(e)) throw e;
            }
            await write(cluster, pvc, d.pvc);
            await record(cluster, pvc, d.event);
            return;
          }
        }
      } catch (e) {
        if (isNotFound(e)) return;
        throw e; // conflicts too: another claim may have taken the volume; look again
      }
    },
  });

  ctx.manager.add({
    name: 'localcluster-volumes',
    workers: 4,
    watches: [
      { informer: inf.pvs },
      {
        informer: inf.pvcs,
        keys: (e) => {
          const keys = inf.pvs
            .byIndex(idx.claimRef, `${e.cluster}/${e.obj.metadata.namespace}/${e.obj.metadata.name}`)
            .map((pv) => formatKey({ cluster: e.cluster, name: pv.metadata.name! }));
          const vn = e.obj.spec?.volumeName;
          if (vn) keys.push(formatKey({ cluster: e.cluster, name: vn }));
          return keys;
        },
      },
    ],
    async reconcile(key) {
      const { cluster } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const pv = inf.pvs.get(key);
      if (!pv) return;
      const claims = inf.pvcs.byIndex(idx.cluster, cluster);
      const d = syncVolume(pv, claims);
      try {
        switch (d.action) {
          case 'none':
            return;
          case 'update':
          case 'release':
            await write(cluster, pv, d.pv);
            return;
          case 'fail':
            await write(cluster, pv, d.pv);
            await record(cluster, pv, d.event);
            return;
          case 'recycle': {
            const released = await write(cluster, pv, d.pv);
            const dir = ownedPath(root, cluster, pv);
            let result: { ok: true } | { ok: false; message: string };
            if (!dir)
              result = { ok: false, message: `${volumePath(pv)} is not a local-cloud volume directory` };
            else {
              try {
                await scrubDirectory(dir);
                result = { ok: true };
              } catch (e) {
                result = { ok: false, message: e instanceof Error ? e.message : String(e) };
              }
            }
            const r = recycleFinished(released, result);
            await write(cluster, released, r.pv);
            await record(cluster, pv, r.event);
            return;
          }
          case 'delete': {
            const released = await write(cluster, pv, d.pv);
            const dir = ownedPath(root, cluster, pv);
            if (!dir) {
              // Only our own directories are deleted; anything else is an administrator's.
              const r = deleteFailed(released, `${volumePath(pv)} is not a local-cloud volume directory`);
              await write(cluster, released, r.pv);
              await record(cluster, pv, r.event);
              return;
            }
            try {
              await rm(dir, { recursive: true, force: true });
            } catch (e) {
              const r = deleteFailed(released, e instanceof Error ? e.message : String(e));
              await write(cluster, released, r.pv);
              await record(cluster, pv, r.event);
              return;
            }
            await client.delete({
              cluster,
              apiVersion: 'v1',
              kind: 'PersistentVolume',
              name: pv.metadata.name!,
            });
            events.forget(cluster, pv);
            return;
          }
        }
      } catch (e) {
        if (isNotFound(e) || isConflict(e)) return;
        throw e;
      }
    },
  });
}
