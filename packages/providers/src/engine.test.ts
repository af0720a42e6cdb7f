import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterStatusSchema, LedgerEntrySchema } from '@kaas/api';
import { MemoryStore, openStore } from '@kaas/apiserver';
import {
  CloudError,
  ownershipTags,
  tagKeys,
  type EnsureResult,
  type GraphNode,
  type ObservedResource,
  type Provider,
  type ResourceGraph,
  type ResourceType,
  type Tags,
} from './contract.ts';
import {
  backoffDelayMs,
  deploy,
  destroy,
  type DeployResult,
  type EngineOptions,
  type ProgressEvent,
} from './engine.ts';
import { criticalPath } from './graph.ts';
import { MemoryLedger } from './ledger.ts';
import { LocalCloud } from './local/localCloud.ts';
import { LocalCloudProvider } from './local/localCloudProvider.ts';
import { CrashingLedger, SimulatedCrash, testCluster } from './testing.ts';
import { sleep } from './util.ts';

const fast: EngineOptions = {
  retry: { maxAttempts: 12, baseDelayMs: 2, maxDelayMs: 20 },
  callTimeoutMs: 1000,
};

/**
 * A minimal in-memory cloud for the engine alone: each create takes `delayMs[id]` and records
 * when it ran; `fail` decides an error per call.
 */
class FakeProvider implements Provider {
  readonly type = 'local' as const;
  readonly resources = new Map<string, ObservedResource>();
  readonly spans: { id: string; start: number; end: number }[] = [];
  delayMs: Record<string, number> = {};
  fail: (op: string, id: string) => CloudError | undefined = () => undefined;
  hangFor = new Set<string>();
  /** Ids whose next create is made and then answered with an error (the lost response). */
  loseResponse = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  private next = 0;

  preconfigure(): Promise<never> {
    throw new Error('not used');
  }
  plan(): ResourceGraph {
    throw new Error('not used');
  }
  async ensure(node: GraphNode, _inputs: unknown, tags: Tags): Promise<EnsureResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const start = performance.now();
    try {
      if (this.hangFor.has(node.id)) await new Promise(() => undefined); // ignores any signal
      await sleep(this.delayMs[node.id] ?? 0);
      const err = this.fail('ensure', node.id);
      if (err) throw err;
      // Deliberately not idempotent: the engine alone must prevent duplicates.
      const cloudId = `c${this.next++}`;
      this.resources.set(cloudId, {
        type: node.type,
        cloudId,
        tags,
        outputs: { name: node.id },
      } as ObservedResource);
      if (this.loseResponse.delete(node.id)) throw new CloudError('CloudUnavailable', 'connection reset');
      return { cloudId, outputs: { name: node.id } };
    } finally {
      this.inFlight--;
      this.spans.push({ id: node.id, start, end: performance.now() });
    }
  }
  async observe(_type: ResourceType, cloudId: string): Promise<ObservedResource | undefined> {
    return this.resources.get(cloudId);
  }
  async delete(_type: ResourceType, cloudId: string): Promise<void> {
    const err = this.fail('delete', cloudId);
    if (err) throw err;
    this.resources.delete(cloudId);
  }
  async findByTags(tags: Tags): Promise<ObservedResource[]> {
    return [...this.resources.values()].filter((r) =>
      Object.entries(tags).every(([k, v]) => r.tags[k] === v),
    );
  }
}

function node(id: string, dependsOn: string[] = []): GraphNode {
  return {
    id: `network/${id}`,
    type: 'network',
    dependsOn: dependsOn.map((d) => `network/${d}`),
    spec: { name: id },
  };
}

function graphOf(nodes: GraphNode[]): ResourceGraph {
  return { provider: 'local', clusterUid: 'uid-fake', nodes };
}

async function localSetup(
  settings: ConstructorParameters<typeof LocalCloudProvider>[0]['settings'],
  opts = {},
) {
  const cloud = await LocalCloud.open({ store: new MemoryStore() });
  const provider = new LocalCloudProvider({ cloud, settings, ...opts });
  return { cloud, provider };
}

