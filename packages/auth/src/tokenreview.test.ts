import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { FakeBackend, upstreamDown } from './testing.ts';
import { MAX_TOKENREVIEW_BYTES, reviewToken, TokenAuthenticator } from './tokenreview.ts';
import type { TokenReview } from './tokenreview.ts';
import { generateToken, MemoryTokenStore, TokenService } from './tokens.ts';
import type { TokenStore } from './tokens.ts';

class CountingStore extends MemoryTokenStore {
  lookups = 0;
  override async getByHash(hash: string): ReturnType<TokenStore['getByHash']> {
    this.lookups++;
    return super.getByHash(hash);
  }
}

function setup(opts: { positiveTtlMs?: number; negativeTtlMs?: number } = {}) {
  const clock = new ManualClock();
  const backend = new FakeBackend('keystone');
  backend.addUser('alice', 'pw', { groups: ['r1', 'keystone:project:p1'] });
  backend.users.get('alice')!.identity.extra = { 'keystone/role-names': ['member'] };
  const store = new CountingStore();
  const tokens = new TokenService({ store, backends: [backend], clock });
  const authenticator = new TokenAuthenticator({
    tokens,
    clock,
    positiveTtlMs: 10_000,
    negativeTtlMs: 5_000,
    ...opts,
  });
  const login = async (audience = 'c1') =>
    (
      await tokens.exchange(
        { type: 'password', username: 'alice', password: 'pw' },
        { backend: 'keystone', audience },
      )
    ).token;
  const review = (token: unknown, extra: Record<string, unknown> = {}, audience = 'c1') =>
    reviewToken(
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...extra } },
      { audience, authenticator },
    );
  return { clock, backend, store, tokens, authenticator, login, review };
}

test('tokenreview: a good token -> username, uid, groups (role IDs + project), extra', async () => {
  const { login, review } = setup();
  const token = await login();
  const r = await review(token);
  assert.deepEqual(r, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    metadata: { creationTimestamp: null },
    spec: {},
    status: {
      authenticated: true,
      user: {
        username: 'keystone:alice',
        uid: 'uid-alice',
        groups: ['r1', 'keystone:project:p1'],
        extra: { 'keystone/role-names': ['member'] },
      },
    },
  } satisfies TokenReview);
  assert.ok(!JSON.stringify(r).includes(token), 'the token is never echoed');
});

test('tokenreview: v1beta1 is answered in v1beta1', async () => {
  const { login, authenticator } = setup();
  const token = await login();
  const r = await reviewToken(
    { apiVersion: 'authentication.k8s.io/v1beta1', kind: 'TokenReview', spec: { token } },
    { audience: 'c1', authenticator },
  );
  assert.equal(r.apiVersion, 'authentication.k8s.io/v1beta1');
  assert.equal(r.status.authenticated, true);
});

test('tokenreview: raw JSON bytes are accepted, oversized bodies refused unparsed', async () => {
  const { login, authenticator } = setup();
  const token = await login();
  const body = Buffer.from(
    JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
  );
  assert.equal((await reviewToken(body, { audience: 'c1', authenticator })).status.authenticated, true);
  const huge = `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"${'a'.repeat(MAX_TOKENREVIEW_BYTES)}"}}`;
  const r = await reviewToken(huge, { audience: 'c1', authenticator });
  assert.equal(r.status.authenticated, false);
  assert.match(r.status.error ?? '', /larger than/);
});

test('tokenreview: malformed bodies -> unauthenticated with status.error, never a throw', async () => {
  const { authenticator, backend, store } = setup();
  const v1 = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' };
  const bodies: [unknown, RegExp][] = [
    [undefined, /must be a JSON object/],
    [null, /must be a JSON object/],
    [[], /must be a JSON object/],
    ['{not json', /not JSON/],
    [42, /must be a JSON object/],
    [{ ...v1, apiVersion: 'v1' }, /apiVersion/],
    [{ ...v1, kind: 'SubjectAccessReview', spec: { token: 'x' } }, /kind/],
    [v1, /spec: must be an object/],
    [{ ...v1, spec: [] }, /spec: must be an object/],
    [{ ...v1, spec: {} }, /spec.token/],
    [{ ...v1, spec: { token: 7 } }, /spec.token/],
    [{ ...v1, spec: { token: '' } }, /spec.token/],
    [{ ...v1, spec: { token: 'x'.repeat(9000) } }, /spec.token: longer/],
    [{ ...v1, spec: { token: 'x', audiences: 'c1' } }, /spec.audiences/],
    [{ ...v1, spec: { token: 'x', audiences: [1] } }, /spec.audiences/],
    [{ ...v1, spec: { token: 'x', audiences: Array(100).fill('a') } }, /spec.audiences/],
  ];
  for (const [body, re] of bodies) {
    const r = await reviewToken(body, { audience: 'c1', authenticator });
    assert.equal(r.kind, 'TokenReview');
    assert.equal(r.status.authenticated, false, JSON.stringify(body)?.slice(0, 80));
    assert.match(r.status.error ?? '', re, JSON.stringify(body)?.slice(0, 80));
  }
  assert.equal(backend.revalidateCalls, 0);
  assert.equal(store.lookups, 0);
});

