// `npm run bench -- backup`: backup, restore and restore-verify of a logical cluster holding
// 10,000 objects (ConfigMaps of ~1 KiB) and 1 GiB of volume data (16 files of 64 MiB in one
// volume), against the local Swift (scripts/swift/, its S3 API), in this process with the engine
// the controller runs. Prints wall time, throughput and, per phase, the peak RSS sampled while it
// ran (and how far above the RSS at its start: what the phase itself costs).
import { mkdir, rm, mkdtemp, open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, openStore } from '@kaas/apiserver';
import { InProcessClient } from '@kaas/controllers';
import { backupRoot, runBackup, runRestore, runVerify, volumesDir } from '@kaas/backup';
import { swiftForTests } from '../test/support/swift.ts';

const MiB = 2 ** 20;

/** Runs `fn` sampling the process's RSS every 20 ms; the peak and the RSS at the start, in MiB. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMiB: number; startMiB: number }> {
  global.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakMiB: peak / MiB, startMiB: start / MiB };
  } finally {
    clearInterval(timer);
  }
}

const rssLine = (r: { peakMiB: number; startMiB: number }) =>
  `peak RSS ${r.peakMiB.toFixed(0)} MiB (+${(r.peakMiB - r.startMiB).toFixed(0)} MiB over the ${r.startMiB.toFixed(0)} MiB at its start)`;

export async function backupBench(
  say: (line: string) => void,
  opts = { objects: 10_000, fileMiB: 64, files: 16 },
): Promise<void> {
  const swift = await swiftForTests();
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-backup-'));
  const kv = await openStore({ kind: 'sqlite', path: join(dir, 'kaas.db') });
  const server = new ApiServer({ kv });
  const client = new InProcessClient(server);
  try {
    const cluster = 'src';
    await client.create(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'data' } });
    const filler = 'x'.repeat(900);
    let t = Date.now();
    for (let i = 0; i < opts.objects; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, opts.objects - i) }, (_, j) =>
          client.create(cluster, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `cm-${i + j}`, namespace: 'data' },
            data: { n: String(i + j), filler },
          }),
        ),
      );
    }
    const pvName = 'pvc-bench';
    const pvDir = join(volumesDir(dir, cluster), pvName);
    await mkdir(pvDir, { recursive: true });
    const chunk = randomBytes(4 * 1024 * 1024);
    for (let f = 0; f < opts.files; f++) {
      const fh = await open(join(pvDir, `file-${f}.bin`), 'w');
      for (let m = 0; m < opts.fileMiB; m += 4) await fh.write(chunk);
      await fh.close();
    }
    await client.create(cluster, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '2Gi' },
        accessModes: ['ReadWriteOnce'],
        hostPath: { path: pvDir },
        claimRef: { namespace: 'data', name: 'vol' },
        storageClassName: '',
      },
    });
    await client.create(cluster, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'vol', namespace: 'data' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '2Gi' } },
        volumeName: pvName,
        storageClassName: '',
      },
    });
    const bytes = opts.files * opts.fileMiB * 1024 * 1024;
    say(
      `setup: ${opts.objects} ConfigMaps and ${opts.files} files of ${opts.fileMiB} MiB (${(bytes / 2 ** 30).toFixed(2)} GiB) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    const rssAfterSetup = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    say(
      `peak RSS after setup (API server, SQLite and 10,000 objects in this process, before any backup): ${rssAfterSetup} MiB; load average ${loadavg()[0]!.toFixed(1)}`,
    );
    const common = { server, s3: swift.s3, dataDir: dir };
    const root = backupRoot('bench', 'default', 'b1');
    const rss = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);
    t = Date.now();
    const bm = await peakRss(() =>
      runBackup(common, { namespace: 'default', name: 'b1', cluster, namespaces: ['data'], root }),
    );
    const b = bm.value;
    let s = (Date.now() - t) / 1000;
    say(
      `backup: ${b.manifest.totals.objects} objects (${b.manifest.chunks.length} chunks) + ${b.manifest.totals.files} files (${(bytes / MiB).toFixed(0)} MiB) in ${s.toFixed(1)} s = ${(bytes / MiB / s).toFixed(1)} MiB/s; manifest ${(b.manifestBytes / 1024).toFixed(0)} KiB; ${rssLine(bm)}`,
    );
    t = Date.now();
    const rs = await peakRss(() =>
      runRestore(common, { root, target: 'dst', manifestSha256: b.manifestSha256 }),
    );
    const r = rs.value;
    s = (Date.now() - t) / 1000;
    say(
      `restore into another cluster: ${r.created} objects created, ${r.files} files (${(r.bytes / MiB).toFixed(0)} MiB) in ${s.toFixed(1)} s = ${(r.bytes / MiB / s).toFixed(1)} MiB/s; ${rssLine(rs)}`,
    );
    t = Date.now();
    const vm = await peakRss(() =>
      runVerify(common, {
        root,
        source: cluster,
        scratch: 'kaas-verify-bench',
        manifestSha256: b.manifestSha256,
      }),
    );
    const v = vm.value;
    s = (Date.now() - t) / 1000;
    say(
      `restore-verify: ${v.objectsCompared} objects and ${v.filesCompared} files compared, ${v.differences.length} differences, in ${s.toFixed(1)} s (wall, scratch cluster deleted); ${rssLine(vm)}`,
    );
    say(
      `peak RSS of the whole process (server + store + engine; resourceUsage maxRSS): ${rss()} MiB. Machine shared with other agents while measured (load average ${loadavg()[0]!.toFixed(1)} at the end): times are upper bounds for a quiet machine`,
    );
  } finally {
    await server.close().catch(() => undefined);
    await kv.close();
    await rm(dir, { recursive: true, force: true });
    await swift.release();
  }
}
