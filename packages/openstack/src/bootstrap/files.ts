// The small configuration files the user data writes besides kubeadm's: the OpenStack cloud.conf the
// cloud controller manager and the cinder CSI driver read, the kubeconfig kube-apiserver uses to ask
// KaaS about bearer tokens, and containerd's and the kernel's settings.
import { stringify } from 'yaml';
import type { NodeBootstrapInput } from './input.ts';
import { images, componentVersions } from './versions.ts';

/** Where the cloud.conf's CA bundle sits inside the CCM and CSI pods (from the cloud-config Secret). */
export const cloudConfCaPath = '/etc/config/ca.pem';

// gcfg (the INI dialect both read): a quoted value with \" and \\ escaped holds any single line.
const gcfgQuote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * cloud.conf for openstack-cloud-controller-manager and cinder-csi-plugin: application credential
 * auth, Octavia load balancers with floating IPs from the external network. A secret (0600, and the
 * cloud-config Secret in kube-system).
 */
export function renderCloudConf(input: NodeBootstrapInput): string {
  const os = input.openstack;
  const lines = [
    '[Global]',
    `auth-url=${gcfgQuote(os.authUrl)}`,
    `application-credential-id=${gcfgQuote(os.applicationCredentialId)}`,
    `application-credential-secret=${gcfgQuote(os.applicationCredentialSecret)}`,
  ];
  if (os.region !== undefined) lines.push(`region=${gcfgQuote(os.region)}`);
  if (os.caPem !== undefined) lines.push(`ca-file=${gcfgQuote(cloudConfCaPath)}`);
  lines.push('', '[LoadBalancer]');
  if (os.floatingNetworkId !== undefined)
    lines.push(`floating-network-id=${gcfgQuote(os.floatingNetworkId)}`);
  if (os.subnetId !== undefined) lines.push(`subnet-id=${gcfgQuote(os.subnetId)}`);
  if (os.networkId !== undefined) lines.push(`network-id=${gcfgQuote(os.networkId)}`);
  // Octavia's health monitors notice dead nodes; without them traffic keeps going to a gone node.
  lines.push('create-monitor=true');
  lines.push('', '[BlockStorage]', 'bs-version=v3', '');
  return lines.join('\n');
}

/**
 * The kubeconfig of --authentication-token-webhook-config-file: the "cluster" is KaaS's TokenReview
 * endpoint, the "user" is how kube-apiserver authenticates to it (a client certificate, if given).
 */
export function renderTokenReviewKubeconfig(input: NodeBootstrapInput): string {
  const wh = input.tokenReviewWebhook;
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const user: Record<string, string> = {};
  if (wh.clientCertPem !== undefined && wh.clientKeyPem !== undefined) {
    user['client-certificate-data'] = b64(wh.clientCertPem);
    user['client-key-data'] = b64(wh.clientKeyPem);
  }
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kaas', cluster: { server: wh.url, 'certificate-authority-data': b64(wh.caPem) } }],
      users: [{ name: 'kube-apiserver', user }],
      contexts: [{ name: 'webhook', context: { cluster: 'kaas', user: 'kube-apiserver' } }],
      'current-context': 'webhook',
    },
    { lineWidth: 0 },
  );
}

/** containerd 1.7 (config version 2): the systemd cgroup driver kubelet uses, and kubeadm's pause image. */
export function renderContainerdConfig(): string {
  return [
    'version = 2',
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${images.pause}"`,
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '  SystemdCgroup = true',
    '',
  ].join('\n');
}

/** containerd's unit, as upstream ships it beside the release (the tarball has only binaries). */
export function renderContainerdUnit(): string {
  return [
    '[Unit]',
    `Description=containerd container runtime ${componentVersions.containerd}`,
    'Documentation=https://containerd.io',
    'After=network.target local-fs.target',
    '',
    '[Service]',
    'ExecStartPre=-/sbin/modprobe overlay',
    'ExecStart=/usr/local/bin/containerd',
    'Type=notify',
    'Delegate=yes',
    'KillMode=process',
    'Restart=always',
    'RestartSec=5',
    'LimitNPROC=infinity',
    'LimitCORE=infinity',
    'TasksMax=infinity',
    'OOMScoreAdjust=-999',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export const kernelModules = ['overlay', 'br_netfilter'] as const;

export const sysctls = {
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.ipv4.ip_forward': '1',
} as const;

export function renderSysctlConf(): string {
  return Object.entries(sysctls)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
}
