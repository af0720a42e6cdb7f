import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterSchema, type ClusterInput } from './cluster.ts';
import { clusterRuleCatalog, clusterRules, validateCluster } from './validateCluster.ts';
import { effectiveMachineType, logicalClusterName, withDefaults } from './withDefaults.ts';

type Json = Record<string, any>;

function local(): Json {
  return {
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'demo' },
    spec: {
      provider: { type: 'local' },
      nodePools: [{ name: 'workers', replicas: 3 }],
      auth: { clusterAdminRoleIds: ['admins'] },
    },
  };
}

function openstack(): Json {
  const c = local();
  c.spec.provider = {
    type: 'openstack',
    openstack: {
      region: 'RegionOne',
      externalNetwork: 'public',
      image: 'ubuntu-24.04',
      flavors: { controlPlane: 'm1.large', workers: 'm1.xlarge' },
      dnsZone: 'kaas.example.com.',
    },
  };
  c.spec.credentialsRef = { name: 'os' };
  return c;
}

function eks(): Json {
  const c = local();
  c.spec.provider = { type: 'eks', eks: { region: 'us-east-1' } };
  c.spec.kubernetesVersion = '1.32';
  c.spec.credentialsRef = { name: 'aws' };
  return c;
}

interface Case {
  name: string;
  base?: () => Json;
  edit: (c: Json) => void;
  /** Exactly these problems, as `path rule`. */
  expect: string[];
}

