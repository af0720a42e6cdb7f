// A standalone `kaasctl sso-proxy` (its own process, its own CA and certificate) registered with
// `kaasctl server --oidc-client`, and single logout to it: without --oidc-backchannel-ca the
// issuer cannot verify the proxy's certificate, logs a warning naming the flag and keeps serving;
// with it, the logout token arrives and the proxy's old cookie goes back to sign-in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { ensurePki } from '@kaas/apiserver';
import { Browser, signIn } from '../support/browser-client.ts';
import type { KaasServer } from '../support/kaasctl.ts';
import { kaasctlBin, startKaasServer } from '../support/kaasctl.ts';
import { freePort } from '../support/ports.ts';

const ADMIN_PASSWORD = 'standalone-admin-password-1';
const CLIENT_SECRET = 'standalone-proxy-client-secret-1';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const undo of cleanups.reverse()) await undo().catch((e: unknown) => console.error('cleanup:', e));
});

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let dir: string;
let serverPort: number;
let proxyUrl: string;
let clientFile: string;
let proxyCaFile: string;
let dispatcher: Agent;
let server: KaasServer | undefined;
let proxyLog = '';

async function startServer(extra: string[]): Promise<KaasServer> {
  const s = await startKaasServer(
    dir,
    ['--listen', `127.0.0.1:${serverPort}`, '--oidc-client', clientFile, ...extra],
    { KAAS_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
  cleanups.push(() => s.stop());
  return s;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaas-sso-standalone-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  // the proxy's own PKI, unrelated to the server's
  const proxyPki = await ensurePki(join(dir, 'proxy-pki'), ['127.0.0.1']);
  proxyCaFile = join(dir, 'proxy-ca.crt');
  await writeFile(proxyCaFile, proxyPki.ca.certPem);
  await writeFile(join(dir, 'tls.crt'), proxyPki.serving.certPem);
  await writeFile(join(dir, 'tls.key'), proxyPki.serving.keyPem);

  const echo: HttpServer = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, user: req.headers['x-forwarded-user'] }));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => echo.close(r)));

  serverPort = await freePort();
  const proxyPort = await freePort();
  proxyUrl = `https://127.0.0.1:${proxyPort}`;
  // what `kaasctl sso-proxy --print-client` prints, with the secret filled in
  clientFile = join(dir, 'sso-client.yaml');
  await writeFile(
    clientFile,
    [
      'clientId: sso-standalone',
      `clientSecret: ${CLIENT_SECRET}`,
      `redirectUris: [${proxyUrl}/oauth2/callback]`,
      `postLogoutRedirectUris: [${proxyUrl}/oauth2/signed_out]`,
      `backchannelLogoutUri: ${proxyUrl}/oauth2/backchannel_logout`,
      '',
    ].join('\n'),
  );
  server = await startServer([]);
  const configFile = join(dir, 'sso-proxy.yaml');
  await writeFile(
    configFile,
    [
      `listen: 127.0.0.1:${proxyPort}`,
      `publicUrl: ${proxyUrl}`,
      'tls: { certFile: tls.crt, keyFile: tls.key }',
      'oidc:',
      `  issuer: https://127.0.0.1:${serverPort}/oidc`,
      '  clientId: sso-standalone',
      `  clientSecret: ${CLIENT_SECRET}`,
      '  caFile: pki/ca.crt',
      'cookie:',
      `  secrets: [${'s'.repeat(40)}]`,
      'routes:',
      '  - name: echo',
      '    pathPrefix: /echo/',
      `    upstream: http://127.0.0.1:${(echo.address() as AddressInfo).port}`,
      "    allowedGroups: ['*']",
      '',
    ].join('\n'),
  );
  const proxy: ChildProcess = spawn(kaasctlBin, ['sso-proxy', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    if (proxy.exitCode !== null || proxy.signalCode !== null || !proxy.pid) return;
    const exited = new Promise((r) => proxy.once('exit', r));
    process.kill(proxy.pid, 'SIGTERM');
    await exited;
  });
  proxy.stderr!.on('data', (c: Buffer) => (proxyLog += c.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proxy.stdout! }).on('line', (l) => {
      if (/listening on/.test(l)) resolve();
    });
    proxy.once('exit', (code) => reject(new Error(`kaasctl sso-proxy exited with ${code}: ${proxyLog}`)));
  });
  const serverCa = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8');
  dispatcher = new Agent({ connect: { ca: [serverCa, proxyPki.ca.certPem] } });
  cleanups.push(() => dispatcher.close());
});

