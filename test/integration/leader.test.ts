// Two API servers on one store: only the Lease holder runs the garbage collector; when it goes,
// the other takes over and collects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer, MemoryStore } from '@kaas/apiserver';

const admin = { username: 'admin', groups: ['system:masters'] };

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('one leader at a time; the other takes over and runs the garbage collector', async () => {
  const kv = new MemoryStore();
  const opts = { kv, anonymousAs: admin, leaseDurationMs: 1000, leaseRetryMs: 100 };
  const a = new ApiServer(opts);
  const b = new ApiServer(opts);
  const pa = (await a.listen('127.0.0.1', 0)).port;
  const pb = (await b.listen('127.0.0.1', 0)).port;
  try {
    for (let i = 0; i < 20; i++) {
      assert.ok(!(a.leading && b.leading), 'never two leaders');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(a.leading !== b.leading, 'exactly one leads');
    const [leader, follower, followerPort] = a.leading ? [a, b, pb] : [b, a, pa];
    await leader.close();
    await until(() => follower.leading, 'the follower takes over');

    const base = `http://127.0.0.1:${followerPort}/api/v1/namespaces/default/configmaps`;
    const post = (body: object) =>
      fetch(base, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const owner = (await (
      await post({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' } })
    ).json()) as { metadata: { uid: string } };
    await post({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'dep',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }],
      },
    });
    await fetch(`${base}/owner`, { method: 'DELETE' });
    await until(
      async () => (await fetch(`${base}/dep`)).status === 404,
      'the dependent is collected by the new leader',
    );
  } finally {
    await a.close();
    await b.close();
  }
});
