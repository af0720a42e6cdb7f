import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessClient } from './client.ts';
import { Controller, ownerKeys } from './controller.ts';
import type { InformerEvent } from './informer.ts';
import { Informer } from './informer.ts';
import { configMap, sleep, startServer, until } from './testing.ts';

const cmRef = (name: string) => ({
  cluster: 'root',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'default',
  name,
});

async function setup(t: { after: (fn: () => unknown) => void }) {
  const s = await startServer();
  const c = new InProcessClient(s.server);
  const configMaps = new Informer({ kv: s.kv, resource: { group: '', plural: 'configmaps' } });
  t.after(async () => {
    configMaps.stop();
    await s.close();
  });
  return { s, c, configMaps };
}

test('ownerKeys maps a dependent to its controller owner, old and new', () => {
  const ref = (kind: string, name: string, controller = true) => ({
    apiVersion: 'kaas.dev/v1alpha1',
    kind,
    name,
    uid: name,
    controller,
  });
  const obj = (refs: object[], namespace?: string) =>
    ({ metadata: { name: 'x', namespace, ownerReferences: refs } }) as any;
  const f = ownerKeys({ apiVersion: 'kaas.dev/v1alpha1', kind: 'Cluster' });
  const ev = (o: any, old?: any): InformerEvent => ({
    type: 'update',
    key: 'k',
    cluster: 'c1',
    obj: o,
    oldObj: old,
  });
  const table: [string, InformerEvent, string[]][] = [
    ['namespaced owner', ev(obj([ref('Cluster', 'a')], 'ns')), ['c1/ns/a']],
    ['cluster-scoped dependent', ev(obj([ref('Cluster', 'a')])), ['c1/a']],
    ['not the controller', ev(obj([ref('Cluster', 'a', false)], 'ns')), []],
    ['other kind', ev(obj([ref('Machine', 'a')], 'ns')), []],
    [
      'owner changed',
      ev(obj([ref('Cluster', 'b')], 'ns'), obj([ref('Cluster', 'a')], 'ns')),
      ['c1/ns/b', 'c1/ns/a'],
    ],
    ['no owners', ev({ metadata: { name: 'x' } }), []],
  ];
  for (const [name, e, want] of table) assert.deepEqual(f(e), want, name);
  const clusterScoped = ownerKeys({ kind: 'Cluster', namespaced: false });
  assert.deepEqual(clusterScoped(ev(obj([ref('Cluster', 'a')], 'ns'))), ['c1/a']);
  const otherGroup = ownerKeys({ apiVersion: 'apps/v1', kind: 'Cluster' });
  assert.deepEqual(otherGroup(ev(obj([ref('Cluster', 'a')], 'ns'))), []);
});

test('reconciles existing and new objects; changes while queued coalesce', async (t) => {
  const { s, c, configMaps } = await setup(t);
  await c.create('root', configMap('a'));
  await configMaps.start();
  const seen: string[] = [];
  let gate: (() => void) | undefined;
  const ctrl = new Controller({
    name: 'test',
    watches: [{ informer: configMaps }],
    reconcile: async (key) => {
      seen.push(key);
      if (gate === undefined && key === 'root/default/b') await new Promise<void>((r) => (gate = r));
    },
  });
  t.after(() => ctrl.stop());
  await ctrl.start();
  await until(() => seen.includes('root/default/a'), 'existing object reconciled');
  await c.create('root', configMap('b'));
  await until(() => gate !== undefined, 'b in flight');
  // Five changes while b is in flight: b runs once more, not five times.
  for (let i = 0; i < 5; i++) await c.patch(cmRef('b'), { data: { i: String(i) } });
  await sleep(20);
  gate!();
  await until(() => seen.filter((k) => k === 'root/default/b').length === 2, 'b reconciled again');
  await sleep(30);
  assert.equal(seen.filter((k) => k === 'root/default/b').length, 2);
  const m = ctrl.metrics();
  assert.equal(m.reconciles, seen.length);
  assert.equal(m.errors, 0);
  assert.equal(m.queueDepth, 0);
  assert.ok(
    m.reconcileDurationMs.count === seen.length && m.reconcileDurationMs.max >= m.reconcileDurationMs.last,
  );
  void s;
});

