import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseSsoProxyConfig, parseSsoProxyConfigYaml } from './config.ts';

const SECRET = 'c'.repeat(32);
const files: Record<string, string> = {
  'client-secret': 'proxy-secret-0123456789abcdef\n',
  'cookie-secrets': `${'n'.repeat(40)}\n${'o'.repeat(40)}\n`,
  'ca.crt': '-----BEGIN CERTIFICATE-----\n',
};
const readText = async (p: string) => {
  const f = files[p];
  if (f === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
  return f;
};

const GOOD = `
listen: 127.0.0.1:0
publicUrl: https://sso.example.com
oidc:
  issuer: https://kaas.example.com:6443/oidc
  clientSecretFile: client-secret
  caFile: ca.crt
cookie:
  secretsFile: cookie-secrets
routes:
  - name: prometheus
    pathPrefix: /prometheus/
    upstream: http://127.0.0.1:9090
    allowedGroups: [admin-role-id]
  - name: grafana
    host: grafana.example.com
    upstream: http://127.0.0.1:3000
    allowedGroups: ['*']
    passAccessToken: true
`;

describe('config', () => {
  test('a YAML file with *File fields; defaults filled in', async () => {
    const c = await parseSsoProxyConfigYaml(GOOD, 'sso.yaml', { readText });
    assert.equal(c.oidc.clientSecret, 'proxy-secret-0123456789abcdef');
    assert.equal(c.oidc.clientId, 'sso-proxy');
    assert.equal(c.oidc.caPem, files['ca.crt']);
    assert.deepEqual(c.oidc.scopes, ['openid', 'profile', 'groups', 'offline_access']);
    assert.deepEqual(c.cookie.secrets, ['n'.repeat(40), 'o'.repeat(40)]);
    assert.equal(c.cookie.name, '_kaas_sso');
    assert.equal(c.cookie.secure, true);
    assert.deepEqual(c.session, { storage: 'auto', maxCookieBytes: 4096 });
    // session.storePath (kaasctl sso-proxy alone): relative to the file, like the *File fields
    const stored = await parseSsoProxyConfigYaml(
      `${GOOD}session:\n  storePath: state/sso.db\n`,
      '/etc/kaas/sso.yaml',
      {
        readText,
      },
    );
    assert.equal(stored.session.storePath, '/etc/kaas/state/sso.db');
    assert.equal(c.routes[0]!.passAccessToken, false);
    assert.equal(c.routes[1]!.pathPrefix, '/');
  });

  test('every problem, with file:line:column, and no secret in the messages', async () => {
    const bad = `
listen: nowhere
oidc:
  issuer: ftp://x
  clientSecret: short-secret!
cookie:
  secrets: [tooshort]
routes:
  - name: Prometheus
    pathPrefix: prometheus
    upstream: http://127.0.0.1:9090
    allowedGroups: []
  - name: dup
    upstream: http://127.0.0.1:9091
    allowedGroups: [a]
    typo: 1
`;
    await assert.rejects(parseSsoProxyConfigYaml(bad, 'sso.yaml', { readText }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.problems.join('\n');
      for (const want of [
        /sso\.yaml:2:9: listen: must be HOST:PORT/,
        /sso\.yaml:4:11: oidc\.issuer: must be an http\(s\) URL/,
        /sso\.yaml:5:17: oidc\.clientSecret: must be at least 16/,
        /sso\.yaml:7:13: cookie\.secrets\[0\]: must be >= 32/,
        /sso\.yaml:9:11: routes\[0\]\.name: must be a DNS label/,
        /sso\.yaml:10:17: routes\[0\]\.pathPrefix: must start and end with '\/'/,
        /sso\.yaml:12:20: routes\[0\]\.allowedGroups: must name at least one group/,
        /sso\.yaml:13:5: routes\[1\]: Unrecognized key: "typo"/,
      ])
        assert.match(text, want);
      assert.ok(!text.includes('short-secret!') && !text.includes('tooshort'), text);
      return true;
    });
  });

  test('unreadable secret files and both forms at once', async () => {
    const y = GOOD.replace('clientSecretFile: client-secret', 'clientSecretFile: missing').replace(
      'secretsFile: cookie-secrets',
      `secretsFile: cookie-secrets\n  secrets: ['${SECRET}']`,
    );
    await assert.rejects(parseSsoProxyConfigYaml(y, 'sso.yaml', { readText }), (e: unknown) => {
      const text = (e as ConfigError).problems.join('\n');
      assert.match(text, /oidc\.clientSecretFile: cannot read missing: ENOENT/);
      assert.match(text, /cookie\.secretsFile: give secretsFile or secrets, not both/);
      return true;
    });
  });

  test('cross-route rules: duplicate names, duplicate host+prefix, /oauth2/', () => {
    const route = (name: string, pathPrefix: string) => ({
      name,
      pathPrefix,
      upstream: 'http://127.0.0.1:1',
      allowedGroups: ['a'],
    });
    assert.throws(
      () =>
        parseSsoProxyConfig({
          oidc: { issuer: 'https://i/oidc', clientSecret: 's'.repeat(16) },
          cookie: { secrets: [SECRET] },
          routes: [route('a', '/x/'), route('a', '/x/'), route('b', '/oauth2/')],
        }),
      (e: unknown) => {
        const text = (e as ConfigError).problems.join('\n');
        assert.match(text, /routes\[1\]\.name: duplicate of routes\[0\]/);
        assert.match(text, /routes\[1\]\.pathPrefix: same host and pathPrefix as routes\[0\]/);
        assert.match(text, /routes\[2\]\.pathPrefix: \/oauth2\/ belongs to the proxy/);
        return true;
      },
    );
  });

  test('publicUrl is an origin', () => {
    const base = {
      oidc: { issuer: 'https://i/oidc', clientSecret: 's'.repeat(16) },
      cookie: { secrets: [SECRET] },
      routes: [{ name: 'a', upstream: 'http://127.0.0.1:1', allowedGroups: ['a'] }],
    };
    assert.equal(
      parseSsoProxyConfig({ ...base, publicUrl: 'https://sso.example.com/' }).publicUrl,
      'https://sso.example.com/',
    );
    assert.throws(
      () => parseSsoProxyConfig({ ...base, publicUrl: 'https://sso.example.com/sso' }),
      /publicUrl: must be an origin/,
    );
  });

  test('missing sections are "required"', async () => {
    await assert.rejects(parseSsoProxyConfigYaml('listen: 127.0.0.1:0\n', 'f.yaml'), (e: unknown) => {
      assert.deepEqual((e as ConfigError).problems, [
        'f.yaml:1:1: oidc: is required',
        'f.yaml:1:1: cookie: is required',
        'f.yaml:1:1: routes: is required',
      ]);
      return true;
    });
  });

  test('YAML syntax errors carry the position', async () => {
    await assert.rejects(parseSsoProxyConfigYaml('routes: [\n', 'f.yaml'), /f\.yaml:\d+:\d+: /);
  });
});
