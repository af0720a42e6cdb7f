// The shell script cloud-init runs once (runcmd): pinned containerd and runc, kubeadm/kubelet/kubectl
// from pkgs.k8s.io, then kubeadm init or join, then (init node) the add-ons. Every value it uses is
// a constant or was checked by checkBootstrapInput; it reads no secret into a variable or an argument
// (kubeadm reads the token from its 0600 config file) and never runs with `set -x`. kubeadm's own
// output names the join command with the token, so it goes to a root-only log, not the console.
import type { NodeBootstrapInput } from './input.ts';
import { paths } from './paths.ts';
import { artifactUrls, kubernetesReleaseOf } from './versions.ts';

/** pkgs.k8s.io names its debs `<version>-1.1`. */
export const debRevision = '1.1';

export const addonFiles = {
  cloudControllerManager: `${paths.addonsDir}/openstack-cloud-controller-manager.yaml`,
  cinderCsi: `${paths.addonsDir}/cinder-csi.yaml`,
  calico: `${paths.addonsDir}/calico.yaml`,
} as const;

export const cloudCaFile = '/etc/kubernetes/kaas/openstack-ca.pem';

/** Single-quote for bash; the inputs are already format-checked, this is belt and braces. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** sed that hides anything shaped like a bootstrap token or a hex key before it reaches the console. */
const maskSecrets = `sed -E 's/[a-z0-9]{6}\\.[a-z0-9]{16}/<token>/g; s/[0-9a-f]{64}/<hex>/g'`;

