import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '@kaas/apiserver';
import { ownerKeys } from './controller.ts';
import { Manager } from './manager.ts';
import { InstrumentedKV, configMap, sleep, startServer, until } from './testing.ts';

const configMaps = { group: '', plural: 'configmaps' };
const leaseTiming = { leaseDurationMs: 1000, retryPeriodMs: 100 };

test('shares one informer per resource between controllers; runs without leader election', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const m = new Manager({ server: s.server, kv: s.kv, leaderElection: false });
  t.after(() => m.stop());
  const a = m.informer(configMaps);
  assert.equal(m.informer(configMaps), a, 'same informer for the same resource');
  assert.notEqual(m.informer(configMaps, { cluster: 'root' }), a, 'a one-cluster informer is another');
  const seenA: string[] = [];
  const seenB: string[] = [];
  m.add({ name: 'a', watches: [{ informer: a }], reconcile: async (k) => void seenA.push(k) });
  m.add({
    name: 'b',
    watches: [
      { informer: m.informer(configMaps) },
      { informer: m.informer({ group: '', plural: 'secrets' }), keys: ownerKeys({ kind: 'ConfigMap' }) },
    ],
    reconcile: async (k) => void seenB.push(k),
  });
  assert.throws(
    () => m.add({ name: 'a', watches: [], reconcile: async () => undefined }),
    /already registered/,
  );
  await m.start();
  await m.waitUntilRunning();
  await m.client.create('root', configMap('x'));
  await until(() => seenA.length === 1 && seenB.length === 1, 'both controllers reconciled');
  const metrics = m.metrics();
  assert.deepEqual(
    metrics.controllers.map((c) => [c.name, c.reconciles]),
    [
      ['a', 1],
      ['b', 1],
    ],
  );
  assert.deepEqual(metrics.informers.map((i) => i.id).sort(), [
    '/configmaps',
    '/configmaps@root',
    '/secrets',
  ]);
  assert.ok(metrics.informers.filter((i) => i.id !== '/configmaps@root').every((i) => i.synced));
  await m.stop();
  assert.equal(m.running, false);
  assert.ok(m.metrics().controllers.every((c) => !c.running));
});

async function pair(
  t: { after: (fn: () => unknown) => void },
  kvA: MemoryStore | InstrumentedKV,
  kvB: MemoryStore | InstrumentedKV,
) {
  const a = await startServer(kvA);
  const b = await startServer(kvB);
  const reconciledBy: string[] = [];
  const managers = [a, b].map((s, i) => {
    const id = i === 0 ? 'A' : 'B';
    const m = new Manager({ server: s.server, kv: s.kv, identity: id, ...leaseTiming });
    m.add({
      name: 'record',
      watches: [{ informer: m.informer(configMaps) }],
      reconcile: async (key) => {
        if (key.startsWith('root/default/')) reconciledBy.push(`${id} ${key.slice('root/default/'.length)}`);
      },
    });
    return m;
  }) as [Manager, Manager];
  t.after(async () => {
    for (const m of managers) await m.stop();
    await a.close();
    await b.close();
  });
  let bothRan = false;
  const watch = setInterval(() => {
    if (managers[0].running && managers[1].running) bothRan = true;
  }, 5);
  t.after(() => clearInterval(watch));
  return { a, b, managers, reconciledBy, bothRan: () => bothRan };
}

test('two managers on one store: one reconciles; a stopped leader hands over at once', async (t) => {
  const kv = new MemoryStore();
  const { managers, reconciledBy, bothRan } = await pair(t, kv, kv);
  await Promise.all(managers.map((m) => m.start()));
  await until(() => managers.some((m) => m.running), 'one manager runs');
  const [leader, standby] = managers[0].running ? managers : [managers[1], managers[0]];
  await sleep(300);
  assert.equal(standby.running, false);
  assert.equal(standby.leading, false);
  const c = leader.client;
  await c.create('root', configMap('one'));
  await until(() => reconciledBy.length === 1, 'reconciled once');
  assert.deepEqual(reconciledBy, [`${leader.identity} one`]);

  const stoppedAt = Date.now();
  await leader.stop();
  await standby.waitUntilRunning(leaseTiming.leaseDurationMs);
  assert.ok(Date.now() - stoppedAt <= leaseTiming.leaseDurationMs, 'took over within the lease duration');
  await standby.client.create('root', configMap('two'));
  await until(() => reconciledBy.includes(`${standby.identity} two`), 'the new leader reconciles');
  // The new leader's first list reconciles what exists, including "one".
  assert.ok(reconciledBy.includes(`${standby.identity} one`));
  assert.ok(!reconciledBy.includes(`${leader.identity} two`));
  assert.equal(bothRan(), false, 'never two running managers');
});