test('errors back off and retry; success resets the backoff; requeueAfter polls', async (t) => {
  const { c, configMaps } = await setup(t);
  await c.create('root', configMap('flaky'));
  await c.create('root', configMap('poll'));
  await configMaps.start();
  const attempts = new Map<string, number[]>();
  const logged: string[] = [];
  const ctrl = new Controller({
    name: 'flaky',
    watches: [{ informer: configMaps }],
    queue: { baseDelayMs: 10, maxDelayMs: 1000, jitter: 0 },
    log: (_l, msg) => logged.push(msg),
    reconcile: async (key) => {
      const a = attempts.get(key) ?? [];
      a.push(Date.now());
      attempts.set(key, a);
      if (key.endsWith('/flaky') && a.length <= 3) throw new Error(`failure ${a.length}`);
      if (key.endsWith('/poll') && a.length < 3) return { requeueAfterMs: 20 };
    },
  });
  t.after(() => ctrl.stop());
  await ctrl.start();
  await until(() => (attempts.get('root/default/flaky')?.length ?? 0) === 4, 'flaky succeeds on the 4th try');
  await until(() => (attempts.get('root/default/poll')?.length ?? 0) === 3, 'poll ran three times');
  const f = attempts.get('root/default/flaky')!;
  const gaps = f.slice(1).map((x, i) => x - f[i]!);
  // 10, 20, 40 ms backoff (timers never fire early).
  assert.ok(gaps[0]! >= 9 && gaps[1]! >= 19 && gaps[2]! >= 39, `gaps ${gaps.join(',')}`);
  const m = ctrl.metrics();
  assert.equal(m.errors, 3);
  assert.equal(m.requeuesAfter, 2);
  assert.equal(logged.filter((l) => l.startsWith('reconcile failed')).length, 3);
  await sleep(50);
  assert.equal(attempts.get('root/default/flaky')!.length, 4, 'no retry after success');
  assert.equal(attempts.get('root/default/poll')!.length, 3, 'no requeue once it stops asking');
});

test('workers run keys in parallel but never one key twice at once', async (t) => {
  const { c, configMaps } = await setup(t);
  for (let i = 0; i < 6; i++) await c.create('root', configMap(`cm-${i}`));
  await configMaps.start();
  let active = 0;
  let maxActive = 0;
  const activeKeys = new Set<string>();
  let overlap = false;
  const done = new Set<string>();
  const ctrl = new Controller({
    name: 'parallel',
    workers: 3,
    watches: [{ informer: configMaps }],
    reconcile: async (key) => {
      if (activeKeys.has(key)) overlap = true;
      activeKeys.add(key);
      maxActive = Math.max(maxActive, ++active);
      await sleep(20);
      active--;
      activeKeys.delete(key);
      done.add(key);
    },
  });
  t.after(() => ctrl.stop());
  await ctrl.start();
  // Keep touching cm-0 while it may be in flight.
  for (let i = 0; i < 5; i++) await c.patch(cmRef('cm-0'), { data: { i: String(i) } });
  await until(() => done.size === 6, 'all reconciled');
  await until(() => ctrl.metrics().queueDepth === 0, 'queue drained');
  assert.equal(maxActive, 3);
  assert.equal(overlap, false);
});

test('owner mapping: a change to a dependent reconciles its owner', async (t) => {
  const { s, c, configMaps } = await setup(t);
  const secrets = new Informer({ kv: s.kv, resource: { group: '', plural: 'secrets' } });
  t.after(() => secrets.stop());
  await Promise.all([configMaps.start(), secrets.start()]);
  const seen: string[] = [];
  const ctrl = new Controller({
    name: 'owner',
    watches: [
      { informer: configMaps },
      { informer: secrets, keys: ownerKeys({ apiVersion: 'v1', kind: 'ConfigMap' }) },
    ],
    reconcile: async (key) => void seen.push(key),
  });
  t.after(() => ctrl.stop());
  await ctrl.start();
  const owner = await c.create('root', configMap('parent'));
  await until(() => seen.length === 1, 'owner reconciled');
  await c.create('root', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'child',
      namespace: 'default',
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'parent', uid: owner.metadata.uid!, controller: true },
      ],
    },
  });
  await until(() => seen.length === 2, 'owner reconciled for its dependent');
  assert.deepEqual(seen, ['root/default/parent', 'root/default/parent']);
});

test('stop waits for the reconcile in flight and no key runs afterwards', async (t) => {
  const { c, configMaps } = await setup(t);
  await configMaps.start();
  let finished = false;
  let started = 0;
  const ctrl = new Controller({
    name: 'stopper',
    watches: [{ informer: configMaps }],
    reconcile: async () => {
      started++;
      await sleep(50);
      finished = true;
      return { requeueAfterMs: 10 };
    },
  });
  await ctrl.start();
  await c.create('root', configMap('x'));
  await until(() => started === 1, 'in flight');
  await ctrl.stop();
  assert.equal(finished, true, 'stop waited');
  assert.equal(ctrl.running, false);
  await c.patch(cmRef('x'), { data: { after: 'stop' } });
  await sleep(40);
  assert.equal(started, 1);
  // A restart picks the cached object up again.
  await ctrl.start();
  await until(() => started >= 2, 'restarted');
  await ctrl.stop();
});
