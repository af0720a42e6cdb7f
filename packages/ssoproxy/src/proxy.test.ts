// The proxy's own behaviour with no issuer reachable: sessions are minted here with the same
// cookie secret (as the callback would), so routing, authorization, header hygiene and the error
// pages are checked over real HTTP without an OpenID provider. test/integration/ssoproxy.test.ts
// runs the whole flow against the real issuer and Prometheus.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSsoProxy } from './proxy.ts';
import type { SsoProxy } from './proxy.ts';
import { Sealer } from './seal.ts';
import type { Session } from './session.ts';
import { MemorySessionStore, newSessionId, SessionCodec } from './session.ts';

const SECRET = 'z'.repeat(40);
let upstream: Server;
let proxy: SsoProxy;
let codec: SessionCodec;
const seen: { url?: string; headers: Record<string, unknown> }[] = [];

before(async () => {
  upstream = createServer((req, res) => {
    seen.push({ ...(req.url ? { url: req.url } : {}), headers: req.headers });
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      setTimeout(() => res.end('last\n'), 300);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': '_kaas_sso=evil' });
    res.end('upstream');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const store = new MemorySessionStore();
  proxy = await startSsoProxy(
    {
      listen: '127.0.0.1:0',
      cookie: { secrets: [SECRET], secure: false },
      // nothing listens there: discovery fails, and is retried on each sign-in
      oidc: { issuer: 'http://127.0.0.1:1/oidc', clientSecret: 's'.repeat(20) },
      routes: [
        { name: 'ops', pathPrefix: '/ops/', upstream: up, allowedGroups: ['ops'], stripPrefix: true },
        { name: 'open', pathPrefix: '/', upstream: up, allowedGroups: ['*'] },
      ],
    },
    { store },
  );
  codec = new SessionCodec({
    sealer: new Sealer([SECRET]),
    store,
    cookieName: '_kaas_sso',
    cookie: { path: '/', secure: false },
    storage: 'auto',
    maxCookieBytes: 4096,
    now: Date.now,
  });
});

after(async () => {
  await proxy.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

async function sessionCookie(groups: string[]): Promise<string> {
  const t = Date.now();
  const s: Session = {
    id: newSessionId(),
    sub: 'u1',
    user: 'local:alice',
    groups,
    accessToken: 'at',
    accessExpiresAtMs: t + 3600_000,
    idTokenExpiresAtMs: t + 3600_000,
    createdAtMs: t,
    expiresAtMs: t + 7200_000,
  };
  const { setCookie } = await codec.encode(s);
  return setCookie.slice(0, setCookie.indexOf(';'));
}

/** node:http sends the Host header and the path as given (fetch would not). */
function raw(path: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${proxy.url}${path}`, { method, headers, redirect: 'manual' });

describe('startSsoProxy without an issuer', () => {
  test('health says the issuer is not discovered yet', async () => {
    const r = await get('/oauth2/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok', issuer: 'pending' });
  });

  test('a visitor without a session gets 503 (not an error page with details) while the issuer is down', async () => {
    const r = await get('/ops/x');
    assert.equal(r.status, 503);
    const body = await r.text();
    assert.match(body, /not reachable right now/);
    assert.doesNotMatch(body, /127\.0\.0\.1:1|ECONNREFUSED/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('a forged cookie is no session, and is cleared', async () => {
    const r = await get('/ops/x', { cookie: '_kaas_sso=v1.AAAA', accept: 'application/json' });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('set-cookie') ?? '', /^_kaas_sso=; Path=\/; Max-Age=0/);
  });

  test('a session with the group: proxied, prefix stripped, identity headers ours, our cookie kept back', async () => {
    const cookie = await sessionCookie(['ops']);
    const r = await get('/ops/page?a=1', {
      cookie: `${cookie}; theirs=1`,
      'x-forwarded-user': 'root',
      'x-auth-request-groups': 'ops',
    });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'upstream');
    assert.equal(r.headers.get('set-cookie'), null, "the upstream's _kaas_sso is dropped");
    const last = seen.at(-1)!;
    assert.equal(last.url, '/page?a=1');
    assert.equal(last.headers['x-forwarded-user'], 'local:alice');
    assert.equal(last.headers['x-forwarded-groups'], 'ops');
    assert.equal(last.headers['x-auth-request-groups'], undefined);
    assert.equal(last.headers.authorization, undefined);
    assert.equal(last.headers.cookie, 'theirs=1');
  });

  test("without the route's group: 403 page; '*' lets any signed-in user in", async () => {
    const cookie = await sessionCookie(['dev']);
    const r = await get('/ops/page', { cookie });
    assert.equal(r.status, 403);
    assert.match(
      await r.text(),
      /Access denied[\s\S]*local:alice[\s\S]*<strong>ops<\/strong>[\s\S]*<code>dev<\/code>/,
    );
    assert.equal((await get('/elsewhere', { cookie })).status, 200);
  });

  test('responses stream through', async () => {
    const cookie = await sessionCookie(['dev']);
    const r = await get('/stream', { cookie });
    const reader = r.body!.getReader();
    const started = Date.now();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'first\n');
    assert.ok(Date.now() - started < 250, 'the first chunk arrives before the upstream finishes');
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read())
      rest += new TextDecoder().decode(c.value);
    assert.equal(rest, 'last\n');
  });

  test('refusals that need no issuer: open redirects, cross-site sign-out, unknown hosts, dot segments', async () => {
    assert.equal((await get('/oauth2/start?rd=https://evil.example')).status, 400);
    assert.equal((await get('/oauth2/sign_out', { origin: 'https://evil.example' }, 'POST')).status, 403);
    assert.equal((await get('/oauth2/nope')).status, 404);
    assert.equal(await raw('/x', { host: 'evil.example' }), 404);
    assert.equal(await raw('/ops/%2e%2e/x', {}), 400);
    assert.equal(await raw('http://evil.example/x', {}), 400, 'absolute-form targets');
    const cookie = await sessionCookie(['ops']);
    const signOut = await get('/oauth2/sign_out', { origin: proxy.url, cookie }, 'POST');
    assert.equal(signOut.status, 303);
    assert.equal(
      signOut.headers.get('location'),
      `${proxy.url}/oauth2/signed_out`,
      'no issuer: our own page',
    );
    assert.equal((await get('/ops/x', { cookie, accept: 'application/json' })).status, 401, 'signed out');
  });
});
