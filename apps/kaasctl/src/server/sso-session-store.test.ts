// The SSO proxy's KV-backed SessionStore against both stores the server runs on: SQLite (a file,
// reopened to stand for a restart) and a real etcd (two connections stand for two servers).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { KVStore } from '@kaas/apiserver';
import { openStore } from '@kaas/apiserver';
import type { Session } from '@kaas/ssoproxy';
import { startEtcd } from '../../../../test/support/etcd.ts';
import { KvSessionStore, ssoStorePrefix } from './sso-session-store.ts';

interface Backend {
  name: string;
  /** a fresh store, and another connection to the same data (a restart, or a second server) */
  open(): Promise<{ kv: KVStore; reopen: () => Promise<KVStore> }>;
  /** a second server's connection: SQLite is one process's file (its watch sees that process's writes) */
  shared: boolean;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const backends: Backend[] = [
  {
    name: 'sqlite',
    shared: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'kaas-sso-kv-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const path = join(dir, 'kaas.db');
      const kv = await openStore({ kind: 'sqlite', path });
      return { kv, reopen: () => openStore({ kind: 'sqlite', path }) };
    },
  },
  {
    name: 'etcd',
    shared: true,
    async open() {
      const etcd = await startEtcd();
      cleanups.push(() => etcd.stop());
      const prefix = `/t${Math.random().toString(36).slice(2)}`;
      const kv = await openStore({ kind: 'etcd', endpoints: etcd.endpoints, prefix });
      return { kv, reopen: () => openStore({ kind: 'etcd', endpoints: etcd.endpoints, prefix }) };
    },
  },
];

function session(id: string, expiresAtMs: number): Session {
  return {
    id,
    sub: 'u1',
    user: 'local:alice',
    groups: Array.from({ length: 3 }, (_, i) => `role-${i}`),
    sid: 'issuer-sid',
    accessToken: 'at',
    accessExpiresAtMs: expiresAtMs,
    idTokenExpiresAtMs: expiresAtMs,
    createdAtMs: 0,
    expiresAtMs,
  };
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const b of backends) {
  describe(`KvSessionStore on ${b.name}`, () => {
    test('sessions and revocations survive a reopen; expiry is honoured and swept', async () => {
      let nowMs = 1_000_000;
      const now = () => nowMs;
      const { kv, reopen } = await b.open();
      const store = new KvSessionStore(kv, { now });
      await store.start();
      await store.set(session('s-long', nowMs + 60_000));
      await store.set(session('s-short', nowMs + 1_000));
      await store.revoke('sid:a/b c', nowMs + 60_000);
      await store.revoke('cookie-1', nowMs + 1_000);
      assert.equal(await store.isRevoked('sid:a/b c'), true, 'the revoking instance sees it at once');
      assert.equal(await store.isRevoked('cookie-2'), false);
      store.close();
      await kv.close();

      const kv2 = await reopen();
      cleanups.push(() => kv2.close());
      const restarted = new KvSessionStore(kv2, { now });
      await restarted.start();
      cleanups.push(async () => restarted.close());
      assert.equal((await restarted.get('s-long'))?.user, 'local:alice');
      assert.equal(await restarted.isRevoked('sid:a/b c'), true, 'a restart keeps the sign-out');
      assert.equal(await restarted.isRevoked('cookie-1'), true);

      nowMs += 2_000;
      assert.equal(await restarted.get('s-short'), undefined, 'expired');
      assert.equal(await restarted.isRevoked('cookie-1'), false, 'the cookie it named has expired too');
      assert.equal(await restarted.isRevoked('sid:a/b c'), true);
      // s-short went on the read; the sweep takes the expired revocation
      assert.equal(await restarted.sweep(), 1);
      assert.equal(await kv2.count(ssoStorePrefix), 2);
      nowMs += 60_000;
      assert.equal(await restarted.sweep(), 2);
      assert.equal(await kv2.count(ssoStorePrefix), 0, 'nothing left behind');
      assert.equal(restarted.revokedCount, 0);
      await restarted.set(session('s-new', nowMs + 5_000));
      await restarted.delete('s-new');
      assert.equal(await restarted.get('s-new'), undefined);
    });

    // SQLite only: on etcd the watch delivers first
    if (!b.shared)
      test('with no watch event (a second SQLite connection sees none), the periodic re-read brings a revocation in', async () => {
        const { kv, reopen } = await b.open();
        const other = await reopen();
        cleanups.push(
          () => other.close(),
          () => kv.close(),
        );
        const a = new KvSessionStore(kv);
        const c = new KvSessionStore(other, { resyncMs: 300 });
        await a.start();
        await c.start();
        cleanups.push(
          async () => a.close(),
          async () => c.close(),
        );
        await a.revoke('sid:resync', Date.now() + 60_000);
        await waitFor('the re-read to bring the revocation in', () => c.isRevoked('sid:resync'), 5_000);
      });

    test('a second instance on the same store sees a revocation through its watch, without a read', async (t) => {
      const { kv, reopen } = await b.open();
      const other = b.shared ? await reopen() : kv;
      cleanups.push(() => kv.close());
      if (other !== kv) cleanups.push(() => other.close());
      const a = new KvSessionStore(kv);
      const c = new KvSessionStore(other, { resyncMs: 3_600_000 });
      await a.start();
      await c.start();
      cleanups.push(
        async () => a.close(),
        async () => c.close(),
      );
      assert.equal(await c.isRevoked('sid:x'), false);
      const t0 = Date.now();
      await a.revoke('sid:x', Date.now() + 60_000);
      await waitFor('the watch to deliver the revocation', () => c.isRevoked('sid:x'));
      const ms = Date.now() - t0;
      assert.ok(ms < 5_000, `took ${ms} ms`);
      t.diagnostic(`revocation seen by the second instance after ${ms} ms`);
      // the hot path does no store read: count the calls a third instance makes
      const third = b.shared ? await reopen() : kv;
      let reads = 0;
      const counted = new Proxy(third, {
        get(target, prop, recv) {
          const v = Reflect.get(target, prop, recv) as unknown;
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            if (prop === 'get' || prop === 'range' || prop === 'count') reads++;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const local = new KvSessionStore(counted);
      await local.start();
      const atStart = reads;
      for (let i = 0; i < 100; i++)
        assert.equal(await local.isRevoked(i % 2 ? 'sid:x' : `sid:${i}`), i % 2 === 1);
      assert.equal(reads, atStart);
      local.close();
      if (third !== kv) await third.close();
    });
  });
}
