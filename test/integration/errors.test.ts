// Bad input gets a clear metav1.Status and changes nothing: malformed bodies, deep nesting,
// wrong types, bad names, oversized bodies (413 without buffering), unsupported media types.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from '../support/apiserver.ts';
import { startTestServer } from '../support/apiserver.ts';
import { ApiServer, MemoryStore } from '@kaas/apiserver';

let ts: TestServer;
let agent: https.Agent;
before(async () => {
  ts = await startTestServer();
  const pki = join(ts.dir, 'pki');
  agent = new https.Agent({
    keepAlive: true,
    ca: await readFile(join(pki, 'ca.crt')),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  });
});
after(async () => {
  agent?.destroy();
  await ts?.stop();
});

interface Res {
  status: number;
  json: any;
}

function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${ts.url}${path}`, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cms = '/api/v1/namespaces/default/configmaps';
const json = { 'Content-Type': 'application/json' };

async function count(): Promise<number> {
  return (await call('GET', cms)).json.items.length;
}

test('malformed bodies are 400 Status and write nothing', async () => {
  const before = await count();
  const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
    [
      'truncated JSON',
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"',
      json,
      400,
      /not valid JSON/,
    ],
    ['not an object', '[1,2,3]', json, 400, /must be a JSON or YAML object/],
    [
      'bad YAML',
      'apiVersion: v1\nkind: [unclosed',
      { 'Content-Type': 'application/yaml' },
      400,
      /not valid YAML/,
    ],
    [
      'two YAML documents',
      'a: 1\n---\nb: 2\n',
      { 'Content-Type': 'application/yaml' },
      400,
      /exactly one YAML document/,
    ],
    [
      'deep nesting',
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      json,
      400,
      /nested deeper/,
    ],
    ['empty body', '', json, 400, /empty/],
    [
      'wrong kind for the endpoint',
      '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}',
      json,
      400,
      /kind in the data \(Secret\)/,
    ],
    [
      'garbage protobuf',
      Buffer.from('k8s\0\x0a\xff\xff\xff'),
      { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
      400,
      /protobuf/,
    ],
  ];
  for (const [what, body, headers, code, msg] of cases) {
    const r = await call('POST', cms, body, headers);
    assert.equal(r.status, code, `${what}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.kind, 'Status', what);
    assert.match(r.json.message, msg, what);
  }
  assert.equal(await count(), before);
});

test('invalid objects are 422 with field causes', async () => {
  const r = await call(
    'POST',
    cms,
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' }, data: { k: 5 } }),
    json,
  );
  assert.equal(r.status, 422);
  assert.equal(r.json.reason, 'Invalid');
  const fields = r.json.details.causes.map((c: { field: string }) => c.field);
  assert.ok(fields.includes('metadata.name'), JSON.stringify(r.json));
  assert.ok(
    fields.some((f: string) => f.startsWith('data')),
    JSON.stringify(r.json),
  );
  const noName = await call(
    'POST',
    cms,
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
    json,
  );
  assert.equal(noName.status, 422);
});

test('a body over 3 MiB is 413 and the connection is dropped rather than drained', async () => {
  const big = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'big' },
    data: { k: 'x'.repeat(4 * 1024 * 1024) },
  });
  const r = await call('POST', cms, big, json).catch((e: Error) => ({ status: -1, json: e.message }));
  // Either the 413 arrives before the socket closes, or the client sees the reset: never a 201.
  assert.ok(r.status === 413 || r.status === -1, `got ${r.status}`);
  if (r.status === 413) assert.equal(r.json.reason, 'RequestEntityTooLarge');
  assert.equal((await call('GET', `${cms}/big`)).status, 404);
});

test('unsupported media types are 415, unknown resources 404, bad verbs 405', async () => {
  const r = await call('POST', cms, '<xml/>', { 'Content-Type': 'application/xml' });
  assert.equal(r.status, 415);
  const p = await call('PATCH', `${cms}/whatever`, '{}', { 'Content-Type': 'application/cbor-patch' });
  assert.equal(p.status, 415);
  // server-side apply is served: without a fieldManager it is a bad request, as upstream
  const apply = await call('PATCH', `${cms}/whatever`, '{}', {
    'Content-Type': 'application/apply-patch+yaml',
  });
  assert.equal(apply.status, 400);
  assert.equal((await call('GET', '/api/v1/nosuchthings')).status, 404);
  assert.equal((await call('GET', '/apis/nosuch.group/v1/things')).status, 404);
  assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps?limit=abc')).status, 400);
  assert.equal(
    (await call('GET', '/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(')).status,
    400,
  );
  const acc = await call('GET', cms, undefined, { Accept: 'text/html' });
  assert.equal(acc.status, 406);
});

