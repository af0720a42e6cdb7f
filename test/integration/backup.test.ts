// Backups of a local cluster to real S3-compatible storage (OpenStack Swift's s3api, from
// scripts/swift/), driven as a user would: `kaasctl server`, kubectl in the cluster, and
// `kaasctl backup ...`. Backup -> delete the namespace -> restore: objects and volume data are
// identical; verify reports differences introduced on purpose; wrong credentials, a missing bucket
// and a server killed mid-upload fail clearly and leave no backup marked complete; a schedule's
// retention deletes old backups and their archives.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runKaasctl, startKaasServer, type KaasServer } from '../support/kaasctl.ts';
import { kubectl } from '../support/apiserver.ts';
import { swiftForTests, swiftCredentials, type SwiftForTests } from '../support/swift.ts';

let dir: string;
let dataDir: string;
let server: KaasServer;
let swift: SwiftForTests;
let admin: string;
let kc: string;

type Obj = Record<string, any>;

const k = (args: string[], timeoutMs = 180_000) =>
  runKaasctl([...args, '--kubeconfig', admin], { timeoutMs });
const kube = async (args: string[], input?: string) => {
  const r = await kubectl(kc, args, { ...(input ? { input } : {}), timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const mgmt = async (args: string[], input?: string) => {
  const r = await kubectl(admin, args, { ...(input ? { input } : {}), timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const storageFlags = (bucket?: string) => [
  '--endpoint',
  swift.endpoint,
  '--bucket',
  bucket ?? swift.bucket,
  '--credentials-secret',
  's3',
];
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const pvDir = async (ns: string, claim: string) => {
  const pvc = JSON.parse(await kube(['-n', ns, 'get', 'pvc', claim, '-o', 'json'])) as Obj;
  const pv = JSON.parse(await kube(['get', 'pv', pvc.spec.volumeName, '-o', 'json'])) as Obj;
  return pv.spec.hostPath.path as string;
};
const manifests = async () =>
  (await swift.s3.list('')).filter((o) => o.key.endsWith('manifest.json')).map((o) => o.key);

before(async () => {
  swift = await swiftForTests();
  dir = await mkdtemp(join(tmpdir(), 'kaas-backup-'));
  dataDir = join(dir, 'data');
  server = await startKaasServer(dataDir);
  admin = join(dataDir, 'admin.kubeconfig');
  // the smallest local cluster: one worker, no managed services, no simulated latency
  const off = '{ enabled: false }';
  const boot = `apiVersion: kaas.dev/v1alpha1
kind: Cluster
metadata: { name: src, namespace: default }
spec:
  provider: { type: local, local: { vmBootSeconds: 0, latencyScale: 0 } }
  nodePools: [{ name: workers, replicas: 1 }]
  services:
    { ingressNginx: ${off}, monitoring: ${off}, logging: ${off}, backup: ${off}, registry: ${off}, kubernetesAuth: ${off}, ssoProxy: ${off} }
  auth: { identity: { backend: local }, clusterAdminRoleIds: [cluster-admins] }
`;
  await writeFile(join(dir, 'src.yaml'), boot);
  const deployed = await k(['cluster', 'deploy', '-f', join(dir, 'src.yaml')]);
  assert.equal(deployed.code, 0, deployed.stderr);
  kc = join(dir, 'src.kubeconfig');
  await writeFile(
    kc,
    (await readFile(admin, 'utf8')).replace(/server: (https:\/\/[^\s]+)/, 'server: $1/clusters/src'),
  );
  const secret = (name: string, id: string, key: string) =>
    mgmt([
      'create',
      'secret',
      'generic',
      name,
      `--from-literal=accessKeyId=${id}`,
      `--from-literal=secretAccessKey=${key}`,
    ]);
  await secret('s3', swiftCredentials.accessKeyId, swiftCredentials.secretAccessKey);
  await secret('s3-wrong', swiftCredentials.accessKeyId, 'not-the-key');
  // the workload: a namespace with config, a secret, a Deployment and a claim with files in it
  await kube(['create', 'namespace', 'app']);
  await kube([
    '-n',
    'app',
    'create',
    'configmap',
    'settings',
    '--from-literal=mode=production',
    '--from-literal=level=3',
  ]);
  await kube(['-n', 'app', 'create', 'secret', 'generic', 'db', '--from-literal=password=s3cr3t']);
  await kube(
    ['-n', 'app', 'apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', namespace: 'app' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'app' },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
      ],
    }),
  );
  await until('the claim to bind', async () => {
    const pvc = JSON.parse(await kube(['-n', 'app', 'get', 'pvc', 'data', '-o', 'json'])) as Obj;
    return pvc.status?.phase === 'Bound' ? true : undefined;
  });
  const d = await pvDir('app', 'data');
  await writeFile(join(d, 'small.txt'), 'hello from the volume\n');
  await rm(join(d, 'sub'), { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(join(d, 'sub'), { recursive: true }));
  // larger than a part (16 MiB): a multipart upload
  await writeFile(join(d, 'sub', 'big.bin'), randomBytes(20 * 1024 * 1024));
});

after(async () => {
  await server?.stop();
  await swift?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('backup, delete the namespace, restore: objects and volume data are identical; verify finds what changed', async () => {
  const before = {
    cm: JSON.parse(await kube(['-n', 'app', 'get', 'configmap', 'settings', '-o', 'json'])) as Obj,
    secret: JSON.parse(await kube(['-n', 'app', 'get', 'secret', 'db', '-o', 'json'])) as Obj,
    small: await readFile(join(await pvDir('app', 'data'), 'small.txt')),
    big: await readFile(join(await pvDir('app', 'data'), 'sub', 'big.bin')),
  };
  const made = await k([
    'backup',
    'create',
    'b1',
    '--cluster',
    'src',
    '--namespaces',
    'app',
    ...storageFlags(),
    '-o',
    'json',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const b1 = JSON.parse(made.stdout) as Obj;
  assert.equal(b1.status.phase, 'Completed');
  assert.equal(b1.status.counts.files, 2);
  assert.equal(b1.status.sizes.volumeBytes, 20 * 1024 * 1024 + before.small.length);
  assert.ok(b1.status.counts.objects >= 6, JSON.stringify(b1.status.counts));
  assert.match(b1.status.manifest.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(await manifests(), [b1.status.manifest.key]);

  const listed = await k(['backup', 'list']);
  assert.match(listed.stdout, /b1\s+src\s+Completed/);

  // lose the namespace: its claim's volume (reclaim Delete) goes with it
  const oldDir = await pvDir('app', 'data');
  await kube(['delete', 'namespace', 'app', '--wait=true', '--timeout=60s']);
  await until('the volume directory to be deleted', async () =>
    (await readFile(join(oldDir, 'small.txt')).catch(() => undefined)) ? undefined : true,
  );

  const restored = await k(['backup', 'restore', 'b1', '--name', 'r1']);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, /Completed/);
  const cm = JSON.parse(await kube(['-n', 'app', 'get', 'configmap', 'settings', '-o', 'json'])) as Obj;
  assert.deepEqual(cm.data, before.cm.data);
  assert.notEqual(cm.metadata.uid, before.cm.metadata.uid, 'a new object');
  const secret = JSON.parse(await kube(['-n', 'app', 'get', 'secret', 'db', '-o', 'json'])) as Obj;
  assert.deepEqual(secret.data, before.secret.data);
  await until('the restored claim to bind', async () => {
    const pvc = JSON.parse(await kube(['-n', 'app', 'get', 'pvc', 'data', '-o', 'json'])) as Obj;
    return pvc.status?.phase === 'Bound' ? true : undefined;
  });
  const d = await pvDir('app', 'data');
  assert.deepEqual(await readFile(join(d, 'small.txt')), before.small);
  assert.ok((await readFile(join(d, 'sub', 'big.bin'))).equals(before.big), 'the 20 MiB file is identical');

  // verify against an untouched cluster: identical; the scratch cluster is gone afterwards
  const v1 = await k(['backup', 'restore', 'b1', '--verify', '--name', 'v1', '-o', 'json']);
  const v1s = (JSON.parse(v1.stdout) as Obj).status;
  assert.equal(v1.code, 0, JSON.stringify(v1s.verify?.differences ?? v1s, null, 1));
  assert.equal(v1s.verify.identical, true);
  assert.equal(v1s.verify.filesCompared, 2);
  assert.ok(v1s.verify.objectsCompared >= 6);
  const scratchNs = await kubectl(admin.replace(/admin\.kubeconfig$/, 'admin.kubeconfig'), [
    'get',
    '--raw',
    `/clusters/${v1s.verify.scratchCluster}/api/v1/namespaces/app`,
  ]);
  assert.notEqual(scratchNs.code, 0, 'the scratch cluster was deleted');

  // introduce differences: one object, one file; verify names exactly those, exit 1
  await kube(['-n', 'app', 'patch', 'configmap', 'settings', '-p', '{"data":{"level":"4"}}']);
  await writeFile(join(d, 'small.txt'), 'changed\n');
  const v2 = await k(['backup', 'restore', 'b1', '--verify', '--name', 'v2', '-o', 'json']);
  assert.equal(v2.code, 1);
  const diffs = (JSON.parse(v2.stdout) as Obj).status.verify.differences as Obj[];
  assert.deepEqual(
    diffs.map((x) => `${x.against} ${x.kind} ${x.namespace}/${x.name} ${x.path ?? ''}`.trim()),
    ['cluster ConfigMap app/settings', 'cluster PersistentVolumeClaim app/data small.txt'],
  );
  assert.match(diffs[0]!.message, /\.data\.level/);

  // a damaged archive: verify (and restore) refuse it with ChecksumMismatch
  const m = JSON.parse((await swift.s3.getObject(b1.status.manifest.key)).toString()) as Obj;
  const fileKey = m.volumes[0].files.find((f: Obj) => f.path === 'small.txt').key as string;
  await swift.s3.putObject(fileKey, Buffer.from('tampered\n'));
  const v3 = await k(['backup', 'restore', 'b1', '--verify', '--name', 'v3', '-o', 'json']);
  assert.equal(v3.code, 1);
  const v3s = (JSON.parse(v3.stdout) as Obj).status;
  assert.equal(v3s.phase, 'Failed');
  assert.equal(v3s.conditions[0].reason, 'ChecksumMismatch');
  assert.match(v3s.error, new RegExp(`${fileKey}.*sha256`));
});

test('wrong credentials and a missing bucket fail with the bucket, the endpoint and the fix; nothing is marked complete', async () => {
  const wrong = await k([
    'backup',
    'create',
    'bad-creds',
    '--cluster',
    'src',
    '--namespaces',
    'app',
    '--endpoint',
    swift.endpoint,
    '--bucket',
    swift.bucket,
    '--credentials-secret',
    's3-wrong',
  ]);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    new RegExp(`bucket ${swift.bucket} at ${swift.endpoint}.*rejected the credentials.*credentialsRef`),
  );
  assert.match(wrong.stdout, /Condition:\s+Ready=False AuthFailed/);

  const missing = await k([
    'backup',
    'create',
    'no-bucket',
    '--cluster',
    'src',
    '--namespaces',
    'app',
    ...storageFlags('kaas-no-such-bucket'),
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    new RegExp(`bucket kaas-no-such-bucket does not exist at ${swift.endpoint}: create it`),
  );
  assert.match(missing.stdout, /Ready=False NotFound/);
  // only b1's manifest is in the bucket
  assert.equal((await manifests()).filter((x) => /bad-creds|no-bucket/.test(x)).length, 0);
});

test('a schedule keeps the newest N backups and deletes older ones with their archives', async () => {
  const made = await k([
    'backup',
    'schedule',
    'create',
    'often',
    '--every',
    '3s',
    '--keep',
    '2',
    '--cluster',
    'src',
    '--namespaces',
    'app',
    ...storageFlags(),
  ]);
  assert.equal(made.code, 0, made.stderr);
  const sched = await until(
    'retention to delete a backup',
    async () => {
      const s = JSON.parse(await mgmt(['get', 'backupschedules.kaas.dev', 'often', '-o', 'json'])) as Obj;
      return s.status?.deleted?.length ? s : undefined;
    },
    120_000,
  );
  assert.ok(sched.status.deleted.every((n: string) => n.startsWith('often-')));
  // paused, it makes no more Backups but retention still runs as the last ones complete:
  // exactly `keep` Completed ones remain
  await mgmt([
    'patch',
    'backupschedules.kaas.dev',
    'often',
    '--type',
    'merge',
    '-p',
    '{"spec":{"paused":true}}',
  ]);
  const kept = await until(
    'retention to settle at keep=2',
    async () => {
      const items = (JSON.parse(await mgmt(['get', 'backups.kaas.dev', '-o', 'json'])) as Obj).items as Obj[];
      const mine = items.filter((b) => b.metadata.name.startsWith('often-'));
      const settled = mine.every((b) => b.status?.phase === 'Completed' && !b.metadata.deletionTimestamp);
      return settled && mine.length === 2 ? mine : undefined;
    },
    120_000,
  );
  const listedKeys = await manifests();
  for (const b of kept)
    assert.ok(listedKeys.includes(b.status.manifest.key), `${b.metadata.name} kept with its archive`);
  assert.equal(listedKeys.filter((x) => x.includes('/often-')).length, 2, 'only the kept archives remain');
  const del = await k(['backup', 'schedule', 'delete', 'often']);
  assert.equal(del.code, 0, del.stderr);
  for (const gone of sched.status.deleted as string[])
    assert.ok(!(await manifests()).some((x) => x.includes(`/${gone}/`)), `${gone}'s archive deleted`);
});

test('a server killed mid-upload leaves no complete backup; after a restart the Backup is Failed/Interrupted and the partial upload is gone', async () => {
  const d = await pvDir('app', 'data');
  await writeFile(join(d, 'large.bin'), randomBytes(64 * 1024 * 1024));
  const made = await k([
    'backup',
    'create',
    'cut',
    '--cluster',
    'src',
    '--namespaces',
    'app',
    ...storageFlags(),
    '--no-wait',
  ]);
  assert.equal(made.code, 0, made.stderr);
  // wait until parts are in the bucket, then kill -9
  await until(
    'the upload to start',
    async () =>
      (await swift.s3.listMultipartUploads('')).some((u) => u.key.includes('/cut/')) ? true : undefined,
    60_000,
  );
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  assert.equal((await manifests()).filter((x) => x.includes('/cut/')).length, 0, 'no manifest: not a backup');
  server = await startKaasServer(dataDir);
  const cut = await until('the interrupted Backup to be marked', async () => {
    const b = JSON.parse(await mgmt(['get', 'backups.kaas.dev', 'cut', '-o', 'json'])) as Obj;
    return b.status?.phase === 'Failed' ? b : undefined;
  });
  assert.equal(cut.status.conditions[0].reason, 'Interrupted');
  assert.match(cut.status.error, /nothing was marked complete/);
  assert.deepEqual(
    (await swift.s3.list('')).filter((o) => o.key.includes('/cut/')),
    [],
    'partial upload removed',
  );
  const described = await k(['backup', 'describe', 'cut']);
  assert.match(described.stdout, /Phase:\s+Failed/);
  await rm(join(d, 'large.bin'));
});