/** Exactly one cloud resource per graph node, and nothing else with the cluster's tag. */
function assertOnePerNode(cloud: LocalCloud, graph: ResourceGraph): void {
  const all = cloud.list({ tags: ownershipTags(graph.clusterUid) });
  const ids = all.map((r) => r.tags[tagKeys.resourceId]).sort();
  assert.deepEqual(ids, graph.nodes.map((n) => n.id).sort(), 'one resource per node, no duplicate');
}

test('independent branches run concurrently: wall time is the critical path, not the sum', async () => {
  // a -> (b, c, d) -> e; b, c, d take 100 ms each: serial 320+, parallel ~120.
  const p = new FakeProvider();
  p.delayMs = { 'network/a': 10, 'network/b': 100, 'network/c': 100, 'network/d': 100, 'network/e': 10 };
  const g = graphOf([
    node('a'),
    node('b', ['a']),
    node('c', ['a']),
    node('d', ['a']),
    node('e', ['b', 'c', 'd']),
  ]);
  const started = performance.now();
  const r = await deploy(g, p, new MemoryLedger(), fast);
  const wall = performance.now() - started;
  assert.equal(r.ok, true);
  assert.equal(p.maxInFlight, 3);
  const span = (id: string) => {
    const found = p.spans.find((x) => x.id === `network/${id}`);
    assert.ok(found);
    return found;
  };
  for (const [x, y] of [
    ['b', 'c'],
    ['b', 'd'],
    ['c', 'd'],
  ] as const) {
    assert.ok(span(x).start < span(y).end && span(y).start < span(x).end, `${x} and ${y} overlap`);
  }
  assert.ok(span('e').start >= span('b').end, 'e starts after its dependencies');
  // Timing, with room for a loaded machine: the critical path of the measured steps, not their sum.
  const measured = (id: string): number =>
    span(id.slice('network/'.length)).end - span(id.slice('network/'.length)).start;
  const path = criticalPath(g.nodes, measured);
  const sum = g.nodes.reduce((a, n) => a + measured(n.id), 0);
  assert.ok(
    wall < path * 1.5 + 50 && wall < sum * 0.75,
    `wall ${wall.toFixed(0)}, path ${path.toFixed(0)}, sum ${sum.toFixed(0)} ms`,
  );

  const capped = new FakeProvider();
  capped.delayMs = p.delayMs;
  const t0 = performance.now();
  await deploy(g, capped, new MemoryLedger(), { ...fast, concurrency: 1 });
  assert.equal(capped.maxInFlight, 1, 'the concurrency cap holds');
  assert.ok(performance.now() - t0 >= 320);
});

test('local cloud: a whole cluster deploys in about its critical path', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0.01, vmBootSeconds: 10 });
  const graph = provider.plan(
    testCluster({
      uid: 'uid-par',
      pools: [
        { name: 'workers', replicas: 4 },
        { name: 'batch', replicas: 3 },
      ],
    }),
  );
  const took = new Map<string, number>();
  const onProgress = (e: ProgressEvent): void => {
    if (e.phase === 'done') took.set(e.id, e.durationMs ?? 0);
  };
  const started = performance.now();
  const r = await deploy(graph, provider, new MemoryLedger(), { ...fast, onProgress });
  const wall = performance.now() - started;
  assert.equal(r.ok, true, JSON.stringify(r.failures));
  assertOnePerNode(cloud, graph);
  const path = criticalPath(graph.nodes, (id) => took.get(id) ?? 0);
  const sum = [...took.values()].reduce((a, b) => a + b, 0);
  // 8 servers boot 100 ms each: serial would be > 800 ms.
  assert.ok(sum > 800, `sum of steps ${sum.toFixed(0)} ms`);
  assert.ok(wall < path * 1.5 + 50, `wall ${wall.toFixed(0)} ms vs critical path ${path.toFixed(0)} ms`);
  assert.ok(wall < sum / 3, `wall ${wall.toFixed(0)} ms vs serial ${sum.toFixed(0)} ms`);
});

