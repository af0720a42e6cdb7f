import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBootstrap, yamlErrorMessage } from './parseBootstrap.ts';
import { formatProblem } from './problems.ts';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

const minimal = [
  'apiVersion: kaas.dev/v1alpha1', // 1
  'kind: Cluster', // 2
  'metadata:', // 3
  '  name: demo', // 4
  'spec:', // 5
  '  nodePools:', // 6
  '    - name: workers', // 7
  '      replicas: 3', // 8
  '  auth:', // 9
  '    clusterAdminRoleIds: [admins]', // 10
];

const openstackCluster = (secretName: string, extra: string[] = []): string[] => [
  'apiVersion: kaas.dev/v1alpha1',
  'kind: Cluster',
  'metadata: {name: os}',
  'spec:',
  '  provider:',
  '    type: openstack',
  '    openstack:',
  '      cloud: prod',
  '      region: RegionOne',
  '      externalNetwork: public',
  '      image: ubuntu',
  '      flavors: {controlPlane: m1.large, workers: m1.large}',
  '      dnsZone: kaas.example.com.',
  ...extra,
  '  nodePools: [{name: w}]',
  '  auth: {clusterAdminRoleIds: [r]}',
  `  credentialsRef: {name: ${secretName}}`,
];

interface Case {
  name: string;
  text: string;
  /** Exactly these problems, as `line:column path rule`. */
  expect: string[];
  /** Substrings some message must contain. */
  messages?: string[];
}

