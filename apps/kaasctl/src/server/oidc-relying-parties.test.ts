import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensurePki } from '@kaas/apiserver';
import { backchannelHint, loadBackchannelCas, loadOidcClientFiles } from './oidc-relying-parties.ts';

let dir: string;
let caA: string;
let caB: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaas-oidc-rp-'));
  caA = (await ensurePki(join(dir, 'a'), ['127.0.0.1'])).ca.certPem;
  caB = (await ensurePki(join(dir, 'b'), ['127.0.0.1'])).ca.certPem;
});
after(() => rm(dir, { recursive: true, force: true }));

describe('--oidc-backchannel-ca', () => {
  test('joins the certificates of every file (bundles too)', async () => {
    await writeFile(join(dir, 'one.pem'), caA);
    await writeFile(join(dir, 'bundle.pem'), `# two CAs\n${caA}\n${caB}`);
    const pem = await loadBackchannelCas([join(dir, 'one.pem'), join(dir, 'bundle.pem')]);
    assert.equal(pem.match(/BEGIN CERTIFICATE/g)?.length, 3);
    assert.ok(!pem.includes('# two CAs'));
    assert.equal(await loadBackchannelCas([]), '');
  });

  const bad: [string, string | undefined, RegExp][] = [
    ['missing.pem', undefined, /^--oidc-backchannel-ca .*missing\.pem: no such file$/],
    ['key.pem', 'hello, not a certificate\n', /^--oidc-backchannel-ca .*key\.pem: no PEM certificate in it/],
    [
      'broken.pem',
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
      /^--oidc-backchannel-ca .*broken\.pem: certificate 1: not a valid X\.509 certificate/,
    ],
  ];
  for (const [name, content, want] of bad) {
    test(`refuses ${name} with an error naming the flag and the file`, async () => {
      if (content !== undefined) await writeFile(join(dir, name), content);
      await assert.rejects(loadBackchannelCas([join(dir, name)]), (e: Error) => want.test(e.message));
    });
  }
});

describe('--oidc-client', () => {
  const good = [
    'clientId: sso-standalone',
    'clientSecret: a-secret-of-24-characters',
    'redirectUris: [https://sso.example.com:4180/oauth2/callback]',
    'postLogoutRedirectUris: [https://sso.example.com:4180/oauth2/signed_out]',
    'backchannelLogoutUri: https://sso.example.com:4180/oauth2/backchannel_logout',
    'name: KaaS SSO',
  ].join('\n');

  test('reads what --print-client prints, with the secret inline or from a file', async () => {
    await writeFile(join(dir, 'c1.yaml'), good);
    await writeFile(join(dir, 'secret'), 'another-secret-of-24-chars\n');
    await writeFile(
      join(dir, 'c2.yaml'),
      good
        .replace('sso-standalone', 'other')
        .replace('clientSecret: a-secret-of-24-characters', 'clientSecretFile: secret'),
    );
    const [c1, c2] = await loadOidcClientFiles([join(dir, 'c1.yaml'), join(dir, 'c2.yaml')]);
    assert.deepEqual(c1, {
      clientId: 'sso-standalone',
      clientSecret: 'a-secret-of-24-characters',
      redirectUris: ['https://sso.example.com:4180/oauth2/callback'],
      postLogoutRedirectUris: ['https://sso.example.com:4180/oauth2/signed_out'],
      backchannelLogoutUri: 'https://sso.example.com:4180/oauth2/backchannel_logout',
      name: 'KaaS SSO',
    });
    assert.equal(c2?.clientSecret, 'another-secret-of-24-chars');
    await assert.rejects(
      loadOidcClientFiles([join(dir, 'c1.yaml'), join(dir, 'c1.yaml')]),
      /registered twice/,
    );
  });

  test('every problem of a file at once', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      [
        "clientSecret: '<oidc.clientSecret from the config>'",
        'redirectUris: [http://sso.example.com/oauth2/callback]',
        'backchannelLogoutUri: sso.example.com',
        'extra: 1',
      ].join('\n'),
    );
    await assert.rejects(loadOidcClientFiles([join(dir, 'bad.yaml')]), (e: Error) => {
      for (const want of [
        /^--oidc-client .*bad\.yaml:/,
        /extra: unknown key/,
        /clientId: required/,
        /clientSecret: .*not the placeholder/,
        /redirectUris: "http:\/\/sso\.example\.com\/oauth2\/callback" must be an https URL/,
        /backchannelLogoutUri: "sso\.example\.com" must be an https URL/,
      ])
        assert.match(e.message, want);
      return true;
    });
    await assert.rejects(
      loadOidcClientFiles([join(dir, 'none.yaml')]),
      /^Error: --oidc-client .*none\.yaml: no such file$/,
    );
  });
});

test('a failed back-channel call is logged with the flag that fixes it; other lines unchanged', () => {
  const f = { client: 'x', error: 'self-signed certificate' };
  assert.match(
    String(backchannelHint('oidc: back-channel logout failed', f)?.hint),
    /--oidc-backchannel-ca FILE/,
  );
  assert.equal(backchannelHint('oidc: back-channel logout delivered', f), f);
});
