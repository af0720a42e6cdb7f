import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, openStore } from '@kaas/apiserver';
import {
  ownershipTags,
  type CloudError,
  type ServerOutputs,
  type GraphNode,
  type Inputs,
  type ObservedResource,
} from '../contract.ts';
import { testCluster } from '../testing.ts';
import { LocalCloud } from './localCloud.ts';
import { LocalCloudProvider } from './localCloudProvider.ts';

const uid = 'uid-local-1';

async function setup(settings: ConstructorParameters<typeof LocalCloudProvider>[0]['settings'] = {}) {
  const cloud = await LocalCloud.open({ store: new MemoryStore() });
  const provider = new LocalCloudProvider({ cloud, settings: { latencyScale: 0, ...settings } });
  return { cloud, provider };
}

/** Ensures every node in order (no engine): the provider alone. */
async function ensureAll(provider: LocalCloudProvider, nodes: GraphNode[]): Promise<Inputs> {
  const out: Inputs = {};
  for (const node of nodes) {
    const r = await provider.ensure(node, out, ownershipTags(uid, node.id));
    out[node.id] = { type: node.type, cloudId: r.cloudId, tags: {}, outputs: r.outputs } as ObservedResource;
  }
  return out;
}

test('plan: the OpenStack-shaped graph, dependencies inside it, stable node names', () => {
  const cluster = testCluster({ uid, controlPlane: 3, pools: [{ name: 'workers', replicas: 2 }] });
  const provider = new LocalCloudProvider({ cloud: undefined as unknown as LocalCloud, rootVolumes: true });
  const graph = provider.plan(cluster);
  const ids = graph.nodes.map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const n of graph.nodes) for (const d of n.dependsOn) assert.ok(ids.includes(d), `${n.id} -> ${d}`);
  const count = (type: string) => graph.nodes.filter((n) => n.type === type).length;
  assert.equal(count('server'), 5);
  assert.equal(count('volume'), 5);
  assert.equal(count('dnsRecord'), 6, 'one per node plus the API');
  assert.equal(count('securityGroup'), 2);
  assert.equal(count('loadBalancer'), 1);
  assert.ok(ids.includes('server/workers-0') && ids.includes('server/control-plane-2'));
  const cp = graph.nodes.find((n) => n.id === 'server/control-plane-0');
  assert.ok(cp?.dependsOn.includes('loadBalancer/api'), 'control plane joins the API load balancer');
  assert.ok(cp);
  assert.equal(graph.clusterUid, uid);
  const again = provider.plan(cluster);
  assert.deepEqual(again, graph, 'plan is pure and stable');
  const name = cp.type === 'server' ? cp.spec.name : '';
  assert.match(name, /^demo-control-plane-[a-z0-9]{5}$/);
});

test('ensure creates tagged resources, allocates addresses and DNS, and is idempotent', async () => {
  const { cloud, provider } = await setup();
  const graph = provider.plan(testCluster({ uid, pools: [{ name: 'workers', replicas: 3 }] }));
  const out = await ensureAll(provider, graph.nodes);
  assert.equal(cloud.count(ownershipTags(uid)), graph.nodes.length);
  const servers = Object.values(out).filter((o) => o.type === 'server');
  const ips = servers.map((s) => (s.type === 'server' ? s.outputs.ip : ''));
  const vip = out['loadBalancer/api']?.type === 'loadBalancer' ? out['loadBalancer/api'].outputs.vip : '';
  assert.equal(new Set([...ips, vip]).size, 5, 'addresses are unique');
  for (const ip of [...ips, vip]) assert.match(ip, /^10\.0\.0\.\d+$/);
  const w = servers.find((s) => s.type === 'server' && s.outputs.pool === 'workers');
  assert.ok(w?.type === 'server');
  assert.equal(w.outputs.vcpus, 4, 'medium machine type');
  assert.equal(w.outputs.memoryGiB, 8);
  assert.equal(w.outputs.status, 'ACTIVE');
  const dns = out['dnsRecord/workers-0'];
  assert.ok(dns?.type === 'dnsRecord');
  assert.match(dns.outputs.fqdn, /^demo-workers-[a-z0-9]{5}\.default\.kaas\.local\.$/);
  const apiDns = out['dnsRecord/api'];
  const fip = out['floatingIp/api'];
  assert.ok(apiDns?.type === 'dnsRecord' && fip?.type === 'floatingIp');
  assert.equal(apiDns.outputs.address, fip.outputs.address);

  const node = graph.nodes.find((n) => n.id === 'server/workers-1');
  assert.ok(node);
  const again = await provider.ensure(node, out, ownershipTags(uid, node.id));
  assert.equal(again.cloudId, out['server/workers-1']?.cloudId);
  assert.equal(again.adopted, true);
  assert.equal(cloud.count(ownershipTags(uid)), graph.nodes.length, 'no duplicate');

  const found = await provider.findByTags(ownershipTags(uid, 'server/workers-1'));
  assert.deepEqual(
    found.map((f) => f.cloudId),
    [again.cloudId],
  );
  const observed = await provider.observe('server', again.cloudId);
  assert.equal(observed?.tags['kaas.dev/cluster-uid'], uid);
});

