// reconcileExternal over the local cloud's provider (its graph has the same API load balancer and
// floating IP as OpenStack's) with the /readyz probe injected: the conditions it decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { ClusterStatus } from '@kaas/api';
import { MemoryStore } from '@kaas/apiserver';
import { ensurePki } from '@kaas/apiserver';
import { MemoryLedger } from '@kaas/providers';
import { LocalCloud, LocalCloudProvider } from '@kaas/providers/local';
import { testCluster } from '@kaas/providers/testing';
import {
  deleteCloudBackedObjects,
  probeReadyz,
  reconcileExternal,
  tokenReviewWebhookRbac,
  type ProbeResult,
} from './external.ts';
import { waiting, type ConditionValue, type PartCondition } from './conditions.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function pass(
  probe: (url: string) => ProbeResult,
  upkeep?: () => Promise<{ requeueAfterMs?: number }>,
) {
  const cloud = await LocalCloud.open({ store: new MemoryStore() });
  const cluster = testCluster({ uid: '3f6c1a52-0000-4000-8000-0000000000e1' });
  const provider = LocalCloudProvider.forCluster(cloud, cluster);
  const ledger = new MemoryLedger();
  let status: ClusterStatus = {};
  const parts: Record<PartCondition, ConditionValue> = {
    InfrastructureReady: waiting('-'),
    ControlPlaneReady: waiting('-'),
    NodesReady: waiting('-'),
    ServicesReady: waiting('-'),
  };
  const extra: Partial<ClusterStatus> = {};
  const urls: string[] = [];
  const r = await reconcileExternal({
    cluster,
    provider,
    generation: 1,
    status: () => ({ ...status, resources: ledger.entries }),
    ledger: () => ({
      load: () => ledger.load(),
      save: async (e) => {
        await ledger.save(e);
        status = { ...status, resources: e };
      },
    }),
    engine: {},
    signal: new AbortController().signal,
    parts,
    extra,
    probe: async (url) => {
      urls.push(url);
      return probe(url);
    },
    ...(upkeep ? { upkeep } : {}),
  });
  return { r, parts, extra, urls, graph: provider.plan(cluster) };
}

test('infrastructure made, then ControlPlaneReady waits on the API floating IP /readyz and says so', async () => {
  const { r, parts, extra, urls, graph } = await pass(() => ({ ok: false, detail: 'connect ECONNREFUSED' }));
  assert.equal(parts.InfrastructureReady.status, 'True');
  assert.equal(parts.InfrastructureReady.message, `${graph.nodes.length} cloud resources created`);
  assert.equal(urls.length, 1);
  assert.match(urls[0]!, /^https:\/\/198\.1[89]\.\d+\.\d+:6443\/readyz$/);
  assert.equal(parts.ControlPlaneReady.reason, 'Waiting');
  assert.match(parts.ControlPlaneReady.message, /GET https:\/\/.*\/readyz .*answered: connect ECONNREFUSED/);
  assert.equal(parts.NodesReady.message, 'waiting for ControlPlaneReady');
  assert.equal(extra.endpoint, urls[0]!.replace('/readyz', ''));
  assert.equal(r.requeueAfterMs, 15_000);
});

test('an answering /readyz makes ControlPlaneReady True; nodes say what they still need', async () => {
  const { parts } = await pass(() => ({ ok: true, detail: 'HTTP 200 ok' }));
  assert.equal(parts.ControlPlaneReady.status, 'True');
  assert.match(parts.NodesReady.message, /admin credentials \(not wired yet\)/);
});

test('the upkeep (the bootstrap token refresh) runs once the API answers, not before; a sooner requeue wins; its failure does not fail the pass', async () => {
  let calls = 0;
  const soon = async () => {
    calls++;
    return { requeueAfterMs: 2_000 };
  };
  await pass(() => ({ ok: false, detail: 'connect ECONNREFUSED' }), soon);
  assert.equal(calls, 0, 'not while the API does not answer');
  const { r } = await pass(() => ({ ok: true, detail: 'HTTP 200 ok' }), soon);
  assert.equal(calls, 1);
  assert.equal(r.requeueAfterMs, 2_000);
  const late = await pass(
    () => ({ ok: true, detail: 'HTTP 200 ok' }),
    async () => ({ requeueAfterMs: 16 * 3600_000 }),
  );
  assert.equal(late.r.requeueAfterMs, 15_000);
  const broken = await pass(
    () => ({ ok: true, detail: 'HTTP 200 ok' }),
    async () => {
      throw new Error('Secret gone');
    },
  );
  assert.equal(broken.parts.ControlPlaneReady.status, 'True');
  assert.equal(broken.r.requeueAfterMs, 15_000);
});

test('probeReadyz: 200 ok is ready, anything else or nothing is not, with what happened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-readyz-'));
  const pki = await ensurePki(join(dir, 'pki'), ['127.0.0.1']);
  let answer = 200;
  const srv = createServer({ cert: pki.serving.certPem, key: pki.serving.keyPem }, (req, res) => {
    res.statusCode = req.url === '/readyz' ? answer : 404;
    res.end(answer === 200 ? 'ok' : 'etcd not ready');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const signal = new AbortController().signal;
    assert.deepEqual(await probeReadyz(`https://127.0.0.1:${port}/readyz`, signal), {
      ok: true,
      detail: 'HTTP 200 ok',
    });
    answer = 500;
    assert.deepEqual(await probeReadyz(`https://127.0.0.1:${port}/readyz`, signal), {
      ok: false,
      detail: 'HTTP 500 etcd not ready',
    });
    await new Promise((r) => {
      srv.close(r);
      srv.closeAllConnections();
    });
    const down = await probeReadyz(`https://127.0.0.1:${port}/readyz`, signal);
    assert.equal(down.ok, false);
    assert.match(down.detail, /ECONNREFUSED/);
  } finally {
    srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('in-cluster cleanup of a cluster whose API does not answer: reported, not thrown', async () => {
  const r = await deleteCloudBackedObjects(
    { url: 'https://127.0.0.1:9', clientCertPem: '', clientKeyPem: '' },
    { signal: new AbortController().signal, requestTimeoutMs: 2_000 },
  );
  assert.equal(r.reachable, false);
  assert.deepEqual([r.services, r.claims], [[], []]);
  assert.match(r.message, /the cluster's API at https:\/\/127\.0\.0\.1:9 did not answer \(.*ECONNREFUSED/);
});

test("the TokenReview webhook's RBAC: create tokenreviews for the cluster's own identity, nothing else", () => {
  const [role, binding] = tokenReviewWebhookRbac('demo') as [any, any];
  assert.deepEqual(role.rules, [
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  ]);
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects, [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:kaas:apiserver:demo' },
  ]);
});
