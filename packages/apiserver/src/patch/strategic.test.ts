// Strategic merge patch against a real oracle: `kubectl patch --local` applies the same patch
// with upstream's Go implementation, offline. Every case must produce the same object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strategicMergePatch } from './strategic.ts';
import { applyPatch } from './index.ts';
import { StatusError } from '../errors.ts';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', finalizers: ['a', 'b'], labels: { app: 'web', tier: 'front' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'v1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [{ containerPort: 80 }, { containerPort: 81, name: 'm' }],
            volumeMounts: [{ name: 'v', mountPath: '/data' }],
          },
          { name: 'side', image: 's1', args: ['--a', '--b'] },
        ],
        volumes: [{ name: 'v', emptyDir: {} }],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  },
};
const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's' },
  spec: {
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443 },
    ],
    selector: { app: 'web' },
  },
};

const cases: [string, object, object][] = [
  [
    'one container image, others kept',
    deployment,
    { spec: { template: { spec: { containers: [{ name: 'app', image: 'v2' }] } } } },
  ],
  [
    'env merged by name',
    deployment,
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'B', value: '3' },
                  { name: 'C', value: '4' },
                ],
              },
            ],
          },
        },
      },
    },
  ],
  [
    '$patch: delete of a container',
    deployment,
    { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
  ],
  [
    'new container appended',
    deployment,
    { spec: { template: { spec: { containers: [{ name: 'third', image: 't' }] } } } },
  ],
  ['null deletes a label', deployment, { metadata: { labels: { tier: null, env: 'prod' } } }],
  ['finalizers union', deployment, { metadata: { finalizers: ['c', 'a'] } }],
  ['$deleteFromPrimitiveList', deployment, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }],
  [
    'ports merged by containerPort',
    deployment,
    {
      spec: {
        template: {
          spec: { containers: [{ name: 'app', ports: [{ containerPort: 81, name: 'metrics' }] }] },
        },
      },
    },
  ],
  [
    'atomic lists replace (args, tolerations)',
    deployment,
    {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'side', args: ['--c'] }],
            tolerations: [{ key: 'z', operator: 'Exists' }],
          },
        },
      },
    },
  ],
  [
    '$patch: replace on a map',
    deployment,
    { spec: { selector: { $patch: 'replace', matchLabels: { app: 'other' } } } },
  ],
  ['service ports merged by port', service, { spec: { ports: [{ port: 443, targetPort: 8443 }] } }],
  [
    'volumes by name, volumeMounts by mountPath',
    deployment,
    {
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'w', emptyDir: {} }],
            containers: [{ name: 'app', volumeMounts: [{ name: 'w', mountPath: '/w' }] }],
          },
        },
      },
    },
  ],
  [
    '$setElementOrder',
    deployment,
    {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
            containers: [{ name: 'app', image: 'v3' }],
          },
        },
      },
    },
  ],
];

function kubectlPatch(dir: string, obj: object, patch: object): unknown {
  const f = join(dir, 'obj.json');
  writeFileSync(f, JSON.stringify(obj));
  const out = execFileSync(
    'kubectl',
    ['patch', '--local', '-f', f, '--type', 'strategic', '-p', JSON.stringify(patch), '-o', 'json'],
    {
      env: { ...process.env, KUBECONFIG: '/dev/null' },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

test('strategic merge patch matches kubectl patch --local on every case', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kaas-smp-'));
  try {
    for (const [what, obj, p] of cases) {
      const patch = p;
      const want = kubectlPatch(dir, obj, patch);
      const got = strategicMergePatch(structuredClone(obj), patch, (obj as { kind: string }).kind);
      assert.deepEqual(got, want, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyPatch: json and merge patches, errors as Status, CRs refuse strategic', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
  const t = { apiVersion: 'v1', kind: 'ConfigMap', isCustomResource: false };
  assert.deepEqual(
    (applyPatch('application/merge-patch+json', cm, '{"data":{"a":null,"c":"3"}}', t) as any).data,
    { b: '2', c: '3' },
  );
  assert.deepEqual(
    (
      applyPatch(
        'application/json-patch+json',
        cm,
        '[{"op":"replace","path":"/data/a","value":"9"}]',
        t,
      ) as any
    ).data.a,
    '9',
  );
  assert.equal(cm.data.a, '1', 'the original is never mutated');
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof StatusError ? e.code : -1;
    }
    return 0;
  };
  assert.equal(
    code(() =>
      applyPatch('application/json-patch+json', cm, '[{"op":"test","path":"/data/a","value":"x"}]', t),
    ),
    422,
  );
  assert.equal(
    code(() => applyPatch('application/json-patch+json', cm, '{"op":"add"}', t)),
    400,
  );
  assert.equal(
    code(() => applyPatch('application/merge-patch+json', cm, '[1]', t)),
    400,
  );
  assert.equal(
    code(() => applyPatch('application/merge-patch+json', cm, '{bad', t)),
    400,
  );
  assert.equal(
    code(() =>
      applyPatch('application/strategic-merge-patch+json', cm, '{}', { ...t, isCustomResource: true }),
    ),
    415,
  );
  assert.equal(
    code(() => applyPatch('application/apply-patch+yaml', cm, '{}', t)),
    415,
  );
});
