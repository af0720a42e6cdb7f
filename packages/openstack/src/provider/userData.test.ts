// What the provider hands nova as user data when it has a ClusterBootstrap: the real node
// bootstrap for every server of a planned cluster, from the plan's own nodes and the inputs the
// engine would pass them. Pure (no fake cloud: provider.test.ts has none either); the certificates
// are real (openssl, testing.ts).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments, parse } from 'yaml';
import { withDefaults, type Cluster } from '@kaas/api';
import { CloudError, type GraphNodeOf, type Inputs } from '@kaas/providers';
import { checkKubeadmDocument } from '../bootstrap/kubeadmSchema.ts';
import { paths } from '../bootstrap/paths.ts';
import { caCertHashOf } from '../bootstrap/secrets.ts';
import { testCluster } from '../bootstrap/testing.ts';
import type { WriteFile } from '../bootstrap/userData.ts';
import { ids, planOpenStackCluster } from './plan.ts';
import { initServerId, nodeUserData, serverUserData, type ClusterBootstrap } from './userData.ts';

const uid = '0f0c6c2e-5b1a-4c55-9d0e-3f2b8a4e7d11';
const vip = '10.8.0.15';
const fipAddress = '203.0.113.77';

function cluster(): Cluster {
  const c = withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'demo', namespace: 'team-a' },
    spec: {
      provider: {
        type: 'openstack',
        openstack: {
          region: 'RegionOne',
          externalNetwork: 'public',
          image: 'ubuntu-24.04',
          flavors: { controlPlane: 'm1.large', workers: 'm1.xlarge' },
          dnsZone: 'kaas.example.com.',
        },
      },
      controlPlane: { replicas: 3 },
      nodePools: [{ name: 'workers', replicas: 2 }],
      auth: { clusterAdminRoleIds: ['admin'] },
      credentialsRef: { name: 'os' },
    },
  } as never);
  c.metadata.uid = uid;
  return c;
}

/** What the engine passes a server: the outputs of its dependsOn. */
function inputsFor(node: GraphNodeOf<'server'>): Inputs {
  const all: Inputs = {
    [ids.apiLoadBalancer]: {
      type: 'loadBalancer',
      cloudId: 'lb-1',
      tags: {},
      outputs: { vip, hostname: vip, ports: [6443] },
    },
    [ids.apiFloatingIp]: { type: 'floatingIp', cloudId: 'fip-1', tags: {}, outputs: { address: fipAddress } },
  };
  return Object.fromEntries(Object.entries(all).filter(([id]) => node.dependsOn.includes(id)));
}

interface Rendered {
  id: string;
  userData: string;
  files: Map<string, WriteFile>;
  kubeadm: Record<string, unknown>[];
}

let bootstrap: ClusterBootstrap;
let rendered: Rendered[];

before(async () => {
  const t = await testCluster();
  bootstrap = {
    secrets: {
      bootstrapToken: t.init.bootstrapToken,
      certificateKey: t.init.certificateKey!,
      clusterCa: t.init.clusterCa!,
    },
    tokenReviewWebhook: t.init.tokenReviewWebhook,
    openstack: {
      authUrl: t.init.openstack.authUrl,
      applicationCredentialId: t.init.openstack.applicationCredentialId,
      applicationCredentialSecret: t.init.openstack.applicationCredentialSecret,
    },
  };
  const c = cluster();
  const servers = planOpenStackCluster(c).nodes.filter(
    (n): n is GraphNodeOf<'server'> => n.type === 'server',
  );
  rendered = servers.map((node) => {
    const userData = nodeUserData(c, node, inputsFor(node), bootstrap, {
      networkId: '2f7a1c3e-0000-4000-8000-000000000001',
      subnetId: '2f7a1c3e-0000-4000-8000-000000000002',
    });
    const files = new Map(
      (parse(userData) as { write_files: WriteFile[] }).write_files.map((f) => [f.path, f]),
    );
    const kubeadm = parseAllDocuments(files.get(paths.kubeadmConfig)?.content ?? '').map(
      (d) => d.toJS() as Record<string, unknown>,
    );
    return { id: node.id, userData, files, kubeadm };
  });
});

const kinds = (r: Rendered): unknown[] => r.kubeadm.map((d) => d.kind);

