// Pod Security admission through the real kubectl: a root pod is refused in a restricted namespace
// with every violated rule in one message, an operator-exempted namespace admits it, a cluster
// user (even a cluster-admin by RBAC) cannot relabel a namespace, and a Deployment whose template
// would be refused is created with a Warning that kubectl prints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PodSecurityAdmission } from '@kaas/apiserver';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

let ts: TestServer;
let alice: string;
before(async () => {
  ts = await startTestServer({
    admission: [new PodSecurityAdmission({ exemptions: { namespaces: ['kube-system'] } })],
  });
  // RBAC lets alice do anything: what stops her below is admission, not authorization.
  ok(
    await kubectl(ts.kubeconfig, [
      'create',
      'clusterrolebinding',
      'alice-admin',
      '--clusterrole=cluster-admin',
      '--user=alice',
    ]),
    'bind alice',
  );
  alice = await ts.userKubeconfig('alice', ['dev']);
});
after(async () => ts?.stop());

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const rootOverrides = JSON.stringify({ spec: { securityContext: { runAsUser: 0 } } });
const rules = [
  'allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false)',
  'unrestricted capabilities (container "web" must set securityContext.capabilities.drop=["ALL"])',
  'runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true)',
  'runAsUser=0 (pod must not set runAsUser=0)',
  'seccompProfile (pod or container "web" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
];

test('kubectl run of a root pod in a restricted namespace is refused, naming every rule in one message', async () => {
  ok(await kubectl(ts.kubeconfig, ['create', 'namespace', 'apps']), 'create namespace');
  for (const extra of [[], ['--dry-run=server']]) {
    const r = await kubectl(alice, [
      '-n',
      'apps',
      'run',
      'web',
      '--image=nginx',
      `--overrides=${rootOverrides}`,
      ...extra,
    ]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(
      r.stderr.includes(
        `Error from server (Forbidden): pods "web" is forbidden: violates PodSecurity "restricted:latest": ${rules.join(', ')}`,
      ),
      r.stderr,
    );
  }
  const get = await kubectl(ts.kubeconfig, ['-n', 'apps', 'get', 'pod', 'web']);
  assert.match(get.stderr, /NotFound|not found/);
});

test('a pod that meets "restricted" is admitted there', async () => {
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'good', namespace: 'apps' },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'web',
          image: 'nginxinc/nginx-unprivileged',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
  const r = await kubectl(alice, ['apply', '-f', '-'], { input: manifest });
  ok(r, 'apply good pod');
  assert.doesNotMatch(r.stderr, /Warning/);
});

test('an operator-exempted namespace, and a namespace an operator set to privileged, admit the root pod', async () => {
  ok(await kubectl(ts.kubeconfig, ['create', 'namespace', 'infra']), 'create infra');
  ok(
    await kubectl(ts.kubeconfig, ['label', 'namespace', 'infra', 'pod-security.kaas.dev/exempt=true']),
    'exempt',
  );
  ok(
    await kubectl(alice, ['-n', 'infra', 'run', 'web', '--image=nginx', `--overrides=${rootOverrides}`]),
    'run in exempt',
  );

  ok(await kubectl(ts.kubeconfig, ['create', 'namespace', 'legacy']), 'create legacy');
  ok(
    await kubectl(ts.kubeconfig, [
      'label',
      'namespace',
      'legacy',
      'pod-security.kubernetes.io/enforce=privileged',
    ]),
    'label privileged',
  );
  const r = await kubectl(alice, [
    '-n',
    'legacy',
    'run',
    'web',
    '--image=nginx',
    `--overrides=${rootOverrides}`,
  ]);
  ok(r, 'run in privileged');
  // Still warned against the default warn level.
  assert.match(r.stderr, /Warning: would violate PodSecurity "restricted:latest": /);

  // A configured exempt namespace needs no label.
  ok(
    await kubectl(alice, [
      '-n',
      'kube-system',
      'run',
      'web',
      '--image=nginx',
      `--overrides=${rootOverrides}`,
    ]),
    'run in kube-system',
  );
});

test('a cluster user cannot label a namespace privileged or exempt (403), nor create one so labelled', async () => {
  for (const label of [
    'pod-security.kubernetes.io/enforce=privileged',
    'pod-security.kaas.dev/exempt=true',
  ]) {
    const r = await kubectl(alice, ['label', 'namespace', 'apps', label]);
    assert.notEqual(r.code, 0);
    assert.ok(
      r.stderr.includes(
        `Error from server (Forbidden): namespaces "apps" is forbidden: only cluster operators may set or change label "${label.split('=')[0]}": user "alice" is not in group "system:masters" or an operator group`,
      ),
      r.stderr,
    );
  }
  const un = await kubectl(alice, ['label', 'namespace', 'infra', 'pod-security.kaas.dev/exempt-']);
  assert.notEqual(un.code, 0);
  assert.match(un.stderr, /only cluster operators/);

  const create = await kubectl(alice, ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'sneaky', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    }),
  });
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /only cluster operators/);

  // Other labels are hers to change.
  ok(await kubectl(alice, ['label', 'namespace', 'apps', 'team=blue']), 'label team');
  const ns = JSON.parse(
    ok(await kubectl(ts.kubeconfig, ['get', 'namespace', 'apps', '-o', 'json']), 'get ns'),
  );
  assert.equal(ns.metadata.labels.team, 'blue');
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], undefined);
});

test('a Deployment whose template would be refused is created, with a Warning kubectl prints', async () => {
  const r = await kubectl(alice, ['-n', 'apps', 'create', 'deployment', 'web', '--image=nginx']);
  ok(r, 'create deployment');
  assert.match(r.stdout, /deployment.apps\/web created/);
  assert.ok(
    r.stderr.includes(
      'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false)',
    ),
    r.stderr,
  );
  ok(await kubectl(ts.kubeconfig, ['-n', 'apps', 'get', 'deployment', 'web']), 'get deployment');
});