test('a leader cut off from the store stops; the standby takes over after the lease expires', async (t) => {
  const shared = new MemoryStore();
  const kvA = new InstrumentedKV(shared);
  const kvB = new InstrumentedKV(shared);
  const { managers, reconciledBy, bothRan } = await pair(t, kvA, kvB);
  await managers[0].start();
  await managers[0].waitUntilRunning();
  await managers[1].start();
  await sleep(200);
  assert.equal(managers[1].running, false);
  kvA.partitioned = true;
  const cutAt = Date.now();
  await until(() => !managers[0].running, 'the cut-off leader stops', 3000);
  await managers[1].waitUntilRunning(3000);
  const took = Date.now() - cutAt;
  // Lease 1 s: the old leader gives up after 0.75 s of failed renewals; the standby acquires
  // once renewTime + 1 s has passed, i.e. within about 1 s plus a retry period.
  assert.ok(took <= 2000, `took over after ${took} ms`);
  assert.equal(bothRan(), false, 'never two running managers');
  await managers[1].client.create('root', configMap('after'));
  await until(() => reconciledBy.includes('B after'), 'B reconciles');
  kvA.partitioned = false;
});

test('losing the lease to another holder stops the controllers', async (t) => {
  const s = await startServer();
  t.after(s.close);
  const m = new Manager({ server: s.server, kv: s.kv, ...leaseTiming });
  t.after(() => m.stop());
  m.add({ name: 'noop', watches: [{ informer: m.informer(configMaps) }], reconcile: async () => undefined });
  await m.start();
  await m.waitUntilRunning();
  const root = await s.server.clusters.get('root');
  const scope = {
    cluster: 'root',
    info: root.resourceByPlural('coordination.k8s.io', 'leases')!,
    namespace: 'kube-system',
  };
  await s.server.rest.guaranteedUpdate(scope, 'kaas-controllers', (cur) => {
    cur.spec = {
      ...cur.spec,
      holderIdentity: 'intruder',
      renewTime: new Date(Date.now() + 60_000).toISOString(),
      leaseDurationSeconds: 60,
    };
    return cur;
  });
  await until(() => !m.running && !m.leading, 'controllers stop', 2000);
  assert.ok(m.metrics().controllers.every((c) => !c.running));
});

test('idle: a synced manager with nothing to do writes nothing but its Lease', async (t) => {
  const kv = new InstrumentedKV(new MemoryStore());
  const s = await startServer(kv);
  t.after(s.close);
  for (let i = 0; i < 3; i++)
    await s.server.rest.create(
      {
        cluster: 'root',
        info: (await s.server.clusters.get('root')).resourceByPlural('', 'configmaps')!,
        namespace: 'default',
      },
      configMap(`cm-${i}`),
    );
  const m = new Manager({ server: s.server, kv, ...leaseTiming });
  t.after(() => m.stop());
  let reconciles = 0;
  m.add({
    name: 'observe',
    workers: 2,
    watches: [{ informer: m.informer(configMaps) }, { informer: m.informer({ group: '', plural: 'pods' }) }],
    reconcile: async () => void reconciles++,
  });
  await m.start();
  await m.waitUntilRunning();
  await until(
    () => reconciles >= 3 && m.metrics().controllers[0]!.queueDepth === 0,
    'initial reconciles done',
  );
  kv.writes.length = 0;
  await sleep(1200);
  const leasePrefix = '/registry/coordination.k8s.io/leases/';
  const other = kv.writes.filter((k) => !k.startsWith(leasePrefix));
  assert.deepEqual(other, [], 'no writes besides Lease renewals');
  assert.ok(
    kv.writes.filter((k) => k.endsWith('/kaas-controllers')).length >= 5,
    'the lease was renewed meanwhile',
  );
});
