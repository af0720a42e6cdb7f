import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { UpstreamError } from './errors.ts';
import { FakeBackend, upstreamDown } from './testing.ts';
import {
  generateToken,
  hashesEqual,
  hashToken,
  isWellFormedToken,
  MemoryTokenStore,
  openSecret,
  sealSecret,
  TOKEN_LENGTH,
  TokenService,
} from './tokens.ts';

function setup(opts: { defaultTtlMs?: number; maxTtlMs?: number } = {}) {
  const clock = new ManualClock();
  const backend = new FakeBackend();
  backend.addUser('alice', 'pw-alice', { groups: ['role-a'] });
  backend.addUser('bob', 'pw-bob');
  const store = new MemoryTokenStore();
  const tokens = new TokenService({ store, backends: [backend], clock, ...opts });
  const login = (user = 'alice', audience = 'c1', ttlMs?: number) =>
    tokens.exchange(
      { type: 'password', username: user, password: `pw-${user}` },
      { backend: 'fake', audience, ...(ttlMs !== undefined ? { ttlMs } : {}) },
    );
  return { clock, backend, store, tokens, login };
}

test('tokens: kaas_ + 256 random bits in base64url, all different', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const t = generateToken();
    assert.equal(t.length, TOKEN_LENGTH);
    assert.ok(isWellFormedToken(t), t);
    assert.equal(Buffer.from(t.slice(5), 'base64url').length, 32);
    seen.add(t);
  }
  assert.equal(seen.size, 1000);
});

test('tokens: the shape check refuses junk', () => {
  const good = generateToken();
  const junk: unknown[] = [
    undefined,
    42,
    '',
    'kaas_',
    good.slice(0, -1),
    `${good}A`,
    `KAAS_${good.slice(5)}`,
    `ghp_${good.slice(5)}`,
    `${good.slice(0, 10)}+${good.slice(11)}`,
    `${good.slice(0, 10)}=${good.slice(11)}`,
    `${good.slice(0, -1)}B`, // non-zero padding bits: not the encoding of 32 bytes
    `Bearer ${good}`,
  ];
  for (const j of junk) assert.equal(isWellFormedToken(j), false, String(j));
});

test('tokens: the store holds the SHA-256 of the token and never the token or the upstream secret', async () => {
  const { store, login } = setup();
  const issued = await login();
  const [rec] = await store.list();
  assert.ok(rec);
  assert.equal(rec.hash, hashToken(issued.token));
  const dump = JSON.stringify(await store.list());
  assert.ok(!dump.includes(issued.token));
  assert.ok(!dump.includes(issued.token.slice(5)));
  assert.ok(!dump.includes('upstream-secret-of-alice'));
  assert.ok(rec.session.sealedSecret?.startsWith('v1.'));
});

test('tokens: hashesEqual is exact', () => {
  const h = hashToken('x');
  assert.equal(hashesEqual(h, hashToken('x')), true);
  assert.equal(hashesEqual(h, hashToken('y')), false);
  assert.equal(hashesEqual(h, h.slice(0, -2)), false);
  assert.equal(hashesEqual('', ''), false);
});

test('tokens: sealed secrets open only with the same token and record id', () => {
  const t = generateToken();
  const sealed = sealSecret(t, 'keystone-token', 'id1');
  assert.equal(openSecret(t, sealed, 'id1'), 'keystone-token');
  assert.equal(openSecret(generateToken(), sealed, 'id1'), undefined);
  assert.equal(openSecret(t, sealed, 'id2'), undefined);
  const parts = sealed.split('.');
  const ct = Buffer.from(parts[2]!, 'base64url');
  ct[0] = ct[0]! ^ 1;
  parts[2] = ct.toString('base64url');
  assert.equal(openSecret(t, parts.join('.'), 'id1'), undefined);
});

test('tokens: verify returns the current identity for the right audience', async () => {
  const { tokens, login, backend } = setup();
  const issued = await login();
  const v = await tokens.verify(issued.token, { audience: 'c1' });
  assert.ok(v.ok);
  assert.equal(v.identity.username, 'fake:alice');
  assert.deepEqual(v.identity.groups, ['role-a']);
  assert.equal(backend.revalidateCalls, 1);
  // the backend's answer is current, not the one from issue time
  backend.users.get('alice')!.identity.groups = ['role-b'];
  const v2 = await tokens.verify(issued.token, { audience: 'c1' });
  assert.ok(v2.ok);
  assert.deepEqual(v2.identity.groups, ['role-b']);
});