const cases: Case[] = [
  { name: 'minimal valid cluster', text: lines(...minimal), expect: [] },
  {
    name: 'replicas below the minimum points at the value',
    text: lines(...minimal.slice(0, 7), '      replicas: 0', ...minimal.slice(8)),
    expect: ['8:17 spec.nodePools[0].replicas min'],
    messages: ['bootstrap.yaml:8:17: spec.nodePools[0].replicas: must be >= 1'],
  },
  {
    name: 'a missing required field points at the nearest parent key',
    text: lines(...minimal.slice(0, 8)),
    expect: ['5:1 spec.auth required'],
  },
  {
    name: 'a missing field inside a list item points at the item',
    text: lines(...minimal.slice(0, 6), '    - replicas: 3', ...minimal.slice(8)),
    expect: ['7:7 spec.nodePools[0].name required'],
  },
  {
    name: 'unknown fields point at the key and suggest the nearest name',
    text: lines(...minimal.slice(0, 7), '      replica: 3', ...minimal.slice(8), '  netwrok: {}'),
    expect: ['8:7 spec.nodePools[0].replica unknownField', '11:3 spec.netwrok unknownField'],
    messages: ['did you mean "replicas"?', 'did you mean "network"?'],
  },
  {
    name: 'an unquoted version gets a hint to quote it',
    text: lines(...minimal, '  kubernetesVersion: 1.30'),
    expect: ['11:22 spec.kubernetesVersion type'],
    messages: ['must be a string, not a number; quote it: "1.30"'],
  },
  {
    name: 'every problem at once, in file order',
    text: lines(
      'apiVersion: kaas.dev/v1alpha1',
      'kind: Cluster',
      'metadata:',
      '  name: Demo',
      'spec:',
      '  controlPlane: {replicas: 2}',
      '  nodePools:',
      '    - name: a',
      '    - name: a',
      '  network: {podCIDR: 10.96.0.0/16}',
      '  auth: {clusterAdminRoleIds: []}',
    ),
    expect: [
      '4:9 metadata.name format',
      '6:28 spec.controlPlane.replicas odd',
      '9:13 spec.nodePools[1].name unique',
      '10:22 spec.network.podCIDR cidrOverlap',
      '11:31 spec.auth.clusterAdminRoleIds minItems',
    ],
  },
  {
    name: 'status and server metadata are not for bootstrap files',
    text: lines(...minimal.slice(0, 4), '  resourceVersion: "12"', ...minimal.slice(4), 'status: {}'),
    expect: ['5:3 metadata.resourceVersion serverField', '12:1 status serverField'],
  },
  {
    name: 'unknown metadata field',
    text: lines(...minimal.slice(0, 4), '  lables: {a: b}', ...minimal.slice(4)),
    expect: ['5:3 metadata.lables unknownField'],
    messages: ['did you mean "labels"?'],
  },
  {
    name: 'settings of another provider',
    text: lines(...minimal, '  provider: {type: local, eks: {region: us-east-1}}'),
    expect: ['11:27 spec.provider.eks provider'],
    messages: ['is only allowed when type is eks'],
  },
  {
    name: 'a kind typo lists the valid kinds',
    text: lines('apiVersion: kaas.dev/v1alpha1', 'kind: Clustr', 'metadata: {name: x}'),
    expect: ['2:7 kind kind'],
    messages: ['did you mean "Cluster"? valid: Cluster (kaas.dev/v1alpha1), Secret (v1)'],
  },
  {
    name: 'another Kubernetes kind',
    text: lines(...minimal, '---', 'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: x}'),
    expect: ['13:7 kind kind'],
  },
  {
    name: 'wrong apiVersion for the kind',
    text: lines('apiVersion: kaas.dev/v1beta1', ...minimal.slice(1)),
    expect: ['1:13 apiVersion apiVersion'],
    messages: ['must be kaas.dev/v1alpha1 for kind Cluster'],
  },
  {
    name: 'missing kind and apiVersion',
    text: lines('metadata: {name: x}', 'spec: {}'),
    expect: ['1:1 kind required'],
  },
  {
    name: 'a document that is not a mapping',
    text: lines(...minimal, '---', '- a', '- b', '---', 'just text'),
    expect: ['12:1  document', '15:1  document'],
  },
  { name: 'empty file', text: '', expect: ['1:1  noCluster'] },
  {
    name: 'comments only',
    text: lines('# nothing yet', '---', '# still nothing'),
    expect: ['1:1  noCluster'],
  },
  {
    name: 'YAML syntax: unclosed flow sequence',
    text: lines(...minimal.slice(0, 9), '    clusterAdminRoleIds: [admins'),
    expect: ['11:1  yamlSyntax'],
  },
  {
    name: 'YAML syntax: a tab used for indentation',
    text: lines(...minimal.slice(0, 3), '\tname: demo', ...minimal.slice(4)),
    expect: ['4:1  yamlSyntax'],
  },
  {
    name: 'YAML: a key written twice',
    text: lines(...minimal.slice(0, 4), '  name: other', ...minimal.slice(4)),
    expect: ['5:3  yamlSyntax'],
    messages: ['Map keys must be unique'],
  },
  {
    name: 'YAML: an alias bomb',
    text: lines(
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ),
    expect: ['1:1  yamlLimit'],
  },
  {
    name: 'anchors and aliases within limits are fine',
    text: lines(...minimal.slice(0, 6), '    - &pool {name: workers, replicas: 3}', ...minimal.slice(8)),
    expect: [],
  },
  {
    name: 'the same object twice',
    text: lines(...minimal, '---', ...minimal),
    expect: ['15:9 metadata.name duplicateObject'],
    messages: ['Cluster default/demo is already defined at line 4'],
  },
  {
    name: 'same name in two namespaces is fine',
    text: lines(...minimal, '---', ...minimal.slice(0, 3), '  namespace: other', ...minimal.slice(3)),
    expect: [],
  },
  {
    name: 'a Secret no Cluster uses',
    text: lines(
      ...minimal,
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: spare}',
      'stringData: {a: b}',
    ),
    expect: ['14:18 metadata.name secretRef'],
  },
  {
    name: 'credentialsRef with a typo suggests the Secret in the file',
    text: lines(
      ...openstackCluster('os-cred'),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os-creds}',
      'stringData: {auth_url: x, application_credential_id: y, application_credential_secret: z}',
    ),
    expect: ['16:26 spec.credentialsRef.name secretRef'],
    messages: ['no Secret "os-cred" in this file; did you mean "os-creds"?'],
  },
  {
    name: 'openstack credentials lacking keys',
    text: lines(
      ...openstackCluster('os'),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os}',
      'stringData: {auth_url: https://k, password: hunter2}',
    ),
    expect: ['21:13 stringData credentials'],
  },
  {
    name: 'clouds.yaml without the named cloud',
    text: lines(
      ...openstackCluster('os'),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os}',
      'stringData:',
      '  clouds.yaml: |',
      '    clouds:',
      '      staging: {auth: {auth_url: https://k, password: hunter2}}',
    ),
    expect: ['22:16 stringData["clouds.yaml"] credentials'],
    messages: ['has no cloud "prod" (spec.provider.openstack.cloud); it has: "staging"'],
  },
  {
    name: 'clouds.yaml in base64 data with the cloud: fine',
    text: lines(
      ...openstackCluster('os'),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os}',
      `data: {clouds.yaml: ${btoa('clouds:\n  prod:\n    auth: {auth_url: "https://k"}\n')}}`,
    ),
    expect: [],
  },
  {
    name: 'data that is not base64',
    text: lines(
      ...openstackCluster('os'),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os}',
      'data: {auth_url: "not base64!", application_credential_id: eQ==, application_credential_secret: eQ==}',
    ),
    expect: ['21:18 data.auth_url format'],
  },
  {
    name: 'CA bundle Secret without the key',
    text: lines(
      ...openstackCluster('os', ['      caBundleRef: {name: ca}']),
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: os}',
      'stringData: {auth_url: x, application_credential_id: y, application_credential_secret: z}',
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: ca}',
      'stringData: {ca.pem: x}',
    ),
    expect: ['14:27 spec.provider.openstack.caBundleRef.name secretRef'],
  },
];

