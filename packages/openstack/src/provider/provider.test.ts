// The provider's pure parts: the plan, tag encodings, quota arithmetic, error wrapping. What the
// services do with them is tested against the services (test/integration/openstack-provider*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDefaults, type Cluster } from '@kaas/api';
import { CloudError, checkGraph, ownershipTags, tagKeys } from '@kaas/providers';
import { planOpenStackCluster, securityGroupRules, ids } from './plan.ts';
import { decodeTags, encodeTag, encodeTags, tagsFromText, tagsToText } from './tags.ts';
import { quotaRequests, servicesFor, shortfalls } from './preflight.ts';
import { neutronRule, nodeError, serverMetadata, serverOutputs } from './openStackProvider.ts';

const uid = '0f0c6c2e-5b1a-4c55-9d0e-3f2b8a4e7d11';

function cluster(cp = 1, workers = 2, extra: Record<string, unknown> = {}): Cluster {
  const c = withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'demo', namespace: 'team-a' },
    spec: {
      provider: {
        type: 'openstack',
        openstack: {
          region: 'RegionOne',
          externalNetwork: 'public',
          image: 'ubuntu-24.04',
          flavors: { controlPlane: 'm1.large', workers: 'm1.xlarge' },
          dnsZone: 'kaas.example.com.',
          ...extra,
        },
      },
      controlPlane: { replicas: cp },
      nodePools: [{ name: 'workers', replicas: workers }],
      auth: { clusterAdminRoleIds: ['admin'] },
      credentialsRef: { name: 'os' },
    },
  } as never);
  c.metadata.uid = uid;
  return c;
}

test('plan: a valid graph with the seed topology, stable, names prefixed by the uid', () => {
  const g = planOpenStackCluster(cluster(3, 2, { availabilityZones: ['az1', 'az2'] }));
  assert.deepEqual(checkGraph(g), []);
  assert.deepEqual(planOpenStackCluster(cluster(3, 2, { availabilityZones: ['az1', 'az2'] })), g);
  const count = (t: string): number => g.nodes.filter((n) => n.type === t).length;
  // network, subnet, router, 2 groups, LB + FIP + DNS; 5 servers, 5 volumes, 5 DNS, 3 CP FIPs, 2 server groups
  assert.equal(count('server'), 5);
  assert.equal(count('volume'), 5);
  assert.equal(count('floatingIp'), 4);
  assert.equal(count('dnsRecord'), 6);
  assert.equal(count('serverGroup'), 2);
  assert.equal(count('loadBalancer'), 1);
  const cp = g.nodes.find((n) => n.id === ids.serverGroup('control-plane'));
  assert.equal(cp?.type === 'serverGroup' && cp.spec.policy, 'anti-affinity');
  const s0 = g.nodes.find((n) => n.id === 'server/control-plane-0');
  assert.ok(s0?.type === 'server');
  assert.deepEqual(s0.spec.loadBalancers, [ids.apiLoadBalancer]);
  assert.equal(s0.spec.machineType, 'm1.large');
  assert.equal(s0.spec.availabilityZone, 'az1');
  assert.equal(s0.spec.bootVolume, 'volume/control-plane-0');
  assert.ok(s0.dependsOn.includes(ids.router));
  const w1 = g.nodes.find((n) => n.id === 'server/workers-1');
  assert.ok(w1?.type === 'server');
  assert.equal(w1.spec.machineType, 'm1.xlarge');
  assert.equal(w1.spec.availabilityZone, 'az1'); // round-robin over all 5 servers: 0,1,0,1,0
  const net = g.nodes.find((n) => n.id === ids.network);
  assert.equal(net?.type === 'network' && net.spec.name, 'demo-0f0c6c2e-nodes');
  const soft = planOpenStackCluster(cluster(1, 1), {
    rootVolumes: false,
    controlPlaneAffinity: 'soft-anti-affinity',
  });
  assert.equal(soft.nodes.filter((n) => n.type === 'volume').length, 0);
  assert.throws(() => planOpenStackCluster({ ...cluster(), metadata: { name: 'x' } }), CloudError);
});

test('security groups: only the ports Kubernetes and Calico need', () => {
  const show = (role: 'controlPlane' | 'worker'): string[] =>
    securityGroupRules(role, '10.0.0.0/16').map(
      (r) => `${r.direction} ${r.protocol} ${r.portMin ?? ''}-${r.portMax ?? ''} ${r.remote}`,
    );
  assert.deepEqual(show('controlPlane'), [
    'ingress tcp 6443-6443 0.0.0.0/0',
    'ingress tcp 2379-2380 self',
    'ingress tcp 10250-10250 10.0.0.0/16',
    'ingress tcp 179-179 10.0.0.0/16',
    'ingress udp 4789-4789 10.0.0.0/16',
    'ingress icmp - 10.0.0.0/16',
    'egress any - 0.0.0.0/0',
  ]);
  assert.deepEqual(show('worker'), [
    'ingress tcp 30000-32767 0.0.0.0/0',
    'ingress udp 30000-32767 0.0.0.0/0',
    'ingress tcp 10250-10250 10.0.0.0/16',
    'ingress tcp 179-179 10.0.0.0/16',
    'ingress udp 4789-4789 10.0.0.0/16',
    'ingress icmp - 10.0.0.0/16',
    'egress any - 0.0.0.0/0',
  ]);
  assert.deepEqual(
    neutronRule('sg1', {
      direction: 'ingress',
      protocol: 'tcp',
      portMin: 2379,
      portMax: 2380,
      remote: 'self',
    }),
    {
      securityGroupId: 'sg1',
      direction: 'ingress',
      protocol: 'tcp',
      portRangeMin: 2379,
      portRangeMax: 2380,
      remoteGroupId: 'sg1',
      description: 'kaas',
    },
  );
  // 0.0.0.0/0 is neutron's "any": the default egress rule is found, not duplicated
  assert.deepEqual(neutronRule('sg1', { direction: 'egress', protocol: 'any', remote: '0.0.0.0/0' }), {
    securityGroupId: 'sg1',
    direction: 'egress',
    description: 'kaas',
  });
});

