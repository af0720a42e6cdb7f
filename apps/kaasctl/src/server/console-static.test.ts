import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveConsoleFile } from './console-static.ts';

let dir: string;
let base: string;
let dist: string;
const server = createServer((req, res) => {
  const p = new URL(req.url ?? '/', 'http://x').pathname;
  void serveConsoleFile(req, res, dist, p.slice('/console/'.length));
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaas-console-static-'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('not built: 503 with the build command', async () => {
  dist = join(dir, 'missing');
  const r = await fetch(`${base}/console/`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /npm run build -w @kaas\/console/);
});

test('built: assets cached for a year, everything else the SPA index (no-cache), no escape', async () => {
  dist = join(dir, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!DOCTYPE html><div id="root"></div>');
  await writeFile(join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'no');
  const asset = await fetch(`${base}/console/assets/app-1234.js`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(asset.headers.get('content-type')!, /^text\/javascript/);
  for (const p of ['/console/', '/console/clusters/demo', '/console/%2e%2e/secret.txt']) {
    const r = await fetch(`${base}${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(await r.text(), /id="root"/, p);
  }
  assert.equal((await fetch(`${base}/console/assets/gone.js`)).status, 404);
  const post = await fetch(`${base}/console/`, { method: 'POST' });
  assert.equal(post.status, 405);
});
