import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '@kaas/apiserver';
import { deploy, destroy } from '../engine.ts';
import { ownershipTags } from '../contract.ts';
import { MemoryLedger } from '../ledger.ts';
import { testCluster } from '../testing.ts';
import { LocalCloud } from './localCloud.ts';
import { LocalCloudProvider } from './localCloudProvider.ts';
import { ServiceLoadBalancers } from './serviceLoadBalancers.ts';

test('a Service load balancer: one per Service, on the external network, tagged with its cluster', async () => {
  const store = new MemoryStore();
  const cloud = await LocalCloud.open({ store });
  const lbs = new ServiceLoadBalancers({ cloud, clusterUid: (c) => (c === 'demo' ? 'uid-demo' : undefined) });
  const web = { cluster: 'demo', namespace: 'default', name: 'web' };
  const a = await lbs.ensure(web, [80]);
  assert.match(a, /^198\.1[89]\./);
  assert.equal(await lbs.ensure(web, [80]), a, 'idempotent');
  const b = await lbs.ensure({ ...web, name: 'api' }, [443]);
  assert.notEqual(b, a, 'two Services, two addresses');
  assert.equal(cloud.count(ownershipTags('uid-demo')), 2, 'owned by the cluster');
  assert.deepEqual(
    lbs
      .list()
      .map((r) => r.name)
      .sort(),
    ['api', 'web'],
  );
  // a reopened cloud (a restart) finds the same record
  const again = new ServiceLoadBalancers({
    cloud: await LocalCloud.open({ store }),
    clusterUid: () => 'uid-demo',
  });
  assert.equal(await again.ensure(web, [80]), a);
  await assert.rejects(lbs.ensure({ ...web, cluster: 'other' }, [80]), /no Cluster owns this local cluster/);
  await lbs.release(web);
  await lbs.release(web);
  assert.deepEqual(
    lbs.list().map((r) => r.name),
    ['api'],
  );
});

test("a cluster's destroy removes its Services' load balancers (found by the cluster's tag)", async () => {
  const cloud = await LocalCloud.open({ store: new MemoryStore() });
  const cluster = testCluster({ pools: [{ name: 'workers', replicas: 1 }] });
  const uid = cluster.metadata.uid!;
  const provider = LocalCloudProvider.forCluster(cloud, cluster);
  const ledger = new MemoryLedger();
  const made = await deploy(provider.plan(cluster), provider, ledger);
  assert.ok(made.ok, JSON.stringify(made.failures));
  const lbs = new ServiceLoadBalancers({ cloud, clusterUid: () => uid });
  await lbs.ensure({ cluster: 'x', namespace: 'default', name: 'web' }, [80]);
  const before = cloud.count(ownershipTags(uid));
  assert.equal(before, (await ledger.load()).length + 1, 'the ledger does not hold it');
  const result = await destroy(ledger, provider, { clusterUid: uid });
  assert.ok(result.ok, JSON.stringify(result.failures));
  assert.equal(cloud.count(ownershipTags(uid)), 0, 'nothing of the cluster is left');
  assert.deepEqual(lbs.list(), []);
});
