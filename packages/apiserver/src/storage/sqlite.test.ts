import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKVContract } from './contract.ts';
import { SqliteStore } from './sqlite.ts';

runKVContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sqlite-'));
  return {
    store: SqliteStore.open(join(dir, 'kv.db')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('sqlite: state and revisions survive reopening', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sqlite-'));
  try {
    const path = join(dir, 'kv.db');
    let s = SqliteStore.open(path);
    const a = await s.create('/p/a', '1');
    await s.update('/p/a', '2', a.modRevision);
    const b = await s.create('/p/b', 'x');
    await s.delete('/p/b', b.modRevision);
    const rev = await s.currentRevision();
    await s.close();
    s = SqliteStore.open(path);
    assert.equal(await s.currentRevision(), rev, 'a delete at the head is not forgotten');
    assert.equal((await s.get('/p/a')).kv?.value, '2');
    const c = await s.create('/p/c', 'y');
    assert.ok(c.modRevision > rev);
    await s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sqlite: concurrent writes in one tick share a commit but keep one revision each', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-sqlite-'));
  try {
    const s = SqliteStore.open(join(dir, 'kv.db'));
    const results = await Promise.allSettled([
      s.create('/g/a', '1'),
      s.create('/g/a', '2'),
      s.create('/g/b', '3'),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1, 'the duplicate fails alone');
    const revs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.modRevision] : []));
    assert.equal(new Set(revs).size, 2);
    await s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
