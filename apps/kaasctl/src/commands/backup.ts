// `kaasctl backup create|list|describe|restore|delete|schedule`: a thin layer over the management
// API's Backup, Restore and BackupSchedule (docs/backups.md). The server's backup controller does
// the work; these commands write the objects and wait on their status, with progress on stderr.
import { Command } from 'commander';
import {
  ApiError,
  endpointFromKubeconfig,
  exitCodes,
  reportError,
  requestJson,
  type Endpoint,
} from '../client.ts';
import { outputOption, printData, printTable } from '../output.ts';
import { parseTimeout } from './lifecycle.ts';

const defaultKubeconfig = './.kaas/admin.kubeconfig';
const base = '/apis/kaas.dev/v1alpha1';
type Obj = Record<string, any>;

const path = (ns: string, plural: string, name?: string) =>
  `${base}/namespaces/${encodeURIComponent(ns)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;

function common(c: Command): Command {
  return c
    .option('-n, --namespace <ns>', 'namespace of the management API objects', 'default')
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig);
}

function storageOptions(c: Command): Command {
  return c
    .requiredOption('--cluster <name>', 'the Cluster to back up (same namespace)')
    .option('--namespaces <list>', 'namespaces of the cluster to back up, comma-separated')
    .option('--all-namespaces', 'every namespace of the cluster')
    .requiredOption('--endpoint <url>', 'S3 endpoint, e.g. https://s3.us-east-1.amazonaws.com')
    .requiredOption('--bucket <name>', 'bucket (must exist)')
    .option('--region <region>', 'region the requests are signed for', 'us-east-1')
    .option('--prefix <prefix>', 'key prefix in the bucket', 'kaas')
    .requiredOption(
      '--credentials-secret <name>',
      'Secret (same namespace) with keys accessKeyId and secretAccessKey',
    );
}

function backupSpec(o: Obj): Obj {
  if (!o.namespaces && !o.allNamespaces)
    throw new ApiError(0, 'say what to back up: --namespaces a,b or --all-namespaces');
  if (o.namespaces && o.allNamespaces)
    throw new ApiError(0, '--namespaces and --all-namespaces exclude each other');
  return {
    cluster: o.cluster,
    includedNamespaces: o.allNamespaces
      ? ['*']
      : String(o.namespaces)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
    storage: {
      s3: {
        endpoint: o.endpoint,
        bucket: o.bucket,
        region: o.region,
        prefix: o.prefix,
        credentialsRef: { name: o.credentialsSecret },
      },
    },
  };
}

function human(n: number | undefined): string {
  if (n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${u[i]}`;
}

