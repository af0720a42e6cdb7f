import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCookies, serializeCookie, withoutCookies } from './cookies.ts';
import { Sealer } from './seal.ts';
import type { Session, SessionStorage } from './session.ts';
import { MemorySessionStore, SessionCodec, newSessionId } from './session.ts';

const T0 = 1_700_000_000_000;

function session(groups: string[] = ['admin']): Session {
  return {
    id: newSessionId(),
    sub: 'uid-1',
    user: 'local:alice',
    groups,
    accessToken: 'at-secret',
    refreshToken: 'rt-secret',
    accessExpiresAtMs: T0 + 600_000,
    idTokenExpiresAtMs: T0 + 3600_000,
    createdAtMs: T0,
    expiresAtMs: T0 + 12 * 3600_000,
  };
}

function setup(storage: SessionStorage = 'auto', clock = { t: T0 }) {
  const store = new MemorySessionStore({ now: () => clock.t });
  const sealer = new Sealer(['s'.repeat(32)]);
  const codec = new SessionCodec({
    sealer,
    store,
    cookieName: '_kaas_sso',
    cookie: { path: '/', secure: true },
    storage,
    maxCookieBytes: 4096,
    now: () => clock.t,
  });
  return { store, codec, clock, sealer };
}

const valueOf = (setCookie: string) => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));

describe('SessionCodec', () => {
  test('a small session lives in the cookie: sealed, HttpOnly, Secure, SameSite=Lax, <= 4 KB', async () => {
    const { codec, store } = setup();
    const s = session();
    const e = await codec.encode(s);
    assert.equal(e.serverSide, false);
    assert.equal(store.size, 0);
    assert.ok(Buffer.byteLength(e.setCookie) <= 4096);
    assert.match(e.setCookie, /; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/);
    assert.ok(!e.setCookie.includes('at-secret') && !e.setCookie.includes('rt-secret'));
    assert.deepEqual((await codec.decode(valueOf(e.setCookie)))?.session, s);
  });

  test('a cookie opened once is not trusted again after sign-out or expiry (the opened-value cache)', async () => {
    const { codec, store, clock } = setup();
    const s = session();
    const value = valueOf((await codec.encode(s)).setCookie);
    assert.deepEqual((await codec.decode(value))?.session, s);
    assert.deepEqual((await codec.decode(value))?.session, s, 'the second look comes from the cache');
    await store.revoke(s.id, s.expiresAtMs);
    assert.equal(await codec.decode(value), undefined, 'signed out: refused though cached');
    const t = session();
    const other = valueOf((await codec.encode(t)).setCookie);
    assert.ok(await codec.decode(other));
    clock.t = t.expiresAtMs;
    assert.equal(await codec.decode(other), undefined, 'expired: refused though cached');
    assert.equal(await codec.decode(other.slice(0, -2) + 'AA'), undefined, 'a tampered value opens nothing');
  });

  test('a session too big for a cookie goes server-side; the cookie holds a sealed reference', async () => {
    const { codec, store } = setup();
    const s = session(Array.from({ length: 200 }, (_, i) => `role-${i}-${'x'.repeat(20)}`));
    const e = await codec.encode(s);
    assert.equal(e.serverSide, true);
    assert.equal(store.size, 1);
    assert.ok(Buffer.byteLength(e.setCookie) < 300, e.setCookie);
    const d = await codec.decode(valueOf(e.setCookie));
    assert.equal(d?.serverSide, true);
    assert.deepEqual(d?.session.groups, s.groups);
    await store.delete(s.id);
    assert.equal(await codec.decode(valueOf(e.setCookie)), undefined);
  });

  test("storage 'server' always stores; 'cookie' refuses what does not fit", async () => {
    assert.equal((await setup('server').codec.encode(session())).serverSide, true);
    await assert.rejects(
      setup('cookie').codec.encode(session(Array.from({ length: 300 }, (_, i) => `group-${i}-padding`))),
      /would be \d+ bytes/,
    );
  });

  test('expired, revoked, forged and foreign cookies are no session', async () => {
    const clock = { t: T0 };
    const { codec, store, sealer } = setup('auto', clock);
    const s = session();
    const v = valueOf((await codec.encode(s)).setCookie);
    assert.ok(await codec.decode(v));
    assert.equal(await codec.decode(undefined), undefined);
    assert.equal(await codec.decode('v1.forged'), undefined);
    assert.equal(await codec.decode(sealer.seal('_kaas_sso', 'not json')), undefined);
    assert.equal(
      await codec.decode(sealer.seal('_kaas_sso_login_x', JSON.stringify({ v: 1, s }))),
      undefined,
    );
    await store.revoke(s.id, s.expiresAtMs);
    assert.equal(await codec.decode(v), undefined, 'signed out');
    const other = session();
    const w = valueOf((await codec.encode(other)).setCookie);
    clock.t = other.expiresAtMs;
    assert.equal(await codec.decode(w), undefined, 'expired');
    assert.equal(await store.isRevoked(s.id), false, 'revocations end with the session');
  });

  test('clearCookie expires it', () => {
    assert.match(setup().codec.clearCookie(), /^_kaas_sso=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/);
  });
});

describe('MemorySessionStore', () => {
  test('drops the oldest beyond maxEntries and expired ones', async () => {
    const clock = { t: T0 };
    const store = new MemorySessionStore({ now: () => clock.t, maxEntries: 2 });
    const [a, b, c] = [session(), session(), session()];
    for (const s of [a, b, c]) await store.set(s);
    assert.equal(await store.get(a.id), undefined);
    assert.ok(await store.get(c.id));
    clock.t = c.expiresAtMs;
    assert.equal(await store.get(c.id), undefined);
  });
});

describe('cookies', () => {
  test('parse, first wins, values with =', () => {
    const m = parseCookies('a=1; b=x=y;a=2; bad; =v');
    assert.equal(m.get('a'), '1');
    assert.equal(m.get('b'), 'x=y');
    assert.equal(m.size, 2);
  });
  test('withoutCookies', () => {
    assert.equal(
      withoutCookies('_kaas_sso=1; app=2; _kaas_sso_login_x=3', (n) => n.startsWith('_kaas_sso')),
      'app=2',
    );
    assert.equal(
      withoutCookies('_kaas_sso=1', (n) => n === '_kaas_sso'),
      undefined,
    );
  });
  test('serialize', () => {
    assert.equal(
      serializeCookie('n', 'v', {
        secure: false,
        domain: 'example.com',
        maxAgeS: 60,
        path: '/oauth2/callback',
      }),
      'n=v; Path=/oauth2/callback; Domain=example.com; Max-Age=60; HttpOnly; SameSite=Lax',
    );
  });
});
