import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { runKVContract } from './contract.ts';
import { CompactedError, KeyExistsError, UnavailableError } from './kv.ts';
import type { WatchEvent } from './kv.ts';
import { SqliteStore } from './sqlite.ts';

runKVContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sqlite-'));
  return {
    store: SqliteStore.open(join(dir, 'kv.db')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sqlite-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('sqlite: state, revisions and the compacted revision survive reopening', () =>
  withDir(async (dir) => {
    const path = join(dir, 'kv.db');
    let s = SqliteStore.open(path);
    const a = await s.create('/p/a', '1');
    await s.update('/p/a', '2', a.modRevision);
    const b = await s.create('/p/b', 'x');
    const del = await s.delete('/p/b', b.modRevision);
    // The delete at the head is compacted away: no row is left that carries its revision.
    await s.compact(del.revision);
    await s.close();
    s = SqliteStore.open(path);
    assert.equal(await s.currentRevision(), del.revision, 'a delete at the head is not forgotten');
    assert.equal(await s.compactedRevision(), del.revision);
    await assert.rejects(s.range('/p/', { revision: a.modRevision }), CompactedError);
    assert.equal((await s.get('/p/a')).kv?.value, '2');
    const c = await s.create('/p/c', 'y');
    assert.equal(c.modRevision, del.revision + 1);
    await s.close();
  }));

test('sqlite: concurrent writes in one tick share a commit but keep one revision each', () =>
  withDir(async (dir) => {
    const s = SqliteStore.open(join(dir, 'kv.db'));
    const results = await Promise.allSettled([
      s.create('/g/a', '1'),
      s.create('/g/a', '2'),
      s.create('/g/b', '3'),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.ok(
      results[1].status === 'rejected' && results[1].reason instanceof KeyExistsError,
      'the duplicate fails alone',
    );
    assert.equal(results[2].status, 'fulfilled');
    const revs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.modRevision] : []));
    assert.deepEqual(revs, [revs[0]!, revs[0]! + 1], 'consecutive revisions in call order');
    assert.equal((await s.get('/g/a')).kv?.value, '1');
    await s.close();
  }));

test('sqlite: close commits queued writes, then refuses new ones', () =>
  withDir(async (dir) => {
    const path = join(dir, 'kv.db');
    const s = SqliteStore.open(path);
    const queued = s.create('/q/a', '1');
    await s.close();
    assert.equal((await queued).value, '1');
    await assert.rejects(s.create('/q/b', '1'), UnavailableError);
    await assert.rejects(s.get('/q/a'), UnavailableError);
    const again = SqliteStore.open(path);
    assert.equal((await again.get('/q/a')).kv?.value, '1');
    await again.close();
  }));

test('sqlite: reads at any revision match a model of the history, before and after compaction', () =>
  withDir(async (dir) => {
    const s = SqliteStore.open(join(dir, 'kv.db'));
    // Deterministic pseudo-random history over a few keys: creates, updates, deletes.
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const model = new Map<string, { value: string; mod: number }>();
    const snapshots = new Map<number, string[]>();
    for (let i = 0; i < 600; i++) {
      const key = `/m/k${rnd(12)}`;
      const cur = model.get(key);
      if (!cur) model.set(key, { value: `v${i}`, mod: (await s.create(key, `v${i}`)).modRevision });
      else if (rnd(3) === 0) {
        const d = await s.delete(key, cur.mod);
        model.delete(key);
        snapshots.set(d.revision, render(model));
        continue;
      } else model.set(key, { value: `v${i}`, mod: (await s.update(key, `v${i}`, cur.mod)).modRevision });
      snapshots.set(await s.currentRevision(), render(model));
    }
    const check = async (from: number) => {
      for (const [rev, want] of snapshots) {
        if (rev < from) continue;
        const got = await s.range('/m/', { revision: rev });
        assert.deepEqual(
          got.items.map((i) => `${i.key}=${i.value}@${i.modRevision}`),
          want,
          `at ${rev}`,
        );
      }
    };
    await check(0);
    const mid = [...snapshots.keys()][300]!;
    await s.compact(mid);
    await check(mid);
    await s.close();
    // Compaction really removes rows: at most one per key at or below the compacted revision.
    const db = new DatabaseSync(join(dir, 'kv.db'));
    const old = db.prepare('SELECT count(*) AS n FROM log WHERE id <= ?').get(mid) as { n: number };
    assert.ok(old.n <= 12, `${old.n} rows at or below the compacted revision`);
    db.close();

    function render(m: typeof model): string[] {
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v.value}@${v.mod}`);
    }
  }));

test('sqlite: a watch far behind catches up in windows, exactly once, while writes continue', () =>
  withDir(async (dir) => {
    const s = SqliteStore.open(join(dir, 'kv.db'));
    const first = await s.currentRevision();
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => s.create(`/far/${i}`, String(i))));
    const events: WatchEvent[] = [];
    let batches = 0;
    const w = s.watch('/far/', {
      afterRevision: first,
      onEvents: (e) => {
        batches++;
        events.push(...e);
      },
      onError: (e) => assert.fail(e),
    });
    const more = await Promise.all(Array.from({ length: 500 }, (_, i) => s.create(`/far/more${i}`, 'x')));
    const last = more.at(-1)!.modRevision;
    await until(() => events.at(-1)?.kv.modRevision === last, 'all events');
    assert.equal(events.length, 10_500);
    assert.ok(
      events.every((e, i) => e.kv.modRevision === first + 1 + i),
      'every revision once, in order',
    );
    assert.ok(batches > 2, `delivered in ${batches} batches`);
    w.close();
    await s.close();
  }));

test('sqlite: compaction while a watch catches up fails the watch instead of skipping events', () =>
  withDir(async (dir) => {
    const s = SqliteStore.open(join(dir, 'kv.db'));
    const keys = Array.from({ length: 100 }, (_, i) => `/cc/${i}`);
    await Promise.all(keys.map((k) => s.create(k, '0')));
    for (let round = 1; round <= 60; round++) {
      await Promise.all(keys.map(async (k) => s.update(k, String(round), (await s.get(k)).kv!.modRevision)));
    }
    let error: Error | undefined;
    let count = 0;
    const w = s.watch('/cc/', {
      afterRevision: 0,
      onEvents: (e) => (count += e.length),
      onError: (e) => (error = e),
    });
    await until(() => count > 0, 'the first catch-up window');
    await s.compact(await s.currentRevision());
    await until(() => error !== undefined, 'the watch fails');
    assert.ok(error instanceof CompactedError);
    assert.ok(count < 6100, `only part of the history was delivered (${count})`);
    w.close();
    await s.close();
  }));

test('sqlite: a file written with the earlier column names is upgraded in place', () =>
  withDir(async (dir) => {
    const path = join(dir, 'old.db');
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE log (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL);
      CREATE INDEX log_key_id ON log(key, id);
      CREATE TABLE latest (key TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
      INSERT INTO log VALUES (1, '/o/a', 'one', 1, 0, 0), (2, '/o/a', 'two', 1, 1, 0);
      INSERT INTO latest VALUES ('/o/a', 2);`);
    db.close();
    const s = SqliteStore.open(path);
    assert.deepEqual((await s.get('/o/a')).kv, {
      key: '/o/a',
      value: 'two',
      createRevision: 1,
      modRevision: 2,
    });
    assert.equal((await s.range('/o/', { revision: 1 })).items[0]?.value, 'one');
    assert.equal((await s.update('/o/a', 'three', 2)).modRevision, 3);
    await s.close();
  }));
