// The rendered kubeadm configuration against a strict transcription of upstream's v1beta4 types
// (kubeadmSchema.ts): every document of every kind of node conforms, and a typo does not.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { renderKubeadmConfig, kubeadmDocuments } from './kubeadm.ts';
import { checkKubeadmDocument } from './kubeadmSchema.ts';
import { testCluster, type TestCluster } from './testing.ts';
import { kubernetesReleases } from './versions.ts';

const parse = (text: string) =>
  parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, [], 'the YAML parses');
    return d.toJS() as Record<string, any>;
  });

const byKind = (docs: Record<string, any>[]) => Object.fromEntries(docs.map((d) => [d.kind, d]));

describe('kubeadm v1beta4 configuration', () => {
  let c: TestCluster;
  before(async () => {
    c = await testCluster();
  });

  it('every document of every node conforms to the v1beta4 / kubelet v1beta1 schema', () => {
    for (const [node, input] of Object.entries({ init: c.init, cp: c.joinControlPlane, worker: c.worker })) {
      const docs = parse(renderKubeadmConfig(input));
      assert.ok(docs.length > 0);
      for (const doc of docs) assert.deepEqual(checkKubeadmDocument(doc), [], `${node}: ${doc.kind}`);
    }
  });

  it('the init node: init + cluster + kubelet documents with the endpoint, CIDRs, webhook and external cloud provider', () => {
    const docs = byKind(parse(renderKubeadmConfig(c.init)));
    assert.deepEqual(Object.keys(docs).sort(), [
      'ClusterConfiguration',
      'InitConfiguration',
      'KubeletConfiguration',
    ]);
    const cluster = docs.ClusterConfiguration;
    assert.equal(cluster.kubernetesVersion, 'v1.31.4');
    assert.equal(cluster.controlPlaneEndpoint, '203.0.113.10:6443');
    assert.deepEqual(cluster.networking, {
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/12',
      dnsDomain: 'cluster.local',
    });
    const args = Object.fromEntries(cluster.apiServer.extraArgs.map((a: any) => [a.name, a.value]));
    const webhookFile = args['authentication-token-webhook-config-file'];
    assert.equal(webhookFile, '/etc/kubernetes/kaas/auth/tokenreview-webhook.kubeconfig');
    // the file must be inside a directory the apiserver pod mounts
    assert.ok(cluster.apiServer.extraVolumes.some((v: any) => webhookFile.startsWith(`${v.mountPath}/`)));
    assert.deepEqual(cluster.controllerManager.extraArgs, [{ name: 'cloud-provider', value: 'external' }]);
    assert.deepEqual(cluster.apiServer.certSANs, ['203.0.113.10']);
    const withSans = byKind(
      parse(
        renderKubeadmConfig({
          ...c.init,
          apiServerCertSANs: ['10.0.0.5', 'api.demo.example.com', '203.0.113.10'],
        }),
      ),
    );
    assert.deepEqual(withSans.ClusterConfiguration.apiServer.certSANs, [
      '203.0.113.10',
      '10.0.0.5',
      'api.demo.example.com',
    ]);
    const init = docs.InitConfiguration;
    assert.equal(init.bootstrapTokens[0].token, c.init.bootstrapToken);
    assert.equal(init.certificateKey, c.init.certificateKey);
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: 'cloud-provider', value: 'external' }]);
    assert.deepEqual(init.nodeRegistration.taints, [
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    assert.equal(docs.KubeletConfiguration.cgroupDriver, 'systemd');
  });

  it('a joining control plane: JoinConfiguration only, pinned CA, certificate key', () => {
    const docs = parse(renderKubeadmConfig(c.joinControlPlane));
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['JoinConfiguration'],
    );
    const join = docs[0]!;
    assert.deepEqual(join.discovery.bootstrapToken, {
      token: c.init.bootstrapToken,
      apiServerEndpoint: '203.0.113.10:6443',
      caCertHashes: [c.init.caCertHash],
    });
    assert.deepEqual(join.controlPlane, { certificateKey: c.init.certificateKey });
  });

  it('a worker: no control plane section, its labels and taints (and no control plane taint)', () => {
    const [join] = parse(renderKubeadmConfig(c.worker));
    assert.equal(join!.controlPlane, undefined);
    assert.deepEqual(join!.nodeRegistration.taints, [
      { key: 'kaas.dev/dedicated', value: 'batch', effect: 'NoSchedule' },
    ]);
    assert.deepEqual(join!.nodeRegistration.kubeletExtraArgs[1], {
      name: 'node-labels',
      value: 'kaas.dev/pool=workers,node.kubernetes.io/role=worker',
    });
  });

  it('renders for every supported minor version and refuses 1.30 (no v1beta4 in kubeadm 1.30)', async () => {
    for (const r of kubernetesReleases) {
      const cluster = await testCluster(`${r.minor}.1`);
      const docs = parse(renderKubeadmConfig(cluster.init));
      assert.equal(byKind(docs).ClusterConfiguration.kubernetesVersion, `v${r.minor}.1`);
    }
    assert.throws(
      () => renderKubeadmConfig({ ...c.init, kubernetesVersion: '1.30.14' }),
      /1\.30 is not rendered.*1\.31\+/,
    );
  });

  describe('the schema catches what kubeadm would refuse', () => {
    const cases: [string, (docs: Record<string, any>) => void, RegExp][] = [
      [
        'a typo in a field name',
        (d) => {
          d.ClusterConfiguration.networking.podSubnets = d.ClusterConfiguration.networking.podSubnet;
          delete d.ClusterConfiguration.networking.podSubnet;
        },
        /ClusterConfiguration: networking: Unrecognized key: "podSubnets"/,
      ],
      [
        'v1beta3-style extraArgs (a map)',
        (d) => {
          d.ClusterConfiguration.apiServer.extraArgs = { 'authentication-token-webhook-config-file': '/x' };
        },
        /ClusterConfiguration: apiServer\.extraArgs: /,
      ],
      [
        'a removed v1beta3 field (timeoutForControlPlane)',
        (d) => {
          d.ClusterConfiguration.apiServer.timeoutForControlPlane = '4m0s';
        },
        /Unrecognized key: "timeoutForControlPlane"/,
      ],
      [
        'a bad taint effect',
        (d) => {
          d.InitConfiguration.nodeRegistration.taints[0].effect = 'NoScheduling';
        },
        /InitConfiguration: nodeRegistration\.taints\.0\.effect/,
      ],
      [
        'a typo in KubeletConfiguration',
        (d) => {
          d.KubeletConfiguration.cgroupsDriver = 'systemd';
        },
        /KubeletConfiguration: \(root\): Unrecognized key: "cgroupsDriver"/,
      ],
      [
        'a malformed token ttl',
        (d) => {
          d.InitConfiguration.bootstrapTokens[0].ttl = '24 hours';
        },
        /bootstrapTokens\.0\.ttl: a Go duration/,
      ],
      [
        'a version without its v',
        (d) => {
          d.ClusterConfiguration.kubernetesVersion = '1.31.4';
        },
        /kubernetesVersion: a version like v1\.31\.4/,
      ],
    ];
    for (const [name, mutate, expected] of cases) {
      it(name, () => {
        const docs = byKind(structuredClone(kubeadmDocuments(c.init)) as Record<string, any>[]);
        mutate(docs);
        const problems = Object.values(docs).flatMap((d) => checkKubeadmDocument(d));
        assert.ok(
          problems.some((p) => expected.test(p)),
          `expected ${expected} in ${JSON.stringify(problems)}`,
        );
      });
    }

    it('a JoinConfiguration without discovery, and an unknown kind', () => {
      const [join] = structuredClone(kubeadmDocuments(c.worker)) as Record<string, any>[];
      delete join!.discovery;
      assert.match(checkKubeadmDocument(join).join('\n'), /JoinConfiguration: discovery: /);
      assert.deepEqual(checkKubeadmDocument({ kind: 'UpgradeConfiguration' }), [
        'unknown kind "UpgradeConfiguration"',
      ]);
    });
  });
});
