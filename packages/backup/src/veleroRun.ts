// The Velero driving path of the backup controller (controller.ts dispatches here for Clusters
// whose provider is not the local cloud). Each pass observes the Velero object in the workload
// cluster and mirrors it: nothing runs in this process between passes, so a restarted server
// resumes watching a run Velero is still doing (unlike the local path, which marks it Interrupted).
import { BackupError, reasonOf } from './engine.ts';
import {
  checkVelero,
  compareNamespaces,
  mapVeleroPhase,
  renderDeleteBackupRequest,
  renderVeleroBackup,
  renderVeleroRestore,
  scratchNamespace,
  veleroNamespace,
  veleroStorageLocation,
} from './velero.ts';
import { veleroPath, type WorkloadClient } from './workload.ts';

type Obj = Record<string, any>;

export interface VeleroPassContext {
  /** The workload cluster's API, for the Cluster named (throws a coded BackupError). */
  workload: (cluster: string) => Promise<WorkloadClient>;
  patchStatus: (status: Obj) => Promise<unknown>;
  condition: (status: 'True' | 'False', reason: string, message: string) => Obj;
  pollMs: number;
  log?: (level: 'info' | 'warn', msg: string, fields: Obj) => void;
}

const retryable = (e: unknown) => ['CloudUnavailable', 'Timeout', 'Conflict'].includes(reasonOf(e));

async function createOrAdopt(c: WorkloadClient, plural: string, obj: Obj, uidKey: string): Promise<Obj> {
  try {
    return await c.create(veleroPath(veleroNamespace, plural), obj);
  } catch (e) {
    if ((e as { status?: number }).status !== 409) throw e;
    const existing = await c.get(veleroPath(veleroNamespace, plural, obj.metadata.name));
    // ours from an earlier pass (the status patch after the create was lost): adopt it
    if (existing && existing.metadata?.annotations?.[uidKey] === obj.metadata.annotations[uidKey])
      return existing;
    throw new BackupError(
      'Conflict',
      `${obj.kind} ${veleroNamespace}/${obj.metadata.name} already exists in cluster ${c.cluster} and is not this object's (annotation ${uidKey}); delete it or choose another name`,
      // not retryable in practice: marked Failed below like any other error of the first pass
    );
  }
}

function failed(ctx: VeleroPassContext, reason: string, message: string, extra: Obj = {}) {
  return ctx.patchStatus({
    phase: 'Failed',
    completedAt: new Date().toISOString(),
    error: message,
    ...extra,
    conditions: [ctx.condition('False', reason, message)],
  });
}

/** One pass over a Backup of a non-local cluster. */
export async function veleroBackupPass(
  ctx: VeleroPassContext,
  b: Obj,
  opts: { ttl?: string },
): Promise<{ requeueAfterMs?: number }> {
  const cluster: string = b.spec.cluster;
  let c: WorkloadClient;
  try {
    c = await ctx.workload(cluster);
  } catch (e) {
    await failed(ctx, reasonOf(e), (e as Error).message);
    return {};
  }
  if (!b.status?.velero) {
    // first pass: is Velero there, does its location hold the bucket asked for, then create
    try {
      const bsl = await checkVelero(c, ['backups', 'restores', 'deletebackuprequests']);
      const bucket = bsl.spec?.objectStorage?.bucket;
      if (bucket !== b.spec.storage.s3.bucket)
        throw new BackupError(
          'InvalidSpec',
          `spec.storage.s3.bucket is ${b.spec.storage.s3.bucket}, but Velero in cluster ${cluster} writes to bucket ${bucket} (its BackupStorageLocation ${veleroNamespace}/${veleroStorageLocation}, from the Cluster's spec.objectStorage): use --bucket ${bucket}, or change spec.objectStorage.bucket and update the cluster's services`,
        );
      const obj = renderVeleroBackup(b, opts);
      const started = new Date().toISOString();
      const made = await createOrAdopt(c, 'backups', obj, 'kaas.dev/backup-uid');
      const m = mapVeleroPhase('Backup', cluster, made, c.access);
      await ctx.patchStatus({
        phase: 'InProgress',
        startedAt: started,
        velero: m.velero,
        conditions: [ctx.condition('False', 'Provisioning', m.message)],
      });
      ctx.log?.('info', 'velero backup created', {
        backup: `${b.metadata.namespace}/${b.metadata.name}`,
        cluster,
        velero: obj.metadata.name,
      });
      return { requeueAfterMs: ctx.pollMs };
    } catch (e) {
      await failed(ctx, reasonOf(e), (e as Error).message);
      return {};
    }
  }
  return mirror(ctx, c, 'Backup', b, async (m, obj) => {
    const s = obj.status ?? {};
    return m.phase === 'Completed'
      ? {
          fields: {
            counts: {
              objects: m.velero.itemsDone ?? 0,
              volumes: m.velero.volumeSnapshotsCompleted ?? 0,
              files: 0,
            },
            ...(s.completionTimestamp ? { completedAt: s.completionTimestamp } : {}),
          },
        }
      : {};
  });
}

