// The create form's manifest is a bootstrap file: filled in like examples/bootstrap.yaml, it
// parses with the same parser `kaasctl cluster deploy -f` uses, without problems, to the same
// Cluster as examples/bootstrap.yaml (after defaults), and the form's own checks agree with the
// API's on what they both check.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBootstrap, validateCluster } from '@kaas/api';
import { emptyForm, formProblems, manifestOf, manifestYaml } from '@kaas/console/src/cluster.ts';
import { repoRoot } from './chromium.ts';

test('the form filled in like examples/bootstrap.yaml makes the same Cluster', async () => {
  const example = parseBootstrap(
    await readFile(join(repoRoot, 'examples/bootstrap.yaml'), 'utf8'),
    'bootstrap.yaml',
  );
  assert.deepEqual(example.problems, []);
  const form = { ...emptyForm('1.33'), name: 'demo' };
  const ours = parseBootstrap(manifestYaml(form), 'form.yaml');
  assert.deepEqual(ours.problems, []);
  const strip = (o: any) => {
    const c = structuredClone(o);
    // what the form does not offer: labels, the pool's disk and labels, local quotas and faults
    delete c.metadata.labels;
    delete c.spec.provider.local.quotas;
    for (const p of c.spec.nodePools) {
      delete p.labels;
      delete p.diskGiB;
    }
    return c;
  };
  assert.deepEqual(strip(ours.objects[0]), strip(example.objects[0]));
});

test('the form rejects what the API rejects, field by field', () => {
  const bad = {
    ...emptyForm('1.33'),
    name: 'Not_A_Name',
    nodePools: [
      { name: 'w', replicas: 0, machineType: 'medium' },
      { name: 'w', replicas: 1, machineType: 'medium' },
    ],
    services: { ...emptyForm('1.33').services, kubernetesAuth: false },
  };
  const ours = formProblems(bad);
  assert.ok(ours.name && ours['pool0.replicas'] && ours['pool1.name'] && ours.services, JSON.stringify(ours));
  const api = validateCluster(manifestOf(bad)).map((p) => p.path);
  for (const path of ['metadata.name', 'spec.nodePools[0].replicas', 'spec.services.ssoProxy'])
    assert.ok(
      api.some((p) => p.startsWith(path)),
      `the API does not flag ${path}: ${api.join(', ')}`,
    );
  assert.deepEqual(formProblems({ ...emptyForm('1.33'), name: 'ok-name' }), {});
});