test('tokens: bound to one cluster', async () => {
  const { tokens, login, backend } = setup();
  const issued = await login('alice', 'c1');
  assert.deepEqual(await tokens.verify(issued.token, { audience: 'c2' }), {
    ok: false,
    reason: 'wrong-audience',
  });
  assert.equal(backend.revalidateCalls, 0);
});

test('tokens: expiry with an injected clock; the default and the maximum TTL', async () => {
  const { tokens, login, clock } = setup({ defaultTtlMs: 60_000, maxTtlMs: 120_000 });
  const a = await login();
  assert.equal(a.expiresAt.getTime(), clock.now() + 60_000);
  const b = await login('alice', 'c1', 10 * 3_600_000);
  assert.equal(b.expiresAt.getTime(), clock.now() + 120_000);
  clock.advance(59_999);
  assert.equal((await tokens.verify(a.token, { audience: 'c1' })).ok, true);
  clock.advance(1);
  assert.deepEqual(await tokens.verify(a.token, { audience: 'c1' }), { ok: false, reason: 'expired' });
  assert.equal((await tokens.verify(b.token, { audience: 'c1' })).ok, true);
  assert.equal(await tokens.purgeExpired(), 1);
  assert.deepEqual(await tokens.verify(a.token, { audience: 'c1' }), { ok: false, reason: 'unknown' });
});

test('tokens: never outlive the upstream session', async () => {
  const { tokens, backend, clock } = setup();
  backend.addUser('carol', 'pw-carol', { expiresAt: new Date(clock.now() + 5_000) });
  const t = await tokens.exchange(
    { type: 'password', username: 'carol', password: 'pw-carol' },
    { backend: 'fake', audience: 'c1' },
  );
  assert.equal(t.expiresAt.getTime(), clock.now() + 5_000);
});

test('tokens: revocation by id, by token, by user', async () => {
  const { tokens, login } = setup();
  const a1 = await login('alice');
  const a2 = await login('alice', 'c2');
  const a3 = await login('alice');
  const b1 = await login('bob');
  const revoked: string[][] = [];
  tokens.onRevoke((h) => revoked.push(h));

  assert.equal(await tokens.revoke(a1.id), true);
  assert.deepEqual(await tokens.verify(a1.token, { audience: 'c1' }), { ok: false, reason: 'revoked' });
  assert.equal(await tokens.revokeToken(a3.token), true);
  assert.deepEqual(await tokens.verify(a3.token, { audience: 'c1' }), { ok: false, reason: 'revoked' });
  assert.equal(await tokens.revokeToken('kaas_not-a-token'), false);

  const uid = a2.identity.uid;
  assert.equal(await tokens.revokeUser('fake', uid), 1); // a2 only: a1 and a3 are already revoked
  assert.deepEqual(await tokens.verify(a2.token, { audience: 'c2' }), { ok: false, reason: 'revoked' });
  assert.equal((await tokens.verify(b1.token, { audience: 'c1' })).ok, true);
  assert.deepEqual(revoked, [[hashToken(a1.token)], [hashToken(a3.token)], [hashToken(a2.token)]]);
});

test('tokens: junk and unknown tokens never reach the backend', async () => {
  const { tokens, backend } = setup();
  assert.deepEqual(await tokens.verify('nope', { audience: 'c1' }), { ok: false, reason: 'malformed' });
  assert.deepEqual(await tokens.verify(generateToken(), { audience: 'c1' }), {
    ok: false,
    reason: 'unknown',
  });
  assert.equal(backend.revalidateCalls, 0);
});

test('tokens: the backend says revoked -> a definite no; the backend is down -> an error', async () => {
  const { tokens, login, backend } = setup();
  const t = await login();
  backend.users.get('alice')!.revoked = true;
  assert.deepEqual(await tokens.verify(t.token, { audience: 'c1' }), {
    ok: false,
    reason: 'upstream-revoked',
  });
  backend.users.get('alice')!.revoked = false;
  backend.users.get('alice')!.failWith = upstreamDown();
  await assert.rejects(tokens.verify(t.token, { audience: 'c1' }), UpstreamError);
});

test('tokens: wrong credentials issue nothing', async () => {
  const { tokens, store } = setup();
  await assert.rejects(
    tokens.exchange(
      { type: 'password', username: 'alice', password: 'wrong' },
      { backend: 'fake', audience: 'c1' },
    ),
    { name: 'InvalidCredentialsError' },
  );
  assert.equal((await store.list()).length, 0);
});

test('tokens: list() shows no hashes or sessions', async () => {
  const { tokens, login } = setup();
  await login();
  const [l] = await tokens.list();
  assert.ok(l);
  assert.equal('hash' in l, false);
  assert.equal('session' in l, false);
  assert.equal(l.username, 'fake:alice');
});