/** Console sign-in, the proxy without a second password, then the console's sign-out. */
async function signInThenLogOut(): Promise<{ b: Browser; cookie: string }> {
  const b = new Browser(() => ({ base: server!.url, dispatcher }));
  const c = await signIn(b, '/console/login', { name: 'admin', password: ADMIN_PASSWORD }, server!.url);
  assert.equal(c.callback.status, 302, c.callback.body.slice(0, 300));
  const proxied = await signIn(b, '/echo/', undefined, proxyUrl, '/oauth2/callback');
  assert.equal(proxied.typedPassword, false, 'one sign-in at the issuer serves the standalone proxy');
  const who = await b.request(`${proxyUrl}/echo/who`, { headers: { accept: 'text/html' } });
  assert.equal(who.status, 200, who.body.slice(0, 200));
  assert.equal((JSON.parse(who.body) as { user: string }).user, 'local:admin');
  const cookie = b.cookies.find((x) => x.name === '_kaas_sso')!.value;
  const session = JSON.parse((await b.request('/console/api/session')).body) as { csrfToken: string };
  const out = await b.request('/console/logout', {
    method: 'POST',
    headers: { 'x-csrf-token': session.csrfToken },
  });
  assert.equal(out.status, 200, out.body);
  return { b, cookie };
}

test('without --oidc-backchannel-ca: a warning naming the flag, no crash; the proxy is not told', async () => {
  const { b, cookie } = await signInThenLogOut();
  await waitFor('the issuer to log the failed call-back', () =>
    /back-channel logout failed/.test(server!.log()),
  );
  const line = server!
    .log()
    .split('\n')
    .find((l) => l.includes('back-channel logout failed'))!;
  const logged = JSON.parse(line) as { level: string; client: string; error: string; hint: string };
  assert.equal(logged.level, 'warn');
  assert.equal(logged.client, 'sso-standalone');
  assert.match(logged.hint, /--oidc-backchannel-ca FILE/);
  assert.equal(server!.child.exitCode, null, 'the server keeps running');
  assert.equal((await b.request('/console/api/info')).status, 200);
  // what the flag is for: the proxy never heard of the logout, so its cookie still works
  assert.equal(b.cookies.find((x) => x.name === '_kaas_sso')?.value, cookie);
  const still = await b.request(`${proxyUrl}/echo/who`, { headers: { accept: 'text/html' } });
  assert.equal(still.status, 200);
});

test('with --oidc-backchannel-ca: the standalone proxy gets the logout token and refuses the old cookie', async () => {
  assert.equal(await server!.stop(), 0);
  server = await startServer(['--oidc-backchannel-ca', proxyCaFile]);
  const { b } = await signInThenLogOut();
  await waitFor('the issuer to deliver the logout token', () =>
    /back-channel logout delivered.*sso-standalone/.test(server!.log()),
  );
  assert.doesNotMatch(server.log(), /back-channel logout failed/);
  const after = await b.request(`${proxyUrl}/echo/who`, { headers: { accept: 'text/html' } });
  assert.equal(after.status, 302, after.body.slice(0, 200));
  assert.equal(new URL(after.location!).pathname, '/oidc/auth');
});

test('a --oidc-backchannel-ca file that is not PEM stops the server at start, naming the flag', async () => {
  const notPem = join(dir, 'not-pem.crt');
  await writeFile(notPem, 'not a certificate\n');
  await assert.rejects(
    startKaasServer(join(dir, 'other'), ['--oidc-backchannel-ca', notPem]),
    /--oidc-backchannel-ca .*not-pem\.crt: no PEM certificate in it/,
  );
});

test("an --oidc-client with the console's clientId (kaas-console) stops the server at start", async () => {
  const taken = join(dir, 'taken.yaml');
  await writeFile(
    taken,
    (await readFile(clientFile, 'utf8')).replace('clientId: sso-standalone', 'clientId: kaas-console'),
  );
  await assert.rejects(
    startKaasServer(join(dir, 'other2'), ['--oidc-client', taken]),
    /error: --oidc-client: clientId "kaas-console" is taken by this server's own console or SSO proxy/,
  );
});
