// Backups of a cluster that is not on the local cloud go through Velero (docs/backups.md, "Velero").
// Real: `kaasctl server`, `kaasctl backup ...` as a user types them, kubectl, and a Kubernetes API
// for the "workload cluster" (a logical cluster of the same server, reached as an OpenStack cluster
// KaaS deployed is: its Cluster's status.endpoint and a client certificate signed by the CA in its
// `prod-node-bootstrap` Secret, here the server's own CA, which that logical cluster trusts; the
// last test overrides that with the Secret `prod-kubeconfig`) with Velero's CRDs, Deployment and
// BackupStorageLocation rendered by the catalog and applied with kubectl.
//
// NOT real: Velero's controller. Velero needs a container runtime, which this machine does not
// have, so `VeleroStandIn` below plays its part: it marks the Deployment Available and the storage
// location Available, moves each velero.io Backup and Restore through the phases Velero documents
// (New -> InProgress -> Completed | PartiallyFailed | Failed) with Velero's status fields, copies
// the backed-up objects into the mapped namespaces on restore, and deletes a Backup when a
// DeleteBackupRequest names it. What is asserted is KaaS's side: the objects it creates, how it
// maps Velero's status, its coded errors, the deletion request and the missing-Velero error.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ClusterSchema } from '@kaas/api';
import { createCatalog, servicesNamespace } from '@kaas/catalog';
import { WorkloadClient, parseKubeconfig, veleroNamespace, veleroPath } from '@kaas/backup';
import { runKaasctl, startKaasServer, type KaasServer } from '../support/kaasctl.ts';
import { kubectl } from '../support/apiserver.ts';

type Obj = Record<string, any>;

let dir: string;
let server: KaasServer;
let admin: string;
let wlKubeconfig: string;
let wl: WorkloadClient;
/** The management API, in-process (no kubectl run for what the user would not type). */
let root: WorkloadClient;
let standIn: VeleroStandIn;
const bucket = 'kaas-default-prod-backups'; // the catalog's default for Cluster default/prod

const k = (args: string[], timeoutMs = 120_000) =>
  runKaasctl([...args, '--kubeconfig', admin], { timeoutMs });
