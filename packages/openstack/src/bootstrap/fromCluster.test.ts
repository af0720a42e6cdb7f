// A Cluster as the API parses it, through nodeBootstrapInput, renders for each kind of node.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterSchema, type Cluster } from '@kaas/api';
import { nodeBootstrapInput, poolLabel, type NodeBootstrapOptions } from './fromCluster.ts';
import { checkBootstrapInput } from './input.ts';
import { renderKubeadmConfig } from './kubeadm.ts';
import { caCertHashOf } from './secrets.ts';
import { testCluster, type TestCluster } from './testing.ts';

function cluster(kubernetesVersion: string): Cluster {
  return ClusterSchema.parse({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'demo', namespace: 'default', uid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0' },
    spec: {
      kubernetesVersion,
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
      nodePools: [
        {
          name: 'gpu',
          replicas: 1,
          labels: { 'example.com/accelerator': 'a100' },
          taints: [{ key: 'example.com/gpu', effect: 'NoSchedule' }],
        },
      ],
      auth: { clusterAdminRoleIds: ['admin-role'] },
      credentialsRef: { name: 'openstack-credentials' },
    },
  });
}

describe('nodeBootstrapInput (Cluster -> input)', () => {
  let c: TestCluster;
  let base: Omit<NodeBootstrapOptions, 'cluster' | 'node' | 'init'>;
  before(async () => {
    c = await testCluster();
    base = {
      controlPlaneEndpoint: c.init.controlPlaneEndpoint,
      secrets: {
        bootstrapToken: c.init.bootstrapToken,
        certificateKey: c.init.certificateKey!,
        clusterCa: c.init.clusterCa!,
      },
      tokenReviewWebhook: c.init.tokenReviewWebhook,
      openstack: c.init.openstack,
    };
  });

  it('resolves MAJOR.MINOR, copies the network, pins the CA, and gives only the init node the CA key', () => {
    const spec = cluster('1.33');
    const init = nodeBootstrapInput({
      ...base,
      cluster: spec,
      node: { name: 'demo-cp-0', role: 'controlPlane', pool: 'control-plane' },
      init: true,
    });
    assert.deepEqual(checkBootstrapInput(init), []);
    assert.equal(init.kubernetesVersion, '1.33.2');
    assert.equal(init.podCIDR, '10.244.0.0/16');
    assert.equal(init.serviceCIDR, '10.96.0.0/12');
    assert.equal(init.caCertHash, caCertHashOf(c.init.clusterCa!.certPem));
    assert.equal(init.clusterCa, c.init.clusterCa);
    assert.deepEqual(init.labels, { [poolLabel]: 'control-plane' });
    const join = nodeBootstrapInput({
      ...base,
      cluster: spec,
      node: { name: 'demo-cp-1', role: 'controlPlane', pool: 'control-plane' },
      init: false,
    });
    assert.equal(join.clusterCa, undefined);
    assert.equal(join.certificateKey, c.init.certificateKey);
    assert.match(renderKubeadmConfig(join), /kind: JoinConfiguration/);
  });

  it("a worker gets its pool's labels and taints, and no certificate key", () => {
    const worker = nodeBootstrapInput({
      ...base,
      cluster: cluster('1.32.6'),
      node: { name: 'demo-gpu-0', role: 'worker', pool: 'gpu' },
      init: false,
    });
    assert.deepEqual(checkBootstrapInput(worker), []);
    assert.equal(worker.certificateKey, undefined);
    assert.deepEqual(worker.labels, { 'example.com/accelerator': 'a100', [poolLabel]: 'gpu' });
    assert.deepEqual(worker.taints, [{ key: 'example.com/gpu', effect: 'NoSchedule' }]);
    assert.match(renderKubeadmConfig(worker), /value: example.com\/accelerator=a100,kaas.dev\/pool=gpu/);
  });

  it('a version the bootstrap cannot render is refused by name', () => {
    const input = nodeBootstrapInput({
      ...base,
      cluster: cluster('1.30'),
      node: { name: 'demo-cp-0', role: 'controlPlane', pool: 'control-plane' },
      init: true,
    });
    assert.match(
      checkBootstrapInput(input).join('\n'),
      /^kubernetesVersion: 1\.30 is not rendered for OpenStack nodes/m,
    );
  });
});
