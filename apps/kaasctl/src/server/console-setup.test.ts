import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '@kaas/ssoproxy';
import { safeReturn } from './console.ts';
import { loadInServerSsoProxyConfig, ssoRouteUrls } from './console-setup.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kaas-console-setup-'));
  dirs.push(d);
  const f = join(d, 'sso-proxy.yaml');
  await writeFile(f, text);
  return f;
}

const defaults = {
  issuer: 'https://127.0.0.1:6443/oidc',
  caPem: 'CA PEM',
  certPem: 'CERT PEM',
  keyPem: 'KEY PEM',
  cookieSecret: async () => 'c'.repeat(43),
};

test('a file with only routes gets the server’s issuer, CA, TLS, a free port and secrets', async () => {
  const f = await file(
    'routes:\n  - name: prom\n    pathPrefix: /prom/\n    upstream: http://127.0.0.1:9090\n    allowedGroups: [ops]\n',
  );
  const c = await loadInServerSsoProxyConfig(f, defaults);
  assert.equal(c.oidc.issuer, defaults.issuer);
  assert.equal(c.oidc.caPem, 'CA PEM');
  assert.deepEqual(c.tls, { certPem: 'CERT PEM', keyPem: 'KEY PEM' });
  assert.equal(c.listen, '127.0.0.1:0');
  assert.ok(c.oidc.clientSecret.length >= 16);
  assert.deepEqual(c.cookie.secrets, ['c'.repeat(43)]);
  assert.deepEqual(ssoRouteUrls(c, 'https://127.0.0.1:4180'), [
    { name: 'prom', url: 'https://127.0.0.1:4180/prom/' },
  ]);
});

test('what the file says wins, except the port given by --sso-proxy-port', async () => {
  const f = await file(
    [
      'listen: 127.0.0.1:4999',
      'oidc:',
      '  issuer: https://idp.example/oidc',
      '  clientSecret: file-secret-123456789',
      'cookie:',
      `  secrets: ["${'f'.repeat(40)}"]`,
      'routes:',
      '  - name: graf',
      '    host: grafana.example',
      '    upstream: http://127.0.0.1:3000',
      "    allowedGroups: ['*']",
      '',
    ].join('\n'),
  );
  const fromFile = await loadInServerSsoProxyConfig(f, defaults);
  assert.equal(fromFile.listen, '127.0.0.1:4999');
  assert.equal(fromFile.oidc.issuer, 'https://idp.example/oidc');
  assert.equal(fromFile.oidc.clientSecret, 'file-secret-123456789');
  assert.deepEqual(fromFile.cookie.secrets, ['f'.repeat(40)]);
  assert.deepEqual(ssoRouteUrls(fromFile, 'https://127.0.0.1:4180'), [
    { name: 'graf', url: 'https://grafana.example:4180/' },
  ]);
  const flag = await loadInServerSsoProxyConfig(f, { ...defaults, listen: '127.0.0.1:4180' });
  assert.equal(flag.listen, '127.0.0.1:4180');
});

test('an invalid file is a ConfigError naming the file and the line', async () => {
  const f = await file(
    'routes:\n  - name: Bad_Name\n    upstream: http://127.0.0.1:1\n    allowedGroups: []\n',
  );
  await assert.rejects(loadInServerSsoProxyConfig(f, defaults), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /sso-proxy\.yaml:2:\d+: routes\[0\]\.name/);
    assert.match(e.message, /sso-proxy\.yaml:4:\d+: routes\[0\]\.allowedGroups/);
    return true;
  });
});

test('session.storePath is refused: under kaasctl server the sessions live in the server’s store', async () => {
  const f = await file(
    'session:\n  storePath: sso.db\nroutes:\n  - name: prom\n    upstream: http://127.0.0.1:9090\n    allowedGroups: [ops]\n',
  );
  await assert.rejects(
    loadInServerSsoProxyConfig(f, defaults),
    /session\.storePath is for `kaasctl sso-proxy` on its own.*remove it/,
  );
});

test('safeReturn keeps same-origin /console/ paths and nothing else', () => {
  const cases: [string | null, string][] = [
    ['/console/clusters/demo?tab=nodes#x', '/console/clusters/demo?tab=nodes#x'],
    [null, '/console/'],
    ['https://evil.example/console/', '/console/'],
    ['//evil.example/console/', '/console/'],
    ['/console/../oidc/x', '/console/'],
    ['/console/%2e%2e/x', '/console/'],
    ['/console\\..\\x', '/console/'],
    ['/console/\nx', '/console/'],
    ['/console/login?return=/x', '/console/'],
    ['/console/k8s/api', '/console/'],
    ['/consolex', '/console/'],
  ];
  for (const [input, want] of cases) assert.equal(safeReturn(input), want, String(input));
});