function ready(o: Obj): Obj | undefined {
  return (o.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
}

/** Polls until the object's phase is Completed or Failed; prints progress lines on stderr. */
async function waitDone(ep: Endpoint, url: string, timeoutMs: number, what: string): Promise<Obj> {
  const start = Date.now();
  let last = '';
  for (;;) {
    const o = (await requestJson(ep, 'GET', url)) as Obj;
    const s = o.status ?? {};
    const c = ready(o);
    const p = s.progress;
    const line = `${s.phase ?? 'New'}${c ? ` ${c.reason}: ${c.message}` : ''}${p && s.phase === 'InProgress' ? ` (${human(p.bytesDone)} of ${human(p.bytesTotal)})` : ''}`;
    if (line !== last) {
      console.error(`[${((Date.now() - start) / 1000).toFixed(1)}s] ${what}: ${line}`);
      last = line;
    }
    if (s.phase === 'Completed' || s.phase === 'Failed') return o;
    if (Date.now() - start > timeoutMs)
      throw new ApiError(
        0,
        `${what} not done after ${timeoutMs / 1000} s (phase ${s.phase ?? 'New'}); it goes on in the server`,
        {
          exitCode: exitCodes.failed,
        },
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function backupRow(b: Obj): string[] {
  return [
    b.metadata.name,
    b.spec.cluster,
    b.status?.phase ?? 'New',
    String(b.status?.counts?.objects ?? ''),
    human(b.status?.sizes?.volumeBytes),
    `${b.spec.storage.s3.bucket}`,
    ready(b)?.reason ?? '',
    b.metadata.creationTimestamp ?? '',
  ];
}

function printBackups(items: Obj[], format: string): void {
  if (format !== 'table') return printData(items.length === 1 ? items[0] : { items }, format);
  printTable([
    ['NAME', 'CLUSTER', 'PHASE', 'OBJECTS', 'VOLUME DATA', 'BUCKET', 'REASON', 'CREATED'],
    ...items.map(backupRow),
  ]);
}

/**
 * Where a Backup's data went. Velero (status.velero) writes to its own BackupStorageLocation with
 * its own credentials; of spec.storage only the bucket is used (checked to be that location's).
 */
function storageLines(b: Obj): string[] {
  const s3 = b.spec.storage.s3;
  const v = b.status?.velero;
  if (!v)
    return [
      `Storage:     s3 ${s3.endpoint} bucket ${s3.bucket} prefix ${s3.prefix ?? 'kaas'} (credentials: Secret ${s3.credentialsRef.name})`,
    ];
  return [
    `Storage:     Velero's BackupStorageLocation ${v.namespace}/${v.storageLocation ?? 'default'} in cluster ${v.cluster}, bucket ${s3.bucket} (its own endpoint and credentials; spec.storage's endpoint ${s3.endpoint}, prefix and Secret ${s3.credentialsRef.name} are not used)`,
    `Velero:      Backup ${v.namespace}/${v.name}: ${v.phase ?? 'New'}${v.expiration ? ` (expires ${v.expiration})` : ''}`,
    ...(v.access ? [`API access:  ${v.access}`] : []),
  ];
}

function describe(b: Obj): void {
  const s = b.status ?? {};
  const lines = [
    `Name:        ${b.metadata.namespace}/${b.metadata.name}`,
    `Cluster:     ${b.spec.cluster} (namespaces: ${b.spec.includedNamespaces.join(', ')})`,
    ...storageLines(b),
    `Phase:       ${s.phase ?? 'New'}`,
    `Started:     ${s.startedAt ?? ''}`,
    `Completed:   ${s.completedAt ?? ''}`,
  ];
  if (s.counts)
    lines.push(
      `Contents:    ${s.counts.objects} objects, ${s.counts.volumes} volumes, ${s.counts.files} files`,
    );
  if (s.sizes)
    lines.push(
      `Sizes:       objects ${human(s.sizes.objectBytes)}, volume data ${human(s.sizes.volumeBytes)}, manifest ${human(s.sizes.manifestBytes)}`,
    );
  if (s.manifest)
    lines.push(
      `Manifest:    ${s.manifest.key} (format ${s.manifest.formatVersion}, sha256 ${s.manifest.sha256})`,
    );
  for (const c of s.conditions ?? [])
    lines.push(`Condition:   ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  if (s.error) lines.push(`Error:       ${s.error}`);
  console.log(lines.join('\n'));
}

function printRestore(r: Obj, format: string): void {
  if (format !== 'table') return printData(r, format);
  const s = r.status ?? {};
  const c = ready(r);
  console.log(
    `Restore ${r.metadata.namespace}/${r.metadata.name} of backup ${r.spec.backupName}: ${s.phase ?? 'New'}${c ? ` (${c.reason}: ${c.message})` : ''}`,
  );
  if (s.counts)
    console.log(
      `  ${s.counts.created} created, ${s.counts.existing} already there, ${s.counts.failed} failed, ${s.counts.files} files (${human(s.counts.bytes)})`,
    );
  if (s.verify) {
    console.log(
      `  verify: ${s.verify.objectsCompared} objects and ${s.verify.filesCompared} files compared: ${s.verify.identical ? 'identical' : `${s.verify.differenceCount} differences`}`,
    );
    for (const d of s.verify.differences ?? [])
      console.log(
        `    [${d.against}] ${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}${d.path ? ` file ${d.path}` : ''}: ${d.message}`,
      );
  }
  for (const f of s.failures ?? []) console.log(`  failed: ${f.object}: ${f.message}`);
  if (s.error) console.log(`  error: ${s.error}`);
}

export function backupCommand(): Command {
  const backup = new Command('backup').description(
    "Back up a local cluster's objects and volume data to S3-compatible storage, restore and verify (docs/backups.md).",
  );

  storageOptions(common(backup.command('create').argument('<name>', 'name of the Backup')))
    .description(
      'Create a Backup and wait until it is Completed (manifest uploaded last and verified) or Failed.',
    )
    .option('--no-wait', 'return once the Backup is recorded')
    .option('--timeout <duration>', 'how long to wait (90s, 10m, 1h)', '30m')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  # the Secret with the S3 credentials (never put them in the Backup)
  kubectl --kubeconfig .kaas/admin.kubeconfig create secret generic s3 \\
    --from-literal=accessKeyId=AKIA... --from-literal=secretAccessKey=...
  kaasctl backup create nightly --cluster demo --namespaces shop,db \\
    --endpoint https://s3.us-east-1.amazonaws.com --bucket my-backups --credentials-secret s3
  kaasctl backup create all-of-it --cluster demo --all-namespaces \\
    --endpoint http://127.0.0.1:6280 --bucket kaas --credentials-secret s3 -o json

Exit codes: 0 Completed, 1 Failed (the reason and the fix are printed), 2 usage, 4 server unreachable.`,
    )
    .action(async (name: string, o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const obj = {
          apiVersion: 'kaas.dev/v1alpha1',
          kind: 'Backup',
          metadata: { name, namespace: o.namespace },
          spec: backupSpec(o),
        };
        await requestJson(ep, 'POST', path(o.namespace, 'backups'), obj);
        console.error(`Backup ${o.namespace}/${name} created`);
        if (!o.wait) return;
        const done = await waitDone(
          ep,
          path(o.namespace, 'backups', name),
          parseTimeout(o.timeout),
          `backup ${name}`,
        );
        if (o.output !== 'table') printData(done, o.output);
        else describe(done);
        if (done.status?.phase !== 'Completed') {
          console.error(`error: backup ${name} failed: ${done.status?.error ?? ready(done)?.message ?? ''}`);
          process.exitCode = exitCodes.failed;
        }
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  common(backup.command('list'))
    .description('List Backups.')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  kaasctl backup list\n  kaasctl backup list -n team-a -o yaml')
    .action(async (o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const list = (await requestJson(ep, 'GET', path(o.namespace, 'backups'))) as { items: Obj[] };
        if (o.output !== 'table') printData(list.items, o.output);
        else printBackups(list.items, 'table');
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  common(backup.command('describe').argument('<name>'))
    .description('Show a Backup: contents, sizes, manifest checksum, conditions, the error if any.')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl backup describe nightly\n  kaasctl backup describe nightly -o json',
    )
    .action(async (name: string, o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const b = (await requestJson(ep, 'GET', path(o.namespace, 'backups', name))) as Obj;
        if (o.output !== 'table') printData(b, o.output);
        else describe(b);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  common(backup.command('restore').argument('<backup>', 'name of a Completed Backup'))
    .description('Restore a Backup into its cluster or another one, or --verify it in a scratch cluster.')
    .option('--name <name>', 'name of the Restore object (default <backup>-restore-<time>)')
    .option('--target-cluster <name>', "the Cluster to restore into (default: the backup's)")
    .option('--namespaces <list>', "a subset of the backup's namespaces, comma-separated")
    .option(
      '--verify',
      'restore into a scratch cluster, compare every object and file with the archive and the live cluster, delete the scratch cluster',
    )
    .option('--no-wait', 'return once the Restore is recorded')
    .option('--timeout <duration>', 'how long to wait (90s, 10m, 1h)', '30m')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  kaasctl backup restore nightly                          # back into the same cluster
  kaasctl backup restore nightly --target-cluster staging --namespaces shop
  kaasctl backup restore nightly --verify                 # exit 1 when anything differs

Objects that exist in the target are left as they are (counted as "already there").
Exit codes: 0 done (and identical with --verify), 1 failed or differences found, 2 usage.`,
    )
    .action(async (backupName: string, o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const name =
          o.name ??
          `${backupName}-${o.verify ? 'verify' : 'restore'}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`.slice(
            0,
            63,
          );
        const spec: Obj = { backupName, verify: !!o.verify };
        if (o.targetCluster) spec.targetCluster = o.targetCluster;
        if (o.namespaces)
          spec.includedNamespaces = String(o.namespaces)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        await requestJson(ep, 'POST', path(o.namespace, 'restores'), {
          apiVersion: 'kaas.dev/v1alpha1',
          kind: 'Restore',
          metadata: { name, namespace: o.namespace },
          spec,
        });
        console.error(`Restore ${o.namespace}/${name} created`);
        if (!o.wait) return;
        const done = await waitDone(
          ep,
          path(o.namespace, 'restores', name),
          parseTimeout(o.timeout),
          `restore ${name}`,
        );
        printRestore(done, o.output);
        if (done.status?.phase !== 'Completed' || done.status?.verify?.identical === false)
          process.exitCode = exitCodes.failed;
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  common(backup.command('delete').argument('<name>'))
    .description('Delete a Backup and its archive in the bucket (the manifest first).')
    .option('--no-wait', 'return once the deletion is requested')
    .addHelpText('after', '\nExamples:\n  kaasctl backup delete nightly')
    .action(async (name: string, o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const url = path(o.namespace, 'backups', name);
        await requestJson(ep, 'DELETE', url);
        if (o.wait) {
          const start = Date.now();
          for (;;) {
            const gone = await requestJson(ep, 'GET', url).then(
              () => false,
              (e: unknown) => (e instanceof ApiError && e.status === 404 ? true : Promise.reject(e as Error)),
            );
            if (gone) break;
            if (Date.now() - start > 300_000)
              throw new ApiError(0, `backup ${name} still there after 5 min`, { exitCode: exitCodes.failed });
            await new Promise((r) => setTimeout(r, 300));
          }
        }
        console.log(`Backup ${o.namespace}/${name} deleted`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  const schedule = backup.command('schedule').description('Backups on a schedule, keeping the newest N.');
  storageOptions(common(schedule.command('create').argument('<name>')))
    .description('Create a BackupSchedule: a Backup every --every, the newest --keep Completed ones kept.')
    .requiredOption('--every <duration>', 'how often: 90s, 30m, 6h, 1d')
    .requiredOption('--keep <n>', 'Completed backups to keep')
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl backup schedule create daily --every 1d --keep 7 --cluster demo --all-namespaces \\\n    --endpoint https://s3.us-east-1.amazonaws.com --bucket my-backups --credentials-secret s3',
    )
    .action(async (name: string, o: Obj) => {
      try {
        const keep = Number(o.keep);
        if (!Number.isInteger(keep) || keep < 1)
          throw new ApiError(0, `--keep ${o.keep}: a whole number >= 1`);
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        await requestJson(ep, 'POST', path(o.namespace, 'backupschedules'), {
          apiVersion: 'kaas.dev/v1alpha1',
          kind: 'BackupSchedule',
          metadata: { name, namespace: o.namespace },
          spec: { every: o.every, keep, template: backupSpec(o) },
        });
        console.log(`BackupSchedule ${o.namespace}/${name} created`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
  common(schedule.command('list'))
    .description('List BackupSchedules.')
    .addOption(outputOption())
    .action(async (o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        const list = (await requestJson(ep, 'GET', path(o.namespace, 'backupschedules'))) as { items: Obj[] };
        if (o.output !== 'table') return printData(list.items, o.output);
        printTable([
          ['NAME', 'EVERY', 'KEEP', 'LAST BACKUP', 'LAST RUN'],
          ...list.items.map((s) => [
            s.metadata.name,
            s.spec.every,
            String(s.spec.keep),
            s.status?.lastBackup ?? '',
            s.status?.lastScheduleTime ?? '',
          ]),
        ]);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
  common(schedule.command('delete').argument('<name>'))
    .description('Delete a BackupSchedule (its Backups stay).')
    .action(async (name: string, o: Obj) => {
      try {
        const ep = await endpointFromKubeconfig(o.kubeconfig);
        await requestJson(ep, 'DELETE', path(o.namespace, 'backupschedules', name));
        console.log(`BackupSchedule ${o.namespace}/${name} deleted`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
  return backup;
}
