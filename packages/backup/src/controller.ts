// The backup controllers of `kaasctl server`: Backup, Restore and BackupSchedule of
// kaas.dev/v1alpha1 in the root cluster. A Backup or Restore is one run: New -> InProgress ->
// Completed | Failed, never run twice. A run the process did not finish (killed, leader lost) is
// found InProgress by the next pass with no job behind it and marked Failed/Interrupted; its
// partial upload is removed (it never had a manifest, so nothing claims to be a backup).
import { randomBytes } from 'node:crypto';
import type { Logger } from '@kaas/controllers';
import type { KObject } from '@kaas/apiserver';
import { apiVersion, parseEvery } from '@kaas/api';
import type { Manager } from '@kaas/controllers';
import { ignoreNotFound, isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import { backupRoot, formatVersion } from './archive.ts';
import {
  BackupError,
  deletePrefix,
  reasonOf,
  runBackup,
  runRestore,
  runVerify,
  type Progress,
  type Server,
} from './engine.ts';
import { S3Client } from './s3.ts';
import { retentionTtl } from './velero.ts';
import {
  veleroBackupDelete,
  veleroBackupPass,
  veleroRestorePass,
  type VeleroPassContext,
} from './veleroRun.ts';
import type { WorkloadApiSource } from '@kaas/clusters';
import type { WorkloadClient } from './workload.ts';
import { secretValue, workloadAccess } from './workloadAccess.ts';

export const backupFinalizer = 'kaas.dev/backup-storage';
export const scheduleLabel = 'kaas.dev/backup-schedule';

export interface BackupControllerOptions {
  manager: Manager;
  server: Server;
  dataDir: string;
  log?: Logger;
  /** injected clock (schedules) */
  now?: () => number;
  /** engine tuning (tests, bench) */
  partBytes?: number;
  /** How often a run Velero does in a workload cluster is looked at (default 2 s). */
  veleroPollMs?: number;
  /**
   * How a non-local Cluster's own API is reached when no Secret `<cluster>-kubeconfig` overrides
   * it (kaasctl server: status.endpoint and a client certificate from the cluster CA it keeps).
   */
  workloadApi?: WorkloadApiSource;
  /** Replaces the whole lookup (workloadAccess.ts) of a non-local Cluster's API. */
  workloadClient?: (namespace: string, cluster: string) => Promise<WorkloadClient>;
}

type Obj = Record<string, any>;

function condition(status: 'True' | 'False', reason: string, message: string, generation?: number) {
  return {
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime: new Date().toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

const decodeSecret = (secret: KObject, key: string) => secretValue(secret as Obj, key);

export function addBackupControllers(o: BackupControllerOptions): { running: () => number } {
  const { manager } = o;
  const client = manager.client;
  const now = o.now ?? Date.now;
  const backups = manager.informer({ group: 'kaas.dev', plural: 'backups' }, { cluster: 'root' });
  const restores = manager.informer({ group: 'kaas.dev', plural: 'restores' }, { cluster: 'root' });
  const schedules = manager.informer({ group: 'kaas.dev', plural: 'backupschedules' }, { cluster: 'root' });
  const running = new Map<string, AbortController>();

  const ref = (kind: string, namespace: string, name: string) => ({
    cluster: 'root',
    apiVersion,
    kind,
    namespace,
    name,
  });
  const patchStatus = (kind: string, ns: string, name: string, status: Obj) =>
    client.patch(ref(kind, ns, name), { status }, { subresource: 'status' }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });

  /** The S3 client of a storage location, with the credentials from its Secret. */
  async function s3For(namespace: string, storage: Obj): Promise<S3Client> {
    const s3 = storage.s3 as Obj;
    const secretName = s3.credentialsRef?.name as string;
    const secret = await client
      .get({ cluster: 'root', apiVersion: 'v1', kind: 'Secret', namespace, name: secretName })
      .catch(ignoreNotFound);
    if (!secret)
      throw new BackupError(
        'NotFound',
        `Secret ${namespace}/${secretName} (spec.storage.s3.credentialsRef) does not exist: create it with keys accessKeyId and secretAccessKey`,
      );
    const accessKeyId = decodeSecret(secret, 'accessKeyId');
    const secretAccessKey = decodeSecret(secret, 'secretAccessKey');
    if (!accessKeyId || !secretAccessKey)
      throw new BackupError(
        'InvalidSpec',
        `Secret ${namespace}/${secretName} must have the keys accessKeyId and secretAccessKey`,
      );
    const sessionToken = decodeSecret(secret, 'sessionToken');
    return new S3Client({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: s3.region ?? 'us-east-1',
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    });
  }

  const workload =
    o.workloadClient ??
    workloadAccess({
      get: async (kind, namespace, name) =>
        (await client
          .get({ cluster: 'root', apiVersion: kind === 'Secret' ? 'v1' : apiVersion, kind, namespace, name })
          .catch(ignoreNotFound)) as Obj | undefined,
      ...(o.workloadApi ? { workloadApi: o.workloadApi } : {}),
    });

  /** The Cluster's provider type, or undefined when it does not exist. */
  async function providerOf(namespace: string, name: string): Promise<string | undefined> {
    const c = await client
      .get({ cluster: 'root', apiVersion, kind: 'Cluster', namespace, name })
      .catch(ignoreNotFound);
    return (c as Obj | undefined)?.spec?.provider?.type;
  }

  function veleroContext(
    kind: 'Backup' | 'Restore',
    namespace: string,
    name: string,
    gen?: number,
  ): VeleroPassContext {
    return {
      workload: (cluster) => workload(namespace, cluster),
      patchStatus: (status) => patchStatus(kind, namespace, name, { observedGeneration: gen, ...status }),
      condition: (status, reason, message) => condition(status, reason, message, gen),
      pollMs: o.veleroPollMs ?? 2_000,
      ...(o.log ? { log: (level, msg, fields) => o.log!(level, msg, fields) } : {}),
    };
  }

  /** A schedule's Backups live as long as its retention keeps them; others 30 days (Velero's default). */
  function ttlOf(b: Obj): string | undefined {
    const s = b.metadata.labels?.[scheduleLabel];
    const sched = s ? (schedules.get(`root/${b.metadata.namespace}/${s}`) as Obj | undefined) : undefined;
    return sched ? retentionTtl(parseEvery(sched.spec.every), sched.spec.keep) : undefined;
  }

  async function localCluster(namespace: string, name: string): Promise<string> {
    const c = await client
      .get({ cluster: 'root', apiVersion, kind: 'Cluster', namespace, name })
      .catch(ignoreNotFound);
    if (!c) throw new BackupError('NotFound', `Cluster ${namespace}/${name} does not exist`);
    const type = (c as Obj).spec?.provider?.type;
    if (type !== 'local')
      throw new BackupError(
        'InvalidSpec',
        `Cluster ${namespace}/${name} runs on ${type}: the local path reads and writes only clusters on the local cloud; backups of ${type} clusters go through Velero and restore into clusters with Velero (docs/backups.md)`,
      );
    return name; // the logical cluster is named after the Cluster (localClusterName)
  }

  const rootOf = (b: KObject) =>
    backupRoot((b as Obj).spec.storage.s3.prefix ?? 'kaas', b.metadata.namespace!, b.metadata.name!);

  function progressReporter(kind: string, ns: string, name: string) {
    let last = 0;
    let pending: Promise<unknown> = Promise.resolve();
    return (p: Progress) => {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      pending = pending
        .then(() =>
          patchStatus(kind, ns, name, { progress: { bytesDone: p.bytesDone, bytesTotal: p.bytesTotal } }),
        )
        .catch(() => undefined);
    };
  }

  // ---- Backup ----
  manager.add({
    name: 'backups',
    workers: 2,
    watches: [{ informer: backups }],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      if (cluster !== 'root' || !namespace) return;
      if (!backups.get(key)) return;
      // fresh, not the cache: a pass right after a run must see the run's final status, or it
      // would take the Backup for one interrupted
      const b = (await client
        .get({ cluster: 'root', apiVersion, kind: 'Backup', namespace, name })
        .catch(ignoreNotFound)) as Obj | undefined;
      if (!b) return;
      const r = ref('Backup', namespace, name);
      if (b.metadata.deletionTimestamp) {
        running.get(key)?.abort();
        if (b.metadata.finalizers?.includes(backupFinalizer)) {
          if (b.status?.velero) await veleroBackupDelete(veleroContext('Backup', namespace, name), b);
          else
            try {
              const s3 = await s3For(namespace, b.spec.storage);
              const n = await deletePrefix(s3, rootOf(b as KObject));
              o.log?.('info', 'backup archive deleted', { backup: `${namespace}/${name}`, objects: n });
            } catch (e) {
              // storage that cannot be reached or authenticated holds nothing we could delete now
              const reason = reasonOf(e);
              if (reason === 'CloudUnavailable' || reason === 'Timeout') throw e;
              o.log?.('warn', 'backup archive not deleted', {
                backup: `${namespace}/${name}`,
                error: (e as Error).message,
              });
            }
          await client
            .patch(r, {
              metadata: {
                finalizers: b.metadata.finalizers.filter((f: string) => f !== backupFinalizer),
                resourceVersion: b.metadata.resourceVersion,
              },
            })
            .catch((e: unknown) => {
              if (!isNotFound(e) && !isConflict(e)) throw e;
            });
        }
        return;
      }
      if (!b.metadata.finalizers?.includes(backupFinalizer)) {
        await client.patch(r, {
          metadata: { finalizers: [...(b.metadata.finalizers ?? []), backupFinalizer] },
        });
        return;
      }
      const phase = b.status?.phase ?? 'New';
      if (phase === 'Completed' || phase === 'Failed') return;
      const gen = b.metadata.generation;
      // Velero does the run in the workload cluster: a Backup that has a Velero object, or of a
      // Cluster that is not on the local cloud, is mirrored from it (veleroRun.ts)
      if (b.status?.velero) return veleroBackupPass(veleroContext('Backup', namespace, name, gen), b, {});
      if (phase === 'New') {
        const type = await providerOf(namespace, b.spec.cluster);
        if (type !== undefined && type !== 'local') {
          const ttl = ttlOf(b);
          return veleroBackupPass(veleroContext('Backup', namespace, name, gen), b, ttl ? { ttl } : {});
        }
      }
      if (phase === 'InProgress' && !running.has(key)) {
        // this process did not start it, or restarted: the run is gone
        try {
          await deletePrefix(await s3For(namespace, b.spec.storage), rootOf(b as KObject));
        } catch {
          /* best effort: an archive without a manifest is not a backup */
        }
        await patchStatus('Backup', namespace, name, {
          phase: 'Failed',
          completedAt: new Date().toISOString(),
          error:
            'the server stopped during the backup; the partial upload was removed and nothing was marked complete. Create a new Backup.',
          conditions: [
            condition('False', 'Interrupted', 'interrupted: the server stopped during the upload', gen),
          ],
        });
        return;
      }
      const abort = new AbortController();
      running.set(key, abort);
      let s3: S3Client | undefined;
      try {
        const startedAt = new Date().toISOString();
        await patchStatus('Backup', namespace, name, {
          phase: 'InProgress',
          startedAt,
          observedGeneration: gen,
          conditions: [condition('False', 'Provisioning', 'backing up', gen)],
        });
        const logical = await localCluster(namespace, b.spec.cluster);
        s3 = await s3For(namespace, b.spec.storage);
        const ns: string[] = b.spec.includedNamespaces;
        const res = await runBackup(
          {
            server: o.server,
            s3,
            dataDir: o.dataDir,
            signal: abort.signal,
            ...(o.partBytes ? { partBytes: o.partBytes } : {}),
            onProgress: progressReporter('Backup', namespace, name),
          },
          {
            namespace,
            name,
            uid: b.metadata.uid,
            cluster: logical,
            namespaces: ns.includes('*') ? 'all' : ns,
            root: rootOf(b as KObject),
          },
        );
        const t = res.manifest.totals;
        await patchStatus('Backup', namespace, name, {
          phase: 'Completed',
          completedAt: new Date().toISOString(),
          counts: { objects: t.objects, volumes: t.volumes, files: t.files },
          sizes: { objectBytes: t.objectBytes, volumeBytes: t.volumeBytes, manifestBytes: res.manifestBytes },
          progress: { bytesDone: t.volumeBytes, bytesTotal: t.volumeBytes },
          manifest: { key: res.manifestKey, sha256: res.manifestSha256, formatVersion },
          conditions: [
            condition(
              'True',
              'Ready',
              `${t.objects} objects, ${t.files} files (${t.volumeBytes} bytes) in ${s3.where}; manifest verified`,
              gen,
            ),
          ],
        });
      } catch (e) {
        if (s3 && reasonOf(e) !== 'AuthFailed' && reasonOf(e) !== 'NotFound')
          await deletePrefix(s3, rootOf(b as KObject)).catch(() => undefined);
        const reason = reasonOf(e);
        const message = abort.signal.aborted ? 'the Backup was deleted during the run' : (e as Error).message;
        o.log?.('warn', 'backup failed', { backup: `${namespace}/${name}`, reason, error: message });
        await patchStatus('Backup', namespace, name, {
          phase: 'Failed',
          completedAt: new Date().toISOString(),
          error: message,
          conditions: [condition('False', reason, message, gen)],
        });
      } finally {
        running.delete(key);
      }
    },
  });

  // ---- Restore ----
  manager.add({
    name: 'restores',
    workers: 2,
    watches: [
      { informer: restores },
      // a Restore waiting for its Backup wakes when the Backup changes
      {
        informer: backups,
        keys: (e) =>
          restores
            .list('root', e.obj.metadata.namespace)
            .filter((x) => (x as Obj).spec?.backupName === e.obj.metadata.name)
            .map((x) => `root/${x.metadata.namespace}/${x.metadata.name}`),
      },
    ],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      if (cluster !== 'root' || !namespace) return;
      if (!restores.get(key)) return;
      const rs = (await client
        .get({ cluster: 'root', apiVersion, kind: 'Restore', namespace, name })
        .catch(ignoreNotFound)) as Obj | undefined;
      if (!rs) return;
      if (rs.metadata.deletionTimestamp) {
        running.get(key)?.abort();
        return;
      }
      const phase = rs.status?.phase ?? 'New';
      if (phase === 'Completed' || phase === 'Failed') return;
      const gen = rs.metadata.generation;
      const velero = veleroContext('Restore', namespace, name, gen);
      if (rs.status?.velero) {
        const bk = backups.get(`root/${namespace}/${rs.spec.backupName}`) as Obj | undefined;
        if (bk?.status?.velero) return veleroRestorePass(velero, rs, bk);
      }
      const scratch = `kaas-verify-${(rs.metadata.uid ?? randomBytes(4).toString('hex')).slice(0, 8)}`;
      if (phase === 'InProgress' && !running.has(`restore:${key}`)) {
        if (rs.spec.verify) {
          await o.server.clusters.deleteCluster(scratch).catch(() => undefined);
        }
        await patchStatus('Restore', namespace, name, {
          phase: 'Failed',
          completedAt: new Date().toISOString(),
          error:
            'the server stopped during the restore; objects restored so far are kept. Create a new Restore.',
          conditions: [
            condition('False', 'Interrupted', 'interrupted: the server stopped during the restore', gen),
          ],
        });
        return;
      }
      const backup = backups.get(`root/${namespace}/${rs.spec.backupName}`) as Obj | undefined;
      const fail = (reason: string, message: string) =>
        patchStatus('Restore', namespace, name, {
          phase: 'Failed',
          completedAt: new Date().toISOString(),
          error: message,
          conditions: [condition('False', reason, message, gen)],
        });
      if (!backup) {
        await fail('NotFound', `Backup ${namespace}/${rs.spec.backupName} does not exist`);
        return;
      }
      if (backup.status?.phase === 'Failed') {
        await fail(
          'NotFound',
          `Backup ${namespace}/${rs.spec.backupName} failed; there is nothing to restore: ${backup.status.error ?? ''}`,
        );
        return;
      }
      if (backup.status?.phase !== 'Completed') {
        if (rs.status?.conditions?.[0]?.reason !== 'Waiting')
          await patchStatus('Restore', namespace, name, {
            conditions: [
              condition('False', 'Waiting', `waiting for Backup ${rs.spec.backupName} to complete`, gen),
            ],
          });
        return; // the Backup's events bring us back
      }
      if (backup.status?.velero) {
        const target = rs.spec.verify ? backup.spec.cluster : (rs.spec.targetCluster ?? backup.spec.cluster);
        if ((await providerOf(namespace, target)) === 'local') {
          await fail(
            'InvalidSpec',
            `Backup ${namespace}/${backup.metadata.name} was made by Velero in cluster ${backup.spec.cluster}; Cluster ${target} is on the local cloud, which has no Velero: restore into a cluster that has`,
          );
          return;
        }
        return veleroRestorePass(velero, rs, backup);
      }
      const abort = new AbortController();
      running.set(`restore:${key}`, abort);
      try {
        await patchStatus('Restore', namespace, name, {
          phase: 'InProgress',
          startedAt: new Date().toISOString(),
          observedGeneration: gen,
          conditions: [condition('False', 'Provisioning', rs.spec.verify ? 'verifying' : 'restoring', gen)],
        });
        const s3 = await s3For(namespace, backup.spec.storage);
        const source = await localCluster(namespace, backup.spec.cluster);
        const namespaces: string[] | undefined = rs.spec.includedNamespaces?.includes('*')
          ? undefined
          : rs.spec.includedNamespaces;
        const common = {
          server: o.server,
          s3,
          dataDir: o.dataDir,
          signal: abort.signal,
          onProgress: progressReporter('Restore', namespace, name),
        };
        const req = {
          root: rootOf(backup as KObject),
          manifestSha256: backup.status.manifest?.sha256,
          ...(namespaces ? { namespaces } : {}),
        };
        if (rs.spec.verify) {
          const v = await runVerify(common, { ...req, source, scratch });
          const identical = v.differences.length === 0;
          await patchStatus('Restore', namespace, name, {
            phase: 'Completed',
            completedAt: new Date().toISOString(),
            counts: {
              created: v.restore.created,
              existing: v.restore.skipped,
              failed: v.restore.failures.length,
              files: v.restore.files,
              bytes: v.restore.bytes,
            },
            verify: {
              scratchCluster: v.scratchCluster,
              objectsCompared: v.objectsCompared,
              filesCompared: v.filesCompared,
              identical,
              differences: v.differences.slice(0, 200),
              differenceCount: v.differences.length,
            },
            conditions: [
              identical
                ? condition(
                    'True',
                    'Ready',
                    `identical: ${v.objectsCompared} objects and ${v.filesCompared} files compared; scratch cluster ${scratch} deleted`,
                    gen,
                  )
                : condition(
                    'False',
                    'Differs',
                    `${v.differences.length} differences (status.verify.differences); scratch cluster ${scratch} deleted`,
                    gen,
                  ),
            ],
          });
        } else {
          const target = await localCluster(namespace, rs.spec.targetCluster ?? backup.spec.cluster);
          const res = await runRestore(common, { ...req, target });
          await patchStatus('Restore', namespace, name, {
            phase: res.failures.length ? 'Failed' : 'Completed',
            completedAt: new Date().toISOString(),
            counts: {
              created: res.created,
              existing: res.skipped,
              failed: res.failures.length,
              files: res.files,
              bytes: res.bytes,
            },
            ...(res.failures.length
              ? {
                  failures: res.failures.slice(0, 100),
                  error: `${res.failures.length} objects were not restored (status.failures)`,
                }
              : {}),
            conditions: [
              res.failures.length
                ? condition(
                    'False',
                    'InvalidSpec',
                    `${res.failures.length} objects were not restored: ${res.failures[0]!.object}: ${res.failures[0]!.message}`,
                    gen,
                  )
                : condition(
                    'True',
                    'Ready',
                    `${res.created} objects created, ${res.skipped} already there and kept, ${res.files} files (${res.bytes} bytes) into cluster ${target}`,
                    gen,
                  ),
            ],
          });
        }
      } catch (e) {
        const reason = reasonOf(e);
        await fail(
          reason,
          abort.signal.aborted ? 'the Restore was deleted during the run' : (e as Error).message,
        );
      } finally {
        running.delete(`restore:${key}`);
      }
    },
  });

  // ---- BackupSchedule ----
  manager.add({
    name: 'backupschedules',
    workers: 1,
    watches: [
      { informer: schedules },
      {
        informer: backups,
        keys: (e) => {
          const s = e.obj.metadata.labels?.[scheduleLabel];
          return s ? [`root/${e.obj.metadata.namespace}/${s}`] : [];
        },
      },
    ],
    async reconcile(key) {
      const { cluster, namespace, name } = parseObjectKey(key);
      if (cluster !== 'root' || !namespace) return;
      if (!schedules.get(key)) return;
      // fresh: the cache may not have this pass's lastScheduleTime yet, and a stale one would
      // make a second Backup at once
      const s = (await client
        .get({ cluster: 'root', apiVersion, kind: 'BackupSchedule', namespace, name })
        .catch(ignoreNotFound)) as Obj | undefined;
      if (!s || s.metadata.deletionTimestamp) return;
      const everyMs = parseEvery(s.spec.every);
      const mine = backups.list('root', namespace).filter((b) => b.metadata.labels?.[scheduleLabel] === name);
      // retention: the newest `keep` Completed backups stay; older Completed and Failed ones go
      const byAge = [...mine].sort((a, b) => (a.metadata.name! < b.metadata.name! ? 1 : -1));
      const completed = byAge.filter((b) => (b as Obj).status?.phase === 'Completed');
      const oldestKept = completed[s.spec.keep - 1]?.metadata.name;
      const expired = byAge.filter(
        (b) =>
          !b.metadata.deletionTimestamp &&
          (((b as Obj).status?.phase === 'Completed' && completed.indexOf(b) >= s.spec.keep) ||
            ((b as Obj).status?.phase === 'Failed' &&
              oldestKept !== undefined &&
              b.metadata.name! < oldestKept)),
      );
      for (const b of expired)
        await client.delete(ref('Backup', namespace, b.metadata.name!)).catch(ignoreNotFound);
      if (expired.length)
        await patchStatus('BackupSchedule', namespace, name, {
          deleted: expired.map((b) => b.metadata.name!).slice(0, 100),
        });
      if (s.spec.paused) return;
      const last = s.status?.lastScheduleTime ? Date.parse(s.status.lastScheduleTime) : 0;
      const due = last + everyMs;
      const t = now();
      if (t < due) return { requeueAfterMs: due - t };
      const stamp = new Date(t).toISOString().replace(/[-:T]/g, '').slice(0, 14);
      const backupName = `${name}-${stamp}`.slice(0, 63);
      await client
        .create('root', {
          apiVersion,
          kind: 'Backup',
          metadata: { name: backupName, namespace, labels: { [scheduleLabel]: name } },
          spec: structuredClone(s.spec.template),
        } as KObject)
        .catch((e: unknown) => {
          if (!(e as { code?: number }).code || (e as { code?: number }).code !== 409) throw e;
        });
      await patchStatus('BackupSchedule', namespace, name, {
        lastBackup: backupName,
        lastScheduleTime: new Date(t).toISOString(),
      });
      return { requeueAfterMs: everyMs };
    },
  });

  return { running: () => running.size };
}
