import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeProtobuf,
  decodeWatchEventFrame,
  encodeProtobuf,
  encodeWatchEventFrame,
  isProtobufKind,
  ProtobufDecodeError,
} from './index.ts';

const roundTrip = (o: object) => decodeProtobuf(encodeProtobuf(o));

const samples: object[] = [
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'u-1',
      labels: { b: '2', a: '1' },
      creationTimestamp: '2024-01-02T03:04:05Z',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'x', controller: true },
      ],
      finalizers: ['f1', 'f2'],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'nginx:1.27',
          env: [
            { name: 'A', value: '1' },
            { name: 'S', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } },
          ],
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
          livenessProbe: { tcpSocket: { port: 8080 } },
        },
      ],
      volumes: [
        { name: 'cfg', configMap: { name: 'cm', defaultMode: 420 } },
        { name: 'tmp', emptyDir: {} },
      ],
      nodeSelector: { disk: 'ssd' },
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
    },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-02T03:04:05Z' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    type: 'Opaque',
    data: { bin: Buffer.from([0, 1, 2, 255]).toString('base64') },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c' },
    data: { a: 'b' },
    binaryData: { x: Buffer.from('hi').toString('base64') },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc' },
    spec: {
      type: 'ClusterIP',
      ports: [
        { port: 80, targetPort: 8080 },
        { name: 'b', port: 81, targetPort: 'http' },
      ],
      selector: { app: 'x' },
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', generation: 3 },
    spec: {
      replicas: 0,
      selector: {
        matchLabels: { app: 'd' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: 'd' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      },
    },
    status: { replicas: 2, availableReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
  },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'l' },
    spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '2024-01-02T03:04:05.123456Z' },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'rb' },
    subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'i' },
    spec: {
      rules: [
        {
          host: 'a.example',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  },
  {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'cj' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message: 'nope',
    reason: 'NotFound',
    code: 404,
    details: {
      name: 'x',
      kind: 'pods',
      causes: [{ reason: 'FieldValueInvalid', field: 'spec', message: 'bad' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMapList',
    metadata: { resourceVersion: '42', continue: 'abc' },
    items: [{ metadata: { name: 'a' }, data: { k: 'v' } }],
  },
  {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    metadata: {},
    spec: { token: 't', audiences: ['a'] },
    status: {
      authenticated: true,
      user: { username: 'u', groups: ['g'], extra: { 'keystone/role-names': ['admin', 'member'] } },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e' },
    involvedObject: { kind: 'Pod', name: 'p' },
    reason: 'Started',
    count: 3,
    eventTime: '2024-01-02T03:04:05.000001Z',
    firstTimestamp: '2024-01-02T03:04:05Z',
  },
];

test('round trips keep every field of the built-in kinds', () => {
  for (const s of samples) assert.deepEqual(roundTrip(s), s, (s as { kind: string }).kind);
});

test('inline Go structs (volumeSource, probe handler, localObjectReference) stay flat in JSON', () => {
  const pod = roundTrip(samples[0]!) as any;
  assert.equal(pod.spec.volumes[0].configMap.name, 'cm');
  assert.equal(pod.spec.containers[0].readinessProbe.httpGet.path, '/healthz');
  assert.equal(pod.spec.containers[0].env[1].valueFrom.secretKeyRef.name, 'sec');
});

test('which kinds have a protobuf form', () => {
  assert.equal(isProtobufKind('v1', 'Pod'), true);
  assert.equal(isProtobufKind('apps/v1', 'DeploymentList'), true);
  assert.equal(isProtobufKind('v1', 'Status'), true);
  assert.equal(isProtobufKind('example.com/v1', 'Widget'), false);
  assert.equal(isProtobufKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition'), false);
});

test('encoding is deterministic (map keys sorted)', () => {
  const a = encodeProtobuf({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x' },
    data: { b: '2', a: '1' },
  });
  const b = encodeProtobuf({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x' },
    data: { a: '1', b: '2' },
  });
  assert.deepEqual(a, b);
});

test('watch frames: length-prefixed WatchEvent around the enveloped object', () => {
  const frame = encodeWatchEventFrame('MODIFIED', samples[2]!);
  assert.equal(new DataView(frame.buffer).getUint32(0, false), frame.length - 4);
  const back = decodeWatchEventFrame(frame);
  assert.equal(back.type, 'MODIFIED');
  assert.deepEqual(back.object, samples[2]);
});

test('malformed input is a ProtobufDecodeError, never another error, never a hang', () => {
  const valid = samples.map((s) => encodeProtobuf(s));
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const started = performance.now();
  for (let i = 0; i < 5000; i++) {
    const base = valid[rand(valid.length)]!;
    const b = Uint8Array.from(base);
    const op = rand(3);
    if (op === 0) b[4 + rand(b.length - 4)] = rand(256);
    const cut = op === 1 ? b.subarray(0, 4 + rand(b.length - 4)) : b;
    if (op === 2) for (let j = 0; j < 5; j++) cut[4 + rand(cut.length - 4)] = rand(256);
    try {
      decodeProtobuf(cut);
    } catch (e) {
      assert.ok(
        e instanceof ProtobufDecodeError,
        `mutation ${i}: ${(e as Error).name}: ${(e as Error).message}`,
      );
    }
  }
  assert.throws(() => decodeProtobuf(Buffer.from('{"kind":"Pod"}')), ProtobufDecodeError);
  assert.ok(performance.now() - started < 20_000);
});
