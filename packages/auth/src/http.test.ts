import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { StatusError } from '@kaas/apiserver';
import { FakeBackend, upstreamDown } from './testing.ts';
import { MemoryTokenStore, TokenService } from './tokens.ts';
import { TokenAuthenticator } from './tokenreview.ts';
import { bearerAuthenticator, bearerToken } from './http.ts';

const req = (authorization?: string | string[]) =>
  ({ headers: { authorization } }) as unknown as IncomingMessage;

test('bearerToken: one well-formed Bearer credential or nothing', () => {
  assert.equal(bearerToken(req('Bearer kaas_abc')), 'kaas_abc');
  assert.equal(bearerToken(req('bearer   kaas_abc  ')), 'kaas_abc', 'scheme is case-insensitive');
  for (const bad of [
    undefined,
    '',
    'Basic YWxpY2U6cHc=',
    'Bearer',
    'Bearer ',
    'Bearer kaas_a kaas_b',
    'Bearer kaas_a, Bearer kaas_b',
    'Bearer kaas_a\r\nX-Forwarded-User: admin',
    'Bearer kaas_a\u0000',
    `Bearer ${'x'.repeat(9000)}`,
  ]) {
    assert.equal(bearerToken(req(bad)), undefined, JSON.stringify(bad?.slice(0, 40)));
  }
  assert.equal(bearerToken(req(['Bearer a', 'Bearer b'])), undefined, 'two headers are refused');
});

test('bearerAuthenticator: others pass, ours are checked, the reason is in the 401, upstream failure is 503', async () => {
  const backend = new FakeBackend('local');
  backend.addUser('alice', 'pw', { groups: ['devs'] });
  const tokens = new TokenService({ store: new MemoryTokenStore(), backends: [backend] });
  const authn = new TokenAuthenticator({ tokens, positiveTtlMs: 0, negativeTtlMs: 0 });
  const auth = bearerAuthenticator(authn);
  const t = await tokens.exchange(
    { type: 'password', username: 'alice', password: 'pw' },
    { backend: 'local', audience: 'demo' },
  );

  assert.equal(await auth(req('Bearer eyJhbGciOi.x.y'), { cluster: 'demo' }), null, 'a JWT is not ours');
  assert.equal(await auth(req(), { cluster: 'demo' }), null);
  const u = await auth(req(`Bearer ${t.token}`), { cluster: 'demo' });
  assert.deepEqual(u?.groups, ['devs', 'system:authenticated']);
  assert.equal(u?.username, 'local:alice');

  const refused = async (header: string, cluster: string, re: RegExp, code = 401) => {
    const e = await auth(req(header), { cluster }).then(
      () => assert.fail('should refuse'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof StatusError);
    assert.equal(e.code, code);
    assert.match(e.message, re);
  };
  await refused(`Bearer ${t.token}`, 'other', /token is for another cluster.*--cluster other/);
  await refused(`Bearer kaas_${'A'.repeat(43)}`, 'demo', /unknown token/);
  await refused('Bearer kaas_short', 'demo', /not a KaaS token/);
  backend.users.get('alice')!.failWith = upstreamDown();
  await refused(`Bearer ${t.token}`, 'demo', /could not be reached/, 503);
  backend.users.get('alice')!.failWith = undefined;
  await tokens.revoke(t.id);
  await refused(`Bearer ${t.token}`, 'demo', /token revoked.*kaasctl auth login/);
  authn.close();
});