const cases: Case[] = [
  { name: 'valid local', edit: () => {}, expect: [] },
  { name: 'valid openstack', base: openstack, edit: () => {}, expect: [] },
  { name: 'valid eks', base: eks, edit: () => {}, expect: [] },
  {
    name: 'IPv6 single stack',
    edit: (c) =>
      (c.spec.network = { podCIDR: 'fd00:10::/56', serviceCIDR: 'fd00:20::/112', nodeCIDR: 'fd00:30::/64' }),
    expect: [],
  },
  { name: 'missing spec', edit: (c) => delete c.spec, expect: ['spec required'] },
  { name: 'wrong kind literal', edit: (c) => (c.kind = 'Clusters'), expect: ['kind enum'] },
  {
    name: 'name not a DNS label',
    edit: (c) => (c.metadata.name = 'My_Cluster'),
    expect: ['metadata.name format'],
  },
  {
    name: 'name too long',
    edit: (c) => (c.metadata.name = 'a'.repeat(33)),
    expect: ['metadata.name maxLength'],
  },
  {
    name: 'unknown spec field',
    edit: (c) => (c.spec.nodepools = []),
    expect: ['spec.nodepools unknownField'],
  },
  {
    name: 'settings of another provider',
    edit: (c) => (c.spec.provider.openstack = {}),
    expect: ['spec.provider.openstack provider'],
  },
  {
    name: 'unknown provider',
    edit: (c) => (c.spec.provider.type = 'gcp'),
    expect: ['spec.provider.type enum'],
  },
  {
    name: 'provider without type',
    edit: (c) => (c.spec.provider = {}),
    expect: ['spec.provider.type required'],
  },
  {
    name: 'even control plane',
    edit: (c) => (c.spec.controlPlane = { replicas: 2 }),
    expect: ['spec.controlPlane.replicas odd'],
  },
  {
    name: 'control plane too big',
    edit: (c) => (c.spec.controlPlane = { replicas: 7 }),
    expect: ['spec.controlPlane.replicas max'],
  },
  {
    name: 'fractional replicas',
    edit: (c) => (c.spec.nodePools[0].replicas = 1.5),
    expect: ['spec.nodePools[0].replicas integer'],
  },
  {
    name: 'zero replicas',
    edit: (c) => (c.spec.nodePools[0].replicas = 0),
    expect: ['spec.nodePools[0].replicas min'],
  },
  { name: 'no pools', edit: (c) => (c.spec.nodePools = []), expect: ['spec.nodePools minItems'] },
  {
    name: 'duplicate pool names',
    edit: (c) => c.spec.nodePools.push({ name: 'workers' }),
    expect: ['spec.nodePools[1].name unique'],
  },
  {
    name: 'reserved pool name',
    edit: (c) => (c.spec.nodePools[0].name = 'control-plane'),
    expect: ['spec.nodePools[0].name reserved'],
  },
  {
    name: 'reserved label prefix',
    edit: (c) => (c.spec.nodePools[0].labels = { 'kaas.dev/pool': 'x' }),
    expect: ['spec.nodePools[0].labels["kaas.dev/pool"] reserved'],
  },
  {
    name: 'bad label value',
    edit: (c) => (c.spec.nodePools[0].labels = { tier: 'not ok' }),
    expect: ['spec.nodePools[0].labels.tier format'],
  },
  {
    name: 'duplicate taint',
    edit: (c) =>
      (c.spec.nodePools[0].taints = [
        { key: 'a', effect: 'NoSchedule' },
        { key: 'a', value: 'x', effect: 'NoSchedule' },
      ]),
    expect: ['spec.nodePools[0].taints[1] unique'],
  },
  {
    name: 'unknown local size',
    edit: (c) => (c.spec.nodePools[0].machineType = 'huge'),
    expect: ['spec.nodePools[0].machineType enum'],
  },
  {
    name: 'EC2 type on eks',
    base: eks,
    edit: (c) => (c.spec.nodePools[0].machineType = 'large'),
    expect: ['spec.nodePools[0].machineType format'],
  },
  {
    name: 'host bits',
    edit: (c) => (c.spec.network = { nodeCIDR: '10.0.0.1/16' }),
    expect: ['spec.network.nodeCIDR cidr'],
  },
  {
    name: 'not a CIDR',
    edit: (c) => (c.spec.network = { podCIDR: '10.244.0.0' }),
    expect: ['spec.network.podCIDR cidr'],
  },
  {
    name: 'pod range overlaps the default service range',
    edit: (c) => (c.spec.network = { podCIDR: '10.96.0.0/16' }),
    expect: ['spec.network.podCIDR cidrOverlap'],
  },
  {
    name: 'two written ranges overlap: the later one is blamed',
    edit: (c) => (c.spec.network = { podCIDR: '10.0.0.0/16', nodeCIDR: '10.0.0.0/20' }),
    expect: ['spec.network.nodeCIDR cidrOverlap'],
  },
  {
    name: 'mixed families: the written range is blamed',
    edit: (c) => (c.spec.network = { podCIDR: 'fd00::/56' }),
    expect: ['spec.network.podCIDR cidrFamily'],
  },
  {
    name: 'mixed families, all written',
    edit: (c) =>
      (c.spec.network = { podCIDR: '10.244.0.0/16', serviceCIDR: 'fd00::/112', nodeCIDR: '10.0.0.0/16' }),
    expect: ['spec.network.serviceCIDR cidrFamily'],
  },
  {
    name: 'pod range too small for the nodes',
    edit: (c) => (c.spec.network = { podCIDR: '10.244.0.0/23' }),
    expect: ['spec.network.podCIDR cidrSize'],
  },
  {
    name: 'pod range smaller than one node range',
    edit: (c) => (c.spec.network = { podCIDR: '10.244.0.0/25' }),
    expect: ['spec.network.podCIDR cidrSize'],
  },
  {
    name: 'service range too large',
    edit: (c) => (c.spec.network = { serviceCIDR: '10.96.0.0/11' }),
    expect: ['spec.network.serviceCIDR cidrSize'],
  },
  {
    name: 'node range too small',
    edit: (c) => (c.spec.network = { nodeCIDR: '10.0.0.0/29' }),
    expect: ['spec.network.nodeCIDR cidrSize'],
  },
  {
    name: 'unsupported version',
    edit: (c) => (c.spec.kubernetesVersion = '1.29'),
    expect: ['spec.kubernetesVersion versionSupported'],
  },
  {
    name: 'version as a number',
    edit: (c) => (c.spec.kubernetesVersion = 1.3),
    expect: ['spec.kubernetesVersion type'],
  },
  {
    name: 'malformed version',
    edit: (c) => (c.spec.kubernetesVersion = 'v1'),
    expect: ['spec.kubernetesVersion versionFormat'],
  },
  {
    name: 'errorRate + timeoutRate > 1',
    edit: (c) => (c.spec.provider.local = { faults: { errorRate: 0.6, timeoutRate: 0.6 } }),
    expect: ['spec.provider.local.faults.timeoutRate max'],
  },
  {
    name: 'sso without auth',
    edit: (c) => (c.spec.services = { kubernetesAuth: { enabled: false } }),
    expect: ['spec.services dependency'],
  },
  {
    name: 'sso off, auth off: fine',
    edit: (c) => (c.spec.services = { kubernetesAuth: { enabled: false }, ssoProxy: { enabled: false } }),
    expect: [],
  },
  {
    name: 'enabled as a string',
    edit: (c) => (c.spec.services = { monitoring: { enabled: 'yes' } }),
    expect: ['spec.services.monitoring.enabled type'],
  },
  {
    name: 'bad service version',
    edit: (c) => (c.spec.services = { registry: { version: 'latest' } }),
    expect: ['spec.services.registry.version versionFormat'],
  },
  {
    name: 'no admin roles',
    edit: (c) => (c.spec.auth.clusterAdminRoleIds = []),
    expect: ['spec.auth.clusterAdminRoleIds minItems'],
  },
  {
    name: 'duplicate admin roles',
    edit: (c) => (c.spec.auth.clusterAdminRoleIds = ['a', 'a']),
    expect: ['spec.auth.clusterAdminRoleIds[1] unique'],
  },
  {
    name: 'keystone on local needs authURL',
    edit: (c) => (c.spec.auth.identity = { backend: 'keystone' }),
    expect: ['spec.auth.identity.authURL dependency'],
  },
  {
    name: 'keystone on local with authURL',
    edit: (c) => (c.spec.auth.identity = { backend: 'keystone', authURL: 'https://keystone.example.com/v3' }),
    expect: [],
  },
  {
    name: 'authURL with the local backend',
    edit: (c) => (c.spec.auth.identity = { backend: 'local', authURL: 'https://keystone.example.com/v3' }),
    expect: ['spec.auth.identity.authURL dependency'],
  },
  {
    name: 'openstack without credentials, region or flavors',
    base: openstack,
    edit: (c) => {
      delete c.spec.credentialsRef;
      delete c.spec.provider.openstack.region;
      delete c.spec.provider.openstack.flavors.workers;
    },
    expect: [
      'spec.provider.openstack.region required',
      'spec.provider.openstack.flavors.workers required',
      'spec.credentialsRef provider',
    ],
  },
  {
    name: 'openstack bad zone, duplicate AZ',
    base: openstack,
    edit: (c) => {
      c.spec.provider.openstack.dnsZone = 'not a zone';
      c.spec.provider.openstack.availabilityZones = ['az1', 'az1'];
    },
    expect: ['spec.provider.openstack.dnsZone format', 'spec.provider.openstack.availabilityZones[1] unique'],
  },
  {
    name: 'eks: control plane, pod CIDR and patch version are not allowed',
    base: eks,
    edit: (c) => {
      c.spec.controlPlane = { replicas: 3 };
      c.spec.network = { podCIDR: '10.244.0.0/16' };
      c.spec.kubernetesVersion = '1.32.1';
    },
    expect: [
      'spec.controlPlane provider',
      'spec.network.podCIDR provider',
      'spec.kubernetesVersion provider',
    ],
  },
  {
    name: 'eks: zones outside the region, one subnet, bad region',
    base: eks,
    edit: (c) => {
      c.spec.provider.eks.availabilityZones = ['us-east-1a', 'us-west-2b'];
      c.spec.provider.eks.subnets = 1;
    },
    expect: ['spec.provider.eks.subnets min', 'spec.provider.eks.availabilityZones[1] provider'],
  },
  {
    name: 'eks: VPC range too big, service range outside RFC 1918',
    base: eks,
    edit: (c) => (c.spec.network = { nodeCIDR: '10.0.0.0/8', serviceCIDR: '100.64.0.0/16' }),
    expect: ['spec.network.serviceCIDR provider', 'spec.network.nodeCIDR provider'],
  },
  {
    name: 'eks: bad role ARN and region',
    base: eks,
    edit: (c) => {
      c.spec.provider.eks.roleArn = 'arn:aws:iam::123:role/x';
      c.spec.provider.eks.region = 'US East';
    },
    expect: ['spec.provider.eks.region format', 'spec.provider.eks.roleArn format'],
  },
];

