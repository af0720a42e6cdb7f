import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientResponseHeaders, isIdentityHeader, upstreamRequestHeaders } from './headers.ts';

const base = {
  identity: { user: 'local:alice', groups: ['dev', 'admin'] },
  cookie: 'app=1',
  clientAddress: '10.0.0.9',
  proto: 'https' as const,
  host: 'sso.example.com',
  upgrade: false,
};

describe('upstreamRequestHeaders', () => {
  test("the client's identity headers never pass; ours replace them", () => {
    const out = upstreamRequestHeaders(
      {
        'x-forwarded-user': 'root',
        'x-forwarded-email': 'root@evil',
        'x-forwarded-groups': 'admin',
        'x-forwarded-preferred-username': 'root',
        'x-forwarded-access-token': 'forged',
        'x-auth-request-user': 'root',
        'x-auth-request-groups': 'admin',
        authorization: 'Bearer forged',
        forwarded: 'for=1.2.3.4;host=evil',
        'x-forwarded-host': 'evil',
        'x-forwarded-proto': 'http',
        accept: 'text/html',
        cookie: '_kaas_sso=secret; app=1',
        host: 'sso.example.com',
      },
      base,
    );
    assert.equal(out['x-forwarded-user'], 'local:alice');
    assert.equal(out['x-forwarded-groups'], 'dev,admin');
    assert.equal(out['x-forwarded-email'], undefined);
    assert.equal(out['x-forwarded-preferred-username'], undefined);
    assert.equal(out['x-forwarded-access-token'], undefined);
    assert.equal(out['x-auth-request-user'], undefined);
    assert.equal(out['x-auth-request-groups'], undefined);
    assert.equal(out.authorization, undefined);
    assert.equal(out.forwarded, undefined);
    assert.equal(out['x-forwarded-host'], 'sso.example.com');
    assert.equal(out['x-forwarded-proto'], 'https');
    assert.equal(out.cookie, 'app=1', 'the cookie header is the one given (ours removed)');
    assert.equal(out.host, undefined, 'the caller sets the upstream host');
    assert.equal(out.accept, 'text/html');
  });

  test('access token and email when given', () => {
    const out = upstreamRequestHeaders(
      { authorization: 'Basic Zm9vOmJhcg==' },
      { ...base, identity: { ...base.identity, email: 'a@example.com' }, accessToken: 'tok' },
    );
    assert.equal(out.authorization, 'Bearer tok');
    assert.equal(out['x-forwarded-email'], 'a@example.com');
  });

  test('hop-by-hop headers and those named in Connection are dropped, except an upgrade when asked', () => {
    const incoming = {
      connection: 'Upgrade, X-Private',
      upgrade: 'websocket',
      'x-private': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'sec-websocket-key': 'k',
    };
    const plain = upstreamRequestHeaders(incoming, base);
    assert.equal(plain.connection, undefined);
    assert.equal(plain.upgrade, undefined);
    assert.equal(plain['x-private'], undefined);
    assert.equal(plain['keep-alive'], undefined);
    assert.equal(plain.te, undefined);
    const ws = upstreamRequestHeaders(incoming, { ...base, upgrade: true });
    assert.equal(ws.connection, 'upgrade');
    assert.equal(ws.upgrade, 'websocket');
    assert.equal(ws['sec-websocket-key'], 'k');
  });

  test('X-Forwarded-For is appended to; control characters cannot split headers', () => {
    const out = upstreamRequestHeaders(
      { 'x-forwarded-for': '1.1.1.1' },
      { ...base, identity: { user: 'a\r\nX-Evil: 1', groups: [] } },
    );
    assert.equal(out['x-forwarded-for'], '1.1.1.1, 10.0.0.9');
    assert.equal(out['x-forwarded-user'], 'aX-Evil: 1');
    assert.equal(out['x-forwarded-groups'], '');
  });

  test('isIdentityHeader', () => {
    for (const h of ['X-Forwarded-User', 'x-auth-request-email', 'Authorization'])
      assert.ok(isIdentityHeader(h), h);
    for (const h of ['x-forwarded-for', 'accept']) assert.ok(!isIdentityHeader(h), h);
  });
});

describe('clientResponseHeaders', () => {
  test("an upstream cannot set the proxy's cookies; hop-by-hop headers go", () => {
    const out = clientResponseHeaders(
      {
        'set-cookie': ['_kaas_sso=x; Path=/', 'grafana_session=y', '_kaas_sso_login_abc=z'],
        connection: 'keep-alive',
        'transfer-encoding': 'chunked',
        'content-type': 'text/html',
      },
      (n) => n === '_kaas_sso' || n.startsWith('_kaas_sso_login_'),
    );
    assert.deepEqual(out['set-cookie'], ['grafana_session=y']);
    assert.equal(out.connection, undefined);
    assert.equal(out['transfer-encoding'], undefined);
    assert.equal(out['content-type'], 'text/html');
  });
});
