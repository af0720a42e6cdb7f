import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.ts';
import { builtinResources } from '../registry/builtin.ts';
import type { KObject } from '../server/objects.ts';
import type { PodSecurityConfig } from './podsecurity.ts';
import { PodSecurityAdmission, changedPodSecurityLabels, checkPod, violationSummary } from './podsecurity.ts';
import type { AdmissionAttributes, AdmissionUser } from './types.ts';

/** A pod that passes "restricted". */
function compliant(): Record<string, any> {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'a',
        image: 'nginx',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
}

type Mutate = (spec: Record<string, any>, meta: { annotations: Record<string, string> }) => void;
const c0 = (s: Record<string, any>) => s.containers[0].securityContext;

interface Case {
  name: string;
  mutate: Mutate;
  /** Expected [check id, reason (detail)] at restricted; [] when the pod still passes. */
  restricted: [string, string][];
  /** Expected at baseline; default [] (passes). */
  baseline?: [string, string][];
}

const cases: Case[] = [
  {
    name: 'hostNetwork',
    mutate: (s) => (s.hostNetwork = true),
    restricted: [['hostNamespaces', 'host namespaces (hostNetwork=true)']],
    baseline: [['hostNamespaces', 'host namespaces (hostNetwork=true)']],
  },
  {
    name: 'hostPID and hostIPC',
    mutate: (s) => Object.assign(s, { hostPID: true, hostIPC: true }),
    restricted: [['hostNamespaces', 'host namespaces (hostPID=true, hostIPC=true)']],
    baseline: [['hostNamespaces', 'host namespaces (hostPID=true, hostIPC=true)']],
  },
  {
    name: 'privileged',
    mutate: (s) => (c0(s).privileged = true),
    restricted: [['privileged', 'privileged (container "a" must not set securityContext.privileged=true)']],
    baseline: [['privileged', 'privileged (container "a" must not set securityContext.privileged=true)']],
  },
  {
    name: 'capabilities.add beyond NET_BIND_SERVICE',
    mutate: (s) => (c0(s).capabilities.add = ['SYS_ADMIN']),
    restricted: [
      [
        'capabilities_restricted',
        'unrestricted capabilities (container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
      ],
    ],
    baseline: [
      [
        'capabilities_baseline',
        'non-default capabilities (container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
      ],
    ],
  },
  {
    name: 'capabilities.add of a default capability is fine at baseline only',
    mutate: (s) => (c0(s).capabilities.add = ['CHOWN']),
    restricted: [
      [
        'capabilities_restricted',
        'unrestricted capabilities (container "a" must not include "CHOWN" in securityContext.capabilities.add)',
      ],
    ],
  },
  {
    name: 'capabilities.add NET_BIND_SERVICE is allowed',
    mutate: (s) => (c0(s).capabilities.add = ['NET_BIND_SERVICE']),
    restricted: [],
  },
  {
    name: 'capabilities.drop without ALL',
    mutate: (s) => (c0(s).capabilities.drop = ['NET_RAW']),
    restricted: [
      [
        'capabilities_restricted',
        'unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"])',
      ],
    ],
  },
  {
    name: 'allowPrivilegeEscalation unset',
    mutate: (s) => delete c0(s).allowPrivilegeEscalation,
    restricted: [
      [
        'allowPrivilegeEscalation',
        'allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false)',
      ],
    ],
  },
  {
    name: 'runAsNonRoot unset',
    mutate: (s) => delete s.securityContext.runAsNonRoot,
    restricted: [
      [
        'runAsNonRoot',
        'runAsNonRoot != true (pod or container "a" must set securityContext.runAsNonRoot=true)',
      ],
    ],
  },
  {
    name: 'runAsNonRoot=false on the pod',
    mutate: (s) => (s.securityContext.runAsNonRoot = false),
    restricted: [
      [
        'runAsNonRoot',
        'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false; pod or container "a" must set securityContext.runAsNonRoot=true)',
      ],
    ],
  },
  {
    name: 'runAsNonRoot=false on a container overrides the pod',
    mutate: (s) => (c0(s).runAsNonRoot = false),
    restricted: [
      [
        'runAsNonRoot',
        'runAsNonRoot != true (container "a" must not set securityContext.runAsNonRoot=false)',
      ],
    ],
  },
  {
    name: 'runAsNonRoot on every container instead of the pod',
    mutate: (s) => {
      delete s.securityContext.runAsNonRoot;
      c0(s).runAsNonRoot = true;
    },
    restricted: [],
  },
  {
    name: 'runAsUser=0',
    mutate: (s) => (c0(s).runAsUser = 0),
    restricted: [['runAsUser', 'runAsUser=0 (container "a" must not set runAsUser=0)']],
  },
  {
    name: 'runAsUser=0 on the pod and a container',
    mutate: (s) => {
      s.securityContext.runAsUser = 0;
      c0(s).runAsUser = 0;
    },
    restricted: [['runAsUser', 'runAsUser=0 (pod and container "a" must not set runAsUser=0)']],
  },
  {
    name: 'runAsUser=1000 is fine',
    mutate: (s) => (s.securityContext.runAsUser = 1000),
    restricted: [],
  },
  {
    name: 'seccompProfile unset',
    mutate: (s) => delete s.securityContext.seccompProfile,
    restricted: [
      [
        'seccompProfile_restricted',
        'seccompProfile (pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
      ],
    ],
  },
  {
    name: 'seccompProfile Unconfined',
    mutate: (s) => (s.securityContext.seccompProfile.type = 'Unconfined'),
    restricted: [
      [
        'seccompProfile_restricted',
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
      ],
    ],
    baseline: [
      [
        'seccompProfile_baseline',
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
      ],
    ],
  },
  {
    name: 'seccompProfile Localhost on the container only',
    mutate: (s) => {
      delete s.securityContext.seccompProfile;
      c0(s).seccompProfile = { type: 'Localhost', localhostProfile: 'p.json' };
    },
    restricted: [],
  },
  {
    name: 'hostPath volume',
    mutate: (s) => (s.volumes = [{ name: 'h', hostPath: { path: '/' } }]),
    restricted: [
      ['restrictedVolumes', 'restricted volume types (volume "h" uses restricted volume type "hostPath")'],
    ],
    baseline: [['hostPathVolumes', 'hostPath volumes (volume "h")']],
  },
  {
    name: 'nfs and cinder volumes',
    mutate: (s) =>
      (s.volumes = [
        { name: 'n', nfs: { server: 'x', path: '/' } },
        { name: 'c', cinder: { volumeID: 'v' } },
        { name: 'ok', persistentVolumeClaim: { claimName: 'c' } },
      ]),
    restricted: [
      [
        'restrictedVolumes',
        'restricted volume types (volumes "n", "c" use restricted volume types "cinder", "nfs")',
      ],
    ],
  },
  {
    name: 'core volume types are allowed',
    mutate: (s) =>
      (s.volumes = [
        { name: 'a', configMap: { name: 'x' } },
        { name: 'b', secret: { secretName: 'x' } },
        { name: 'c', emptyDir: {} },
        { name: 'd', persistentVolumeClaim: { claimName: 'x' } },
        { name: 'e', projected: { sources: [] } },
        { name: 'f', downwardAPI: { items: [] } },
        { name: 'g', csi: { driver: 'x' } },
        { name: 'h', ephemeral: { volumeClaimTemplate: {} } },
        { name: 'i' },
      ]),
    restricted: [],
  },
  {
    name: 'hostPort',
    mutate: (s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: 8080 }]),
    restricted: [['hostPorts', 'hostPort (container "a" uses hostPort 8080)']],
    baseline: [['hostPorts', 'hostPort (container "a" uses hostPort 8080)']],
  },
  {
    name: 'procMount Unmasked',
    mutate: (s) => (c0(s).procMount = 'Unmasked'),
    restricted: [
      ['procMount', 'procMount (container "a" must not set securityContext.procMount to "Unmasked")'],
    ],
    baseline: [
      ['procMount', 'procMount (container "a" must not set securityContext.procMount to "Unmasked")'],
    ],
  },
  {
    name: 'unsafe sysctl',
    mutate: (s) =>
      (s.securityContext.sysctls = [
        { name: 'net.ipv4.tcp_syncookies', value: '1' },
        { name: 'kernel.msgmax', value: '1' },
      ]),
    restricted: [['sysctls', 'forbidden sysctls (kernel.msgmax)']],
    baseline: [['sysctls', 'forbidden sysctls (kernel.msgmax)']],
  },
  {
    name: 'AppArmor Unconfined',
    mutate: (s) => (c0(s).appArmorProfile = { type: 'Unconfined' }),
    restricted: [
      [
        'appArmorProfile',
        'forbidden AppArmor profile (container "a" must not set securityContext.appArmorProfile.type to "Unconfined")',
      ],
    ],
    baseline: [
      [
        'appArmorProfile',
        'forbidden AppArmor profile (container "a" must not set securityContext.appArmorProfile.type to "Unconfined")',
      ],
    ],
  },
  {
    name: 'AppArmor annotation unconfined (localhost/ profiles are fine)',
    mutate: (_s, m) => {
      m.annotations['container.apparmor.security.beta.kubernetes.io/a'] = 'unconfined';
      m.annotations['container.apparmor.security.beta.kubernetes.io/b'] = 'localhost/k8s-nginx';
    },
    restricted: [
      [
        'appArmorProfile',
        'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/a="unconfined")',
      ],
    ],
    baseline: [
      [
        'appArmorProfile',
        'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/a="unconfined")',
      ],
    ],
  },
  {
    name: 'SELinux type spc_t',
    mutate: (s) => (s.securityContext.seLinuxOptions = { type: 'spc_t', level: 's0:c1' }),
    restricted: [
      ['seLinuxOptions', 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")'],
    ],
    baseline: [
      ['seLinuxOptions', 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")'],
    ],
  },
  {
    name: 'SELinux container_t with a level is fine',
    mutate: (s) => (c0(s).seLinuxOptions = { type: 'container_t', level: 's0:c1' }),
    restricted: [],
  },
  {
    name: 'Windows hostProcess',
    mutate: (s) => (s.securityContext.windowsOptions = { hostProcess: true }),
    restricted: [
      ['hostProcess', 'hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)'],
    ],
    baseline: [
      ['hostProcess', 'hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)'],
    ],
  },
  {
    name: 'an init container is checked too',
    mutate: (s) =>
      (s.initContainers = [{ name: 'init', image: 'busybox', securityContext: { privileged: true } }]),
    restricted: [
      ['privileged', 'privileged (container "init" must not set securityContext.privileged=true)'],
      [
        'allowPrivilegeEscalation',
        'allowPrivilegeEscalation != false (container "init" must set securityContext.allowPrivilegeEscalation=false)',
      ],
      [
        'capabilities_restricted',
        'unrestricted capabilities (container "init" must set securityContext.capabilities.drop=["ALL"])',
      ],
    ],
    baseline: [['privileged', 'privileged (container "init" must not set securityContext.privileged=true)']],
  },
];

describe('checkPod: one rule at a time', () => {
  test('a compliant pod passes every level', () => {
    for (const level of ['privileged', 'baseline', 'restricted'] as const)
      assert.deepEqual(checkPod(level, {}, compliant()), []);
  });
  for (const c of cases) {
    for (const level of ['restricted', 'baseline'] as const) {
      test(`${c.name} (${level})`, () => {
        const spec = compliant();
        const meta = { annotations: {} as Record<string, string> };
        c.mutate(spec, meta);
        const want = level === 'restricted' ? c.restricted : (c.baseline ?? []);
        const got = checkPod(level, meta, spec).map((v) => [v.id, `${v.reason} (${v.detail})`]);
        assert.deepEqual(got, want);
      });
    }
    test(`${c.name} (privileged allows everything)`, () => {
      const spec = compliant();
      c.mutate(spec, { annotations: {} });
      assert.deepEqual(checkPod('privileged', {}, spec), []);
    });
  }
});

describe('checkPod: several rules in one message', () => {
  test('a plain nginx pod violates 4 rules, named in upstream order and wording', () => {
    const v = checkPod('restricted', {}, { containers: [{ name: 'nginx', image: 'nginx' }] });
    assert.equal(v.length, 4);
    assert.equal(
      violationSummary('restricted', v),
      'PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });
  test('two containers are named together', () => {
    const spec = compliant();
    spec.containers.push({ name: 'b', image: 'x', securityContext: { privileged: true, runAsUser: 0 } });
    spec.hostNetwork = true;
    const v = checkPod('restricted', {}, spec);
    assert.deepEqual(
      v.map((x) => x.id),
      ['hostNamespaces', 'privileged', 'allowPrivilegeEscalation', 'capabilities_restricted', 'runAsUser'],
    );
    assert.match(v[3]!.detail, /^container "b" must set/);
  });
  test('baseline never asks for runAsNonRoot, seccomp or dropped capabilities', () => {
    assert.deepEqual(checkPod('baseline', {}, { containers: [{ name: 'nginx', image: 'nginx' }] }), []);
  });
});

// ---- the plugin ---------------------------------------------------------------------------

const info = (group: string, kind: string) =>
  builtinResources.find((r) => r.group === group && r.kind === kind)!;
const admin: AdmissionUser = { username: 'kaas-admin', groups: ['system:masters', 'system:authenticated'] };
const alice: AdmissionUser = { username: 'alice', groups: ['system:authenticated'] };

function attrs(
  over: Partial<AdmissionAttributes> & { nsLabels?: Record<string, string> | null },
): AdmissionAttributes & { warnings: string[] } {
  const warnings: string[] = [];
  const { nsLabels, ...rest } = over;
  return {
    operation: 'CREATE',
    cluster: 'root',
    namespace: 'team',
    name: 'p',
    resource: info('', 'Pod'),
    user: alice,
    dryRun: false,
    getNamespace: async (name) =>
      nsLabels === null ? undefined : ({ metadata: { name, labels: nsLabels ?? {} } } as KObject),
    warn: (m) => warnings.push(m),
    warnings,
    ...rest,
  };
}

const pod = (spec: Record<string, any>): KObject => ({ metadata: { name: 'p', namespace: 'team' }, spec });
const rootPod = () =>
  pod({ containers: [{ name: 'nginx', image: 'nginx', securityContext: { runAsUser: 0 } }] });

async function refusal(p: Promise<void>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

describe('PodSecurityAdmission', () => {
  const plugin = new PodSecurityAdmission();

  test('a root pod in an unlabelled namespace is refused with every rule in one 403', async () => {
    const e = await refusal(plugin.admit(attrs({ object: rootPod() })));
    assert.equal(e.code, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.match(
      e.message,
      /^pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation/,
    );
    for (const r of [
      'unrestricted capabilities',
      'runAsNonRoot != true',
      'runAsUser=0 (container "nginx"',
      'seccompProfile',
    ])
      assert.ok(e.message.includes(r), r);
  });

  test('a compliant pod is admitted without warnings', async () => {
    const a = attrs({ object: pod(compliant()) });
    await plugin.admit(a);
    assert.deepEqual(a.warnings, []);
  });

  const levels: [string, Record<string, string>, 'deny' | 'warn' | 'admit'][] = [
    ['enforce=privileged', { 'pod-security.kubernetes.io/enforce': 'privileged' }, 'warn'],
    [
      'enforce=privileged, warn=privileged',
      { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'privileged' },
      'admit',
    ],
    [
      'enforce=baseline (root is baseline-legal)',
      { 'pod-security.kubernetes.io/enforce': 'baseline' },
      'warn',
    ],
    ['enforce=restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' }, 'deny'],
    ['an unreadable level counts as restricted', { 'pod-security.kubernetes.io/enforce': 'lax' }, 'deny'],
    ['exempt label', { 'pod-security.kaas.dev/exempt': 'true' }, 'admit'],
  ];
  for (const [name, labels, want] of levels) {
    test(`namespace ${name}: ${want}`, async () => {
      const a = attrs({ object: rootPod(), nsLabels: labels });
      if (want === 'deny') return void (await refusal(plugin.admit(a)));
      await plugin.admit(a);
      if (want === 'admit') assert.deepEqual(a.warnings, []);
      else assert.match(a.warnings[0] ?? '', /^would violate PodSecurity "restricted:latest": /);
    });
  }

  test('configured exemptions: namespaces, usernames, runtimeClassNames', async () => {
    const cfg: PodSecurityConfig = {
      exemptions: { namespaces: ['kube-system'], usernames: ['ci-bot'], runtimeClassNames: ['kata'] },
    };
    const p = new PodSecurityAdmission(cfg);
    await p.admit(attrs({ object: rootPod(), namespace: 'kube-system' }));
    await p.admit(attrs({ object: rootPod(), user: { username: 'ci-bot', groups: [] } }));
    await p.admit(attrs({ object: pod({ ...rootPod().spec, runtimeClassName: 'kata' }) }));
    await refusal(p.admit(attrs({ object: pod({ ...rootPod().spec, runtimeClassName: 'runc' }) })));
  });

  test('defaults can be lowered by the operator in config', async () => {
    const p = new PodSecurityAdmission({ defaults: { enforce: 'baseline', warn: 'baseline' } });
    const a = attrs({ object: rootPod() });
    await p.admit(a);
    assert.deepEqual(a.warnings, []);
    await refusal(p.admit(attrs({ object: pod({ hostNetwork: true, containers: [{ name: 'x' }] }) })));
  });

  test('pod updates that leave the spec alone are not re-checked; subresources and deletes are skipped', async () => {
    const old = rootPod();
    const next = structuredClone(old);
    next.metadata.labels = { a: 'b' };
    await plugin.admit(attrs({ operation: 'UPDATE', object: next, oldObject: old }));
    next.spec.containers[0].image = 'nginx:2';
    await refusal(plugin.admit(attrs({ operation: 'UPDATE', object: next, oldObject: old })));
    await plugin.admit(attrs({ operation: 'UPDATE', subresource: 'status', object: next, oldObject: old }));
    await plugin.admit(attrs({ operation: 'DELETE', oldObject: old }));
  });

  test('a missing namespace is left to storage (404)', async () => {
    await plugin.admit(attrs({ object: rootPod(), nsLabels: null }));
  });

  const workloads: [string, string, (spec: Record<string, any>) => Record<string, any>][] = [
    ['apps', 'Deployment', (s) => ({ template: { spec: s } })],
    ['apps', 'ReplicaSet', (s) => ({ template: { spec: s } })],
    ['apps', 'StatefulSet', (s) => ({ template: { spec: s } })],
    ['apps', 'DaemonSet', (s) => ({ template: { spec: s } })],
    ['batch', 'Job', (s) => ({ template: { spec: s } })],
    ['batch', 'CronJob', (s) => ({ jobTemplate: { spec: { template: { spec: s } } } })],
    ['', 'ReplicationController', (s) => ({ template: { spec: s } })],
  ];
  for (const [group, kind, wrap] of workloads) {
    test(`${kind} with a bad template is admitted with a warning; a good one without`, async () => {
      const bad = attrs({
        resource: info(group, kind),
        object: { metadata: { name: 'w' }, spec: wrap(rootPod().spec) },
      });
      await plugin.admit(bad);
      assert.equal(bad.warnings.length, 1);
      assert.match(bad.warnings[0]!, /^would violate PodSecurity "restricted:latest": .*runAsUser=0/);
      const good = attrs({
        resource: info(group, kind),
        object: { metadata: { name: 'w' }, spec: wrap(compliant()) },
      });
      await plugin.admit(good);
      assert.deepEqual(good.warnings, []);
    });
  }

  test('PodTemplate is checked at .template', async () => {
    const a = attrs({
      resource: info('', 'PodTemplate'),
      object: { metadata: { name: 't' }, template: rootPod() },
    });
    await plugin.admit(a);
    assert.equal(a.warnings.length, 1);
  });
});

describe('PodSecurityAdmission: who may change a namespace level', () => {
  const ns = info('', 'Namespace');
  const nsObj = (labels: Record<string, string>): KObject => ({ metadata: { name: 'team', labels } });
  const priv = { 'pod-security.kubernetes.io/enforce': 'privileged' };

  const table: [string, AdmissionUser | undefined, PodSecurityConfig, boolean][] = [
    ['a cluster user', alice, {}, false],
    ['system:masters', admin, {}, true],
    [
      'a configured operator group',
      { username: 'bob', groups: ['kaas:operators'] },
      { operators: { groups: ['kaas:operators'] } },
      true,
    ],
    [
      'a configured operator user',
      { username: 'carol', groups: [] },
      { operators: { usernames: ['carol'] } },
      true,
    ],
    ['the server itself (no user)', undefined, {}, true],
  ];
  for (const [who, user, cfg, allowed] of table) {
    test(`${who} ${allowed ? 'may' : 'may not'} label a namespace privileged`, async () => {
      const p = new PodSecurityAdmission(cfg);
      const create = p.admit(
        attrs({ resource: ns, namespace: undefined, name: 'team', user, object: nsObj(priv) }),
      );
      const update = p.admit(
        attrs({
          resource: ns,
          operation: 'UPDATE',
          namespace: undefined,
          name: 'team',
          user,
          object: nsObj(priv),
          oldObject: nsObj({}),
        }),
      );
      if (allowed) {
        await create;
        await update;
      } else {
        for (const r of [create, update]) {
          const e = await refusal(r);
          assert.equal(e.code, 403);
          assert.match(
            e.message,
            /^namespaces "team" is forbidden: only cluster operators may set or change label "pod-security.kubernetes.io\/enforce"/,
          );
        }
      }
    });
  }

  test('a cluster user may not exempt, remove or raise levels either, but may change other labels', async () => {
    const p = new PodSecurityAdmission();
    const up = (before: Record<string, string>, after: Record<string, string>) =>
      p.admit(
        attrs({
          resource: ns,
          operation: 'UPDATE',
          namespace: undefined,
          name: 'team',
          object: nsObj(after),
          oldObject: nsObj(before),
        }),
      );
    await refusal(up({}, { 'pod-security.kaas.dev/exempt': 'true' }));
    await refusal(up(priv, {}));
    await refusal(up(priv, { 'pod-security.kubernetes.io/enforce': 'restricted' }));
    await up(priv, { ...priv, team: 'blue' });
    await p.admit(attrs({ resource: ns, namespace: undefined, name: 'x', object: nsObj({ team: 'blue' }) }));
  });

  test('an operator gets 422 for a level that does not exist', async () => {
    const e = await refusal(
      new PodSecurityAdmission().admit(
        attrs({
          resource: ns,
          namespace: undefined,
          user: admin,
          name: 'team',
          object: nsObj({ 'pod-security.kubernetes.io/enforce': 'lax' }),
        }),
      ),
    );
    assert.equal(e.code, 422);
  });

  test('changedPodSecurityLabels', () => {
    assert.deepEqual(
      changedPodSecurityLabels(
        { 'pod-security.kubernetes.io/warn': 'baseline', a: '1' },
        { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kaas.dev/exempt': 'true', a: '2' },
      ),
      [
        'pod-security.kaas.dev/exempt',
        'pod-security.kubernetes.io/enforce',
        'pod-security.kubernetes.io/warn',
      ],
    );
  });
});