test('ledger protocol: Creating is saved before the create call, Created with the cloud id after', async () => {
  const ledger = new MemoryLedger();
  const p = new FakeProvider();
  const ensure = p.ensure.bind(p);
  p.ensure = async (n, inputs, tags) => {
    const e = ledger.entries.find((x) => x.name === n.id);
    assert.equal(e?.phase, 'Creating', `${n.id} recorded before the call`);
    assert.equal(e.id, undefined);
    assert.deepEqual(tags, ownershipTags('uid-fake', n.id));
    return ensure(n, inputs, tags);
  };
  const r = await deploy(graphOf([node('a'), node('b', ['a'])]), p, ledger, fast);
  assert.equal(r.ok, true);
  assert.deepEqual(
    ledger.entries.map((e) => [e.name, e.kind, e.phase, e.dependsOn, e.provider]),
    [
      ['network/a', 'network', 'Created', [], 'local'],
      ['network/b', 'network', 'Created', ['network/a'], 'local'],
    ],
  );
  assert.ok(ledger.entries.every((e) => e.id !== undefined && p.resources.has(e.id)));
  assert.equal(ledger.saves, 4);

  // A second run changes nothing: it observes what the ledger holds.
  const again = await deploy(graphOf([node('a'), node('b', ['a'])]), p, ledger, fast);
  assert.deepEqual(again.created, []);
  assert.deepEqual(again.adopted.sort(), ['network/a', 'network/b']);
  assert.equal(p.resources.size, 2);
});

test('a crash between the cloud call and the ledger record, at every point, converges with no duplicate and no leak', async () => {
  const cluster = testCluster({ uid: 'uid-crash', pools: [{ name: 'workers', replicas: 2 }] });
  const probe = await localSetup({ latencyScale: 0 });
  const graph = probe.provider.plan(cluster);
  let unrecorded = 0;
  let crashes = 0;
  // Saves are grouped when steps finish together, so their number varies: crash at every other
  // save until a run gets through without crashing.
  for (let crashAfter = 1; ; crashAfter += 2) {
    const { cloud, provider } = await localSetup({ latencyScale: 0.002, vmBootSeconds: 5 });
    const crashing = new CrashingLedger(crashAfter);
    const outcome: DeployResult | Error = await deploy(graph, provider, crashing, fast).catch(
      (err: unknown) => err as Error,
    );
    if (!(outcome instanceof Error)) {
      assert.equal(outcome.ok, true);
      break;
    }
    assert.ok(outcome instanceof SimulatedCrash, outcome.message);
    crashes++;
    // Resources the cloud made whose ids never reached the ledger: the case under test.
    const recorded = new Set(crashing.persisted.map((e) => e.id));
    unrecorded += cloud.list().filter((r) => !recorded.has(r.cloudId)).length;
    const ledger = new MemoryLedger(crashing.persisted);
    const r = await deploy(graph, provider, ledger, fast);
    assert.equal(r.ok, true, `crash after ${crashAfter}: ${JSON.stringify(r.failures)}`);
    assertOnePerNode(cloud, graph);
    assert.ok(ledger.entries.every((e) => e.phase === 'Created'));

    // And a crash in the middle of destroy, then destroy again.
    const destroyCrash = new CrashingLedger(crashAfter % 7, ledger.entries);
    await assert.rejects(
      destroy(destroyCrash, provider, { ...fast, clusterUid: 'uid-crash' }),
      SimulatedCrash,
    );
    const final = new MemoryLedger(destroyCrash.persisted);
    const d = await destroy(final, provider, { ...fast, clusterUid: 'uid-crash' });
    assert.equal(d.ok, true, JSON.stringify(d.failures));
    assert.deepEqual(final.entries, []);
    assert.deepEqual(await provider.findByTags(ownershipTags('uid-crash')), []);
    assert.equal(cloud.count(), 0);
  }
  assert.ok(crashes >= 5, `${crashes} crash points`);
  assert.ok(unrecorded >= 3, `created but unrecorded at ${unrecorded} crash points`);
});

