// The KV-backed issuer state against both stores the server runs on: SQLite (a file, reopened
// to stand for a restart) and a real etcd.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { KVStore } from '@kaas/apiserver';
import { openStore } from '@kaas/apiserver';
import { startEtcd } from '../../../test/support/etcd.ts';
import { KvOidcStore, oidcStatePrefix } from './oidc-adapter-kv.ts';

interface Backend {
  name: string;
  /** a fresh store, and how to open the same data again (a restart) */
  open(): Promise<{ kv: KVStore; reopen: () => Promise<KVStore> }>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'kaas-oidc-kv-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const path = join(dir, 'kaas.db');
      const kv = await openStore({ kind: 'sqlite', path });
      return { kv, reopen: () => openStore({ kind: 'sqlite', path }) };
    },
  },
  {
    name: 'etcd',
    async open() {
      const etcd = await startEtcd();
      cleanups.push(() => etcd.stop());
      const prefix = `/t${Math.random().toString(36).slice(2)}`;
      const kv = await openStore({ kind: 'etcd', endpoints: etcd.endpoints, prefix });
      return { kv, reopen: () => openStore({ kind: 'etcd', endpoints: etcd.endpoints, prefix }) };
    },
  },
];

for (const b of backends) {
  describe(`KvOidcStore on ${b.name}`, () => {
    let nowMs = 1_000_000;
    const now = () => nowMs;

    test('records survive a reopen of the store; expiry is honoured', async () => {
      const { kv, reopen } = await b.open();
      const adapter = new KvOidcStore(kv, { now }).factory();
      await adapter('Session').upsert('cookie-1', { uid: 'u1', accountId: 'a' }, 3600);
      await adapter('RefreshToken').upsert('r1', { grantId: 'g1', accountId: 'a' }, 60);
      await adapter('Grant').upsert('g1', { accountId: 'a' });
      await kv.close();

      const kv2 = await reopen();
      cleanups.push(() => kv2.close());
      const again = new KvOidcStore(kv2, { now }).factory();
      assert.deepEqual(await again('Session').findByUid('u1'), { uid: 'u1', accountId: 'a' });
      assert.deepEqual(await again('RefreshToken').find('r1'), { grantId: 'g1', accountId: 'a' });
      nowMs += 60_000;
      assert.equal(await again('RefreshToken').find('r1'), undefined, 'expired at 60 s');
      assert.deepEqual(await again('Session').find('cookie-1'), { uid: 'u1', accountId: 'a' });
      assert.deepEqual(await again('Grant').find('g1'), { accountId: 'a' }, 'no expiry: stays');
    });

    test('consume, destroy with its indexes, revokeByGrantId, sweep', async () => {
      const { kv } = await b.open();
      cleanups.push(() => kv.close());
      const store = new KvOidcStore(kv, { now });
      const adapter = store.factory();
      const codes = adapter('AuthorizationCode');
      const refresh = adapter('RefreshToken');
      await codes.upsert('c', { grantId: 'g' }, 60);
      await refresh.upsert('r', { grantId: 'g' }, 3600);
      await refresh.upsert('other', { grantId: 'h' }, 3600);
      await codes.consume('c');
      assert.equal(typeof (await codes.find('c'))?.consumed, 'number');
      await refresh.revokeByGrantId('g');
      assert.equal(await codes.find('c'), undefined);
      assert.equal(await refresh.find('r'), undefined);
      assert.deepEqual(await refresh.find('other'), { grantId: 'h' });

      const sessions = adapter('Session');
      await sessions.upsert('s1', { uid: 'u9' }, 100);
      await sessions.destroy('s1');
      assert.equal(await sessions.findByUid('u9'), undefined);
      assert.equal(await kv.count(`${oidcStatePrefix}session-uids/`), 0, 'index entry gone with it');

      const devices = adapter('DeviceCode');
      await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 100);
      assert.deepEqual(await devices.findByUserCode('ABCD-EFGH'), { userCode: 'ABCD-EFGH' });

      for (let i = 0; i < 3; i++) await adapter('Interaction').upsert(`i${i}`, {}, 10);
      const before = await store.count();
      nowMs += 11_000;
      const swept = await store.sweep();
      assert.ok(swept >= 3, `swept ${swept}`);
      assert.equal(await store.count(), before - 3);
      assert.deepEqual(await refresh.find('other'), { grantId: 'h' });
    });
  });
}
