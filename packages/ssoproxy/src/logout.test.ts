import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { JWTPayload } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT, LogoutTokenError, verifyLogoutToken } from './logout.ts';
import { MemorySessionStore, SessionCodec } from './session.ts';
import type { Session } from './session.ts';
import { Sealer } from './seal.ts';
import { sidRevocationKey } from './logout.ts';

const ISSUER = 'https://kaas.test/oidc';
const CLIENT = 'sso-proxy';
const NOW = Date.parse('2026-12-07T01:00:00Z');

const issuerKey = await generateKeyPair('RS256');
const otherKey = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(issuerKey.publicKey)), kid: 'k1', alg: 'RS256' };
const keys = createLocalJWKSet({ keys: [jwk] });

async function token(
  claims: JWTPayload,
  o: { key?: Parameters<SignJWT['sign']>[0]; iatS?: number; header?: Record<string, string> } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...o.header })
    .setIssuedAt(o.iatS ?? NOW / 1000)
    .sign(o.key ?? issuerKey.privateKey);
}

const good = {
  iss: ISSUER,
  aud: CLIENT,
  sub: 'u1',
  sid: 'sid-1',
  events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
};
const verify = (t: string) =>
  verifyLogoutToken(t, { issuer: ISSUER, clientId: CLIENT, keys, now: () => NOW });

test('a logout token from the issuer for this client names the session', async () => {
  assert.deepEqual(await verify(await token(good)), { sid: 'sid-1', sub: 'u1' });
});

test('logout tokens that must be refused', async () => {
  const { events: _e, ...noEvents } = good;
  const { sid: _s, ...noSid } = good;
  const cases: [string, Promise<string>, RegExp][] = [
    ['another key', token(good, { key: otherKey.privateKey }), /signature/],
    ['another issuer', token({ ...good, iss: 'https://evil.test/oidc' }), /iss/],
    ['another client', token({ ...good, aud: 'kaas-console' }), /aud/],
    ['no logout event', token(noEvents), /no back-channel logout event/],
    ['a nonce (an ID token)', token({ ...good, nonce: 'n' }), /nonce/],
    ['no sid', token(noSid), /no sid/],
    ['issued an hour ago (a replay)', token(good, { iatS: NOW / 1000 - 3600 }), /iat|timestamp|age/],
  ];
  for (const [what, t, message] of cases)
    await assert.rejects(verify(await t), (e: Error) => {
      assert.ok(e instanceof LogoutTokenError, `${what}: ${e.name} ${e.message}`);
      assert.match(e.message, message, what);
      return true;
    });
  await assert.rejects(verify('not.a.jwt'), LogoutTokenError);
});

test('a session whose issuer session was logged out no longer opens (cookie-held and server-side)', async () => {
  const store = new MemorySessionStore({ now: () => NOW });
  const sealer = new Sealer(['x'.repeat(32)]);
  const session = (id: string, groups: string[]): Session => ({
    id,
    sub: 'u1',
    user: 'local:alice',
    groups,
    sid: 'sid-1',
    accessToken: 'at',
    accessExpiresAtMs: NOW + 600_000,
    idTokenExpiresAtMs: NOW + 3600_000,
    createdAtMs: NOW,
    expiresAtMs: NOW + 3600_000,
  });
  const codec = (maxCookieBytes: number) =>
    new SessionCodec({
      sealer,
      store,
      cookieName: '_kaas_sso',
      cookie: { path: '/', secure: true },
      storage: 'auto',
      maxCookieBytes,
      now: () => NOW,
    });
  const value = (setCookie: string) => setCookie.slice('_kaas_sso='.length, setCookie.indexOf(';'));
  const inCookie = codec(4096);
  const a = value((await inCookie.encode(session('a', ['g']))).setCookie);
  const serverSide = codec(512);
  const enc = await serverSide.encode(
    session(
      'b',
      Array.from({ length: 40 }, (_, i) => `role-${i}`),
    ),
  );
  assert.equal(enc.serverSide, true);
  const b = value(enc.setCookie);
  assert.ok(await inCookie.decode(a));
  assert.ok(await serverSide.decode(b));
  await store.revoke(sidRevocationKey('sid-1'), NOW + 3600_000);
  assert.equal(await inCookie.decode(a), undefined);
  assert.equal(await serverSide.decode(b), undefined);
});