test('a lost ledger (status wiped) still adopts instead of duplicating', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0 });
  const graph = provider.plan(testCluster({ uid: 'uid-lost' }));
  await deploy(graph, provider, new MemoryLedger(), fast);
  const r = await deploy(graph, provider, new MemoryLedger(), fast);
  assert.equal(r.ok, true);
  assert.equal(r.created.length, 0);
  assert.equal(r.adopted.length, graph.nodes.length);
  assertOnePerNode(cloud, graph);
  // Destroy with an empty ledger finds everything by the cluster tag.
  const d = await destroy(new MemoryLedger(), provider, { ...fast, clusterUid: 'uid-lost' });
  assert.equal(d.ok, true);
  assert.equal(d.deleted, graph.nodes.length);
  assert.equal(cloud.count(), 0);
});

test('10% errors and 10% timeouts (lost responses included): deploy and destroy still converge', async () => {
  let adoptedAfterLostResponse = 0;
  for (const seed of [1, 2, 3, 4]) {
    const { cloud, provider } = await localSetup({
      latencyScale: 0.002,
      vmBootSeconds: 5,
      faults: { errorRate: 0.1, timeoutRate: 0.1, seed },
    });
    const graph = provider.plan(
      testCluster({ uid: `uid-faults-${seed}`, pools: [{ name: 'workers', replicas: 6 }] }),
    );
    const events: ProgressEvent[] = [];
    const opts = { ...fast, callTimeoutMs: 40, onProgress: (e: ProgressEvent) => events.push(e) };
    const ledger = new MemoryLedger();
    const r = await deploy(graph, provider, ledger, opts);
    assert.equal(r.ok, true, JSON.stringify(r.failures.map((f) => f.error.message)));
    assertOnePerNode(cloud, graph);
    adoptedAfterLostResponse += r.adopted.length;
    assert.ok(
      events.some((e) => e.phase === 'retrying'),
      'faults happened and were retried',
    );
    const d = await destroy(ledger, provider, { ...opts, clusterUid: `uid-faults-${seed}` });
    assert.equal(d.ok, true, JSON.stringify(d.failures.map((f) => f.error.message)));
    assert.deepEqual(ledger.entries, []);
    assert.equal(cloud.count(), 0);
  }
  assert.ok(adoptedAfterLostResponse > 0, 'some creates lost their response and were adopted');
});

test('quota exceeded: a QuotaExceeded failure naming the quota and shortfall; destroy leaves nothing', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0, quotas: { instances: 2 } });
  const graph = provider.plan(testCluster({ uid: 'uid-quota', pools: [{ name: 'workers', replicas: 3 }] }));
  const preflight = await provider.preconfigure(graph);
  assert.equal(preflight.problems[0]?.quota?.shortBy, 2);
  const ledger = new MemoryLedger();
  const r = await deploy(graph, provider, ledger, { ...fast, concurrency: 1 });
  assert.equal(r.ok, false);
  assert.equal(r.failures.length, 1);
  const f = r.failures[0];
  assert.equal(f?.reason, 'QuotaExceeded');
  assert.equal(f.attempts, 1, 'not retried: retrying cannot raise a quota');
  assert.ok(f.error instanceof CloudError);
  assert.equal(f.error.userFixable, true);
  assert.deepEqual(f.error.quota, { quota: 'instances', limit: 2, used: 2, requested: 1, shortBy: 1 });
  assert.ok(r.blocked.length > 0, 'the run stopped');
  assert.ok(cloud.count() > 0);
  const d = await destroy(ledger, provider, { ...fast, clusterUid: 'uid-quota' });
  assert.equal(d.ok, true);
  assert.deepEqual(ledger.entries, []);
  assert.equal(cloud.count(), 0);
});