function summary(text: string): { got: string[]; messages: string[] } {
  const r = parseBootstrap(text, 'bootstrap.yaml');
  if (r.problems.length > 0) assert.equal(r.objects.length, 0, 'objects despite problems');
  return {
    got: r.problems.map((p) => `${p.line}:${p.column} ${p.path} ${p.rule}`),
    messages: r.problems.map(formatProblem),
  };
}

test('parseBootstrap: problems, rules and positions', () => {
  for (const c of cases) {
    const { got, messages } = summary(c.text);
    assert.deepEqual(got, c.expect, c.name);
    for (const m of c.messages ?? []) {
      assert.ok(
        messages.some((x) => x.includes(m)),
        `${c.name}: no message contains ${JSON.stringify(m)}:\n${messages.join('\n')}`,
      );
    }
  }
});

test('messages never contain a value of a Secret', () => {
  for (const c of cases) {
    for (const m of summary(c.text).messages) {
      for (const secret of ['hunter2', 'https://k', 'not base64'])
        assert.ok(!m.includes(secret), `${c.name}: ${m}`);
    }
  }
});

test('the examples parse clean into defaulted objects', () => {
  const cases: { file: string; kinds: string[]; provider: string; controlPlane: number | undefined }[] = [
    { file: 'bootstrap.yaml', kinds: ['Cluster'], provider: 'local', controlPlane: 1 },
    {
      file: 'openstack.yaml',
      kinds: ['Secret', 'Secret', 'Cluster'],
      provider: 'openstack',
      controlPlane: 3,
    },
    { file: 'eks.yaml', kinds: ['Secret', 'Cluster'], provider: 'eks', controlPlane: undefined },
  ];
  for (const c of cases) {
    const text = readFileSync(new URL(`../../../examples/${c.file}`, import.meta.url), 'utf8');
    const r = parseBootstrap(text, c.file);
    assert.deepEqual(r.problems.map(formatProblem), [], c.file);
    assert.deepEqual(
      r.objects.map((o) => o.kind),
      c.kinds,
      c.file,
    );
    const cluster = r.objects.find((o) => o.kind === 'Cluster');
    assert.ok(cluster && cluster.kind === 'Cluster');
    assert.equal(cluster.spec.provider.type, c.provider);
    assert.equal(cluster.spec.controlPlane?.replicas, c.controlPlane);
    assert.ok(cluster.metadata.namespace, 'namespace defaulted');
    assert.ok(
      Object.values(cluster.spec.services).some((s) => s.enabled),
      'services present',
    );
  }
});