test('delete: 404 is done, a resource in use is a retryable Conflict', async () => {
  const { cloud, provider } = await setup();
  const graph = provider.plan(testCluster({ uid }));
  const out = await ensureAll(provider, graph.nodes);
  const net = out['network/nodes'];
  assert.ok(net);
  await assert.rejects(provider.delete('network', net.cloudId), (err: CloudError) => {
    assert.equal(err.code, 'Conflict');
    assert.equal(err.retryable, true);
    assert.match(err.message, /in use by subnet/);
    return true;
  });
  await provider.delete('network', 'no-such-id');
  const order = [...graph.nodes].reverse();
  for (const n of order) {
    const o = out[n.id];
    if (o) await provider.delete(n.type, o.cloudId);
  }
  assert.equal(cloud.count(), 0);
  assert.equal(await provider.observe('network', net.cloudId), undefined);
});

test('quotas: a server over the limit is QuotaExceeded, user-fixable, naming the quota and shortfall', async () => {
  const { cloud, provider } = await setup({ quotas: { instances: 2, vcpus: 100 } });
  const graph = provider.plan(testCluster({ uid, pools: [{ name: 'workers', replicas: 3 }] }));
  const report = provider.preflight(graph);
  assert.equal(report.ok, false);
  assert.equal(report.requested.instances, 4);
  const q = report.problems.find((p) => p.quota?.quota === 'instances');
  assert.deepEqual(q?.quota, { quota: 'instances', limit: 2, used: 0, requested: 4, shortBy: 2 });
  assert.ok(!report.problems.some((p) => p.quota?.quota === 'vcpus'), 'vcpus fit: 16 of 100');

  await assert.rejects(ensureAll(provider, graph.nodes), (err: CloudError) => {
    assert.equal(err.code, 'QuotaExceeded');
    assert.equal(err.userFixable, true);
    assert.equal(err.retryable, false);
    assert.deepEqual(err.quota, { quota: 'instances', limit: 2, used: 2, requested: 1, shortBy: 1 });
    assert.match(err.message, /instances.*short by 1/);
    assert.match(err.cloudMessage ?? '', /Quota exceeded for instances/);
    return true;
  });
  assert.equal(cloud.list({ type: 'server' }).length, 2);
});

test('preflight: unknown machine types and a subnet too small are named', async () => {
  const { provider } = await setup();
  const cluster = testCluster({ uid, pools: [{ name: 'big', replicas: 1, machineType: 'huge' }] });
  cluster.spec.network.nodeCIDR = '10.0.0.0/29';
  const report = await provider.preconfigure(provider.plan(cluster));
  assert.equal(report.ok, false);
  assert.ok(report.problems.some((p) => p.code === 'InvalidSpec' && p.resource === 'server/big-0'));
  assert.ok(report.problems.some((p) => p.code === 'InvalidSpec' && p.resource === 'subnet/nodes'));
});

test('faults: errors are retryable CloudUnavailable; a lost response still creates the resource', async () => {
  // Draws: fault kind (0 < errorRate), then lost (0 < 0.5), then latency.
  const draws = [0, 0, 0];
  const { cloud, provider } = await setup({ faults: { errorRate: 0.5 } });
  const lossy = new LocalCloudProvider({
    cloud,
    settings: provider.settings,
    random: () => draws.shift() ?? 0.99,
  });
  const node = provider.plan(testCluster({ uid })).nodes[0];
  assert.ok(node);
  await assert.rejects(lossy.ensure(node, {}, ownershipTags(uid, node.id)), (err: CloudError) => {
    assert.equal(err.code, 'CloudUnavailable');
    assert.equal(err.retryable, true);
    return true;
  });
  assert.equal(cloud.count(ownershipTags(uid, node.id)), 1, 'made although the call failed');
  const retry = await lossy.ensure(node, {}, ownershipTags(uid, node.id));
  assert.equal(retry.adopted, true);
  assert.equal(cloud.count(ownershipTags(uid, node.id)), 1);

  const always = await setup({ faults: { errorRate: 1, timeoutRate: 0 } });
  await assert.rejects(always.provider.findByTags({}), /503/);
});