test('conflicts: stale update 409, create twice 409 AlreadyExists, expired continue 410', async () => {
  const c = await call(
    'POST',
    cms,
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cc' } }),
    json,
  );
  assert.equal(c.status, 201);
  const again = await call(
    'POST',
    cms,
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cc' } }),
    json,
  );
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, 'AlreadyExists');
  const upd = { ...c.json, data: { a: '1' } };
  assert.equal((await call('PUT', `${cms}/cc`, JSON.stringify(upd), json)).status, 200);
  const stale = await call('PUT', `${cms}/cc`, JSON.stringify({ ...c.json, data: { a: '2' } }), json);
  assert.equal(stale.status, 409);
  assert.equal(stale.json.reason, 'Conflict');
  for (let i = 0; i < 5; i++)
    await call(
      'POST',
      cms,
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `pg-${i}` } }),
      json,
    );
  const page = await call('GET', `${cms}?limit=2`);
  assert.ok(page.json.metadata.continue);
  await call(
    'POST',
    cms,
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-page' } }),
    json,
  );
  await ts.kv.compact(await ts.kv.currentRevision());
  const gone = await call(
    'GET',
    `${cms}?limit=2&continue=${encodeURIComponent(page.json.metadata.continue)}`,
  );
  assert.equal(gone.status, 410);
  assert.equal(gone.json.reason, 'Expired');
});

test('pagination walks every object exactly once at one revision', async () => {
  for (let i = 0; i < 23; i++)
    await call(
      'POST',
      '/api/v1/namespaces/kube-public/configmaps',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `p-${String(i).padStart(2, '0')}` },
      }),
      json,
    );
  const names: string[] = [];
  let cont = '';
  let rv = '';
  do {
    const r = await call(
      'GET',
      `/api/v1/namespaces/kube-public/configmaps?limit=5${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
    );
    assert.equal(r.status, 200);
    names.push(...r.json.items.map((i: any) => i.metadata.name));
    rv ||= r.json.metadata.resourceVersion;
    assert.equal(r.json.metadata.resourceVersion, rv, 'every page is served at the first page revision');
    // Writes during pagination are not seen by later pages.
    await call(
      'POST',
      '/api/v1/namespaces/kube-public/configmaps',
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'z-' } }),
      json,
    );
    cont = r.json.metadata.continue ?? '';
  } while (cont);
  assert.equal(names.length, 23);
  assert.equal(new Set(names).size, 23);
});

test('metrics expose request latency histograms per verb and resource', async () => {
  const r = await call('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(
    r.json,
    /apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="POST",group="",version="v1",resource="configmaps"/,
  );
  assert.match(r.json, /apiserver_request_total\{[^}]*verb="POST"[^}]*code="201"\}/);
});

test('over the in-flight limit: 429 with Retry-After, and nothing half-written', async () => {
  // Creates wait at a gate, so the first two hold their slots while the rest arrive.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const kv = new MemoryStore();
  const create = kv.create.bind(kv);
  kv.create = async (key, value) => {
    if (key.includes('/burst-')) await gate;
    return create(key, value);
  };
  const limited = new ApiServer({
    kv,
    anonymousAs: { username: 'admin', groups: ['system:masters'] },
    maxInFlight: { mutating: 2 },
  });
  const addr = await limited.listen('127.0.0.1', 0);
  const base = `http://127.0.0.1:${addr.port}/api/v1/namespaces/default/configmaps`;
  try {
    const post = (i: number) =>
      fetch(base, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `burst-${i}` } }),
      });
    const pending = Array.from({ length: 40 }, (_, i) => post(i));
    setTimeout(open, 500);
    const results = await Promise.all(pending);
    const turnedAway = results.filter((r) => r.status === 429);
    assert.ok(turnedAway.length > 0, 'some requests were turned away');
    assert.equal(turnedAway[0]!.headers.get('retry-after'), '1');
    assert.equal(((await turnedAway[0]!.json()) as { reason: string }).reason, 'TooManyRequests');
    const created = results.filter((r) => r.status === 201).length;
    assert.equal(created + turnedAway.length, 40);
    const list = (await (await fetch(base)).json()) as { items: { metadata: { name: string } }[] };
    assert.equal(list.items.filter((i) => i.metadata.name.startsWith('burst-')).length, created);
  } finally {
    await limited.close();
  }
});