test('tags: nova-safe strings, text words and metadata keys, and back', () => {
  const tags = ownershipTags(uid, 'serverGroup/control-plane');
  const enc = encodeTags(tags);
  assert.deepEqual(enc, [`kaas.dev:cluster-uid=${uid}`, 'kaas.dev:resource-id=serverGroup:control-plane']);
  for (const t of enc) assert.ok(t.length <= 60 && !t.includes('/') && !t.includes(','), t);
  assert.deepEqual(decodeTags([...enc, 'unrelated']), tags);
  assert.throws(() => encodeTag('k', 'a,b'), /60 characters and no ','/);
  const text = `demo-cp ${tagsToText(tags)}`;
  assert.deepEqual(tagsFromText(text), tags);
  assert.deepEqual(tagsFromText(null), {});
  assert.deepEqual(serverMetadata(tags, { 'kaas.dev/role': 'worker' }), {
    'kaas.dev:cluster-uid': uid,
    'kaas.dev:resource-id': 'serverGroup/control-plane',
    'kaas.dev:role': 'worker',
  });
  assert.equal(tags[tagKeys.resourceId], 'serverGroup/control-plane');
});

test('quotas: what a plan asks of each, and what falls short (-1 unlimited)', () => {
  const g = planOpenStackCluster(cluster(1, 2));
  const flavors = new Map([
    ['m1.large', { vcpus: 4, ram: 8192 }],
    ['m1.xlarge', { vcpus: 8, ram: 16384 }],
  ]);
  const r = quotaRequests(g.nodes, flavors);
  assert.equal(r.instances, 3);
  assert.equal(r.cores, 4 + 16);
  assert.equal(r.ram, 8192 + 2 * 16384);
  assert.equal(r.volumes, 3);
  assert.equal(r.gigabytes, 150);
  assert.equal(r.floatingip, 2);
  assert.equal(r.load_balancer, 1);
  assert.equal(r.security_group, 2);
  assert.equal(r.zone_recordsets, 4);
  assert.deepEqual(
    shortfalls(r, {
      instances: { limit: 4, used: 2 },
      cores: { limit: -1, used: 100 },
      network: { limit: 10, used: 0 },
    }),
    [{ quota: 'instances', limit: 4, used: 2, requested: 3, shortBy: 1 }],
  );
  assert.deepEqual(Object.keys(servicesFor(g.nodes)).sort(), [
    'block-storage',
    'compute',
    'dns',
    'image',
    'load-balancer',
    'network',
  ]);
});

test("errors: the node's id first, the code, the cloud's words and nova's quota numbers kept", () => {
  const nova = new CloudError('QuotaExceeded', 'compute POST /servers: HTTP 403', {
    cloudMessage: 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances',
    status: 403,
  });
  const e = nodeError('server/workers-1', nova) as CloudError;
  assert.equal(e.code, 'QuotaExceeded');
  assert.equal(e.resource, 'server/workers-1');
  assert.match(e.message, /^server\/workers-1: compute POST/);
  assert.deepEqual(e.quota, { quota: 'instances', requested: 1, used: 2, limit: 2, shortBy: 1 });
  const down = nodeError(
    'loadBalancer/api',
    new CloudError('CloudUnavailable', 'ECONNREFUSED'),
  ) as CloudError;
  assert.equal(down.retryable, true);
  const plain = new Error('bug');
  assert.equal(nodeError('x/y', plain), plain);
});

test('server outputs: address, flavor and role from what nova answers', () => {
  const o = serverOutputs({
    id: 's1',
    name: 'demo-workers-abcde',
    status: 'ACTIVE',
    addresses: {
      net: [
        { addr: '10.0.0.7', version: 4, 'OS-EXT-IPS:type': 'fixed' },
        { addr: '203.0.113.9', version: 4, 'OS-EXT-IPS:type': 'floating' },
      ],
    },
    metadata: { 'kaas.dev:role': 'controlPlane', 'kaas.dev:pool': 'control-plane' },
    flavor: { original_name: 'm1.large', vcpus: 4, ram: 8192 } as never,
    image: '',
    key_name: null,
    created: '',
  });
  assert.deepEqual(o, {
    nodeName: 'demo-workers-abcde',
    role: 'controlPlane',
    pool: 'control-plane',
    ip: '10.0.0.7',
    machineType: 'm1.large',
    vcpus: 4,
    memoryGiB: 8,
    status: 'ACTIVE',
  });
});