test('a non-retryable error stops the run after one attempt; dependents are blocked', async () => {
  const p = new FakeProvider();
  p.fail = (op, id) => (id === 'network/b' ? new CloudError('InvalidSpec', 'no such flavor') : undefined);
  const r = await deploy(
    graphOf([node('a'), node('b', ['a']), node('c', ['b'])]),
    p,
    new MemoryLedger(),
    fast,
  );
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.failures.map((f) => [f.id, f.reason, f.attempts]),
    [['network/b', 'InvalidSpec', 1]],
  );
  assert.deepEqual(r.blocked, ['network/c']);
});

test('retryable errors back off and give up after maxAttempts; a hung call times out', async () => {
  const p = new FakeProvider();
  let calls = 0;
  p.fail = () => {
    calls++;
    return new CloudError('CloudUnavailable', '503');
  };
  const events: ProgressEvent[] = [];
  const r = await deploy(graphOf([node('a')]), p, new MemoryLedger(), {
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 8 },
    onProgress: (e) => events.push(e),
    random: () => 0,
  });
  assert.equal(r.ok, false);
  assert.equal(r.failures[0]?.attempts, 4);
  assert.equal(r.failures[0]?.reason, 'CloudUnavailable');
  assert.equal(calls, 4);
  assert.deepEqual(
    events.map((e) => e.phase),
    ['started', 'retrying', 'retrying', 'retrying', 'failed'],
  );

  const hung = new FakeProvider();
  hung.hangFor.add('network/a');
  const t0 = performance.now();
  const h = await deploy(graphOf([node('a')]), hung, new MemoryLedger(), {
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    callTimeoutMs: 30,
  });
  assert.equal(h.failures[0]?.reason, 'Timeout');
  assert.ok(performance.now() - t0 < 1000, 'a provider ignoring the signal does not hold the run');
});

test('deploy prunes ledger entries that left the graph (a smaller node pool)', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0 });
  const big = provider.plan(testCluster({ uid: 'uid-prune', pools: [{ name: 'workers', replicas: 3 }] }));
  const small = provider.plan(testCluster({ uid: 'uid-prune', pools: [{ name: 'workers', replicas: 1 }] }));
  const ledger = new MemoryLedger();
  await deploy(big, provider, ledger, fast);
  const r = await deploy(small, provider, ledger, fast);
  assert.equal(r.ok, true);
  assert.deepEqual(r.pruned.sort(), [
    'dnsRecord/workers-1',
    'dnsRecord/workers-2',
    'server/workers-1',
    'server/workers-2',
  ]);
  assertOnePerNode(cloud, small);
  assert.equal(ledger.entries.length, small.nodes.length);
});

test('an invalid graph is refused before anything is created', async () => {
  const p = new FakeProvider();
  await assert.rejects(
    deploy(graphOf([node('a', ['b']), node('b', ['a'])]), p, new MemoryLedger(), fast),
    /cycle/,
  );
  await assert.rejects(deploy(graphOf([node('a', ['zz'])]), p, new MemoryLedger(), fast), /not in the graph/);
  assert.equal(p.resources.size, 0);
});

test('destroy deletes dependents first, even with leftovers only the tags know about', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0.001 });
  const graph = provider.plan(testCluster({ uid: 'uid-order' }));
  const ledger = new MemoryLedger();
  await deploy(graph, provider, ledger, fast);
  // Forget a server and a DNS record in the ledger: they hold the subnet and the server.
  ledger.entries = ledger.entries.filter(
    (e) => e.name !== 'server/workers-0' && e.name !== 'dnsRecord/workers-0',
  );
  const order: string[] = [];
  const d = await destroy(ledger, provider, {
    ...fast,
    clusterUid: 'uid-order',
    retry: { maxAttempts: 1 }, // any Conflict (wrong order) would fail the run
    onProgress: (e) => {
      if (e.phase === 'done') order.push(e.id);
    },
  });
  assert.equal(d.ok, true, JSON.stringify(d.failures.map((f) => f.error.message)));
  assert.equal(cloud.count(), 0);
  assert.ok(order.indexOf('dnsRecord/workers-0') < order.indexOf('server/workers-0'));
  assert.ok(order.indexOf('server/workers-0') < order.indexOf('subnet/nodes'));
  assert.ok(order.indexOf('subnet/nodes') < order.indexOf('network/nodes'));
});

