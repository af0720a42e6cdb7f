// The etcd backend against a real etcd: the shared storage contract on one member, a 3-member
// cluster losing a member mid-write without losing an acknowledged write, and the API server
// itself on etcd driven by kubectl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdStore } from '@kaas/apiserver';
import { runKVContract } from '@kaas/apiserver/testing';
import { UnavailableError } from '@kaas/apiserver';
import type { EtcdCluster } from '../support/etcd.ts';
import { startEtcdCluster } from '../support/etcd.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

const clusters: EtcdCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

let shared: EtcdCluster | undefined;
let n = 0;
runKVContract('etcd', async () => {
  if (!shared) clusters.push((shared = await startEtcdCluster(1)));
  // Each case gets its own key prefix on the shared member.
  const store = await EtcdStore.connect({ endpoints: shared.endpoints, prefix: `/t${n++}` });
  return { store, cleanup: async () => undefined };
});

test('etcd: 3 members, one killed mid-write: no acknowledged write is lost', async () => {
  const c = await startEtcdCluster(3);
  clusters.push(c);
  const store = await EtcdStore.connect({ endpoints: c.endpoints });
  const acked: string[] = [];
  let failures = 0;
  const writer = (async () => {
    for (let i = 0; i < 400; i++) {
      const key = `/ha/k${i}`;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await store.create(key, String(i));
          acked.push(key);
          break;
        } catch (e) {
          // An unacknowledged create may or may not have landed; a retry then sees "exists".
          if ((e as Error).name === 'KeyExistsError') break;
          assert.ok(
            e instanceof UnavailableError,
            `writes fail as UnavailableError, got ${(e as Error).name}`,
          );
          failures++;
        }
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  c.kill(0);
  await writer;
  const remaining = await EtcdStore.connect({ endpoints: c.endpoints.slice(1) });
  const got = new Set((await remaining.range('/ha/')).items.map((i) => i.key));
  const lost = acked.filter((k) => !got.has(k));
  assert.deepEqual(lost, [], `acknowledged writes lost: ${lost.length}`);
  assert.ok(acked.length > 300, `most writes succeed (${acked.length}, ${failures} retried)`);
  await store.close();
  await remaining.close();
});

test('the API server on etcd: kubectl create, get, watch-driven delete', async () => {
  const c = await startEtcdCluster(1);
  clusters.push(c);
  const kv = await EtcdStore.connect({ endpoints: c.endpoints, prefix: '/kaas' });
  const ts = await startTestServer({ kv });
  try {
    const mk = await kubectl(ts.kubeconfig, ['create', 'namespace', 'on-etcd']);
    assert.equal(mk.code, 0, mk.stderr);
    const cm = await kubectl(ts.kubeconfig, [
      '-n',
      'on-etcd',
      'create',
      'configmap',
      'c',
      '--from-literal=a=b',
    ]);
    assert.equal(cm.code, 0, cm.stderr);
    const got = await kubectl(ts.kubeconfig, ['-n', 'on-etcd', 'get', 'cm', 'c', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.stdout, 'b');
    const del = await kubectl(ts.kubeconfig, [
      'delete',
      'namespace',
      'on-etcd',
      '--wait=true',
      '--timeout=30s',
    ]);
    assert.equal(del.code, 0, del.stderr);
  } finally {
    await ts.stop();
  }
});