/** Observe the Velero object, map its phase, and write ours; `finish` adds what a terminal phase needs. */
async function mirror(
  ctx: VeleroPassContext,
  c: WorkloadClient,
  kind: 'Backup' | 'Restore',
  ours: Obj,
  finish: (m: ReturnType<typeof mapVeleroPhase>, obj: Obj) => Promise<Finish>,
): Promise<{ requeueAfterMs?: number }> {
  const ref = ours.status.velero as Obj;
  let obj: Obj | undefined;
  try {
    obj = await c.get(veleroPath(ref.namespace, kind === 'Backup' ? 'backups' : 'restores', ref.name));
  } catch (e) {
    if (!retryable(e) && reasonOf(e) !== 'AuthFailed') throw e;
    // the run goes on in the cluster: say why we cannot see it and look again
    await ctx.patchStatus({ conditions: [ctx.condition('False', reasonOf(e), (e as Error).message)] });
    return { requeueAfterMs: ctx.pollMs * 5 };
  }
  if (!obj) {
    await failed(
      ctx,
      'NotFound',
      `Velero ${kind} ${ref.namespace}/${ref.name} no longer exists in cluster ${c.cluster} (deleted there, or its CRDs were removed)`,
    );
    return {};
  }
  const m = mapVeleroPhase(kind, c.cluster, obj, c.access);
  if (m.phase === 'InProgress') {
    const changed = JSON.stringify(m.velero) !== JSON.stringify(ref);
    if (changed)
      await ctx.patchStatus({
        velero: m.velero,
        conditions: [ctx.condition('False', 'Provisioning', m.message)],
      });
    return { requeueAfterMs: ctx.pollMs };
  }
  const f = await finish(m, obj);
  const ok = m.phase === 'Completed';
  const o = f.override;
  const message = o?.message ?? m.message;
  await ctx.patchStatus({
    phase: o?.phase ?? (ok ? 'Completed' : 'Failed'),
    completedAt: new Date().toISOString(),
    velero: m.velero,
    ...f.fields,
    ...((o?.phase ?? m.phase) === 'Failed' ? { error: message } : {}),
    conditions: [ctx.condition(o ? o.status : ok ? 'True' : 'False', o?.reason ?? m.reason, message)],
  });
  return {};
}

interface Finish {
  fields?: Obj;
  override?: { phase: 'Completed' | 'Failed'; status: 'True' | 'False'; reason: string; message: string };
}

/**
 * Deleting a Velero-backed Backup: a DeleteBackupRequest, which Velero acts on (it deletes the
 * backup's data in the storage location and the CSI snapshots, then the Backup object). Returns
 * whether the finalizer may go; throws when the cluster cannot be reached (retry).
 */
export async function veleroBackupDelete(ctx: VeleroPassContext, b: Obj): Promise<void> {
  const ref = b.status.velero as Obj;
  const where = `backup ${b.metadata.namespace}/${b.metadata.name}`;
  let c: WorkloadClient;
  try {
    c = await ctx.workload(b.spec.cluster);
    const exists = await c.get(veleroPath(ref.namespace, 'backups', ref.name));
    if (!exists) {
      ctx.log?.('info', 'velero backup already gone', { backup: where, velero: ref.name });
      return;
    }
    const dbr = await c.create(veleroPath(ref.namespace, 'deletebackuprequests'), {
      ...renderDeleteBackupRequest(ref.name),
      metadata: { ...renderDeleteBackupRequest(ref.name).metadata, namespace: ref.namespace },
    });
    ctx.log?.('info', 'velero delete requested', {
      backup: where,
      velero: ref.name,
      request: dbr.metadata?.name,
    });
  } catch (e) {
    if (retryable(e)) throw e;
    // no Velero, or no credentials: nothing here can delete it now; say so and let the object go
    ctx.log?.('warn', 'velero backup not deleted', { backup: where, error: (e as Error).message });
  }
}

