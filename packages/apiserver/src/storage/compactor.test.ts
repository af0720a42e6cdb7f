import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ApiServer } from '../server/apiserver.ts';
import { Compactor } from './compactor.ts';
import { CompactedError } from './kv.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';

test('each tick compacts to the revision of the previous one: the last interval stays readable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-compactor-'));
  const path = join(dir, 'kaas.db');
  const kv = SqliteStore.open(path);
  t.after(async () => {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  });
  const rows = () => {
    const db = new DatabaseSync(path);
    try {
      return Number((db.prepare('SELECT count(*) AS n FROM log').get() as { n: number }).n);
    } finally {
      db.close();
    }
  };
  let rev = (await kv.create('/k/a', '0')).modRevision;
  for (let i = 1; i <= 50; i++) rev = (await kv.update('/k/a', String(i), rev)).modRevision;
  await kv.create('/k/gone', 'x');
  await kv.delete('/k/gone');
  const c = new Compactor({ kv, intervalMs: 60_000 });
  const first = await c.tick();
  assert.equal(first.compactedTo, undefined, 'the first tick only records');
  for (let i = 51; i <= 100; i++) rev = (await kv.update('/k/a', String(i), rev)).modRevision;
  const before = rows();
  const second = await c.tick();
  assert.equal(second.compactedTo, first.revision);
  assert.equal(await kv.compactedRevision(), first.revision);
  assert.ok(rows() < before - 40, `log rows ${before} -> ${rows()}`);
  // below the window: 410-style errors; inside it: history intact
  await assert.rejects(kv.range('/k/', { revision: first.revision - 10 }), CompactedError);
  const atWindow = await kv.range('/k/', { revision: first.revision });
  assert.deepEqual(
    atWindow.items.map((i) => `${i.key}=${i.value}`),
    ['/k/a=50'],
  );
  assert.equal((await kv.get('/k/a')).kv?.value, '100');
  // a third tick with no writes in between compacts to the second tick's revision, then nothing
  assert.equal((await c.tick()).compactedTo, second.revision);
  assert.equal((await c.tick()).compactedTo, undefined);
});

test('the API server compacts while it holds the Lease; an old watch gets 410 Gone', async (t) => {
  const kv = new MemoryStore();
  const server = new ApiServer({
    kv,
    anonymousAs: { username: 'admin', groups: ['system:masters'] },
    compactionIntervalMs: 100,
    leaseRetryMs: 50,
  });
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(async () => {
    await server.close();
    await kv.close();
  });
  const base = `http://127.0.0.1:${port}`;
  const post = async (name: string) => {
    const r = await fetch(`${base}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } }),
    });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    return (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  };
  const oldRv = await post('first');
  for (let i = 0; i < 20; i++) await post(`cm-${i}`);
  for (let i = 0; (await kv.compactedRevision()) <= Number(oldRv); i++) {
    assert.ok(i < 200, 'compacted past the first write within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${oldRv}`);
  const body = await r.text();
  assert.match(body, /"type":"ERROR"/);
  assert.match(body, /"code":410/);
  const list = await fetch(`${base}/api/v1/namespaces/default/configmaps`);
  assert.equal(((await list.json()) as { items: unknown[] }).items.length, 21, 'every object still there');
});