async function kc(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, { ...(input ? { input } : {}), timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const mgmt = (args: string[], input?: string) => kc(admin, args, input);
const kube = (args: string[], input?: string) => kc(wlKubeconfig, args, input);
const getJson = async (args: string[]) => JSON.parse(await mgmt([...args, '-o', 'json'])) as Obj;
const storage = (b = bucket) => [
  '--endpoint',
  'https://swift.example.com',
  '--bucket',
  b,
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

type Outcome =
  | { phase: 'Completed' }
  | { phase: 'PartiallyFailed'; errors: number; warnings: number }
  | { phase: 'Failed'; failureReason: string };

/** Stand-in for Velero's controller (the only part that cannot run here); see the file's comment. */
class VeleroStandIn {
  readonly outcomes = new Map<string, Outcome>();
  readonly deleteRequests: Obj[] = [];
  readonly #snapshots = new Map<string, Obj[]>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  readonly c: WorkloadClient;
  constructor(c: WorkloadClient) {
    this.c = c;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      this.tick()
        .catch((e: unknown) => console.error('stand-in:', (e as Error).message))
        .finally(() => (this.#busy = false));
    }, 150);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
  // Velero 1.15's CRDs have no status subresource: it writes status through the object itself
  #status(plural: string, name: string, status: Obj) {
    return this.c.mergePatch(veleroPath(veleroNamespace, plural, name), { status });
  }

  /** What the deployment controller and kubelet would report for Velero's pod. */
  async makeAvailable(): Promise<void> {
    await this.c.mergePatch(`/apis/apps/v1/namespaces/${veleroNamespace}/deployments/velero/status`, {
      status: {
        replicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' },
        ],
      },
    });
    await this.#status('backupstoragelocations', 'default', {
      phase: 'Available',
      lastValidationTime: new Date().toISOString(),
    });
  }

  async #objectsOf(namespaces: string[]): Promise<Obj[]> {
    const out: Obj[] = [];
    for (const ns of namespaces)
      for (const [path, plural, kind] of [
        ['/api/v1', 'configmaps', 'ConfigMap'],
        ['/api/v1', 'services', 'Service'],
        ['/api/v1', 'persistentvolumeclaims', 'PersistentVolumeClaim'],
      ] as const)
        for (const o of await this.c.list(`${path}/namespaces/${ns}/${plural}`))
          if (o.metadata.name !== 'kube-root-ca.crt') out.push({ ...o, apiVersion: 'v1', kind, plural });
    return out;
  }

  async tick(): Promise<void> {
    const now = new Date().toISOString();
    for (const b of await this.c.list(veleroPath(veleroNamespace, 'backups'))) {
      const name = b.metadata.name as string;
      const phase = b.status?.phase;
      if (!phase) {
        await this.#status('backups', name, { phase: 'New' });
      } else if (phase === 'New') {
        await this.#status('backups', name, {
          phase: 'InProgress',
          startTimestamp: now,
          progress: { totalItems: 0, itemsBackedUp: 0 },
        });
      } else if (phase === 'InProgress') {
        const objs = await this.#objectsOf(b.spec.includedNamespaces);
        this.#snapshots.set(name, objs);
        const claims = objs.filter((o) => o.kind === 'PersistentVolumeClaim').length;
        const out = this.outcomes.get(name) ?? { phase: 'Completed' };
        await this.#status('backups', name, {
          phase: out.phase,
          completionTimestamp: now,
          expiration: new Date(Date.now() + 720 * 3600_000).toISOString(),
          progress: {
            totalItems: objs.length + 1,
            itemsBackedUp: out.phase === 'Completed' ? objs.length + 1 : objs.length - 1,
          },
          csiVolumeSnapshotsAttempted: claims,
          csiVolumeSnapshotsCompleted: claims,
          ...(out.phase === 'PartiallyFailed' ? { errors: out.errors, warnings: out.warnings } : {}),
          ...(out.phase === 'Failed' ? { failureReason: out.failureReason, errors: 1 } : {}),
        });
      }
    }
    for (const r of await this.c.list(veleroPath(veleroNamespace, 'restores'))) {
      const name = r.metadata.name as string;
      if (!r.status?.phase) {
        await this.#status('restores', name, { phase: 'InProgress', startTimestamp: now });
        continue;
      }
      if (r.status.phase !== 'InProgress') continue;
      const objs = this.#snapshots.get(r.spec.backupName) ?? [];
      const map = (r.spec.namespaceMapping ?? {}) as Record<string, string>;
      let restored = 0;
      for (const o of objs) {
        const ns = map[o.metadata.namespace] ?? o.metadata.namespace;
        if (!(await this.c.get(`/api/v1/namespaces/${ns}`)))
          await this.c.create('/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns },
          });
        const path = `/api/v1/namespaces/${ns}/${o.plural}`;
        if (await this.c.get(`${path}/${o.metadata.name}`)) continue; // existingResourcePolicy none
        const body: Obj = {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: {
            name: o.metadata.name,
            namespace: ns,
            labels: {
              ...o.metadata.labels,
              'velero.io/backup-name': r.spec.backupName,
              'velero.io/restore-name': name,
            },
            ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
          },
          ...(o.data ? { data: o.data } : {}),
          ...(o.spec ? { spec: structuredClone(o.spec) } : {}),
        };
        if (o.kind === 'Service') {
          delete body.spec.clusterIP;
          delete body.spec.clusterIPs;
        }
        if (o.kind === 'PersistentVolumeClaim') delete body.spec.volumeName;
        await this.c.create(path, body);
        restored++;
      }
      await this.#status('restores', name, {
        phase: 'Completed',
        completionTimestamp: now,
        progress: { totalItems: objs.length, itemsRestored: restored },
        warnings: 0,
        errors: 0,
      });
    }
    for (const d of await this.c.list(veleroPath(veleroNamespace, 'deletebackuprequests'))) {
      if (d.status?.phase === 'Processed') continue;
      this.deleteRequests.push(d);
      await this.c.delete(veleroPath(veleroNamespace, 'backups', d.spec.backupName));
      await this.#status('deletebackuprequests', d.metadata.name, { phase: 'Processed' });
    }
  }
}

