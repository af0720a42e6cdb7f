// The forwarding path (undici Pool per route) over real HTTP: request bodies (sized, chunked,
// `Expect: 100-continue`), large answers under backpressure, HEAD, an upstream that is down, and a
// client that leaves in the middle of a stream. Sessions are minted with the proxy's secret, as in
// proxy.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSsoProxy } from './proxy.ts';
import type { SsoProxy } from './proxy.ts';
import { Sealer } from './seal.ts';
import { MemorySessionStore, newSessionId, SessionCodec } from './session.ts';

const SECRET = 'f'.repeat(40);
const BIG = 8 * 1024 * 1024;
let upstream: Server;
let proxy: SsoProxy;
let cookie: string;
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
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
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