test('a crash mid-deploy and a server restart (SQLite closed and reopened): the next run converges', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-engine-'));
  try {
    const path = join(dir, 'state.db');
    const cluster = testCluster({ uid: 'uid-restart', pools: [{ name: 'workers', replicas: 3 }] });
    const settings = { latencyScale: 0.002, vmBootSeconds: 5 };
    let store = await openStore({ kind: 'sqlite', path });
    let provider = LocalCloudProvider.forCluster(await LocalCloud.open({ store }), cluster);
    const graph = provider.plan(cluster);
    provider = new LocalCloudProvider({ cloud: provider.cloud, settings });
    const crashing = new CrashingLedger(graph.nodes.length);
    await assert.rejects(deploy(graph, provider, crashing, fast), SimulatedCrash);
    const made = provider.cloud.count();
    assert.ok(made > 0);
    await store.close();

    store = await openStore({ kind: 'sqlite', path });
    let cloud = await LocalCloud.open({ store });
    assert.equal(cloud.count(), made, 'what the cloud made before the restart is still there');
    provider = new LocalCloudProvider({ cloud, settings });
    const ledger = new MemoryLedger(crashing.persisted);
    const r = await deploy(graph, provider, ledger, fast);
    assert.equal(r.ok, true);
    assert.ok(r.adopted.length > 0);
    assertOnePerNode(cloud, graph);
    const d = await destroy(ledger, provider, { ...fast, clusterUid: 'uid-restart' });
    assert.equal(d.ok, true);
    await store.close();

    store = await openStore({ kind: 'sqlite', path });
    cloud = await LocalCloud.open({ store });
    assert.equal(cloud.count(), 0);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backoff: exponential, capped, jittered between half and all of the step', () => {
  const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, policy, 0)),
    [50, 100, 200, 400, 500, 500],
  );
  assert.equal(backoffDelayMs(3, policy, 0.999999), 399.9998);
  assert.equal(backoffDelayMs(9, policy, 1), 1000);
});

test('cancelling a run aborts the calls in flight and rejects; the next run converges', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0.005, vmBootSeconds: 10 });
  const graph = provider.plan(testCluster({ uid: 'uid-cancel', pools: [{ name: 'workers', replicas: 3 }] }));
  const ledger = new MemoryLedger();
  const started = performance.now();
  await assert.rejects(
    deploy(graph, provider, ledger, { ...fast, signal: AbortSignal.timeout(40) }),
    /timeout|abort/i,
  );
  assert.ok(performance.now() - started < 2000, 'stopped promptly');
  assert.ok(
    ledger.entries.some((e) => e.phase === 'Creating'),
    'interrupted with creates in flight',
  );
  const shutdown = new AbortController(); // e.g. a manager-wide signal that outlives every run
  const r = await deploy(graph, provider, ledger, { ...fast, signal: shutdown.signal });
  assert.equal(r.ok, true);
  assertOnePerNode(cloud, graph);
  assert.equal(getEventListeners(shutdown.signal, 'abort').length, 0, 'a finished run lets go of the signal');
});

test('every ledger the engine saves is a valid Cluster status.resources (the API server would accept it)', async () => {
  const { provider } = await localSetup({ latencyScale: 0 });
  const graph = provider.plan(testCluster({ uid: 'uid-schema', controlPlane: 3 }));
  let saves = 0;
  const validating = new MemoryLedger();
  const save = validating.save.bind(validating);
  validating.save = async (entries) => {
    saves++;
    ClusterStatusSchema.parse({ resources: entries });
    for (const e of entries) LedgerEntrySchema.parse(e);
    return save(entries);
  };
  assert.equal((await deploy(graph, provider, validating, fast)).ok, true);
  assert.equal((await destroy(validating, provider, { ...fast, clusterUid: 'uid-schema' })).ok, true);
  // Creating, Created, Deleting, removed: at most four saves per node, fewer when grouped.
  assert.ok(saves > 0 && saves < graph.nodes.length * 4, `${saves} saves for ${graph.nodes.length} nodes`);
});