test('tokenreview: junk tokens are refused before any lookup or upstream call', async () => {
  const { review, backend, store } = setup();
  const good = generateToken();
  const junk = [
    'x',
    'Bearer abc',
    `ghp_${good.slice(5)}`,
    good.slice(0, -1),
    `${good}=`,
    `${good.slice(0, 9)}\n${good.slice(10)}`,
    'kaas_' + '€'.repeat(43),
  ];
  for (const t of junk) {
    const r = await review(t);
    assert.equal(r.status.authenticated, false, t);
    assert.equal(r.status.error, undefined, 'a bad token is a plain no');
  }
  assert.equal(store.lookups, 0);
  assert.equal(backend.revalidateCalls, 0);
});

test('tokenreview: 100 concurrent reviews of one new token -> exactly 1 upstream re-check', async () => {
  const { login, review, backend } = setup();
  const token = await login();
  let open!: () => void;
  backend.gate = new Promise((r) => (open = r));
  const pending = Array.from({ length: 100 }, () => review(token));
  await new Promise((r) => setImmediate(r));
  open();
  const results = await Promise.all(pending);
  assert.ok(results.every((r) => r.status.authenticated));
  assert.equal(backend.revalidateCalls, 1);
});

test('tokenreview: positive answers are reused for their TTL, then re-checked upstream', async () => {
  const { login, review, backend, clock } = setup();
  const token = await login();
  await review(token);
  await review(token);
  assert.equal(backend.revalidateCalls, 1);
  backend.users.get('alice')!.revoked = true;
  clock.advance(9_999);
  assert.equal((await review(token)).status.authenticated, true, 'still cached');
  clock.advance(1);
  assert.equal((await review(token)).status.authenticated, false, 'revoked upstream, seen after the TTL');
  assert.equal(backend.revalidateCalls, 2);
});

test('tokenreview: definite negatives are cached for the negative TTL', async () => {
  const { login, review, backend, clock } = setup();
  const token = await login();
  backend.users.get('alice')!.revoked = true;
  assert.equal((await review(token)).status.authenticated, false);
  backend.users.get('alice')!.revoked = false;
  assert.equal((await review(token)).status.authenticated, false);
  assert.equal(backend.revalidateCalls, 1);
  clock.advance(5_000);
  assert.equal((await review(token)).status.authenticated, true);
  assert.equal(backend.revalidateCalls, 2);
});

test('tokenreview: upstream down -> unauthenticated with status.error, not cached (fail closed)', async () => {
  const { login, review, backend, authenticator } = setup();
  const token = await login();
  backend.users.get('alice')!.failWith = upstreamDown();
  const r1 = await review(token);
  assert.equal(r1.status.authenticated, false);
  assert.match(r1.status.error ?? '', /identity provider unavailable/);
  assert.equal(r1.status.user, undefined);
  const r2 = await review(token);
  assert.equal(r2.status.authenticated, false);
  assert.equal(backend.revalidateCalls, 2, 'the error was not cached');
  assert.equal(authenticator.cache.size, 0);
  delete backend.users.get('alice')!.failWith;
  assert.equal((await review(token)).status.authenticated, true);
});

test('tokenreview: revocation through the token service drops the cached answer at once', async () => {
  const { login, review, tokens } = setup();
  const token = await login();
  assert.equal((await review(token)).status.authenticated, true);
  await tokens.revokeToken(token);
  assert.equal((await review(token)).status.authenticated, false);
});

test('tokenreview: a token for another cluster is refused; a token past expiry too', async () => {
  const { login, review, clock } = setup();
  const other = await login('c2');
  assert.equal((await review(other)).status.authenticated, false);
  assert.equal((await review(other, {}, 'c2')).status.authenticated, true);
  const t = await login('c1');
  assert.equal((await review(t)).status.authenticated, true);
  clock.advance(3_600_000);
  assert.equal(
    (await review(t)).status.authenticated,
    false,
    'expired (the cached positive never outlives the token)',
  );
});

test('tokenreview: audiences: ours is confirmed when asked for, others are not claimed', async () => {
  const { login, review } = setup();
  const token = await login('c1');
  const asked = await review(token, { audiences: ['https://kubernetes.default.svc', 'c1'] });
  assert.deepEqual(asked.status.audiences, ['c1']);
  assert.deepEqual(asked.spec.audiences, ['https://kubernetes.default.svc', 'c1']);
  const other = await review(token, { audiences: ['https://kubernetes.default.svc'] });
  assert.equal(other.status.authenticated, true);
  assert.equal(other.status.audiences, undefined);
});
