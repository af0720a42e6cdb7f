// The etcd backend against real etcd processes (test/support/etcd.ts): the shared contract on
// one member, then a 3-member cluster losing its leader mid-write.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EtcdCluster } from '../../../../test/support/etcd.ts';
import { startEtcd, startEtcdCluster } from '../../../../test/support/etcd.ts';
import { runKVContract } from './contract.ts';
import { EtcdStore } from './etcd.ts';
import { KeyExistsError, UnavailableError } from './kv.ts';

const clusters: EtcdCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

let single: Promise<EtcdCluster> | undefined;
let n = 0;
runKVContract('etcd', async () => {
  single ??= startEtcd().then((c) => (clusters.push(c), c));
  const c = await single;
  // Each case gets its own key prefix on the shared member; fixed width so none prefixes another.
  const store = await EtcdStore.connect({
    endpoints: c.endpoints,
    prefix: `/contract/${String(n++).padStart(3, '0')}`,
  });
  return { store, cleanup: async () => undefined };
});

test('etcd: keys outside the store prefix are invisible', async () => {
  single ??= startEtcd().then((c) => (clusters.push(c), c));
  const c = await single;
  // The prefix is raw, as etcd's namespaces and kube-apiserver's --etcd-prefix: stores sharing an
  // etcd use prefixes that are not prefixes of each other.
  const a = await EtcdStore.connect({ endpoints: c.endpoints, prefix: '/iso-a' });
  const b = await EtcdStore.connect({ endpoints: c.endpoints, prefix: '/iso-b' });
  const raw = await EtcdStore.connect({ endpoints: c.endpoints });
  try {
    await a.create('/x', 'in a');
    await b.create('/x', 'in b');
    assert.deepEqual(
      (await a.range('')).items.map((i) => `${i.key}=${i.value}`),
      ['/x=in a'],
    );
    assert.equal(await b.count(''), 1);
    assert.equal((await raw.get('/iso-b/x')).kv?.value, 'in b', 'keys are stored as prefix + key');
    await assert.rejects(b.create('/x', 'again'), KeyExistsError);
  } finally {
    await a.close();
    await b.close();
    await raw.close();
  }
});

test('etcd: an unreachable cluster fails with UnavailableError within the timeout', async () => {
  const c = await startEtcd();
  clusters.push(c);
  const store = await EtcdStore.connect({ endpoints: c.endpoints, timeoutMs: 1500, watchReconnectMs: 1500 });
  let watchError: Error | undefined;
  store.watch('/', { afterRevision: 0, onEvents: () => undefined, onError: (e) => (watchError = e) });
  await c.stop();
  const t0 = Date.now();
  await assert.rejects(store.get('/a'), UnavailableError);
  await assert.rejects(store.create('/a', '1'), UnavailableError);
  assert.ok(Date.now() - t0 < 5000, `failed in ${Date.now() - t0} ms`);
  const end = Date.now() + 5000;
  while (!watchError && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.ok(watchError instanceof UnavailableError, `watch error: ${watchError?.name}`);
  await store.close();
  await assert.rejects(
    EtcdStore.connect({ endpoints: c.endpoints, timeoutMs: 500 }),
    UnavailableError,
    'connect checks reachability',
  );
});

test('etcd: 3 members, the leader killed mid-write: no acknowledged write is lost', async () => {
  const c = await startEtcdCluster(3);
  clusters.push(c);
  const store = await EtcdStore.connect({ endpoints: c.endpoints, prefix: '/ha' });
  // A watch across the failover must see every acknowledged write exactly once, in order.
  const seen: number[] = [];
  let watchError: Error | undefined;
  const w = store.watch('/k/', {
    afterRevision: await store.currentRevision(),
    onEvents: (evs) => seen.push(...evs.map((e) => e.kv.modRevision)),
    onError: (e) => (watchError = e),
  });
  const acked = new Map<string, number>();
  const failures: string[] = [];
  let ambiguous = 0;
  let stopAt = Date.now() + 20_000;
  let killedAt = 0;
  let victim = -1;
  const writer = (async () => {
    for (let i = 0; Date.now() < stopAt; i++) {
      const key = `/k/${String(i).padStart(5, '0')}`;
      for (let attempt = 0; ; attempt++) {
        const t0 = Date.now();
        try {
          acked.set(key, (await store.create(key, String(i))).modRevision);
          break;
        } catch (e) {
          // A create whose outcome was unknown may have landed: its retry then finds the key.
          if (e instanceof KeyExistsError && attempt > 0) {
            ambiguous++;
            break;
          }
          assert.ok(e instanceof UnavailableError, `writes fail only as UnavailableError, got ${e}`);
          failures.push(`${e.message} (after ${Date.now() - t0} ms, ${t0 - killedAt} ms after the kill)`);
          assert.ok(attempt < 10, 'writes resume after the election');
        }
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 1000));
  victim = await c.leader();
  const before = acked.size;
  c.kill(victim, 'SIGKILL');
  killedAt = Date.now();
  // Run until writes have gone through the new leader for a while, then stop.
  while (Date.now() < stopAt && acked.size < before + 200) await new Promise((r) => setTimeout(r, 50));
  stopAt = 0;
  await writer;
  const recoveredMs = Date.now() - killedAt;
  assert.ok(acked.size > before + 50, `writes continue after the leader died (${before} -> ${acked.size})`);

  const survivors = c.endpoints.filter((_, i) => i !== victim);
  const check = await EtcdStore.connect({ endpoints: survivors, prefix: '/ha' });
  const stored = new Map((await check.range('/k/')).items.map((i) => [i.key, i.modRevision]));
  const lost = [...acked].filter(([k, rev]) => stored.get(k) !== rev);
  assert.deepEqual(lost, [], `acknowledged writes lost: ${lost.length} of ${acked.size}`);

  const last = Math.max(...acked.values());
  const end = Date.now() + 10_000;
  while (!watchError && !seen.includes(last) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(watchError, undefined);
  assert.deepEqual(
    seen,
    [...new Set(seen)].sort((x, y) => x - y),
    'the watch has no duplicates or reordering',
  );
  const seenSet = new Set(seen);
  assert.deepEqual(
    [...acked.values()].filter((r) => !seenSet.has(r)),
    [],
    'the watch saw every acknowledged write',
  );
  console.log(
    `# leader m${victim} killed: ${acked.size} acknowledged (${before} before), ${ambiguous} unknown ` +
      `outcomes that had landed, 200 more writes ${recoveredMs} ms after the kill; ` +
      `UnavailableError: ${failures.join('; ') || 'none'}`,
  );
  w.close();
  await store.close();
  await check.close();

  // Then a second member dies: no quorum. Every call fails as UnavailableError within its budget.
  c.kill(c.endpoints.findIndex((_, i) => i !== victim));
  const noQuorum = new EtcdStore({ endpoints: c.endpoints, prefix: '/ha', timeoutMs: 2000 });
  for (const [what, call] of [
    ['create', () => noQuorum.create('/k/no-quorum', 'x')],
    ['get', () => noQuorum.get('/k/00000')],
    ['range', () => noQuorum.range('/k/', { limit: 1 })],
  ] as const) {
    const t0 = Date.now();
    await assert.rejects(call(), UnavailableError, what);
    const ms = Date.now() - t0;
    assert.ok(ms >= 1500 && ms < 3500, `${what} gave up after ${ms} ms (budget 2000 ms)`);
  }
  await noQuorum.close();
});
