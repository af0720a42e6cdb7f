import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceRegistry } from '../registry/registry.ts';
import type { ResourceInfo } from '../registry/types.ts';
import { toTable } from './index.ts';

const now = Date.parse('2024-05-01T12:00:00Z');
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();
const reg = new ResourceRegistry();
const info = (group: string, plural: string, version = 'v1'): ResourceInfo =>
  reg.lookup(group, version, plural)!;

function table(i: ResourceInfo, items: object[]) {
  return toTable(i, items, { includeObject: 'None', listMeta: {}, nowMs: now });
}

function header(i: ResourceInfo): string[] {
  return table(i, []).columnDefinitions.map((c) => `${c.name.toUpperCase()}${c.priority ? '*' : ''}`);
}

test('column headers match kubectl get (wide-only columns marked *)', () => {
  const cases: [ResourceInfo, string][] = [
    [info('', 'pods'), 'NAME READY STATUS RESTARTS AGE IP* NODE* NOMINATED NODE* READINESS GATES*'],
    [info('apps', 'deployments'), 'NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS* IMAGES* SELECTOR*'],
    [info('apps', 'replicasets'), 'NAME DESIRED CURRENT READY AGE CONTAINERS* IMAGES* SELECTOR*'],
    [info('apps', 'statefulsets'), 'NAME READY AGE CONTAINERS* IMAGES*'],
    [
      info('apps', 'daemonsets'),
      'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE CONTAINERS* IMAGES* SELECTOR*',
    ],
    [info('', 'services'), 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR*'],
    [
      info('', 'nodes'),
      'NAME STATUS ROLES AGE VERSION INTERNAL-IP* EXTERNAL-IP* OS-IMAGE* KERNEL-VERSION* CONTAINER-RUNTIME*',
    ],
    [info('', 'namespaces'), 'NAME STATUS AGE'],
    [info('', 'configmaps'), 'NAME DATA AGE'],
    [info('', 'secrets'), 'NAME TYPE DATA AGE'],
    [info('', 'serviceaccounts'), 'NAME SECRETS AGE'],
    [info('', 'events'), 'LAST SEEN TYPE REASON OBJECT SUBOBJECT* SOURCE* MESSAGE FIRST SEEN* COUNT* NAME*'],
    [info('batch', 'jobs'), 'NAME STATUS COMPLETIONS DURATION AGE CONTAINERS* IMAGES* SELECTOR*'],
    [
      info('batch', 'cronjobs'),
      'NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE CONTAINERS* IMAGES* SELECTOR*',
    ],
    [info('networking.k8s.io', 'ingresses'), 'NAME CLASS HOSTS ADDRESS PORTS AGE'],
    [info('rbac.authorization.k8s.io', 'roles'), 'NAME CREATED AT'],
    [info('rbac.authorization.k8s.io', 'rolebindings'), 'NAME ROLE AGE USERS* GROUPS* SERVICEACCOUNTS*'],
    [info('apiextensions.k8s.io', 'customresourcedefinitions'), 'NAME CREATED AT'],
    [
      info('', 'persistentvolumeclaims'),
      'NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE VOLUMEMODE*',
    ],
  ];
  for (const [i, want] of cases) assert.equal(header(i).join(' '), want, i.plural);
});

test('every row has one cell per column (the server always prints wide)', () => {
  for (const i of reg.all()) {
    const cols = table(i, []).columnDefinitions.length;
    const t = table(i, [
      { apiVersion: 'x', kind: i.kind, metadata: { name: 'n', creationTimestamp: ago(10) } },
    ]);
    assert.equal(t.rows[0]!.cells.length, cols, i.plural);
  }
});

function pod(
  status: Record<string, unknown>,
  spec: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
) {
  return {
    metadata: { name: 'p', creationTimestamp: ago(3 * 60 + 2), ...meta },
    spec: { containers: [{ name: 'a' }, { name: 'b' }], ...spec },
    status,
  };
}

test('pod READY / STATUS / RESTARTS like printPod', () => {
  const running = (ready: boolean, restarts = 0) => ({
    ready,
    restartCount: restarts,
    state: { running: {} },
  });
  const cases: [string, object, string[]][] = [
    ['pending', pod({ phase: 'Pending' }), ['p', '0/2', 'Pending', '0', '3m2s']],
    [
      'running',
      pod({ phase: 'Running', containerStatuses: [running(true), running(true)] }),
      ['p', '2/2', 'Running', '0', '3m2s'],
    ],
    [
      'crash loop with last restart',
      pod({
        phase: 'Running',
        containerStatuses: [
          running(true),
          {
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, finishedAt: ago(65) } },
          },
        ],
      }),
      ['p', '1/2', 'CrashLoopBackOff', '4 (65s ago)', '3m2s'],
    ],
    [
      'init container waiting',
      pod(
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'init', state: { waiting: { reason: 'PodInitializing' } } }],
        },
        { initContainers: [{ name: 'init' }] },
      ),
      ['p', '0/2', 'Init:0/1', '0', '3m2s'],
    ],
    [
      'sidecar counts as a container',
      pod(
        {
          phase: 'Running',
          initContainerStatuses: [{ name: 'side', started: true, ready: true, state: { running: {} } }],
          containerStatuses: [running(true), running(true)],
          conditions: [{ type: 'Initialized', status: 'True' }],
        },
        { initContainers: [{ name: 'side', restartPolicy: 'Always' }] },
      ),
      ['p', '3/3', 'Running', '0', '3m2s'],
    ],
    [
      'terminating',
      pod({ phase: 'Running' }, {}, { deletionTimestamp: ago(1) }),
      ['p', '0/2', 'Terminating', '0', '3m2s'],
    ],
    ['evicted', pod({ phase: 'Failed', reason: 'Evicted' }), ['p', '0/2', 'Evicted', '0', '3m2s']],
    [
      'scheduling gated',
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', reason: 'SchedulingGated' }] }),
      ['p', '0/2', 'SchedulingGated', '0', '3m2s'],
    ],
  ];
  for (const [name, p, want] of cases)
    assert.deepEqual(table(info('', 'pods'), [p]).rows[0]!.cells.slice(0, 5), want, name);

  const wide = table(info('', 'pods'), [
    pod({ phase: 'Running', podIPs: [{ ip: '10.1.2.3' }] }, { nodeName: 'n1' }),
  ]).rows[0]!;
  assert.deepEqual(wide.cells.slice(5), ['10.1.2.3', 'n1', '<none>', '<none>']);
  const done = table(info('', 'pods'), [pod({ phase: 'Succeeded' })]).rows[0]!;
  assert.equal(done.conditions?.[0]?.reason, 'Succeeded');
});

