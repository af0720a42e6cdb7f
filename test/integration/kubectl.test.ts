// The real kubectl against our API server: the operations docs/compatibility.md lists, with the
// client on PATH (1.32) and the oldest and newest beside it, in the root cluster and in a logical
// cluster.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestServer } from '../support/apiserver.ts';
import { kubectl, kubectlPath, startTestServer } from '../support/apiserver.ts';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => ts?.stop());

const deployment = (name: string, image: string, replicas = 2) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: app
        image: ${image}
        env:
        - {name: A, value: "1"}
      - name: sidecar
        image: busybox:1.36
`;

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

// Versions on the machine: the PATH client plus the oldest and newest beside it.
const versions = ['default', '1.27', '1.33'].filter((v) => v === 'default' || existsSync(kubectlPath(v)));

for (const version of versions) {
  for (const where of ['root', 'logical'] as const) {
    describe(`kubectl ${version} in the ${where} cluster`, () => {
      let kc: string;
      const ns = `t-${version.replace('.', '')}-${where}`;
      const k = (args: string[], input?: string) =>
        kubectl(kc, args, { input, version: version === 'default' ? undefined : version });

      before(async () => {
        kc = where === 'root' ? ts.kubeconfig : await ts.kubeconfigFor(`lc-${version.replace('.', '')}`);
      });

      test('create namespace|configmap|secret|serviceaccount|deployment|rolebinding (protobuf bodies on 1.32+)', async () => {
        ok(await k(['create', 'namespace', ns]), 'create namespace');
        ok(await k(['-n', ns, 'create', 'configmap', 'cm1', '--from-literal=a=b']), 'create configmap');
        ok(await k(['-n', ns, 'create', 'secret', 'generic', 's1', '--from-literal=k=v']), 'create secret');
        ok(await k(['-n', ns, 'create', 'serviceaccount', 'sa1']), 'create serviceaccount');
        ok(
          await k(['-n', ns, 'create', 'deployment', 'd1', '--image=nginx:1.27', '--replicas=2']),
          'create deployment',
        );
        ok(
          await k(['-n', ns, 'create', 'rolebinding', 'rb1', '--clusterrole=view', '--user=alice']),
          'create rolebinding',
        );
        const cm = JSON.parse(ok(await k(['-n', ns, 'get', 'configmap', 'cm1', '-o', 'json']), 'get cm'));
        assert.equal(cm.data.a, 'b');
        const s = JSON.parse(ok(await k(['-n', ns, 'get', 'secret', 's1', '-o', 'json']), 'get secret'));
        assert.equal(Buffer.from(s.data.k, 'base64').toString(), 'v');
        const d = JSON.parse(ok(await k(['-n', ns, 'get', 'deploy', 'd1', '-o', 'json']), 'get deploy'));
        assert.equal(d.spec.replicas, 2);
        assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
        const rb = JSON.parse(ok(await k(['-n', ns, 'get', 'rolebinding', 'rb1', '-o', 'json']), 'get rb'));
        assert.equal(rb.subjects[0].name, 'alice');
        // AlreadyExists is a clear error.
        const again = await k(['create', 'namespace', ns]);
        assert.notEqual(again.code, 0);
        assert.match(again.stderr, /already exists/);
      });

      test('get prints tables; describe works', async () => {
        const out = ok(await k(['-n', ns, 'get', 'deployments']), 'get deployments');
        assert.match(out, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
        assert.match(out, /d1/);
        assert.match(ok(await k(['get', 'namespaces']), 'get ns'), new RegExp(`${ns}\\s+Active`));
        assert.match(ok(await k(['-n', ns, 'describe', 'configmap', 'cm1']), 'describe'), /Name:\s+cm1/);
      });

      test('apply: create, change, apply again (client-side, default validation)', async () => {
        ok(await k(['-n', ns, 'apply', '-f', '-'], deployment('web', 'nginx:1.25')), 'apply 1');
        ok(await k(['-n', ns, 'apply', '-f', '-'], deployment('web', 'nginx:1.26', 3)), 'apply 2');
        const d = JSON.parse(ok(await k(['-n', ns, 'get', 'deploy', 'web', '-o', 'json']), 'get'));
        assert.equal(d.spec.replicas, 3);
        const containers = d.spec.template.spec.containers;
        assert.deepEqual(
          containers.map((c: any) => `${c.name}=${c.image}`),
          ['app=nginx:1.26', 'sidecar=busybox:1.36'],
        );
        assert.equal(d.metadata.generation, 2);
        const same = ok(
          await k(['-n', ns, 'apply', '-f', '-'], deployment('web', 'nginx:1.26', 3)),
          'apply 3',
        );
        assert.match(same, /unchanged/);
        // Unknown fields are rejected by strict validation with the field named.
        const bad = await k(
          ['-n', ns, 'apply', '-f', '-'],
          deployment('web', 'nginx:1.26').replace('replicas:', 'replicaz: 1\n  replicas:'),
        );
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /replicaz/);
      });

      test('patch: strategic, merge and json', async () => {
        ok(
          await k([
            '-n',
            ns,
            'patch',
            'deploy',
            'web',
            '-p',
            '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}}}',
          ]),
          'smp',
        );
        ok(
          await k([
            '-n',
            ns,
            'patch',
            'deploy',
            'web',
            '--type=merge',
            '-p',
            '{"metadata":{"labels":{"tier":"front"}}}',
          ]),
          'merge',
        );
        ok(
          await k([
            '-n',
            ns,
            'patch',
            'deploy',
            'web',
            '--type=json',
            '-p',
            '[{"op":"replace","path":"/spec/replicas","value":4}]',
          ]),
          'json',
        );
        const d = JSON.parse(ok(await k(['-n', ns, 'get', 'deploy', 'web', '-o', 'json']), 'get'));
        assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
        assert.equal(d.spec.template.spec.containers[1].name, 'sidecar');
        assert.equal(d.metadata.labels.tier, 'front');
        assert.equal(d.spec.replicas, 4);
        const failing = await k([
          '-n',
          ns,
          'patch',
          'deploy',
          'web',
          '--type=json',
          '-p',
          '[{"op":"test","path":"/spec/replicas","value":9}]',
        ]);
        assert.notEqual(failing.code, 0);
      });

      test('replace with a stale resourceVersion is a conflict', async () => {
        const cm = JSON.parse(ok(await k(['-n', ns, 'get', 'cm', 'cm1', '-o', 'json']), 'get'));
        ok(await k(['-n', ns, 'label', 'cm', 'cm1', 'x=y']), 'label');
        cm.data.a = 'stale';
        const r = await k(['-n', ns, 'replace', '-f', '-'], JSON.stringify(cm));
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /the object has been modified/);
      });

      test('label, annotate, scale', async () => {
        ok(await k(['-n', ns, 'label', 'cm', 'cm1', 'env=prod', '--overwrite']), 'label');
        ok(await k(['-n', ns, 'annotate', 'cm', 'cm1', 'note=hello']), 'annotate');
        ok(await k(['-n', ns, 'scale', 'deploy', 'web', '--replicas=5']), 'scale');
        const cm = JSON.parse(ok(await k(['-n', ns, 'get', 'cm', 'cm1', '-o', 'json']), 'get'));
        assert.equal(cm.metadata.labels.env, 'prod');
        assert.equal(cm.metadata.annotations.note, 'hello');
        const sel = ok(
          await k(['-n', ns, 'get', 'cm', '-l', 'env in (prod,dev),x', '-o', 'name']),
          'selector',
        );
        assert.equal(sel.trim(), 'configmap/cm1');
        const d = JSON.parse(ok(await k(['-n', ns, 'get', 'deploy', 'web', '-o', 'json']), 'get'));
        assert.equal(d.spec.replicas, 5);
      });

      test('delete --cascade=background|foreground|orphan with owned objects', async () => {
        for (const cascade of ['background', 'foreground', 'orphan']) {
          const owner = JSON.parse(
            ok(await k(['-n', ns, 'create', 'configmap', `own-${cascade}`, '-o', 'json']), 'owner'),
          );
          const dep = {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: `dep-${cascade}`,
              namespace: ns,
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name: owner.metadata.name,
                  uid: owner.metadata.uid,
                  blockOwnerDeletion: true,
                },
              ],
            },
          };
          ok(await k(['create', '-f', '-'], JSON.stringify(dep)), 'dependent');
          ok(
            await k(['-n', ns, 'delete', 'cm', `own-${cascade}`, `--cascade=${cascade}`, '--wait=true']),
            `delete ${cascade}`,
          );
          const w = await k(['-n', ns, 'wait', '--for=delete', `cm/own-${cascade}`, '--timeout=20s']);
          assert.equal(w.code, 0, w.stderr);
          if (cascade === 'orphan') {
            const d = JSON.parse(
              ok(await k(['-n', ns, 'get', 'cm', `dep-${cascade}`, '-o', 'json']), 'orphan kept'),
            );
            assert.equal(d.metadata.ownerReferences, undefined);
          } else {
            const gone = await k(['-n', ns, 'wait', '--for=delete', `cm/dep-${cascade}`, '--timeout=20s']);
            assert.equal(gone.code, 0, `${cascade}: dependent not collected: ${gone.stderr}`);
          }
        }
      });

      test('wait --for=condition after a status update', async () => {
        ok(
          await k(
            ['-n', ns, 'apply', '-f', '-'],
            `apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers: [{name: c, image: busybox}]\n`,
          ),
          'pod',
        );
        const waiting = k(['-n', ns, 'wait', '--for=condition=Ready', 'pod/p1', '--timeout=20s']);
        await new Promise((r) => setTimeout(r, 300));
        const patch = JSON.stringify({
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
        });
        if (version === '1.27') {
          // --subresource arrived in 1.24 but needs the status path; use it everywhere.
        }
        ok(
          await k(['-n', ns, 'patch', 'pod', 'p1', '--subresource=status', '--type=merge', '-p', patch]),
          'status patch',
        );
        const w = await waiting;
        assert.equal(w.code, 0, w.stderr);
        assert.match(w.stdout, /condition met/);
      });

      test('get -w sees a change', async () => {
        const child = k(['-n', ns, 'get', 'cm', '-w', '--request-timeout=4s', '-o', 'name']);
        await new Promise((r) => setTimeout(r, 800));
        ok(await k(['-n', ns, 'create', 'configmap', 'watched']), 'create watched');
        const r = await child;
        assert.match(r.stdout, /configmap\/watched/);
      });

      test('CRD: create, established, use, delete', async () => {
        const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
`;
        ok(await k(['apply', '-f', '-'], crd), 'crd');
        ok(
          await k(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=20s']),
          'established',
        );
        ok(
          await k(
            ['-n', ns, 'apply', '-f', '-'],
            'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n',
          ),
          'cr',
        );
        const out = ok(await k(['-n', ns, 'get', 'wg']), 'get wg');
        assert.match(out, /w1\s+3/);
        const bad = await k(
          ['-n', ns, 'apply', '-f', '-'],
          'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n',
        );
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /spec.size/);
        ok(await k(['delete', 'crd', 'widgets.example.com']), 'delete crd');
      });

      test('api-resources, explain, auth can-i', async () => {
        const ar = ok(await k(['api-resources']), 'api-resources');
        for (const r of ['pods', 'deployments', 'customresourcedefinitions', 'leases', 'networkpolicies'])
          assert.match(ar, new RegExp(`\\b${r}\\b`));
        const ex = await k(['explain', 'deployment.spec.replicas']);
        assert.equal(ex.code, 0, ex.stderr);
        assert.match(ex.stdout, /replicas/);
        assert.equal(ok(await k(['auth', 'can-i', 'create', 'pods']), 'can-i').trim(), 'yes');
      });

      test('namespace deletion removes its contents; wait --for=delete', async () => {
        ok(await k(['delete', 'namespace', ns, '--wait=false']), 'delete ns');
        const w = await k(['wait', '--for=delete', `namespace/${ns}`, '--timeout=30s']);
        assert.equal(w.code, 0, w.stderr);
        const left = await k(['-n', ns, 'get', 'cm', '-o', 'name']);
        assert.equal(left.stdout.trim(), '');
      });
    });
  }
}
