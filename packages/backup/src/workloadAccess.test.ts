// The order in which the backup controllers reach a non-local cluster's API (workloadAccess.ts):
// the Secret `<cluster>-kubeconfig` overrides, else the cluster's own source (kaasctl server's
// cluster-CA certificate), else a coded error naming both ways. The source here is a fake service
// (the real one, apps/kaasctl/src/server/workloadApi.ts, has its own test against an API server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkloadApiSource } from '@kaas/clusters';
import { reasonOf } from './engine.ts';
import { workloadAccess } from './workloadAccess.ts';

type Obj = Record<string, any>;

const kubeconfig = `apiVersion: v1
kind: Config
current-context: c
contexts: [{ name: c, context: { cluster: c, user: u } }]
clusters: [{ name: c, cluster: { server: "https://override.example:6443/" } }]
users: [{ name: u, user: { token: abc } }]
`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const cluster = (status: Obj = {}): Obj => ({ metadata: { name: 'prod', namespace: 'team' }, status });

function access(objects: Record<string, Obj>, workloadApi?: WorkloadApiSource) {
  const calls: string[] = [];
  const get = async (kind: 'Secret' | 'Cluster', ns: string, name: string) => {
    calls.push(`${kind} ${ns}/${name}`);
    return objects[`${kind} ${ns}/${name}`];
  };
  return { calls, get: workloadAccess({ get, ...(workloadApi ? { workloadApi } : {}) }) };
}

const fromCa: WorkloadApiSource = async (_c, status) =>
  status.endpoint
    ? { url: `${status.endpoint}/`, caPem: 'CA', clientCertPem: 'CERT', clientKeyPem: 'KEY' }
    : undefined;

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an error');
}

test('the Secret <cluster>-kubeconfig overrides the cluster CA source', async () => {
  let sourced = 0;
  const a = access(
    {
      'Secret team/prod-kubeconfig': { data: { value: b64(kubeconfig) } },
      'Cluster team/prod': cluster({ endpoint: 'https://10.0.0.5:6443' }),
    },
    async (c, s) => (sourced++, fromCa(c, s)),
  );
  const c = await a.get('team', 'prod');
  assert.equal(c.server, 'https://override.example:6443');
  assert.equal(c.access, 'Secret team/prod-kubeconfig (override)');
  assert.equal(sourced, 0);
});

test('without the Secret: status.endpoint with the certificate from the cluster CA', async () => {
  const a = access({ 'Cluster team/prod': cluster({ endpoint: 'https://10.0.0.5:6443' }) }, fromCa);
  const c = await a.get('team', 'prod');
  assert.equal(c.server, 'https://10.0.0.5:6443');
  assert.equal(c.cluster, 'prod');
  assert.match(
    c.access!,
    /^status\.endpoint https:\/\/10\.0\.0\.5:6443 with a client certificate from the cluster CA$/,
  );
  assert.deepEqual(a.calls, ['Secret team/prod-kubeconfig', 'Cluster team/prod']);
});

test('neither way: NotFound naming both, and what is missing', async () => {
  const cases: { name: string; objects: Record<string, Obj>; source?: WorkloadApiSource; want: RegExp[] }[] =
    [
      {
        name: 'no endpoint yet',
        objects: { 'Cluster team/prod': cluster() },
        source: fromCa,
        want: [
          /Cluster team\/prod: it has no status\.endpoint yet/,
          /no Secret team\/prod-kubeconfig \(key value\) overrides that/,
          /kubectl create secret generic prod-kubeconfig --from-file=value=admin\.conf/,
        ],
      },
      {
        name: 'an endpoint but no cluster CA',
        objects: { 'Cluster team/prod': cluster({ endpoint: 'https://10.0.0.5:6443' }) },
        source: async () => undefined,
        want: [
          /status\.endpoint https:\/\/10\.0\.0\.5:6443 but no cluster CA for it \(Secret team\/prod-node-bootstrap/,
          /kubectl create secret generic prod-kubeconfig/,
        ],
      },
      {
        name: 'no source in this process',
        objects: { 'Cluster team/prod': cluster({ endpoint: 'https://10.0.0.5:6443' }) },
        want: [/not in Secret team\/prod-kubeconfig \(key value\), and this server has no other way/],
      },
      {
        name: 'no Cluster',
        objects: {},
        source: fromCa,
        want: [/^Cluster team\/prod does not exist$/],
      },
    ];
  for (const c of cases) {
    const e = await rejects(access(c.objects, c.source).get('team', 'prod'));
    assert.equal(reasonOf(e), 'NotFound', c.name);
    for (const w of c.want) assert.match(e.message, w, c.name);
  }
});

test('a Secret without the key value is InvalidSpec, not silently passed over', async () => {
  const a = access(
    {
      'Secret team/prod-kubeconfig': { data: { kubeconfig: b64(kubeconfig) } },
      'Cluster team/prod': cluster({ endpoint: 'https://10.0.0.5:6443' }),
    },
    fromCa,
  );
  const e = await rejects(a.get('team', 'prod'));
  assert.equal(reasonOf(e), 'InvalidSpec');
  assert.match(e.message, /Secret team\/prod-kubeconfig has no key value/);
  assert.match(e.message, /or delete the Secret to let KaaS reach the cluster itself/);
});