test('faults: a timed-out call hangs until the caller aborts it, then fails with Timeout', async () => {
  const { provider } = await setup({ faults: { errorRate: 0, timeoutRate: 1 } });
  const started = Date.now();
  await assert.rejects(
    provider.observe('network', 'x', { signal: AbortSignal.timeout(30) }),
    (err: CloudError) => err.code === 'Timeout' && err.retryable,
  );
  const took = Date.now() - started;
  assert.ok(took >= 25 && took < 2000, `hung ${took} ms`);
});

test('latency: VM boot takes vmBootSeconds x latencyScale and observe reports BUILD until then', async () => {
  const { provider } = await setup({ latencyScale: 0.01, vmBootSeconds: 10 });
  const graph = provider.plan(testCluster({ uid }));
  const started = Date.now();
  await ensureAll(
    provider,
    graph.nodes.filter((n) => n.id !== 'server/workers-1' && n.id !== 'dnsRecord/workers-1'),
  );
  const took = Date.now() - started;
  // 2 servers boot in sequence: 2 x 100 ms, plus 12 calls of 0.5-5 ms.
  assert.ok(took >= 200 && took < 1500, `took ${took} ms`);

  const node = graph.nodes.find((n) => n.id === 'server/workers-1');
  assert.ok(node);
  await assert.rejects(
    provider.ensure(node, {}, ownershipTags(uid, node.id), { signal: AbortSignal.timeout(1) }),
    /input subnet\/nodes missing|aborted|timeout/i,
  );
  const inputs = Object.fromEntries(
    (await provider.findByTags(ownershipTags(uid))).map((o) => [o.tags['kaas.dev/resource-id'], o]),
  );
  const booting = provider.ensure(node, inputs, ownershipTags(uid, node.id));
  await new Promise((r) => setTimeout(r, 30));
  const mid = await provider.findByTags(ownershipTags(uid, node.id));
  assert.equal(mid[0]?.type === 'server' ? mid[0].outputs.status : '', 'BUILD');
  const done = await booting;
  assert.equal((done.outputs as ServerOutputs).status, 'ACTIVE');
});

test('state survives closing and reopening a SQLite store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-localcloud-'));
  try {
    const path = join(dir, 'state.db');
    let store = await openStore({ kind: 'sqlite', path });
    let cloud = await LocalCloud.open({ store });
    let provider = new LocalCloudProvider({ cloud, settings: { latencyScale: 0 } });
    const graph = provider.plan(testCluster({ uid }));
    const out = await ensureAll(provider, graph.nodes);
    const before = cloud
      .list()
      .map((r) => r.cloudId)
      .sort();
    await store.close();

    store = await openStore({ kind: 'sqlite', path });
    cloud = await LocalCloud.open({ store });
    provider = new LocalCloudProvider({ cloud, settings: { latencyScale: 0 } });
    assert.deepEqual(
      cloud
        .list()
        .map((r) => r.cloudId)
        .sort(),
      before,
    );
    assert.equal(cloud.count(ownershipTags(uid)), graph.nodes.length);
    const server = await provider.observe('server', out['server/workers-0']?.cloudId ?? '');
    assert.equal(server?.type === 'server' ? server.outputs.status : '', 'ACTIVE');
    // Addresses taken before the restart stay taken.
    const sub = out['subnet/nodes'];
    assert.ok(sub);
    const ip = cloud.allocateAddress(sub.cloudId, '10.0.0.0/16');
    const taken = cloud.list().map((r) => r.address?.ip);
    assert.ok(!taken.includes(ip));
    for (const n of [...graph.nodes].reverse()) await provider.delete(n.type, out[n.id]?.cloudId ?? '');
    await store.close();
    store = await openStore({ kind: 'sqlite', path });
    cloud = await LocalCloud.open({ store });
    assert.equal(cloud.count(), 0);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('open reads every page of a large cloud back', async () => {
  const store = new MemoryStore();
  const cloud = await LocalCloud.open({ store });
  for (let i = 0; i < 1234; i++) {
    await cloud.insert({
      type: 'network',
      cloudId: cloud.newId(),
      name: `n${i}`,
      tags: ownershipTags(uid, `network/n${i}`),
      uses: [],
      outputs: { name: `n${i}` },
      createdAt: new Date().toISOString(),
    });
  }
  const reopened = await LocalCloud.open({ store });
  assert.equal(reopened.count(ownershipTags(uid)), 1234);
  assert.equal(reopened.list({ type: 'network', tags: ownershipTags(uid, 'network/n1233') }).length, 1);
});