export function renderBootstrapScript(input: NodeBootstrapInput): string {
  const r = kubernetesReleaseOf(input.kubernetesVersion);
  if (!r.ok) throw new Error(`kubernetesVersion: ${r.reason}`);
  const minor = `${r.major}.${r.minor}`;
  const deb = `${r.major}.${r.minor}.${r.patch}-${debRevision}`;
  const apt = artifactUrls.kubernetesApt(minor);
  const keyring = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
  const kubeadmLog = `${paths.bootstrapLogDir}/kubeadm.log`;

  const lines = [
    '#!/bin/bash',
    `# KaaS node bootstrap for ${input.nodeName} (cluster ${input.clusterName}), rendered by @kaas/openstack.`,
    '# Idempotent: a finished run leaves a marker and later runs stop there.',
    'set -euo pipefail',
    'log() { echo "kaas-bootstrap: $*"; }',
    `if [ -e ${q(paths.doneMarker)} ]; then log "already bootstrapped"; exit 0; fi`,
    // No global umask 077: package scripts run under it would leave files others must read.
    `install -d -m 0700 ${q(paths.bootstrapLogDir)}`,
    `install -d -m 0755 ${q(paths.doneMarker.slice(0, paths.doneMarker.lastIndexOf('/')))}`,
    `install -m 0600 /dev/null ${q(kubeadmLog)}`,
    'ARCH="$(dpkg --print-architecture)"',
    'case "$ARCH" in amd64 | arm64) ;; *) log "unsupported architecture $ARCH (amd64 and arm64 only)"; exit 1 ;; esac',
    'fetch() { curl -fsSL --retry 8 --retry-delay 5 --retry-all-errors -o "$2" "$1"; }',
    '',
    'log "kernel modules, sysctls, swap off"',
    'modprobe overlay',
    'modprobe br_netfilter',
    'sysctl --system >/dev/null',
    'swapoff -a',
    "sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/#/' /etc/fstab",
    '',
    'log "base packages"',
    'export DEBIAN_FRONTEND=noninteractive',
    'apt-get update -q',
    'apt-get install -y -q --no-install-recommends ca-certificates curl gpg conntrack socat ethtool iptables',
    '',
    'log "containerd and runc (pinned, checksums verified)"',
    'tmp="$(mktemp -d)"',
    `fetch "${artifactUrls.containerd('$ARCH')}" "$tmp/containerd.tar.gz"`,
    `fetch "${artifactUrls.containerdChecksum('$ARCH')}" "$tmp/containerd.sha256sum"`,
    `(cd "$tmp" && echo "$(cut -d' ' -f1 containerd.sha256sum)  containerd.tar.gz" | sha256sum -c --quiet -)`,
    'tar -C /usr/local -xzf "$tmp/containerd.tar.gz"',
    `fetch "${artifactUrls.runc('$ARCH')}" "$tmp/runc.$ARCH"`,
    `fetch "${artifactUrls.runcChecksums}" "$tmp/runc.sha256sum"`,
    `(cd "$tmp" && grep " runc.$ARCH\\$" runc.sha256sum | sha256sum -c --quiet -)`,
    'install -m 0755 "$tmp/runc.$ARCH" /usr/local/sbin/runc',
    'rm -rf "$tmp"',
    'systemctl daemon-reload',
    'systemctl enable --now containerd',
    '',
    `log "kubeadm, kubelet, kubectl ${deb} from pkgs.k8s.io"`,
    'install -d -m 0755 /etc/apt/keyrings',
    `curl -fsSL --retry 8 --retry-delay 5 --retry-all-errors "${apt}Release.key" | gpg --dearmor --yes -o ${q(keyring)}`,
    `chmod 0644 ${q(keyring)}`,
    `echo "deb [signed-by=${keyring}] ${apt} /" >/etc/apt/sources.list.d/kubernetes.list`,
    'chmod 0644 /etc/apt/sources.list.d/kubernetes.list',
    'apt-get update -q',
    `apt-get install -y -q --no-install-recommends kubelet=${deb} kubeadm=${deb} kubectl=${deb}`,
    'apt-mark hold kubelet kubeadm kubectl',
    'systemctl enable kubelet',
    '',
  ];

  if (input.init) {
    lines.push(
      'log "kubeadm init (output: ' + kubeadmLog + ', root only)"',
      `if ! kubeadm init --config ${q(paths.kubeadmConfig)} --upload-certs >>${q(kubeadmLog)} 2>&1; then`,
      `  log "kubeadm init failed; the last lines of ${kubeadmLog} say why"`,
      `  tail -n 20 ${q(kubeadmLog)} | ${maskSecrets}`,
      '  exit 1',
      'fi',
      'export KUBECONFIG=/etc/kubernetes/admin.conf',
      '',
      'log "cloud-config Secret (from the 0600 cloud.conf; never printed)"',
      `kubectl -n kube-system create secret generic cloud-config --from-file=cloud.conf=${q(paths.cloudConf)}` +
        (input.openstack.caPem !== undefined ? ` --from-file=ca.pem=${q(cloudCaFile)}` : '') +
        ' --dry-run=client -o yaml | kubectl apply -f - >/dev/null',
      'log "OpenStack cloud controller manager and cinder CSI"',
      `kubectl apply -f ${q(addonFiles.cloudControllerManager)}`,
      `kubectl apply -f ${q(addonFiles.cinderCsi)}`,
      'log "Calico (Tigera operator)"',
      `kubectl apply --server-side --force-conflicts -f "${artifactUrls.tigeraOperator}"`,
      'kubectl wait --for condition=established --timeout=300s crd/installations.operator.tigera.io crd/apiservers.operator.tigera.io',
      `kubectl apply -f ${q(addonFiles.calico)}`,
    );
  } else {
    lines.push(
      'log "kubeadm join (output: ' + kubeadmLog + ', root only)"',
      `if ! kubeadm join --config ${q(paths.kubeadmConfig)} >>${q(kubeadmLog)} 2>&1; then`,
      `  log "kubeadm join failed; the last lines of ${kubeadmLog} say why"`,
      `  tail -n 20 ${q(kubeadmLog)} | ${maskSecrets}`,
      '  exit 1',
      'fi',
    );
  }
  lines.push('', `touch ${q(paths.doneMarker)}`, 'log "done"', '');
  return lines.join('\n');
}