/** One pass over a Restore (or verify) of a Velero-backed Backup whose phase is Completed. */
export async function veleroRestorePass(
  ctx: VeleroPassContext,
  rs: Obj,
  backup: Obj,
): Promise<{ requeueAfterMs?: number }> {
  const verify = !!rs.spec.verify;
  const target: string = verify ? backup.spec.cluster : (rs.spec.targetCluster ?? backup.spec.cluster);
  const bref = backup.status.velero as Obj;
  let c: WorkloadClient;
  try {
    c = await ctx.workload(target);
  } catch (e) {
    await failed(ctx, reasonOf(e), (e as Error).message);
    return {};
  }
  if (!rs.status?.velero) {
    try {
      await checkVelero(c, ['backups', 'restores']);
      const seen = await c.get(veleroPath(veleroNamespace, 'backups', bref.name));
      if (!seen)
        throw new BackupError(
          'NotFound',
          `Velero in cluster ${target} does not know backup ${bref.name}${target !== bref.cluster ? `: its BackupStorageLocation ${veleroNamespace}/${veleroStorageLocation} must point at the bucket and prefix of cluster ${bref.cluster}'s (Velero syncs backups from it about once a minute); try again then` : ' (deleted there?)'}`,
        );
      let mapping: Record<string, string> | undefined;
      if (verify) {
        const wanted: string[] = (rs.spec.includedNamespaces ?? backup.spec.includedNamespaces).filter(
          (n: string) => n !== '*',
        );
        if (!wanted.length)
          throw new BackupError(
            'InvalidSpec',
            `verify of a Velero backup of all namespaces needs the namespaces to map into scratch ones: pass --namespaces (spec.includedNamespaces)`,
          );
        mapping = Object.fromEntries(wanted.map((n) => [n, scratchNamespace(rs.metadata.uid ?? 'x', n)]));
      }
      const obj = renderVeleroRestore(
        { ...rs, spec: { ...rs.spec, ...(mapping ? { includedNamespaces: Object.keys(mapping) } : {}) } },
        bref.name,
        mapping ? { namespaceMapping: mapping } : {},
      );
      const made = await createOrAdopt(c, 'restores', obj, 'kaas.dev/restore-uid');
      const m = mapVeleroPhase('Restore', target, made, c.access);
      await ctx.patchStatus({
        phase: 'InProgress',
        startedAt: new Date().toISOString(),
        velero: m.velero,
        conditions: [ctx.condition('False', 'Provisioning', m.message)],
      });
      return { requeueAfterMs: ctx.pollMs };
    } catch (e) {
      await failed(ctx, reasonOf(e), (e as Error).message);
      return {};
    }
  }
  return mirror(ctx, c, 'Restore', rs, async (m, obj) => {
    if (!verify) return {};
    const mapping = (obj.spec?.namespaceMapping ?? {}) as Record<string, string>;
    try {
      if (m.phase !== 'Completed' && m.reason !== 'PartiallyFailed') return {};
      const { compared, differences } = await compareNamespaces(c, mapping);
      const v = m.velero;
      if ((v.errors ?? 0) > 0 || (v.totalItems !== undefined && (v.itemsDone ?? 0) < v.totalItems))
        differences.unshift({
          against: 'backup',
          kind: 'Restore',
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          message: `Velero restored ${v.itemsDone ?? 0} of ${v.totalItems ?? '?'} items of the backup with ${v.errors ?? 0} errors`,
        });
      const identical = differences.length === 0;
      const scratch = Object.values(mapping).join(',');
      const verifyBlock = {
        scratchCluster: `${target} (namespaces ${scratch})`.slice(0, 253),
        objectsCompared: compared,
        filesCompared: 0,
        identical,
        differences: differences.slice(0, 200),
        differenceCount: differences.length,
      };
      const message = identical
        ? `identical: ${compared} objects compared between the source namespaces and their restored copies in ${scratch} (volume contents are not compared: CSI snapshots); scratch namespaces deleted`
        : `${differences.length} differences (status.verify.differences); scratch namespaces ${scratch} deleted`;
      const partial = m.reason === 'PartiallyFailed';
      return {
        fields: { verify: verifyBlock },
        override: partial
          ? {
              phase: 'Failed',
              status: 'False',
              reason: 'PartiallyFailed',
              message: `${m.message}; ${message}`,
            }
          : identical
            ? { phase: 'Completed', status: 'True', reason: 'Ready', message }
            : { phase: 'Completed', status: 'False', reason: 'Differs', message },
      };
    } finally {
      for (const ns of Object.values(mapping))
        await c.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    }
  });
}
