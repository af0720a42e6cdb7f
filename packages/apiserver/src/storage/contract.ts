// One contract suite every KVStore backend passes (memory, SQLite, etcd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KVStore, WatchEvent } from './kv.ts';
import { CompactedError, ConflictError, KeyExistsError, KeyNotFoundError } from './kv.ts';

export type StoreFactory = () => Promise<{ store: KVStore; cleanup(): Promise<void> }>;

function collect(store: KVStore, prefix: string, afterRevision: number) {
  const events: WatchEvent[] = [];
  let error: Error | undefined;
  const h = store.watch(prefix, {
    afterRevision,
    onEvents: (e) => events.push(...e),
    onError: (e) => (error = e),
  });
  return { events, error: () => error, close: () => void h.close() };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function runKVContract(name: string, make: StoreFactory): void {
  const withStore = (title: string, fn: (s: KVStore) => Promise<void>): void => {
    void test(`${name}: ${title}`, async () => {
      const made = await make();
      const store = made.store;
      try {
        await fn(store);
      } finally {
        await store.close();
        await made.cleanup();
      }
    });
  };

  withStore('create, get, update with CAS, delete; revisions strictly increase', async (s) => {
    const a = await s.create('/c/a', '1');
    assert.equal(a.createRevision, a.modRevision);
    await assert.rejects(s.create('/c/a', 'x'), KeyExistsError);
    const got = await s.get('/c/a');
    assert.equal(got.kv?.value, '1');
    const b = await s.update('/c/a', '2', a.modRevision);
    assert.ok(b.modRevision > a.modRevision);
    assert.equal(b.createRevision, a.createRevision);
    await assert.rejects(
      s.update('/c/a', '3', a.modRevision),
      (e: unknown) => e instanceof ConflictError && e.current?.value === '2',
    );
    await assert.rejects(s.update('/c/none', '3', 1), KeyNotFoundError);
    await assert.rejects(s.delete('/c/a', a.modRevision), ConflictError);
    const d = await s.delete('/c/a', b.modRevision);
    assert.equal(d.prev.value, '2');
    assert.ok(d.revision > b.modRevision);
    assert.equal((await s.get('/c/a')).kv, undefined);
    await assert.rejects(s.delete('/c/a'), KeyNotFoundError);
    const again = await s.create('/c/a', 'new');
    assert.ok(again.createRevision > d.revision, 'a re-created key is a new incarnation');
  });

  withStore('range: prefix isolation, order, limit and continue, count', async (s) => {
    for (const k of ['/r/b', '/r/a', '/r/c', '/rb/x', '/r']) await s.create(k, k);
    const all = await s.range('/r/');
    assert.deepEqual(
      all.items.map((i) => i.key),
      ['/r/a', '/r/b', '/r/c'],
    );
    const p1 = await s.range('/r/', { limit: 2 });
    assert.deepEqual(
      p1.items.map((i) => i.key),
      ['/r/a', '/r/b'],
    );
    assert.equal(p1.more, true);
    const p2 = await s.range('/r/', { limit: 2, startAfter: '/r/b' });
    assert.deepEqual(
      p2.items.map((i) => i.key),
      ['/r/c'],
    );
    assert.equal(p2.more, false);
    assert.equal(await s.count('/r/'), 3);
  });

  withStore('range at an older revision sees the old state (consistent pagination)', async (s) => {
    const a = await s.create('/o/a', 'a1');
    await s.create('/o/b', 'b1');
    const rev = await s.currentRevision();
    await s.update('/o/a', 'a2', a.modRevision);
    await s.create('/o/c', 'c1');
    await s.delete('/o/b');
    const old = await s.range('/o/', { revision: rev });
    assert.deepEqual(
      old.items.map((i) => `${i.key}=${i.value}`),
      ['/o/a=a1', '/o/b=b1'],
    );
    const now = await s.range('/o/');
    assert.deepEqual(
      now.items.map((i) => `${i.key}=${i.value}`),
      ['/o/a=a2', '/o/c=c1'],
    );
  });

  withStore(
    'watch from a revision: catch-up then live, in order, exactly once, with prev values',
    async (s) => {
      const a = await s.create('/w/a', '1');
      await s.create('/x/other', 'ignored');
      const b = await s.update('/w/a', '2', a.modRevision);
      const w = collect(s, '/w/', a.modRevision);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) writes.push(s.create(`/w/k${i}`, String(i)));
      await Promise.all(writes);
      await s.delete('/w/a', b.modRevision);
      await until(() => w.events.length === 22, 'all events');
      const revs = w.events.map((e) => e.kv.modRevision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      assert.equal(new Set(revs).size, revs.length);
      assert.equal(w.events[0]!.type, 'put');
      assert.equal(w.events[0]!.prevKv?.value, '1');
      const del = w.events.at(-1)!;
      assert.equal(del.type, 'delete');
      assert.equal(del.kv.key, '/w/a');
      assert.equal(del.prevKv?.value, '2');
      assert.ok(w.events.slice(1, -1).every((e) => e.created));
      w.close();
      await s.create('/w/after-close', 'x');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(w.events.length, 22);
    },
  );

  withStore('compaction: reads and watches below it fail with CompactedError', async (s) => {
    const a = await s.create('/k/a', '1');
    await s.update('/k/a', '2', a.modRevision);
    const cur = await s.currentRevision();
    await s.create('/k/b', '1');
    await s.compact(cur);
    await assert.rejects(s.range('/k/', { revision: a.modRevision }), CompactedError);
    const atCompacted = await s.range('/k/', { revision: cur });
    assert.deepEqual(
      atCompacted.items.map((i) => i.value),
      ['2'],
    );
    const w = collect(s, '/k/', a.modRevision - 1);
    await until(() => w.error() !== undefined, 'compacted watch error');
    assert.ok(w.error() instanceof CompactedError);
    w.close();
    const ok = collect(s, '/k/', cur);
    await until(() => ok.events.length === 1, 'events after the compacted revision');
    ok.close();
  });
}