test('workload, service, node, namespace and config cells', () => {
  const created = { creationTimestamp: ago(2 * 86400 + 3 * 3600) };
  const cases: [ResourceInfo, object, unknown[]][] = [
    [
      info('apps', 'deployments'),
      {
        metadata: { name: 'web', ...created },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'nginx' },
                { name: 'b', image: 'busybox' },
              ],
            },
          },
        },
        status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      },
      ['web', '2/3', 3, 2, '2d3h', 'a,b', 'nginx,busybox', 'app=web'],
    ],
    [
      info('', 'services'),
      {
        metadata: { name: 'svc', ...created },
        spec: {
          type: 'NodePort',
          clusterIPs: ['10.96.0.10'],
          ports: [
            { port: 80, nodePort: 30080, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
          selector: { b: '2', a: '1' },
        },
      },
      ['svc', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '2d3h', 'a=1,b=2'],
    ],
    [
      info('', 'services'),
      {
        metadata: { name: 'lb', ...created },
        spec: { type: 'LoadBalancer', clusterIP: 'None' },
        status: { loadBalancer: {} },
      },
      ['lb', 'LoadBalancer', 'None', '<pending>', '<none>', '2d3h', '<none>'],
    ],
    [
      info('', 'nodes'),
      {
        metadata: {
          name: 'n1',
          labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'infra' },
          ...created,
        },
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          nodeInfo: { kubeletVersion: 'v1.32.0' },
          addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
        },
      },
      [
        'n1',
        'Ready,SchedulingDisabled',
        'control-plane,infra',
        '2d3h',
        'v1.32.0',
        '10.0.0.1',
        '<none>',
        '<unknown>',
        '<unknown>',
        '<unknown>',
      ],
    ],
    [
      info('', 'namespaces'),
      { metadata: { name: 'default', ...created }, status: { phase: 'Active' } },
      ['default', 'Active', '2d3h'],
    ],
    [
      info('', 'configmaps'),
      { metadata: { name: 'c', ...created }, data: { a: '1' }, binaryData: { b: '' } },
      ['c', 2, '2d3h'],
    ],
    [
      info('', 'secrets'),
      { metadata: { name: 's', ...created }, type: 'Opaque', data: { a: 'MQ==' } },
      ['s', 'Opaque', 1, '2d3h'],
    ],
    [
      info('batch', 'jobs'),
      {
        metadata: { name: 'j', ...created },
        spec: { completions: 3, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
        status: {
          succeeded: 3,
          startTime: ago(200),
          completionTime: ago(10),
          conditions: [{ type: 'Complete', status: 'True' }],
        },
      },
      ['j', 'Complete', '3/3', '3m10s', '2d3h', 'c', 'i', '<none>'],
    ],
    [
      info('batch', 'cronjobs'),
      {
        metadata: { name: 'cj', ...created },
        spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
      },
      ['cj', '*/5 * * * *', '<none>', '<unset>', 0, '<none>', '2d3h', '', '', '<none>'],
    ],
    [
      info('rbac.authorization.k8s.io', 'rolebindings'),
      {
        metadata: { name: 'rb', ...created },
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', name: 'alice' },
          { kind: 'ServiceAccount', namespace: 'ns', name: 'sa' },
        ],
      },
      ['rb', 'ClusterRole/view', '2d3h', 'alice', '', 'ns/sa'],
    ],
    [
      info('rbac.authorization.k8s.io', 'roles'),
      { metadata: { name: 'r', creationTimestamp: '2024-04-29T09:00:00Z' } },
      ['r', '2024-04-29T09:00:00Z'],
    ],
    [
      info('', 'events'),
      {
        metadata: { name: 'p.1', ...created },
        involvedObject: { kind: 'Pod', name: 'p' },
        type: 'Warning',
        reason: 'BackOff',
        message: ' Back-off restarting \n',
        firstTimestamp: ago(600),
        lastTimestamp: ago(30),
        count: 7,
        source: { component: 'kubelet', host: 'n1' },
      },
      ['30s', 'Warning', 'BackOff', 'pod/p', '', 'kubelet, n1', 'Back-off restarting', '10m', 7, 'p.1'],
    ],
    [
      info('events.k8s.io', 'events'),
      {
        metadata: { name: 'e', ...created },
        regarding: { kind: 'Node', name: 'n1' },
        type: 'Normal',
        reason: 'Ready',
        note: 'ok',
        eventTime: ago(5),
        reportingController: 'kubelet',
      },
      ['5s', 'Normal', 'Ready', 'node/n1', '', 'kubelet', 'ok', '5s', 1, 'e'],
    ],
    [
      info('storage.k8s.io', 'storageclasses'),
      {
        metadata: {
          name: 'std',
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
          ...created,
        },
        provisioner: 'local',
      },
      ['std (default)', 'local', 'Delete', 'Immediate', false, '2d3h'],
    ],
    [
      info('', 'persistentvolumes'),
      {
        metadata: { name: 'pv1', ...created },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany', 'ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { namespace: 'ns', name: 'c' },
          storageClassName: 'std',
        },
        status: { phase: 'Bound' },
      },
      ['pv1', '1Gi', 'RWO,RWX', 'Retain', 'Bound', 'ns/c', 'std', '<unset>', '', '2d3h', '<unset>'],
    ],
  ];
  for (const [i, obj, want] of cases) assert.deepEqual(table(i, [obj]).rows[0]!.cells, want, i.plural);
});