const clusterYaml = `apiVersion: kaas.dev/v1alpha1
kind: Cluster
metadata: { name: prod, namespace: default }
spec:
  provider:
    type: openstack
    openstack:
      region: RegionOne
      externalNetwork: public
      image: ubuntu-24.04
      flavors: { controlPlane: m1.large, workers: m1.large }
      dnsZone: kaas.example.com.
  nodePools: [{ name: workers, replicas: 2 }]
  auth: { identity: { backend: local }, clusterAdminRoleIds: [cluster-admins] }
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaas-velero-'));
  const dataDir = join(dir, 'data');
  server = await startKaasServer(dataDir);
  admin = join(dataDir, 'admin.kubeconfig');
  wlKubeconfig = join(dir, 'prod.kubeconfig');
  // the "workload cluster": logical cluster wl of the same server, as an external one's API
  await writeFile(
    wlKubeconfig,
    (await readFile(admin, 'utf8')).replace(/server: (https:\/\/[^\s]+)/, 'server: $1/clusters/wl'),
  );
  wl = new WorkloadClient(parseKubeconfig(await readFile(wlKubeconfig, 'utf8'), 'test'), 'prod');
  root = new WorkloadClient(parseKubeconfig(await readFile(admin, 'utf8'), 'test'), 'root');
  standIn = new VeleroStandIn(wl);
  await mgmt(['apply', '-f', '-'], clusterYaml);
  // what an OpenStack deploy leaves for the cluster: its API's address and the cluster CA (here
  // the server's CA: the logical cluster wl trusts the client certificates it signs); no kubeconfig
  const pki = (f: string) => readFile(join(dataDir, 'pki', f), 'base64');
  await root.create('/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prod-node-bootstrap', namespace: 'default' },
    data: { 'ca.crt': await pki('ca.crt'), 'ca.key': await pki('ca.key') },
  });
  await setEndpoint('prod', `${server.url}/clusters/wl`);
  await mgmt([
    'create',
    'secret',
    'generic',
    's3',
    '--from-literal=accessKeyId=a',
    '--from-literal=secretAccessKey=b',
  ]);
  // the workload: a namespace with config, a Service and a claim
  await kube(['create', 'namespace', 'shop']);
  await kube([
    '-n',
    'shop',
    'create',
    'configmap',
    'settings',
    '--from-literal=mode=production',
    '--from-literal=level=3',
  ]);
  await kube(
    ['-n', 'shop', 'apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', namespace: 'shop' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
      ],
    }),
  );
});

/** Sets status.endpoint as the deploy does (again if the cluster controller's pass dropped it). */
async function setEndpoint(name: string, endpoint: string): Promise<void> {
  const path = `/apis/kaas.dev/v1alpha1/namespaces/default/clusters/${name}`;
  await until(`status.endpoint of Cluster ${name}`, async () => {
    await root.mergePatch(`${path}/status`, { status: { endpoint } });
    await new Promise((r) => setTimeout(r, 500));
    return (await root.get(path))?.status?.endpoint === endpoint ? true : undefined;
  });
}

after(async () => {
  standIn?.stop();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Velero as the catalog renders it for Cluster default/prod (backups enabled). */
function catalogVelero(): Obj[] {
  const cluster = ClusterSchema.parse({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'prod', namespace: 'default' },
    spec: {
      provider: {
        type: 'openstack',
        openstack: {
          region: 'RegionOne',
          externalNetwork: 'public',
          image: 'ubuntu-24.04',
          flavors: { controlPlane: 'm1.large', workers: 'm1.large' },
          dnsZone: 'kaas.example.com.',
        },
      },
      nodePools: [{ name: 'workers', replicas: 2 }],
      auth: { identity: { backend: 'local' }, clusterAdminRoleIds: ['cluster-admins'] },
    },
  });
  const svc = createCatalog()
    .render(cluster)
    .find((s) => s.key === 'backup');
  assert.ok(svc, 'the catalog renders Velero');
  return svc.objects as Obj[];
}

test('the driving path uses the namespace, storage location and bucket the catalog renders', () => {
  const objs = catalogVelero();
  assert.equal(veleroNamespace, servicesNamespace);
  const bsl = objs.find((o) => o.kind === 'BackupStorageLocation');
  assert.equal(bsl?.metadata.namespace, veleroNamespace);
  assert.equal(bsl?.metadata.name, 'default');
  assert.equal(bsl?.spec.objectStorage.bucket, bucket);
  const dep = objs.find((o) => o.kind === 'Deployment');
  assert.ok(dep?.spec.template.spec.containers[0].args.includes('--features=EnableCSI'));
});

test('without Velero in the cluster: VeleroUnavailable naming the fix', async () => {
  const r = await k(['backup', 'create', 'none', '--cluster', 'prod', '--namespaces', 'shop', ...storage()]);
  assert.equal(r.code, 1, r.stderr);
  const b = await getJson(['get', 'backups.kaas.dev', 'none']);
  assert.equal(b.status.phase, 'Failed');
  assert.equal(b.status.conditions[0].reason, 'VeleroUnavailable');
  assert.match(b.status.error, /CRD backups\.velero\.io does not exist/);
  assert.match(b.status.error, /spec\.services\.backup\.enabled: true/);
  assert.match(b.status.error, /kaasctl cluster update prod --services/);

  // install what the catalog renders: CRDs first, then the rest; Velero's pod is not Available
  const objs = catalogVelero();
  const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
  await kube(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }));
  await kube(['create', 'namespace', servicesNamespace]);
  const rest = objs.filter((o) => o.kind !== 'CustomResourceDefinition');
  await until('the velero.io kinds to be served', async () =>
    (await kubectl(wlKubeconfig, ['get', 'backupstoragelocations.velero.io', '-A'], { timeoutMs: 30_000 }))
      .code === 0
      ? true
      : undefined,
  );
  await kube(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rest }));

  const r2 = await k(['backup', 'create', 'down', '--cluster', 'prod', '--namespaces', 'shop', ...storage()]);
  assert.equal(r2.code, 1, r2.stderr);
  const b2 = await getJson(['get', 'backups.kaas.dev', 'down']);
  assert.equal(b2.status.conditions[0].reason, 'VeleroUnavailable');
  assert.match(b2.status.error, /Deployment kaas-system\/velero has 0 of 1 replicas ready/);

  await standIn.makeAvailable();
  standIn.start();
  // a bucket other than the one Velero writes to is refused, naming both
  const r3 = await k([
    'backup',
    'create',
    'elsewhere',
    '--cluster',
    'prod',
    '--namespaces',
    'shop',
    ...storage('other-bucket'),
  ]);
  assert.equal(r3.code, 1);
  const b3 = await getJson(['get', 'backups.kaas.dev', 'elsewhere']);
  assert.equal(b3.status.conditions[0].reason, 'InvalidSpec');
  assert.match(
    b3.status.error,
    /other-bucket.*kaas-default-prod-backups.*--bucket kaas-default-prod-backups/,
  );
});

test('backup create|list|describe through Velero: the Velero Backup as specified, Completed mirrored', async () => {
  const r = await k([
    'backup',
    'create',
    'nightly',
    '--cluster',
    'prod',
    '--namespaces',
    'shop',
    ...storage(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const vb = JSON.parse(
    await kube(['-n', 'kaas-system', 'get', 'backups.velero.io', 'kaas-default-nightly', '-o', 'json']),
  ) as Obj;
  assert.deepEqual(vb.spec, {
    includedNamespaces: ['shop'],
    storageLocation: 'default',
    snapshotVolumes: true,
    snapshotMoveData: false,
    defaultVolumesToFsBackup: false,
    csiSnapshotTimeout: '10m0s',
    ttl: '720h0m0s',
  });
  const b = await getJson(['get', 'backups.kaas.dev', 'nightly']);
  assert.equal(b.status.phase, 'Completed');
  assert.equal(b.status.conditions[0].reason, 'Ready');
  assert.equal(b.status.velero.phase, 'Completed');
  assert.equal(b.status.velero.name, 'kaas-default-nightly');
  assert.equal(b.status.velero.cluster, 'prod');
  assert.equal(b.status.velero.volumeSnapshotsCompleted, 1);
  // no prod-kubeconfig Secret: reached through status.endpoint and the cluster CA
  assert.equal(
    b.status.velero.access,
    `status.endpoint ${server.url}/clusters/wl with a client certificate from the cluster CA`,
  );
  assert.equal(b.status.velero.storageLocation, 'default');
  assert.deepEqual(b.status.counts, { objects: b.status.velero.itemsDone, volumes: 1, files: 0 });
  assert.match(
    b.status.conditions[0].message,
    /Completed: 4 of 4 items backed up, 1 of 1 CSI volume snapshots; 0 errors, 0 warnings/,
  );

  const list = await k(['backup', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /nightly\s+prod\s+Completed/);
  const d = await k(['backup', 'describe', 'nightly']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(
    d.stdout,
    /Condition:\s+Ready=True Ready: Velero Backup kaas-system\/kaas-default-nightly in cluster prod Completed/,
  );
  // what Velero really used, not spec.storage's endpoint and credentials
  assert.match(
    d.stdout,
    /Storage:\s+Velero's BackupStorageLocation kaas-system\/default in cluster prod, bucket kaas-default-prod-backups \(its own endpoint and credentials; spec\.storage's endpoint https:\/\/swift\.example\.com, prefix and Secret s3 are not used\)/,
  );
  assert.doesNotMatch(d.stdout, /Storage:\s+s3 /);
  assert.match(
    d.stdout,
    /API access:\s+status\.endpoint https:\/\/127\.0\.0\.1:\d+\/clusters\/wl with a client certificate/,
  );
});

test("PartiallyFailed and Failed: Velero's counts and failureReason, coded", async () => {
  standIn.outcomes.set('kaas-default-partial', { phase: 'PartiallyFailed', errors: 2, warnings: 1 });
  standIn.outcomes.set('kaas-default-broken', {
    phase: 'Failed',
    failureReason: 'rpc error: bucket kaas-default-prod-backups: AccessDenied',
  });
  const [p, f] = await Promise.all([
    k(['backup', 'create', 'partial', '--cluster', 'prod', '--namespaces', 'shop', ...storage()]),
    k(['backup', 'create', 'broken', '--cluster', 'prod', '--namespaces', 'shop', ...storage()]),
  ]);
  assert.equal(p.code, 1, p.stderr);
  assert.equal(f.code, 1, f.stderr);
  const pb = await getJson(['get', 'backups.kaas.dev', 'partial']);
  assert.equal(pb.status.phase, 'Failed');
  assert.equal(pb.status.conditions[0].reason, 'PartiallyFailed');
  assert.equal(pb.status.velero.errors, 2);
  assert.equal(pb.status.velero.warnings, 1);
  assert.match(pb.status.error, /2 errors, 1 warnings; the items' messages are in Velero's results/);
  const fb = await getJson(['get', 'backups.kaas.dev', 'broken']);
  assert.equal(fb.status.conditions[0].reason, 'Internal');
  assert.equal(fb.status.velero.failureReason, 'rpc error: bucket kaas-default-prod-backups: AccessDenied');
  assert.match(fb.status.error, /Failed: rpc error: bucket kaas-default-prod-backups: AccessDenied/);
  // a restore of a failed backup is refused
  const r = await k(['backup', 'restore', 'partial', '--name', 'from-partial']);
  assert.equal(r.code, 1);
});

test('restore and restore --verify through Velero (namespaceMapping), then delete -> DeleteBackupRequest', async () => {
  // restore into the same cluster: existing objects are kept (existingResourcePolicy none)
  const r = await k(['backup', 'restore', 'nightly', '--name', 'back']);
  assert.equal(r.code, 0, r.stderr);
  const vr = JSON.parse(
    await kube(['-n', 'kaas-system', 'get', 'restores.velero.io', 'kaas-default-back', '-o', 'json']),
  ) as Obj;
  assert.equal(vr.spec.backupName, 'kaas-default-nightly');
  assert.equal(vr.spec.restorePVs, true);
  assert.deepEqual(vr.spec.includedNamespaces, ['*']);
  const rs = await getJson(['get', 'restores.kaas.dev', 'back']);
  assert.equal(rs.status.phase, 'Completed');
  assert.equal(rs.status.velero.phase, 'Completed');

  // a Velero backup does not restore into a cluster on the local cloud (it has no Velero)
  await mgmt(
    ['apply', '-f', '-'],
    `apiVersion: kaas.dev/v1alpha1
