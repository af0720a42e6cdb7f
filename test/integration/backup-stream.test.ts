// The backup engine streams objects (docs/backups.md, "Memory"): lists go a page at a time
// (limit/continue) and the ndjson chunks are written as they fill; restore and verify read one
// chunk at a time, yet check every chunk before writing anything. Against real S3 storage (the
// local Swift's S3 API), with the engine in this process as the controller runs it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, MemoryStore } from '@kaas/apiserver';
import { InProcessClient } from '@kaas/controllers';
import { backupRoot, runBackup, runRestore, runVerify, volumesDir } from '@kaas/backup';
import { swiftForTests, type SwiftForTests } from '../support/swift.ts';

let swift: SwiftForTests;
let dir: string;
before(async () => {
  swift = await swiftForTests();
  dir = await mkdtemp(join(tmpdir(), 'kaas-backup-stream-'));
});
after(async () => {
  await swift?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'backup lists in pages and writes chunks as it goes; restore and verify go chunk by chunk',
  { timeout: 300_000 },
  async () => {
    const kv = new MemoryStore();
    const server = new ApiServer({ kv });
    const client = new InProcessClient(server);
    try {
      const cluster = 'src';
      await client.create(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
      for (let i = 0; i < 120; i++)
        await client.create(cluster, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${String(i).padStart(3, '0')}`, namespace: 'app' },
          data: { i: String(i) },
        });
      await client.create(cluster, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'app' },
        data: { k: Buffer.from('v').toString('base64') },
      });
      const pvDir = join(volumesDir(dir, cluster), 'pv-1');
      await mkdir(pvDir, { recursive: true });
      await writeFile(join(pvDir, 'data.txt'), 'hello');
      await client.create(cluster, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-1' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: pvDir },
          claimRef: { namespace: 'app', name: 'vol' },
          storageClassName: '',
        },
      });
      await client.create(cluster, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'vol', namespace: 'app' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          volumeName: 'pv-1',
          storageClassName: '',
        },
      });

      // every list the engine makes is a page of at most 7 (a pass-through spy on the server's lists)
      const list = server.rest.list.bind(server.rest);
      const pages: { limit?: number; items: number }[] = [];
      server.rest.list = async (scope, opts) => {
        const r = await list(scope, opts);
        pages.push({ ...(opts.limit ? { limit: opts.limit } : {}), items: r.items.length });
        return r;
      };
      const common = { server, s3: swift.s3, dataDir: dir, pageSize: 7, objectsPerChunk: 25 };
      const root = backupRoot('stream', 'default', 'b1');
      const b = await runBackup(common, {
        namespace: 'default',
        name: 'b1',
        cluster,
        namespaces: ['app'],
        root,
      });
      server.rest.list = list;
      assert.ok(pages.length > 120 / 7, `${pages.length} list calls`);
      assert.ok(
        pages.every((p) => p.limit === 7 && p.items <= 7),
        JSON.stringify(pages.filter((p) => p.limit !== 7 || p.items > 7)),
      );
      // 120 ConfigMaps, the Secret, the claim, the Namespace, the volume (+ kube-root-ca.crt and the
      // default ServiceAccount when the server makes them)
      const n = b.manifest.totals.objects;
      assert.ok(n >= 124, `${n} objects`);
      assert.equal(b.manifest.chunks.length, Math.ceil(n / 25));
      assert.deepEqual(
        b.manifest.chunks.map((c) => c.objects),
        [...Array.from({ length: Math.floor(n / 25) }, () => 25), ...(n % 25 ? [n % 25] : [])],
      );
      assert.equal(b.manifest.totals.files, 1);

      // restore into another cluster: namespaces, volumes and claims first although they sit in
      // different chunks from the ConfigMaps
      const r = await runRestore(common, { root, target: 'dst', manifestSha256: b.manifestSha256 });
      assert.deepEqual(r.failures, []);
      const restored = await client.list({
        cluster: 'dst',
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'app',
      });
      assert.equal(restored.items.filter((c) => c.metadata.name?.startsWith('cm-')).length, 120);
      assert.equal(
        (
          await client.get({
            cluster: 'dst',
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: 'app',
            name: 'vol',
          })
        ).spec.volumeName,
        'pv-1',
      );
      const v = await runVerify(common, {
        root,
        source: cluster,
        scratch: 'kaas-verify-stream',
        manifestSha256: b.manifestSha256,
      });
      assert.deepEqual(v.differences, []);
      assert.equal(v.filesCompared, 1);

      // a tampered chunk: the restore fails before it writes a single object
      const last = b.manifest.chunks.at(-1)!;
      await swift.s3.putObject(last.key, Buffer.from('not gzip'), 'application/gzip');
      await assert.rejects(
        runRestore(common, { root, target: 'dst2', manifestSha256: b.manifestSha256 }),
        (e: Error & { reason?: string }) => e.reason === 'ChecksumMismatch' && e.message.includes(last.key),
      );
      const none = await client.list({ cluster: 'dst2', apiVersion: 'v1', kind: 'Namespace' });
      assert.ok(!none.items.some((x) => x.metadata.name === 'app'), 'nothing restored from a bad archive');
    } finally {
      await server.close().catch(() => undefined);
      await kv.close();
    }
  },
);
