// The kubeadm configuration (kubeadm.k8s.io/v1beta4) of one node. The init node gets
// InitConfiguration + ClusterConfiguration + KubeletConfiguration (kubeadm uploads the last two to
// the cluster, where joining nodes read them); every other node gets a JoinConfiguration only,
// because `kubeadm join --config` refuses init documents.
import { stringify } from 'yaml';
import { assertBootstrapInput, type NodeBootstrapInput } from './input.ts';
import { paths } from './paths.ts';
import { kubernetesReleaseOf } from './versions.ts';

export const kubeadmApiVersion = 'kubeadm.k8s.io/v1beta4';
export const kubeletApiVersion = 'kubelet.config.k8s.io/v1beta1';

/** How long the token in the user data can join nodes; the provider replaces it for later joins. */
export const bootstrapTokenTtl = '24h0m0s';

/** kube-apiserver caches each TokenReview answer this long: a revoked KaaS token dies within it. */
export const tokenReviewCacheTtl = '30s';

type Doc = Record<string, unknown>;

function nodeRegistration(input: NodeBootstrapInput): Doc {
  const kubeletExtraArgs = [{ name: 'cloud-provider', value: 'external' }];
  const labels = Object.entries(input.labels ?? {});
  if (labels.length > 0)
    kubeletExtraArgs.push({ name: 'node-labels', value: labels.map(([k, v]) => `${k}=${v}`).join(',') });
  // Setting taints replaces kubeadm's default, so a control plane node restates its own taint.
  const taints = [
    ...(input.role === 'controlPlane'
      ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]
      : []),
    ...(input.taints ?? []).map((t) => ({
      key: t.key,
      ...(t.value === undefined ? {} : { value: t.value }),
      effect: t.effect,
    })),
  ];
  return { name: input.nodeName, criSocket: paths.criSocket, taints, kubeletExtraArgs };
}

/** The kubeadm documents of one node, as objects (what renderKubeadmConfig serialises). */
export function kubeadmDocuments(input: NodeBootstrapInput): Doc[] {
  assertBootstrapInput(input);
  const release = kubernetesReleaseOf(input.kubernetesVersion);
  if (!release.ok) throw new Error(`unreachable: ${release.reason}`);
  const version = `v${release.major}.${release.minor}.${release.patch}`;
  const endpointHost = input.controlPlaneEndpoint.slice(0, input.controlPlaneEndpoint.lastIndexOf(':'));

  if (!input.init) {
    const join: Doc = {
      apiVersion: kubeadmApiVersion,
      kind: 'JoinConfiguration',
      nodeRegistration: nodeRegistration(input),
      discovery: {
        bootstrapToken: {
          token: input.bootstrapToken,
          apiServerEndpoint: input.controlPlaneEndpoint,
          caCertHashes: [input.caCertHash],
        },
      },
    };
    if (input.role === 'controlPlane') join.controlPlane = { certificateKey: input.certificateKey };
    return [join];
  }

  const init: Doc = {
    apiVersion: kubeadmApiVersion,
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: input.bootstrapToken,
        description: `KaaS node bootstrap for cluster ${input.clusterName}`,
        ttl: bootstrapTokenTtl,
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ],
    certificateKey: input.certificateKey,
    nodeRegistration: nodeRegistration(input),
  };
  const cluster: Doc = {
    apiVersion: kubeadmApiVersion,
    kind: 'ClusterConfiguration',
    clusterName: input.clusterName,
    kubernetesVersion: version,
    controlPlaneEndpoint: input.controlPlaneEndpoint,
    networking: {
      podSubnet: input.podCIDR,
      serviceSubnet: input.serviceCIDR,
      dnsDomain: input.dnsDomain ?? 'cluster.local',
    },
    apiServer: {
      certSANs: [...new Set([endpointHost, ...(input.apiServerCertSANs ?? [])])],
      extraArgs: [
        { name: 'authentication-token-webhook-config-file', value: paths.tokenReviewKubeconfig },
        { name: 'authentication-token-webhook-version', value: 'v1' },
        { name: 'authentication-token-webhook-cache-ttl', value: tokenReviewCacheTtl },
      ],
      extraVolumes: [
        {
          name: 'kaas-auth',
          hostPath: paths.authDir,
          mountPath: paths.authDir,
          readOnly: true,
          pathType: 'Directory',
        },
      ],
    },
    controllerManager: { extraArgs: [{ name: 'cloud-provider', value: 'external' }] },
  };
  const kubelet: Doc = {
    apiVersion: kubeletApiVersion,
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: paths.criSocket,
    rotateCertificates: true,
  };
  return [init, cluster, kubelet];
}

/** The multi-document kubeadm YAML for /etc/kubernetes/kubeadm.yaml (mode 0600: it holds the token). */
export function renderKubeadmConfig(input: NodeBootstrapInput): string {
  return kubeadmDocuments(input)
    .map((doc) => stringify(doc, { lineWidth: 0 }))
    .join('---\n');
}
