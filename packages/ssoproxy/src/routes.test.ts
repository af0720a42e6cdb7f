import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Route } from './routes.ts';
import { isAllowed, isUnsafePath, matchRoute, safeReturnPath, upstreamPath } from './routes.ts';

function route(name: string, o: Partial<Route> = {}): Route {
  return {
    name,
    pathPrefix: '/',
    upstream: 'http://127.0.0.1:9090',
    allowedGroups: ['admin'],
    passAccessToken: false,
    stripPrefix: false,
    ...o,
  };
}

const routes = [
  route('default'),
  route('prometheus', { pathPrefix: '/prometheus/' }),
  route('alerts', { pathPrefix: '/prometheus/alerts/' }),
  route('grafana-host', { host: 'grafana.example.com' }),
  route('grafana-port', { host: 'grafana.example.com:8443', pathPrefix: '/api/' }),
];

describe('matchRoute', () => {
  const cases: [host: string, path: string, want: string | undefined][] = [
    ['sso.example.com', '/', 'default'],
    ['sso.example.com', '/prometheus', 'prometheus'],
    ['sso.example.com', '/prometheus/graph', 'prometheus'],
    ['sso.example.com', '/prometheusX', 'default'],
    ['sso.example.com', '/prometheus/alerts/x', 'alerts'],
    ['sso.example.com', '/prometheus/alerts', 'alerts'],
    ['GRAFANA.example.com', '/prometheus/graph', 'grafana-host'],
    ['grafana.example.com:443', '/d/x', 'grafana-host'],
    ['grafana.example.com:8443', '/api/x', 'grafana-port'],
    ['grafana.example.com:9443', '/api/x', 'grafana-host'],
  ];
  for (const [host, path, want] of cases)
    test(`${host}${path} -> ${want}`, () => assert.equal(matchRoute(routes, host, path)?.name, want));

  test('no route', () => assert.equal(matchRoute([route('p', { pathPrefix: '/p/' })], 'h', '/q'), undefined));
});

describe('isAllowed', () => {
  const cases: [allowed: string[], groups: string[], want: boolean][] = [
    [['admin'], ['admin'], true],
    [['admin', 'ops'], ['dev', 'ops'], true],
    [['admin'], ['Admin'], false],
    [['admin'], [], false],
    [['*'], [], true],
  ];
  for (const [allowed, groups, want] of cases)
    test(`${allowed.join(',')} / ${groups.join(',')} -> ${want}`, () =>
      assert.equal(isAllowed({ allowedGroups: allowed }, groups), want));
});

describe('isUnsafePath', () => {
  const cases: [string, boolean][] = [
    ['/', false],
    ['/prometheus/graph', false],
    ['/a%20b/c', false],
    ['/a/../admin', true],
    ['/a/./b', true],
    ['/a/%2e%2e/admin', true],
    ['/a/%2E./admin', true],
    ['/a%2fb', true],
    ['/a\\b', true],
    ['/a%5cb', true],
    ['/%zz', true],
    ['relative', true],
  ];
  for (const [path, want] of cases) test(`${path} -> ${want}`, () => assert.equal(isUnsafePath(path), want));
});

describe('safeReturnPath', () => {
  const cases: [string | null, string | undefined][] = [
    ['/prometheus/graph?g0.expr=up', '/prometheus/graph?g0.expr=up'],
    ['/', '/'],
    [null, undefined],
    ['', undefined],
    ['https://evil.example', undefined],
    ['https://evil.example/prometheus', undefined],
    ['//evil.example', undefined],
    ['/\\evil.example', undefined],
    ['\\\\evil.example', undefined],
    ['/%09/evil.example', '/%09/evil.example'],
    ['/\t/evil.example', undefined],
    ['javascript:alert(1)', undefined],
    ['evil.example', undefined],
    ['/oauth2/sign_out', '/'],
    ['/a/../b', '/b'],
    [`/${'a'.repeat(3000)}`, undefined],
  ];
  for (const [rd, want] of cases)
    test(`${JSON.stringify(rd)?.slice(0, 50)} -> ${want}`, () => assert.equal(safeReturnPath(rd), want));
});

describe('upstreamPath', () => {
  test('keeps the prefix by default', () =>
    assert.equal(upstreamPath(route('p', { pathPrefix: '/p/' }), '/p/graph?x=1'), '/p/graph?x=1'));
  test('strips it when asked', () => {
    const r = route('p', { pathPrefix: '/p/', stripPrefix: true });
    assert.equal(upstreamPath(r, '/p/graph?x=1'), '/graph?x=1');
    assert.equal(upstreamPath(r, '/p'), '/');
    assert.equal(upstreamPath(r, '/p?x=1'), '/?x=1');
  });
  test("prepends the upstream's base path", () =>
    assert.equal(upstreamPath(route('p', { upstream: 'http://u:1/base/' }), '/x'), '/base/x'));
});
