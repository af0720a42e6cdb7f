import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '@kaas/apiserver';
import { scrubDirectory } from './volumes.ts';
import { startEnv, until } from './testing.ts';

const claim = (name: string, o: { volumeName?: string; storageClassName?: string } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    ...(o.volumeName ? { volumeName: o.volumeName } : {}),
    ...(o.storageClassName !== undefined ? { storageClassName: o.storageClassName } : {}),
  },
});

const volume = (name: string, path: string, policy: string): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: {
    capacity: { storage: '2Gi' },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: policy,
    storageClassName: '',
    hostPath: { path },
  },
});

test('scrubDirectory removes every entry, hidden ones too, and keeps the directory', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'kaas-scrub-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const dir = join(tmp, 'scrub');
  await mkdir(join(dir, 'sub'), { recursive: true });
  for (const f of ['a', '.hidden', '..x', 'sub/b']) await writeFile(join(dir, f), 'data');
  await scrubDirectory(dir);
  assert.deepEqual(await readdir(dir), []);
});

test('reclaim: Retain keeps the data (Released), Recycle empties the directory (Available), Delete removes it', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  const getPV = (name: string) => c.get({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolume', name });
  const getPVC = (name: string) =>
    c.get({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'default', name });
  const delPVC = (name: string) =>
    c.delete({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'default', name });
  const root = join(env.dataDir, 'volumes', 'c1');
  for (const [name, policy] of [
    ['keep', 'Retain'],
    ['reuse', 'Recycle'],
  ] as const) {
    await mkdir(join(root, name), { recursive: true });
    await writeFile(join(root, name, 'file.txt'), 'tenant data');
    await writeFile(join(root, name, '.dot'), 'hidden');
    await c.create('c1', volume(name, join(root, name), policy));
    await c.create('c1', claim(`${name}-claim`, { volumeName: name, storageClassName: '' }));
  }
  await until(
    async () =>
      (await getPV('keep')).status?.phase === 'Bound' && (await getPV('reuse')).status?.phase === 'Bound',
    'static volumes bound',
  );
  assert.equal((await getPVC('keep-claim')).status.phase, 'Bound');
  await delPVC('keep-claim');
  await delPVC('reuse-claim');
  await until(async () => (await getPV('keep')).status?.phase === 'Released', 'Retain: Released');
  assert.equal(existsSync(join(root, 'keep', 'file.txt')), true, 'Retain keeps the data');
  await until(async () => (await getPV('reuse')).status?.phase === 'Available', 'Recycle: Available');
  assert.deepEqual(await readdir(join(root, 'reuse')), [], 'Recycle empties the directory');
  assert.equal((await getPV('reuse')).spec.claimRef, undefined);
  // The recycled volume serves the next claim.
  await c.create('c1', claim('next', { storageClassName: '' }));
  await until(async () => (await getPVC('next')).spec.volumeName === 'reuse', 'reused');

  // Dynamic provisioning through the default class; Delete removes directory and PV.
  await c.create('c1', claim('dyn'));
  await until(async () => (await getPVC('dyn')).status?.phase === 'Bound', 'dyn bound');
  const dyn = await getPVC('dyn');
  const pv = await getPV(dyn.spec.volumeName);
  assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'kaas.dev/local-volume');
  assert.equal(pv.spec.capacity.storage, '1Gi');
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
  assert.ok(existsSync(pv.spec.hostPath.path));
  await writeFile(join(pv.spec.hostPath.path, 'x'), 'y');
  await delPVC('dyn');
  await until(async () => !existsSync(pv.spec.hostPath.path), 'directory removed');
  await until(
    async () =>
      !(await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolume' })).items.some(
        (v) => v.metadata.name === pv.metadata.name,
      ),
    'PV deleted',
  );
});

test('a claim naming a volume bound to another claim stays Pending with FailedBinding', async (t) => {
  const env = await startEnv();
  t.after(env.close);
  const c = env.manager.client;
  const dir = join(env.dataDir, 'volumes', 'c1', 'taken');
  await mkdir(dir, { recursive: true });
  await c.create('c1', volume('taken', dir, 'Retain'));
  await c.create('c1', claim('first', { volumeName: 'taken', storageClassName: '' }));
  await until(
    async () =>
      (await c.get({ cluster: 'c1', apiVersion: 'v1', kind: 'PersistentVolume', name: 'taken' })).status
        ?.phase === 'Bound',
    'first bound',
  );
  await c.create('c1', claim('second', { volumeName: 'taken', storageClassName: '' }));
  await until(async () => {
    const evs = (await c.list({ cluster: 'c1', apiVersion: 'v1', kind: 'Event', namespace: 'default' }))
      .items;
    return evs.some(
      (e) =>
        e.involvedObject.name === 'second' &&
        e.reason === 'FailedBinding' &&
        e.type === 'Warning' &&
        e.message === 'volume "taken" already bound to a different claim.',
    );
  }, 'FailedBinding event');
  const second = await c.get({
    cluster: 'c1',
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: 'default',
    name: 'second',
  });
  assert.equal(second.status.phase, 'Pending');
});