test('validateCluster: each case reports exactly the expected problems', () => {
  for (const c of cases) {
    const obj = (c.base ?? local)();
    c.edit(obj);
    const got = validateCluster(obj).map((p) => `${p.path} ${p.rule}`);
    assert.deepEqual(got.sort(), [...c.expect].sort(), c.name);
  }
});

test('validateCluster agrees with the schema on validity', () => {
  for (const c of cases) {
    const obj = (c.base ?? local)();
    c.edit(obj);
    const schemaOk = ClusterSchema.safeParse(obj).success;
    const problems = validateCluster(obj);
    // The schema alone may accept what a cross-field rule rejects, never the other way round.
    if (!schemaOk) assert.ok(problems.length > 0, c.name);
  }
});

test('every cross-field problem is in the documented catalog', () => {
  const normalise = (path: string): string => path.replace(/\[\d+\]/g, '[]').replace(/\["[^"]*"\]$/, '');
  for (const c of cases) {
    const obj = (c.base ?? local)();
    c.edit(obj);
    for (const p of clusterRules(obj)) {
      const covered = clusterRuleCatalog.some(
        (r) => r.rule === p.rule && r.fields.includes(normalise(p.path)),
      );
      assert.ok(covered, `${c.name}: ${p.path} ${p.rule} is not in clusterRuleCatalog`);
    }
  }
});

test('validateCluster never throws on junk', () => {
  const junk: unknown[] = [
    null,
    1,
    'x',
    [],
    {},
    { spec: null },
    { spec: { provider: 7, nodePools: 'x', network: [] } },
  ];
  junk.push({
    spec: { nodePools: [null, 1, { name: 5 }], network: { podCIDR: {} }, auth: { clusterAdminRoleIds: {} } },
  });
  for (const j of junk) assert.ok(validateCluster(j).length > 0, JSON.stringify(j));
});

test('withDefaults applies static and provider-dependent defaults', () => {
  const cases: { name: string; input: Json; expect: Record<string, unknown> }[] = [
    {
      name: 'local',
      input: local(),
      expect: {
        'metadata.namespace': 'default',
        'spec.controlPlane.replicas': 1,
        'spec.network.podCIDR': '10.244.0.0/16',
        'spec.network.serviceCIDR': '10.96.0.0/12',
        'spec.network.nodeCIDR': '10.0.0.0/16',
        'spec.kubernetesVersion': '1.33',
        'spec.provider.local.latencyScale': 0.1,
        'spec.provider.local.faults.errorRate': 0,
        'spec.nodePools.0.diskGiB': 50,
        'spec.services.ssoProxy.enabled': true,
        'spec.auth.identity.backend': 'local',
      },
    },
    {
      name: 'openstack',
      input: openstack(),
      expect: {
        'spec.controlPlane.replicas': 3,
        'spec.auth.identity.backend': 'keystone',
        'spec.provider.openstack.cloud': 'openstack',
      },
    },
    {
      name: 'eks',
      input: eks(),
      expect: {
        'spec.controlPlane': undefined,
        'spec.network.podCIDR': undefined,
        'spec.provider.eks.subnets': 2,
        'spec.provider.eks.instanceType': 'm5.large',
        'spec.provider.eks.endpointAccess': 'Public',
      },
    },
    {
      name: 'explicit values win',
      input: (() => {
        const c = local();
        c.metadata.namespace = 'team-a';
        c.spec.controlPlane = { replicas: 3 };
        c.spec.network = { podCIDR: '172.16.0.0/16' };
        return c;
      })(),
      expect: {
        'metadata.namespace': 'team-a',
        'spec.controlPlane.replicas': 3,
        'spec.network.podCIDR': '172.16.0.0/16',
      },
    },
  ];
  for (const c of cases) {
    const before = JSON.stringify(c.input);
    const out = withDefaults(c.input as ClusterInput) as unknown as Json;
    assert.equal(JSON.stringify(c.input), before, `${c.name}: input mutated`);
    for (const [path, value] of Object.entries(c.expect)) {
      const got = path.split('.').reduce<any>((v, k) => (v === undefined ? undefined : v[k]), out);
      assert.deepEqual(got, value, `${c.name}: ${path}`);
    }
    assert.deepEqual(validateCluster(out), [], `${c.name}: defaulted object is valid`);
    assert.deepEqual(withDefaults(out as ClusterInput), out, `${c.name}: idempotent`);
  }
});

test('withDefaults throws on an invalid cluster', () => {
  assert.throws(() => withDefaults({} as ClusterInput));
});

test('effectiveMachineType follows the provider unless the pool sets one', () => {
  const os = withDefaults(openstack() as ClusterInput);
  const pool = os.spec.nodePools[0];
  assert.ok(pool);
  const cases: {
    spec: typeof os.spec;
    pool: Parameters<typeof effectiveMachineType>[1];
    expect: string | undefined;
  }[] = [
    { spec: os.spec, pool, expect: 'm1.xlarge' },
    { spec: os.spec, pool: 'controlPlane', expect: 'm1.large' },
    { spec: os.spec, pool: { ...pool, machineType: 'g1' }, expect: 'g1' },
    { spec: withDefaults(local() as ClusterInput).spec, pool, expect: 'medium' },
    { spec: withDefaults(eks() as ClusterInput).spec, pool, expect: 'm5.large' },
    { spec: withDefaults(eks() as ClusterInput).spec, pool: 'controlPlane', expect: undefined },
  ];
  for (const c of cases) assert.equal(effectiveMachineType(c.spec, c.pool), c.expect);
});

test('logicalClusterName is unique per namespace and name', () => {
  assert.equal(logicalClusterName({ name: 'demo' }), 'demo.default');
  assert.equal(logicalClusterName({ name: 'a-b', namespace: 'c' }), 'a-b.c');
  assert.notEqual(
    logicalClusterName({ name: 'a', namespace: 'b-c' }),
    logicalClusterName({ name: 'a-b', namespace: 'c' }),
  );
});

test('status: conditions carry coded reasons, the ledger has phases', () => {
  const now = '2025-06-01T12:00:00Z';
  const condition = (reason: string): Json => ({
    type: 'InfrastructureReady',
    status: 'False',
    reason,
    message: 'quota of instances exceeded',
    lastTransitionTime: now,
    observedGeneration: 1,
  });
  const entry = (phase: string): Json => ({
    kind: 'Server',
    name: 'server/demo-workers-0',
    provider: 'local',
    phase,
    dependsOn: ['network'],
    createdAt: now,
  });
  const cases: { name: string; status: Json; expect: string[] }[] = [
    {
      name: 'coded reason and a ledger entry',
      status: {
        observedGeneration: 1,
        conditions: [condition('QuotaExceeded')],
        resources: [entry('Creating')],
      },
      expect: [],
    },
    { name: 'progress reason', status: { conditions: [condition('Provisioning')] }, expect: [] },
    {
      name: 'free-form reason',
      status: { conditions: [condition('Failed')] },
      expect: ['status.conditions[0].reason enum'],
    },
    {
      name: 'unknown phase',
      status: { resources: [entry('Gone')] },
      expect: ['status.resources[0].phase enum'],
    },
    {
      name: 'bad time',
      status: { conditions: [{ ...condition('Ready'), lastTransitionTime: 'yesterday' }] },
      expect: ['status.conditions[0].lastTransitionTime format'],
    },
  ];
  for (const c of cases) {
    const obj = { ...local(), status: c.status };
    assert.deepEqual(
      validateCluster(obj).map((p) => `${p.path} ${p.rule}`),
      c.expect,
      c.name,
    );
  }
});