test('the local example is the demo: 1 control plane, 3 workers, every managed service', () => {
  const text = readFileSync(new URL('../../../examples/bootstrap.yaml', import.meta.url), 'utf8');
  const cluster = parseBootstrap(text, 'bootstrap.yaml').objects[0];
  assert.ok(cluster && cluster.kind === 'Cluster');
  assert.equal(cluster.metadata.name, 'demo');
  assert.equal(cluster.spec.controlPlane?.replicas, 1);
  assert.equal(
    cluster.spec.nodePools.reduce((n, p) => n + p.replicas, 0),
    3,
  );
  for (const [name, s] of Object.entries(cluster.spec.services)) assert.equal(s.enabled, true, name);
});

test('namespace option and defaults', () => {
  const r = parseBootstrap(lines(...minimal), 'b.yaml', { namespace: 'team-a' });
  assert.equal(r.objects[0]?.metadata.namespace, 'team-a');
  const d = parseBootstrap(lines(...minimal), 'b.yaml');
  assert.equal(d.objects[0]?.metadata.namespace, 'default');
});

test('a file over the size limit is refused without parsing', () => {
  const text = `# ${'x'.repeat(1024 * 1024)}\n${lines(...minimal)}`;
  const r = parseBootstrap(text, 'big.yaml');
  assert.deepEqual(
    r.problems.map((p) => `${p.line}:${p.column} ${p.rule}`),
    ['1:1 yamlLimit'],
  );
});

test('formatProblem renders file:line:column: path: message', () => {
  const cases: { p: Parameters<typeof formatProblem>[0]; expect: string }[] = [
    {
      p: {
        file: 'bootstrap.yaml',
        line: 14,
        column: 7,
        path: 'spec.nodePools[1].replicas',
        message: 'must be >= 1',
        rule: 'min',
      },
      expect: 'bootstrap.yaml:14:7: spec.nodePools[1].replicas: must be >= 1',
    },
    {
      p: { file: 'b.yaml', line: 1, column: 1, path: '', message: 'no Cluster found', rule: 'noCluster' },
      expect: 'b.yaml:1:1: no Cluster found',
    },
  ];
  for (const c of cases) assert.equal(formatProblem(c.p), c.expect);
});

test('YAML parser messages lose any quoted text of the file', () => {
  const cases: [string, string][] = [
    ['Unexpected scalar token in YAML stream: "hunter2"', 'Unexpected scalar token in YAML stream'],
    ['Missing closing "quote', 'Missing closing "quote'],
    ['Map keys must be unique at line 3, column 1:\n\nexcerpt', 'Map keys must be unique'],
    ['Tag "!x" with "y" inside', 'Tag (...) with (...) inside'],
  ];
  for (const [input, expected] of cases) assert.equal(yamlErrorMessage({ message: input }), expected);
});

test('deep flow nesting is refused at the first bracket past the limit, without parsing', () => {
  const depth = 100000;
  const text = lines(...minimal, `  network: {podCIDR: ${'['.repeat(depth)}${']'.repeat(depth)}}`);
  const started = performance.now();
  const r = parseBootstrap(text, 'deep.yaml');
  assert.ok(performance.now() - started < 2000, 'refused without parsing 100k levels');
  // `{` at column 12 is level 1; the value's brackets start at column 22, so level 65 is column 85.
  assert.deepEqual(
    r.problems.map((p) => `${p.line}:${p.column} ${p.rule}`),
    ['11:85 yamlLimit'],
  );
});