test('a resource deleted behind the ledger is made again on the next deploy', async () => {
  const { cloud, provider } = await localSetup({ latencyScale: 0 });
  const graph = provider.plan(testCluster({ uid: 'uid-drift' }));
  const ledger = new MemoryLedger();
  const first = await deploy(graph, provider, ledger, fast);
  const dns = first.resources['dnsRecord/workers-0'];
  const server = first.resources['server/workers-0'];
  assert.ok(dns && server);
  await cloud.remove('dnsRecord', dns.cloudId);
  await cloud.remove('server', server.cloudId);
  const r = await deploy(graph, provider, ledger, fast);
  assert.equal(r.ok, true);
  assert.deepEqual(r.created.sort(), ['dnsRecord/workers-0', 'server/workers-0']);
  assert.notEqual(r.resources['server/workers-0']?.cloudId, server.cloudId);
  assertOnePerNode(cloud, graph);
});

test('destroy does not stall when recorded dependencies and type ranks disagree', async () => {
  const p = new FakeProvider();
  const tags = (id: string) => ownershipTags('uid-fake', id);
  const put = (type: ResourceType, id: string): string => {
    const cloudId = `c-${id}`;
    p.resources.set(cloudId, { type, cloudId, tags: tags(id), outputs: { name: id } } as ObservedResource);
    return cloudId;
  };
  const at = new Date().toISOString();
  // A network recorded as depending on a floating IP (ranks say the opposite), and a leftover
  // server whose rank sits between them.
  const ledger = new MemoryLedger([
    {
      kind: 'floatingIp',
      name: 'floatingIp/x',
      id: put('floatingIp', 'floatingIp/x'),
      provider: 'local',
      phase: 'Created',
      createdAt: at,
    },
    {
      kind: 'network',
      name: 'network/y',
      id: put('network', 'network/y'),
      provider: 'local',
      phase: 'Created',
      dependsOn: ['floatingIp/x'],
      createdAt: at,
    },
  ]);
  put('server', 'server/leftover');
  const d = await destroy(ledger, p, { ...fast, clusterUid: 'uid-fake' });
  assert.equal(d.ok, true, JSON.stringify(d.failures));
  assert.equal(p.resources.size, 0);
  assert.deepEqual(ledger.entries, []);
});

test('with a provider whose ensure is not idempotent, the engine alone prevents duplicates', async () => {
  const nodes = [node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c'])];
  const perNode = (p: FakeProvider) =>
    [...p.resources.values()].map((r) => r.tags[tagKeys.resourceId]).sort();

  // Lost responses within one run: the retry looks the tags up first.
  const lossy = new FakeProvider();
  lossy.loseResponse = new Set(['network/a', 'network/c', 'network/d']);
  const r = await deploy(graphOf(nodes), lossy, new MemoryLedger(), fast);
  assert.equal(r.ok, true);
  assert.deepEqual(r.adopted.sort(), ['network/a', 'network/c', 'network/d']);
  assert.deepEqual(perNode(lossy), ['network/a', 'network/b', 'network/c', 'network/d']);

  // A crash at every save: the next run adopts what the crashed one made.
  for (let crashAfter = 1; crashAfter < nodes.length * 2; crashAfter++) {
    const p = new FakeProvider();
    const crashing = new CrashingLedger(crashAfter);
    await assert.rejects(deploy(graphOf(nodes), p, crashing, fast), SimulatedCrash);
    const again = await deploy(graphOf(nodes), p, new MemoryLedger(crashing.persisted), fast);
    assert.equal(again.ok, true);
    assert.deepEqual(
      perNode(p),
      ['network/a', 'network/b', 'network/c', 'network/d'],
      `crash after ${crashAfter}`,
    );
  }
});