test('custom resources: additionalPrinterColumns, or AGE by default', () => {
  const r = new ResourceRegistry();
  const crd = (columns?: object[]) => ({
    metadata: { name: 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      names: { plural: 'crontabs', kind: 'CronTab' },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, additionalPrinterColumns: columns }],
    },
  });
  const obj = {
    metadata: { name: 'c', creationTimestamp: ago(90) },
    spec: { cronSpec: '* * * * */5', replicas: 2, enabled: true, tags: ['a', 'b'] },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
  r.addCRD(crd());
  let t = table(r.lookup('stable.example.com', 'v1', 'crontabs')!, [obj]);
  assert.deepEqual(
    t.columnDefinitions.map((c) => [c.name, c.type]),
    [
      ['Name', 'string'],
      ['Age', 'date'],
    ],
  );
  assert.deepEqual(t.rows[0]!.cells, ['c', '90s']);

  r.addCRD(
    crd([
      { name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' },
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
      { name: 'Tags', type: 'string', jsonPath: '.spec.tags', priority: 1 },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Missing', type: 'string', jsonPath: '.spec.nothing' },
      { name: 'Wrong', type: 'integer', jsonPath: '.spec.cronSpec' },
    ]),
  );
  t = table(r.lookup('stable.example.com', 'v1', 'crontabs')!, [obj]);
  assert.equal(t.columnDefinitions[4]!.priority, 1);
  assert.equal(
    t.columnDefinitions[1]!.description,
    'Custom resource definition column (in JSONPath format): .spec.cronSpec',
  );
  assert.deepEqual(t.rows[0]!.cells, ['c', '* * * * */5', 2, true, '[a b]', 'True', null, null]);
});

test('includeObject and list metadata', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '7' }, data: {} };
  const i = info('', 'configmaps');
  const listMeta = { resourceVersion: '42', continue: 'tok', remainingItemCount: 3 };
  const none = toTable(i, [cm], { includeObject: 'None', listMeta, nowMs: now });
  assert.equal(none.rows[0]!.object, undefined);
  assert.deepEqual(none.metadata, { resourceVersion: '42', continue: 'tok', remainingItemCount: 3 });
  assert.equal(none.kind, 'Table');
  assert.equal(none.apiVersion, 'meta.k8s.io/v1');
  const full = toTable(i, [cm], { includeObject: 'Object', listMeta: {}, nowMs: now });
  assert.deepEqual(full.metadata, { resourceVersion: '7' }, 'a single object lends its resourceVersion');
  assert.equal(full.rows[0]!.object, cm);
  const partial = toTable(i, [cm], { includeObject: 'Metadata', listMeta: {}, nowMs: now });
  assert.deepEqual(partial.rows[0]!.object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { name: 'c', resourceVersion: '7' },
  });
});
