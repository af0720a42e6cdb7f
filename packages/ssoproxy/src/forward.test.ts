// The forwarding path (undici Pool per route) over real HTTP: request bodies (sized, chunked,
// `Expect: 100-continue`), large answers under backpressure, HEAD, an upstream that is down, and a
// client that leaves in the middle of a stream. Sessions are minted with the proxy's secret, as in
// proxy.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startSsoProxy } from './proxy.ts';
import type { SsoProxy } from './proxy.ts';
import { Sealer } from './seal.ts';
import { MemorySessionStore, newSessionId, SessionCodec } from './session.ts';

const SECRET = 'f'.repeat(40);
const BIG = 8 * 1024 * 1024;
let upstream: Server;
/** https, with a certificate from a CA made here */
let tlsUpstream: Server;
let proxy: SsoProxy;
let cookie: string;
const run = promisify(execFile);

/** A P-256 CA and a serving certificate for 127.0.0.1 it signed (openssl, as other tests do). */
async function testPki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-ssoproxy-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const at = (f: string) => join(dir, f);
    await run(
      'openssl',
      ['req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt')]
        .concat(['-subj', '/CN=upstream-ca', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE'])
        .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    );
    await run(
      'openssl',
      ['req', '-new', ...ec, '-keyout', at('srv.key'), '-out', at('srv.csr')].concat([
        '-subj',
        '/CN=127.0.0.1',
      ]),
    );
    await writeFile(at('ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await run(
      'openssl',
      ['x509', '-req', '-in', at('srv.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key')].concat([
        '-CAcreateserial',
        '-out',
        at('srv.crt'),
        '-days',
        '2',
        '-extfile',
        at('ext'),
      ]),
    );
    return {
      caPem: await readFile(at('ca.crt'), 'utf8'),
      certPem: await readFile(at('srv.crt'), 'utf8'),
      keyPem: await readFile(at('srv.key'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** resolves when the upstream's /endless answer is closed by the proxy */
let endlessClosed: Promise<void>;

before(async () => {
  let closed: () => void = () => {};
  endlessClosed = new Promise((r) => (closed = r));
  upstream = createServer((req, res) => {
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = setInterval(() => res.write('tick\n'), 20);
      res.on('close', () => {
        clearInterval(tick);
        closed();
      });
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
      res.end(Buffer.alloc(BIG, 7));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(201, 'Made It', {
        'content-type': 'application/json',
        'x-multi': ['a', 'b'],
        'content-length': String(
          Buffer.byteLength(JSON.stringify({ method: req.method, headers: req.headers, body: '' })) +
            body.length,
        ),
      });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : JSON.stringify({ method: req.method, headers: req.headers, body: body.toString() }),
      );
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const pki = await testPki();
  tlsUpstream = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`tls ${req.url} ${String(req.headers['x-forwarded-user'])}`);
  });
  await new Promise<void>((r) => tlsUpstream.listen(0, '127.0.0.1', r));
  const tlsUp = `https://127.0.0.1:${(tlsUpstream.address() as AddressInfo).port}`;
  // a port nothing listens on: taken and released
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const down = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
  await new Promise((r) => gone.close(r));
  const store = new MemorySessionStore();
  proxy = await startSsoProxy(
    {
      listen: '127.0.0.1:0',
      cookie: { secrets: [SECRET], secure: false },
      oidc: { issuer: 'http://127.0.0.1:1/oidc', clientSecret: 's'.repeat(20) },
      routes: [
        { name: 'down', pathPrefix: '/down/', upstream: down, allowedGroups: ['*'] },
        {
          name: 'tls',
          pathPrefix: '/tls/',
          upstream: `${tlsUp}/base`,
          upstreamCaPem: pki.caPem,
          allowedGroups: ['*'],
        },
        // the same upstream without its CA: the certificate must not be accepted
        { name: 'untrusted', pathPrefix: '/untrusted/', upstream: tlsUp, allowedGroups: ['*'] },
        { name: 'up', pathPrefix: '/', upstream: up, allowedGroups: ['*'] },
      ],
    },
    { store },
  );
  const codec = new SessionCodec({
    sealer: new Sealer([SECRET]),
    store,
    cookieName: '_kaas_sso',
    cookie: { path: '/', secure: false },
    storage: 'auto',
    maxCookieBytes: 4096,
    now: Date.now,
  });
  const t = Date.now();
  const { setCookie } = await codec.encode({
    id: newSessionId(),
    sub: 'u1',
    user: 'local:alice',
    groups: ['ops'],
    accessToken: 'at',
    accessExpiresAtMs: t + 3600_000,
    idTokenExpiresAtMs: t + 3600_000,
    createdAtMs: t,
    expiresAtMs: t + 7200_000,
  });
  cookie = setCookie.slice(0, setCookie.indexOf(';'));
});

after(async () => {
  await proxy.close();
  for (const s of [upstream, tlsUpstream]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Answer {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** node:http, so that the body can be sent in pieces (chunked) and Expect can be set. */
function send(
  method: string,
  path: string,
  o: { headers?: Record<string, string>; pieces?: string[] } = {},
): Promise<Answer> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: Number(port), method, path, headers: { cookie, ...o.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    const pieces = o.pieces ?? [];
    if (o.headers?.expect) req.on('continue', () => req.end(pieces.join('')));
    else {
      for (const p of pieces) req.write(p);
      req.end();
    }
  });
}

describe('forwarding', () => {
  test('a sized POST body arrives whole; status, reason phrase and repeated headers come back', async () => {
    const a = await send('POST', '/echo', {
      headers: { 'content-type': 'text/plain', 'content-length': '11' },
      pieces: ['hello world'],
    });
    assert.equal(a.status, 201);
    assert.equal(a.statusMessage, 'Made It');
    const got = JSON.parse(a.body.toString()) as {
      method: string;
      body: string;
      headers: IncomingHttpHeaders;
    };
    assert.equal(got.method, 'POST');
    assert.equal(got.body, 'hello world');
    assert.equal(got.headers['x-forwarded-user'], 'local:alice');
    assert.equal(got.headers.cookie, undefined, 'our cookie never reaches the upstream');
    const multi = a.rawHeaders.flatMap((v, i) =>
      i % 2 === 0 && v.toLowerCase() === 'x-multi' ? [a.rawHeaders[i + 1]] : [],
    );
    assert.deepEqual(multi.join(',').split(/,\s*/), ['a', 'b']);
  });

  test('a chunked body (no length) arrives whole', async () => {
    const a = await send('PUT', '/echo', { pieces: ['one ', 'two ', 'three'] });
    const got = JSON.parse(a.body.toString()) as {
      method: string;
      body: string;
      headers: IncomingHttpHeaders;
    };
    assert.equal(got.method, 'PUT');
    assert.equal(got.body, 'one two three');
    // chunked, or a length when the whole body was already in (undici looks before it sends)
    assert.ok(
      got.headers['transfer-encoding'] === 'chunked' || got.headers['content-length'] === '13',
      JSON.stringify(got.headers),
    );
  });

  test('Expect: 100-continue is answered by the proxy and the body still arrives', async () => {
    const a = await send('POST', '/echo', {
      headers: { expect: '100-continue', 'content-length': '4' },
      pieces: ['data'],
    });
    assert.equal(a.status, 201);
    const got = JSON.parse(a.body.toString()) as { body: string; headers: IncomingHttpHeaders };
    assert.equal(got.body, 'data');
    assert.equal(got.headers.expect, undefined);
  });

  test('HEAD gets the head only', async () => {
    const a = await send('HEAD', '/echo');
    assert.equal(a.status, 201);
    assert.equal(a.body.length, 0);
    assert.ok(Number(a.headers['content-length']) > 0);
  });

  test('8 MiB come through intact (backpressure both ways)', async () => {
    const a = await send('GET', '/big');
    assert.equal(a.status, 200);
    assert.equal(a.body.length, BIG);
    assert.equal(
      createHash('sha256').update(a.body).digest('hex'),
      createHash('sha256').update(Buffer.alloc(BIG, 7)).digest('hex'),
    );
  });

  test('an https upstream: its own CA is trusted, the base path kept; without that CA, 502', async () => {
    const a = await send('GET', '/tls/x?y=1');
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'tls /base/tls/x?y=1 local:alice');
    const b = await send('GET', '/untrusted/x', { headers: { accept: 'text/html' } });
    assert.equal(b.status, 502);
    assert.match(b.body.toString(), /untrusted<\/strong> is not answering/);
  });

  test('an upstream that is down: 502 page, and the proxy keeps serving', async () => {
    const a = await send('GET', '/down/x', { headers: { accept: 'text/html' } });
    assert.equal(a.status, 502);
    assert.match(a.body.toString(), /down<\/strong> is not answering/);
    assert.equal((await send('GET', '/echo')).status, 201);
  });

  test('a client that leaves in the middle of a stream closes the upstream request', async () => {
    const { port } = new URL(proxy.url);
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: Number(port), path: '/endless', headers: { cookie } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
      req.end();
    });
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('upstream still streaming')), 5000),
    );
    await Promise.race([endlessClosed, timeout]);
  });
});
