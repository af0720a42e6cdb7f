// Where the user data puts things on the node. One place, so the kubeadm config, the manifests and
// the script agree (the apiserver mounts exactly the directory the webhook kubeconfig is in).

export const paths = {
  kubeadmConfig: '/etc/kubernetes/kubeadm.yaml',
  /** Mounted read-only into kube-apiserver; holds nothing else. */
  authDir: '/etc/kubernetes/kaas/auth',
  tokenReviewKubeconfig: '/etc/kubernetes/kaas/auth/tokenreview-webhook.kubeconfig',
  /** The OpenStack cloud.conf (application credential): init node only, turned into a Secret. */
  cloudConf: '/etc/kubernetes/kaas/cloud.conf',
  addonsDir: '/etc/kubernetes/kaas/addons',
  caCert: '/etc/kubernetes/pki/ca.crt',
  caKey: '/etc/kubernetes/pki/ca.key',
  bootstrapScript: '/usr/local/sbin/kaas-bootstrap',
  /** kubeadm's own output (it prints join commands with the token): root-only. */
  bootstrapLogDir: '/var/log/kaas',
  /** Written when the script has finished; the script is a no-op after it (a re-run of cloud-init). */
  doneMarker: '/var/lib/kaas/bootstrap.done',
  modules: '/etc/modules-load.d/kaas-kubernetes.conf',
  sysctl: '/etc/sysctl.d/99-kaas-kubernetes.conf',
  containerdConfig: '/etc/containerd/config.toml',
  containerdUnit: '/etc/systemd/system/containerd.service',
  criSocket: 'unix:///run/containerd/containerd.sock',
} as const;
