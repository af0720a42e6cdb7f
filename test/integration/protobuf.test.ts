// Protobuf over HTTP as Go clients use it: protobuf request bodies, protobuf responses for
// get/list, and a protobuf watch stream; custom resources fall back to JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  ApiServer,
  MemoryStore,
  decodeProtobuf,
  decodeWatchEventFrame,
  encodeProtobuf,
} from '@kaas/apiserver';

const pb = 'application/vnd.kubernetes.protobuf';
let server: ApiServer;
let base: string;
before(async () => {
  server = new ApiServer({
    kv: new MemoryStore(),
    anonymousAs: { username: 'admin', groups: ['system:masters'] },
  });
  base = `http://127.0.0.1:${(await server.listen('127.0.0.1', 0)).port}`;
});
after(async () => server?.close());

test('create with a protobuf body and read back as protobuf', async () => {
  const body = encodeProtobuf({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'p1', namespace: 'default' },
    data: { a: 'b' },
  });
  const res = await fetch(`${base}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'Content-Type': pb, Accept: `${pb},application/json` },
    body,
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('content-type'), pb);
  const created = decodeProtobuf(new Uint8Array(await res.arrayBuffer())) as any;
  assert.equal(created.data.a, 'b');
  assert.ok(created.metadata.uid);
  const list = await fetch(`${base}/api/v1/namespaces/default/configmaps`, { headers: { Accept: pb } });
  const decoded = decodeProtobuf(new Uint8Array(await list.arrayBuffer())) as any;
  assert.equal(decoded.kind, 'ConfigMapList');
  assert.deepEqual(
    decoded.items.map((i: any) => i.metadata.name),
    ['p1'],
  );
  // Errors come back as a protobuf Status to a protobuf-only client.
  const missing = await fetch(`${base}/api/v1/namespaces/default/configmaps/nope`, {
    headers: { Accept: pb },
  });
  assert.equal(missing.status, 404);
  assert.equal((decodeProtobuf(new Uint8Array(await missing.arrayBuffer())) as any).reason, 'NotFound');
});

test('a protobuf watch stream delivers length-prefixed WatchEvents', async () => {
  const frames: { type: string; name: string }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const req = http.get(
      `${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0`,
      { headers: { Accept: pb } },
      (res) => {
        assert.match(res.headers['content-type'] ?? '', /application\/vnd.kubernetes.protobuf;stream=watch/);
        let buf = Buffer.alloc(0);
        res.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
            const len = buf.readUInt32BE(0);
            const ev = decodeWatchEventFrame(buf.subarray(0, 4 + len));
            frames.push({ type: ev.type, name: (ev.object as any).metadata.name });
            buf = buf.subarray(4 + len);
            if (frames.length === 2) {
              req.destroy();
              resolve();
            }
          }
        });
      },
    );
    req.on('error', (e) => (frames.length === 2 ? resolve() : reject(e)));
  });
  await new Promise((r) => setTimeout(r, 100));
  await fetch(`${base}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p2' } }),
  });
  await done;
  assert.deepEqual(frames, [
    { type: 'ADDED', name: 'p1' },
    { type: 'ADDED', name: 'p2' },
  ]);
});

test('custom resources answer JSON to a protobuf-first client and refuse protobuf bodies', async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'things.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'things', singular: 'thing', kind: 'Thing' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  const c = await fetch(`${base}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(crd),
  });
  assert.equal(c.status, 201);
  const list = await fetch(`${base}/apis/example.com/v1/namespaces/default/things`, {
    headers: { Accept: `${pb},application/json` },
  });
  assert.equal(list.status, 200);
  assert.equal(list.headers.get('content-type'), 'application/json');
  const bad = await fetch(`${base}/apis/example.com/v1/namespaces/default/things`, {
    method: 'POST',
    headers: { 'Content-Type': pb },
    body: new Uint8Array([0x6b, 0x38, 0x73, 0]),
  });
  assert.equal(bad.status, 415);
});

test('large JSON lists stream in chunks and stay valid JSON with every resourceVersion', async () => {
  const ns = `${base}/api/v1/namespaces/kube-public/configmaps`;
  for (let i = 0; i < 1200; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, j) =>
        fetch(ns, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `big-${i + j}` },
            data: { v: 'x'.repeat(100) },
          }),
        }),
      ),
    );
  }
  const res = await fetch(ns);
  assert.equal(res.headers.get('content-length'), null, 'streamed, not sent in one piece');
  const list = (await res.json()) as {
    kind: string;
    items: { metadata: { name: string; resourceVersion: string } }[];
  };
  assert.equal(list.kind, 'ConfigMapList');
  assert.equal(list.items.length, 1200);
  assert.ok(list.items.every((i) => Number(i.metadata.resourceVersion) > 0));
});
