// Every version the node bootstrap installs, in one table. Kubernetes itself comes from the Cluster
// spec (its deb packages from pkgs.k8s.io); the cloud provider's components follow its minor
// version, as upstream releases them (cloud-provider-openstack vX.Y.Z supports Kubernetes X.Y).
// The CSI sidecars are the set cloud-provider-openstack v1.33.1's manifests use.

export interface KubernetesRelease {
  /** MAJOR.MINOR */
  minor: string;
  /** openstack-cloud-controller-manager and cinder-csi-plugin image tag (cloud-provider-openstack). */
  cloudProviderOpenStack: string;
}

/**
 * The minor versions the bootstrap renders. 1.30 is not here: kubeadm's v1beta4 configuration
 * (the only one rendered) arrived in kubeadm 1.31.
 */
export const kubernetesReleases: readonly KubernetesRelease[] = [
  { minor: '1.33', cloudProviderOpenStack: 'v1.33.1' },
  { minor: '1.32', cloudProviderOpenStack: 'v1.32.1' },
  { minor: '1.31', cloudProviderOpenStack: 'v1.31.4' },
];

export const componentVersions = {
  /** containerd release tarball (github.com/containerd/containerd releases). */
  containerd: '1.7.27',
  /** runc binary (github.com/opencontainers/runc releases). */
  runc: '1.2.6',
  /** The pause image kubeadm 1.31+ expects as the sandbox image. */
  pause: '3.10',
  /** Calico, installed by the Tigera operator of the same release. */
  calico: 'v3.31.3',
  tigeraOperator: 'v1.40.3',
  csiSidecars: {
    attacher: 'v4.7.0',
    provisioner: 'v5.1.0',
    resizer: 'v1.12.0',
    livenessProbe: 'v2.14.0',
    nodeDriverRegistrar: 'v2.12.0',
  },
  /** cloud-provider-openstack image tag per Kubernetes minor version. */
  cloudProviderOpenStack: Object.fromEntries(
    kubernetesReleases.map((r) => [r.minor, r.cloudProviderOpenStack]),
  ),
} as const;

/** Where each pinned artifact is fetched from (by the node, at boot). */
export const artifactUrls = {
  containerd: (arch: string) =>
    `https://github.com/containerd/containerd/releases/download/v${componentVersions.containerd}/containerd-${componentVersions.containerd}-linux-${arch}.tar.gz`,
  /** `<sha256>  <file name>`, published beside the tarball. */
  containerdChecksum: (arch: string) =>
    `https://github.com/containerd/containerd/releases/download/v${componentVersions.containerd}/containerd-${componentVersions.containerd}-linux-${arch}.tar.gz.sha256sum`,
  runc: (arch: string) =>
    `https://github.com/opencontainers/runc/releases/download/v${componentVersions.runc}/runc.${arch}`,
  runcChecksums: `https://github.com/opencontainers/runc/releases/download/v${componentVersions.runc}/runc.sha256sum`,
  tigeraOperator: `https://raw.githubusercontent.com/projectcalico/calico/${componentVersions.calico}/manifests/tigera-operator.yaml`,
  /** The apt repository of one Kubernetes minor version. */
  kubernetesApt: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`,
} as const;

export const images = {
  pause: `registry.k8s.io/pause:${componentVersions.pause}`,
  cloudControllerManager: (tag: string) =>
    `registry.k8s.io/provider-os/openstack-cloud-controller-manager:${tag}`,
  cinderCsiPlugin: (tag: string) => `registry.k8s.io/provider-os/cinder-csi-plugin:${tag}`,
  csiAttacher: `registry.k8s.io/sig-storage/csi-attacher:${componentVersions.csiSidecars.attacher}`,
  csiProvisioner: `registry.k8s.io/sig-storage/csi-provisioner:${componentVersions.csiSidecars.provisioner}`,
  csiResizer: `registry.k8s.io/sig-storage/csi-resizer:${componentVersions.csiSidecars.resizer}`,
  livenessProbe: `registry.k8s.io/sig-storage/livenessprobe:${componentVersions.csiSidecars.livenessProbe}`,
  nodeDriverRegistrar: `registry.k8s.io/sig-storage/csi-node-driver-registrar:${componentVersions.csiSidecars.nodeDriverRegistrar}`,
} as const;

export type ReleaseCheck =
  | { ok: true; major: number; minor: number; patch: number; release: KubernetesRelease }
  | { ok: false; reason: string };

/** The release row of an exact MAJOR.MINOR.PATCH version (a leading v allowed). */
export function kubernetesReleaseOf(version: string): ReleaseCheck {
  const m = /^v?(1)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/.exec(version);
  if (!m)
    return {
      ok: false,
      reason: 'must be an exact MAJOR.MINOR.PATCH like 1.31.4 (resolve MAJOR.MINOR first)',
    };
  const minor = `${m[1]}.${m[2]}`;
  const release = kubernetesReleases.find((r) => r.minor === minor);
  if (!release) {
    const known = kubernetesReleases.map((r) => r.minor).join(', ');
    return {
      ok: false,
      reason: `${minor} is not rendered for OpenStack nodes (kubeadm v1beta4 needs 1.31+); supported: ${known}`,
    };
  }
  return { ok: true, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), release };
}