kind: Cluster
metadata: { name: loc, namespace: default }
spec:
  provider: { type: local, local: { vmBootSeconds: 0, latencyScale: 0 } }
  nodePools: [{ name: workers, replicas: 1 }]
  auth: { identity: { backend: local }, clusterAdminRoleIds: [cluster-admins] }
`,
  );
  const toLocal = await k(['backup', 'restore', 'nightly', '--target-cluster', 'loc', '--name', 'to-local']);
  assert.equal(toLocal.code, 1, toLocal.stderr);
  const tl = await getJson(['get', 'restores.kaas.dev', 'to-local']);
  assert.equal(tl.status.conditions[0].reason, 'InvalidSpec');
  assert.match(tl.status.error, /Cluster loc is on the local cloud, which has no Velero/);

  // verify right after: identical
  const v1 = await k(['backup', 'restore', 'nightly', '--verify', '--name', 'check1']);
  assert.equal(v1.code, 0, v1.stdout + v1.stderr);
  const c1 = await getJson(['get', 'restores.kaas.dev', 'check1']);
  assert.equal(c1.status.verify.identical, true);
  assert.equal(c1.status.verify.objectsCompared, 3, JSON.stringify(c1.status.verify)); // settings, web, data
  const mapping = c1.status.velero.namespaceMapping as Record<string, string>;
  assert.match(mapping.shop!, /^kaas-verify-[0-9a-f-]{8}-shop$/);
  const vr1 = JSON.parse(
    await kube([
      '-n',
      'kaas-system',
      'get',
      'restores.velero.io',
      'kaas-default-check1-verify',
      '-o',
      'json',
    ]),
  ) as Obj;
  assert.deepEqual(vr1.spec.namespaceMapping, mapping);
  // the scratch namespace is deleted afterwards
  const ns = await kubectl(wlKubeconfig, ['get', 'namespace', mapping.shop!, '-o', 'json'], {
    timeoutMs: 30_000,
  });
  assert.ok(
    ns.code !== 0 || JSON.parse(ns.stdout).metadata.deletionTimestamp,
    `scratch namespace ${mapping.shop} still there`,
  );

  // change the source: verify names exactly that
  await kube([
    '-n',
    'shop',
    'patch',
    'configmap',
    'settings',
    '--type',
    'merge',
    '-p',
    '{"data":{"level":"4"}}',
  ]);
  const v2 = await k(['backup', 'restore', 'nightly', '--verify', '--name', 'check2']);
  assert.equal(v2.code, 1, v2.stdout + v2.stderr);
  const c2 = await getJson(['get', 'restores.kaas.dev', 'check2']);
  assert.equal(c2.status.conditions[0].reason, 'Differs');
  assert.equal(c2.status.verify.differenceCount, 1, JSON.stringify(c2.status.verify.differences));
  assert.equal(c2.status.verify.differences[0].kind, 'ConfigMap');
  assert.equal(c2.status.verify.differences[0].name, 'settings');
  assert.match(c2.status.verify.differences[0].message, /\.data\.level/);
  assert.match(v2.stdout, /\[cluster\] ConfigMap shop\/settings/);

  // delete: a DeleteBackupRequest for the Velero Backup, then ours is gone
  const del = await k(['backup', 'delete', 'nightly']);
  assert.equal(del.code, 0, del.stderr);
  const req = await until('the DeleteBackupRequest', async () =>
    standIn.deleteRequests.find((d) => d.spec.backupName === 'kaas-default-nightly'),
  );
  assert.equal(req.metadata.namespace, 'kaas-system');
  assert.equal(req.metadata.labels['velero.io/backup-name'], 'kaas-default-nightly');
  await until('the Backup to go', async () =>
    (await kubectl(admin, ['get', 'backups.kaas.dev', 'nightly'], { timeoutMs: 30_000 })).code !== 0
      ? true
      : undefined,
  );
  assert.equal(await wl.get(veleroPath('kaas-system', 'backups', 'kaas-default-nightly')), undefined);
});

test("a schedule's Backups get a Velero ttl from its retention: (keep + 1) x every", async () => {
  const r = await k([
    'backup',
    'schedule',
    'create',
    'daily',
    '--every',
    '1d',
    '--keep',
    '3',
    '--cluster',
    'prod',
    '--namespaces',
    'shop',
    ...storage(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const made = await until("the schedule's first Backup", async () => {
    const l = await getJson(['get', 'backups.kaas.dev', '-l', 'kaas.dev/backup-schedule=daily']);
    return l.items?.[0]?.status?.velero ? (l.items[0] as Obj) : undefined;
  });
  const vb = await wl.get(veleroPath('kaas-system', 'backups', made.status.velero.name));
  assert.equal(vb?.spec.ttl, '96h0m0s');
  const del = await k(['backup', 'schedule', 'delete', 'daily']);
  assert.equal(del.code, 0, del.stderr);
});

test('a cluster KaaS cannot reach yet: NotFound naming both ways; the Secret <cluster>-kubeconfig overrides', async () => {
  // in-process (no kaasctl or kubectl runs: this file is slow enough)
  const backups = '/apis/kaas.dev/v1alpha1/namespaces/default/backups';
  const backupOf = (name: string, cluster: string) => ({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Backup',
    metadata: { name, namespace: 'default' },
    spec: {
      cluster,
      includedNamespaces: ['shop'],
      storage: { s3: { endpoint: 'https://swift.example.com', bucket, credentialsRef: { name: 's3' } } },
    },
  });
  const finished = (name: string) =>
    until(`Backup ${name} to finish`, async () => {
      const b = await root.get(`${backups}/${name}`);
      return ['Completed', 'Failed'].includes(b?.status?.phase) ? b! : undefined;
    });

  // a Cluster with no endpoint yet (not deployed) and no Secret
  await root.create('/apis/kaas.dev/v1alpha1/namespaces/default/clusters', {
    ...(parse(clusterYaml) as Obj),
    metadata: { name: 'fresh', namespace: 'default' },
  });
  await root.create(backups, backupOf('early', 'fresh'));
  const early = await finished('early');
  assert.equal(early.status.phase, 'Failed');
  assert.equal(early.status.conditions[0].reason, 'NotFound');
  assert.match(early.status.error, /Cluster default\/fresh: it has no status\.endpoint yet/);
  assert.match(early.status.error, /no Secret default\/fresh-kubeconfig \(key value\) overrides that/);
  assert.match(
    early.status.error,
    /kubectl create secret generic fresh-kubeconfig --from-file=value=admin\.conf/,
  );

  // the override: prod's admin kubeconfig in prod-kubeconfig wins over the cluster CA
  await root.create('/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'prod-kubeconfig', namespace: 'default' },
    data: { value: Buffer.from(await readFile(wlKubeconfig, 'utf8')).toString('base64') },
  });
  await root.create(backups, backupOf('via-secret', 'prod'));
  const b = await finished('via-secret');
  assert.equal(b.status.phase, 'Completed', JSON.stringify(b.status));
  assert.equal(b.status.velero.access, 'Secret default/prod-kubeconfig (override)');
  assert.equal(b.status.velero.name, 'kaas-default-via-secret');
  assert.ok(await wl.get(veleroPath('kaas-system', 'backups', 'kaas-default-via-secret')));
});
