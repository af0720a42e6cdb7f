// One contract suite every KVStore backend passes (memory, SQLite, etcd): the executable form of
// docs/contracts/storage.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KVStore, KeyValue, WatchEvent } from './kv.ts';
import { CompactedError, ConflictError, KeyExistsError, KeyNotFoundError } from './kv.ts';

export type StoreFactory = () => Promise<{ store: KVStore; cleanup(): Promise<void> }>;

interface Collector {
  events: WatchEvent[];
  progress: number[];
  error(): Error | undefined;
  close(): void;
}

function collect(store: KVStore, prefix: string, afterRevision: number): Collector {
  const events: WatchEvent[] = [];
  const progress: number[] = [];
  let error: Error | undefined;
  const h = store.watch(prefix, {
    afterRevision,
    onEvents: (e) => events.push(...e),
    onError: (e) => (error = e),
    onProgress: (r) => progress.push(r),
  });
  return { events, progress, error: () => error, close: () => h.close() };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keys = (items: KeyValue[]) => items.map((i) => i.key);
const revs = (events: WatchEvent[]) => events.map((e) => e.kv.modRevision);

/** Defines the contract's node:test cases for one backend; each case gets a fresh store. */
export function runKVContract(name: string, make: StoreFactory): void {
  const withStore = (title: string, fn: (s: KVStore) => Promise<void>): void => {
    void test(`${name}: ${title}`, async () => {
      const made = await make();
      try {
        await fn(made.store);
      } finally {
        await made.store.close();
        await made.cleanup();
      }
    });
  };

  withStore('create, get, update with CAS, delete, and their errors', async (s) => {
    const a = await s.create('/c/a', '1');
    assert.equal(a.createRevision, a.modRevision);
    assert.deepEqual(a, {
      key: '/c/a',
      value: '1',
      createRevision: a.modRevision,
      modRevision: a.modRevision,
    });
    await assert.rejects(
      s.create('/c/a', 'x'),
      (e: unknown) => e instanceof KeyExistsError && e.key === '/c/a',
    );
    const got = await s.get('/c/a');
    assert.deepEqual(got.kv, a);
    assert.ok(got.revision >= a.modRevision, 'a read is served at or after the write it sees');
    assert.equal((await s.get('/c/missing')).kv, undefined);

    const b = await s.update('/c/a', '2', a.modRevision);
    assert.ok(b.modRevision > a.modRevision);
    assert.equal(b.createRevision, a.createRevision, 'an update keeps the incarnation');
    assert.equal((await s.get('/c/a')).kv?.value, '2');
    await assert.rejects(
      s.update('/c/a', '3', a.modRevision),
      (e: unknown) =>
        e instanceof ConflictError &&
        e.key === '/c/a' &&
        e.current?.value === '2' &&
        e.current.modRevision === b.modRevision,
      'a stale CAS fails and carries the current value',
    );
    await assert.rejects(s.update('/c/none', '3', 1), KeyNotFoundError);
    await assert.rejects(s.update('/c/none', '3', 0), KeyNotFoundError, 'update never creates');
    assert.equal((await s.get('/c/none')).kv, undefined);

    await assert.rejects(
      s.delete('/c/a', a.modRevision),
      (e: unknown) => e instanceof ConflictError && e.current?.modRevision === b.modRevision,
    );
    const d = await s.delete('/c/a', b.modRevision);
    assert.deepEqual(d.prev, b);
    assert.ok(d.revision > b.modRevision);
    assert.equal((await s.get('/c/a')).kv, undefined);
    await assert.rejects(s.delete('/c/a'), KeyNotFoundError);
    await assert.rejects(s.update('/c/a', 'x', b.modRevision), KeyNotFoundError);
    const again = await s.create('/c/a', 'new');
    assert.ok(again.createRevision > d.revision, 'a re-created key is a new incarnation');
    const plain = await s.delete('/c/a');
    assert.equal(plain.prev.value, 'new', 'an unconditional delete');
  });

  withStore('every write gets the next revision; refused writes get none', async (s) => {
    const start = await s.currentRevision();
    const seen: number[] = [];
    const a = await s.create('/v/a', '1');
    seen.push(a.modRevision);
    assert.equal(await s.currentRevision(), a.modRevision);
    await assert.rejects(s.create('/v/a', '1'), KeyExistsError);
    await assert.rejects(s.update('/v/a', '2', a.modRevision + 100), ConflictError);
    await assert.rejects(s.delete('/v/zzz'), KeyNotFoundError);
    assert.equal(await s.currentRevision(), a.modRevision, 'refused writes do not advance the revision');
    const b = await s.update('/v/a', '2', a.modRevision);
    seen.push(b.modRevision);
    seen.push((await s.delete('/v/a')).revision);
    const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => s.create(`/v/p${i}`, 'x')));
    seen.push(...parallel.map((kv) => kv.modRevision));
    assert.ok(seen[0]! > start);
    const sorted = [...seen].sort((x, y) => x - y);
    assert.equal(new Set(seen).size, seen.length, 'no two writes share a revision');
    assert.equal(sorted.at(-1)! - sorted[0]!, seen.length - 1, 'revisions have no gaps');
    assert.deepEqual(seen.slice(0, 3), sorted.slice(0, 3), 'sequential writes get increasing revisions');
    assert.equal(await s.currentRevision(), sorted.at(-1));
  });

  withStore('range: prefix isolation, key order, limit and continue, count', async (s) => {
    for (const k of ['/a/b', '/a/a', '/a/c', '/ab/x', '/a', '/a.', '/a0', '/b/a']) await s.create(k, k);
    const all = await s.range('/a/');
    assert.deepEqual(keys(all.items), ['/a/a', '/a/b', '/a/c'], "'/a/' does not match '/ab/' or '/a'");
    assert.equal(all.more, false);
    assert.ok(all.revision >= all.items.reduce((m, i) => Math.max(m, i.modRevision), 0));
    assert.deepEqual(keys((await s.range('/ab/')).items), ['/ab/x']);
    assert.deepEqual(
      keys((await s.range('')).items),
      ['/a', '/a.', '/a/a', '/a/b', '/a/c', '/a0', '/ab/x', '/b/a'],
      'the empty prefix is everything, in byte order',
    );
    const p1 = await s.range('/a/', { limit: 2 });
    assert.deepEqual(keys(p1.items), ['/a/a', '/a/b']);
    assert.equal(p1.more, true);
    const p2 = await s.range('/a/', { limit: 2, startAfter: '/a/b' });
    assert.deepEqual(keys(p2.items), ['/a/c']);
    assert.equal(p2.more, false);
    const exact = await s.range('/a/', { limit: 3 });
    assert.equal(exact.more, false, 'a page that ends exactly at the last key has no more');
    assert.deepEqual(
      keys((await s.range('/a/', { startAfter: '/a' })).items),
      ['/a/a', '/a/b', '/a/c'],
      'startAfter before the prefix stays inside the prefix',
    );
    assert.deepEqual(keys((await s.range('/a/', { startAfter: '/a/c' })).items), []);
    assert.equal(await s.count('/a/'), 3);
    assert.equal(await s.count('/ab/'), 1);
    assert.equal(await s.count('/none/'), 0);
    await s.delete('/a/b');
    assert.equal(await s.count('/a/'), 2, 'count follows deletes');
  });

  withStore('paging through many keys with limit and startAfter visits each once', async (s) => {
    const want: string[] = [];
    await Promise.all(
      Array.from({ length: 57 }, (_, i) => {
        const k = `/pg/${String(i).padStart(3, '0')}`;
        want.push(k);
        return s.create(k, String(i));
      }),
    );
    const got: string[] = [];
    let startAfter: string | undefined;
    let revision: number | undefined;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 20, 'paging terminates');
      const r = await s.range('/pg/', { limit: 10, startAfter, revision });
      revision = r.revision;
      got.push(...keys(r.items));
      if (!r.more) break;
      startAfter = r.items.at(-1)!.key;
    }
    assert.deepEqual(got, want.sort());
  });

  withStore('range at an older revision sees the old state (consistent pagination)', async (s) => {
    const a = await s.create('/o/a', 'a1');
    await s.create('/o/b', 'b1');
    await s.create('/o/c', 'c1');
    const page1 = await s.range('/o/', { limit: 1 });
    const rev = page1.revision;
    assert.deepEqual(keys(page1.items), ['/o/a']);
    // Writes between pages: none may show on later pages read at the first page's revision.
    await s.update('/o/a', 'a2', a.modRevision);
    await s.delete('/o/b');
    await s.create('/o/bb', 'new');
    const c = (await s.get('/o/c')).kv!;
    await s.update('/o/c', 'c2', c.modRevision);
    const rest = await s.range('/o/', { startAfter: '/o/a', revision: rev });
    assert.equal(rest.revision, rev, 'served at the requested revision');
    assert.deepEqual(
      rest.items.map((i) => `${i.key}=${i.value}`),
      ['/o/b=b1', '/o/c=c1'],
    );
    const old = await s.range('/o/', { revision: rev, limit: 5 });
    assert.deepEqual(
      old.items.map((i) => `${i.key}=${i.value}@${i.modRevision}`),
      [`/o/a=a1@${a.modRevision}`, `/o/b=b1@${old.items[1]!.modRevision}`, `/o/c=c1@${c.modRevision}`],
    );
    const now = await s.range('/o/');
    assert.deepEqual(
      now.items.map((i) => `${i.key}=${i.value}`),
      ['/o/a=a2', '/o/bb=new', '/o/c=c2'],
    );
    const beforeB = await s.range('/o/', { revision: a.modRevision });
    assert.deepEqual(keys(beforeB.items), ['/o/a'], 'a key created later is absent at an older revision');
  });

  withStore(
    'watch: catch-up then live, in order, exactly once, with writes racing the subscribe',
    async (s) => {
      const acked: KeyValue[] = [];
      const write = async (i: number) =>
        acked.push(await s.create(`/w/k${String(i).padStart(3, '0')}`, String(i)));
      for (let i = 0; i < 30; i++) await write(i);
      const from = acked[9]!.modRevision;
      // Writes in flight (queued, not yet committed) while subscribing, then more after it.
      const inFlight = Array.from({ length: 30 }, (_, i) => write(30 + i));
      const w = collect(s, '/w/', from);
      const other = s.create('/wx/not-mine', 'x');
      await Promise.all(inFlight);
      for (let i = 60; i < 80; i++) await write(i);
      await other;
      const want = acked
        .map((kv) => kv.modRevision)
        .filter((r) => r > from)
        .sort((x, y) => x - y);
      await until(() => w.events.length >= want.length, `${want.length} events`);
      await sleep(50);
      assert.equal(w.error(), undefined);
      assert.deepEqual(revs(w.events), want, 'exactly the writes after the revision, in order, once');
      assert.ok(w.events.every((e) => e.type === 'put' && e.created && e.prevKv === undefined));
      assert.ok(
        w.events.every((e) => e.kv.key.startsWith('/w/')),
        'prefix isolation',
      );
      w.close();
    },
  );

  withStore('watch: updates and deletes carry the previous value', async (s) => {
    const start = await s.currentRevision();
    const w = collect(s, '/d/', start);
    const a = await s.create('/d/a', '1');
    const b = await s.update('/d/a', '2', a.modRevision);
    const d = await s.delete('/d/a', b.modRevision);
    await until(() => w.events.length === 3, '3 events');
    const [put, upd, del] = w.events;
    assert.equal(put!.created, true);
    assert.equal(upd!.type, 'put');
    assert.ok(!upd!.created);
    assert.equal(upd!.kv.value, '2');
    assert.equal(upd!.prevKv?.value, '1');
    assert.equal(del!.type, 'delete');
    assert.equal(del!.kv.key, '/d/a');
    assert.equal(del!.kv.modRevision, d.revision, "a delete's kv has the delete's revision");
    assert.equal(del!.kv.value, '2', "a delete's kv has the last value");
    assert.equal(del!.prevKv?.value, '2');
    assert.equal(del!.prevKv?.modRevision, b.modRevision);
    w.close();
    // The same events again, from history.
    const h = collect(s, '/d/', start);
    await until(() => h.events.length === 3, '3 replayed events');
    assert.deepEqual(
      h.events.map((e) => [e.type, e.kv.modRevision, e.kv.value, e.prevKv?.value]),
      w.events.map((e) => [e.type, e.kv.modRevision, e.kv.value, e.prevKv?.value]),
    );
    h.close();
  });

  withStore('watch: close stops delivery', async (s) => {
    const w = collect(s, '/z/', await s.currentRevision());
    await s.create('/z/a', '1');
    await until(() => w.events.length === 1, 'first event');
    w.close();
    await s.create('/z/b', '2');
    const w2 = collect(s, '/z/', 0);
    await until(() => w2.events.length === 2, 'a second watcher sees both');
    await sleep(100);
    assert.equal(w.events.length, 1, 'no event after close');
    w2.close();
  });

  withStore('watch: progress reports a revision at or past writes elsewhere while idle', async (s) => {
    const w = collect(s, '/idle/', await s.currentRevision());
    const elsewhere = await s.create('/busy/x', '1');
    await until(
      () => w.progress.some((r) => r >= elsewhere.modRevision),
      `progress at or past ${elsewhere.modRevision}`,
      4000,
    );
    assert.deepEqual(w.events, []);
    w.close();
  });

  withStore('compaction: reads and watches below it fail with CompactedError', async (s) => {
    const a = await s.create('/k/a', '1');
    await s.update('/k/a', '2', a.modRevision);
    const gone = await s.create('/k/gone', 'x');
    await s.delete('/k/gone', gone.modRevision);
    const cur = await s.currentRevision();
    const b = await s.create('/k/b', '1');
    await s.compact(cur);
    assert.ok((await s.compactedRevision()) >= cur);
    await assert.rejects(
      s.range('/k/', { revision: a.modRevision }),
      (e: unknown) => e instanceof CompactedError && e.requested === a.modRevision && e.compacted >= cur,
    );
    const atCompacted = await s.range('/k/', { revision: cur });
    assert.deepEqual(
      atCompacted.items.map((i) => `${i.key}=${i.value}`),
      ['/k/a=2'],
      'the state at the compacted revision survives',
    );
    assert.deepEqual(keys((await s.range('/k/')).items), ['/k/a', '/k/b']);
    const w = collect(s, '/k/', a.modRevision - 1);
    await until(() => w.error() !== undefined, 'compacted watch error');
    assert.ok(w.error() instanceof CompactedError, `got ${w.error()?.name}`);
    assert.deepEqual(w.events, []);
    w.close();
    const ok = collect(s, '/k/', cur);
    await until(() => ok.events.length === 1, 'events after the compacted revision');
    assert.equal(ok.events[0]!.kv.modRevision, b.modRevision);
    assert.equal(ok.error(), undefined);
    ok.close();
    await s.compact(cur); // again: nothing to do, no error
    const c = await s.create('/k/c', '1');
    assert.ok(c.modRevision > b.modRevision, 'writes continue after compaction');
  });
}