test('plan: every server depends on the API load balancer, the control plane also on its floating IP', () => {
  const g = planOpenStackCluster(cluster());
  for (const n of g.nodes.filter((x) => x.type === 'server')) {
    assert.ok(n.dependsOn.includes(ids.apiLoadBalancer), n.id);
    const cp = n.type === 'server' && n.spec.role === 'controlPlane';
    assert.equal(n.dependsOn.includes(ids.apiFloatingIp), cp, n.id);
    // workers are not the API LB's members, only wait for its VIP
    if (n.type === 'server' && !cp) assert.deepEqual(n.spec.loadBalancers, []);
  }
});

test('user data: #cloud-config with a kubeadm config that conforms and points at the VIP', () => {
  assert.equal(rendered.length, 5);
  for (const r of rendered) {
    assert.ok(r.userData.startsWith('#cloud-config\n'), r.id);
    assert.ok(r.kubeadm.length >= 1, `${r.id}: kubeadm documents`);
    for (const d of r.kubeadm) assert.deepEqual(checkKubeadmDocument(d), [], `${r.id} ${String(d.kind)}`);
    const joinOrCluster = r.kubeadm.find(
      (d) => d.kind === 'ClusterConfiguration' || d.kind === 'JoinConfiguration',
    ) as { controlPlaneEndpoint?: string; discovery?: { bootstrapToken?: { apiServerEndpoint?: string } } };
    const endpoint =
      joinOrCluster.controlPlaneEndpoint ?? joinOrCluster.discovery?.bootstrapToken?.apiServerEndpoint;
    assert.equal(endpoint, `${vip}:6443`, r.id);
  }
  const init = rendered.find((r) => r.id === initServerId)!;
  const cc = init.kubeadm.find((d) => d.kind === 'ClusterConfiguration') as {
    apiServer?: { certSANs?: string[] };
  };
  assert.ok(cc.apiServer?.certSANs?.includes(fipAddress), JSON.stringify(cc.apiServer));
});

test('kubeadm init on control-plane-0 only; every other server joins, the control plane as such', () => {
  assert.equal(initServerId, 'server/control-plane-0');
  for (const r of rendered) {
    const isInit: boolean = r.id === initServerId;
    assert.equal(kinds(r).includes('InitConfiguration'), isInit, r.id);
    assert.equal(kinds(r).includes('JoinConfiguration'), !isInit, r.id);
    // only the init node writes the cluster CA's key
    assert.equal(r.files.has(paths.caKey), isInit, r.id);
    const join = r.kubeadm.find((d) => d.kind === 'JoinConfiguration') as
      { controlPlane?: unknown } | undefined;
    if (join) assert.equal(join.controlPlane !== undefined, r.id.startsWith('server/control-plane-'), r.id);
  }
});

test('one set of secrets across the servers: the same token, CA hash and webhook', () => {
  const hash = caCertHashOf(bootstrap.secrets.clusterCa.certPem);
  for (const r of rendered) {
    assert.ok(r.userData.includes(bootstrap.secrets.bootstrapToken), r.id);
    // the webhook is the kube-apiserver's: control plane servers only
    const cp = r.id.startsWith('server/control-plane-');
    assert.equal(r.userData.includes(bootstrap.tokenReviewWebhook.url), cp, r.id);
    const join = r.kubeadm.find((d) => d.kind === 'JoinConfiguration') as
      { discovery: { bootstrapToken: { caCertHashes: string[]; token: string } } } | undefined;
    if (join) {
      assert.deepEqual(join.discovery.bootstrapToken.caCertHashes, [hash], r.id);
      assert.equal(join.discovery.bootstrapToken.token, bootstrap.secrets.bootstrapToken, r.id);
    }
  }
  const init = rendered.find((r) => r.id === initServerId)!;
  assert.equal(init.files.get(paths.caCert)?.content.trim(), bootstrap.secrets.clusterCa.certPem.trim());
});

test('without the API load balancer among its inputs a server is refused (InvalidSpec), and the stub stays', () => {
  const c = cluster();
  const node = planOpenStackCluster(c).nodes.find(
    (n) => n.id === 'server/workers-0',
  ) as GraphNodeOf<'server'>;
  assert.throws(
    () => nodeUserData(c, node, {}, bootstrap),
    (e: unknown) =>
      e instanceof CloudError && e.code === 'InvalidSpec' && /loadBalancer\/api/.test(e.message),
  );
  const stub = serverUserData(c, node.spec);
  assert.ok(stub.startsWith('#cloud-config\n') && !stub.includes('kubeadm'));
});
