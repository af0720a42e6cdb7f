// What the provider hands the bootstrap renderer for one node. Field names follow the Cluster spec
// (podCIDR, serviceCIDR, kubernetesVersion) so the provider copies them across without renaming.

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeBootstrapInput {
  clusterName: string;
  clusterUid: string;
  role: 'controlPlane' | 'worker';
  /** The Kubernetes node name; also the server's hostname. */
  nodeName: string;
  /** The first control plane node runs `kubeadm init`; the others join as control plane or workers. */
  init: boolean;
  /** MAJOR.MINOR.PATCH (resolved from spec.kubernetesVersion), e.g. "1.31.4"; a leading v is allowed. */
  kubernetesVersion: string;
  /** host:port of the API load balancer (its VIP or floating IP, or a DNS name). */
  controlPlaneEndpoint: string;
  /** spec.network.podCIDR */
  podCIDR: string;
  /** spec.network.serviceCIDR */
  serviceCIDR: string;
  /** Cluster DNS domain; default cluster.local. */
  dnsDomain?: string;
  /** kubeadm bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (a secret). */
  bootstrapToken: string;
  /** 64 hex characters; required on the init node and on joining control plane nodes (a secret). */
  certificateKey?: string;
  /** `sha256:<64 hex>` of the cluster CA's public key; required on joining nodes. */
  caCertHash?: string;
  /** KaaS's TokenReview endpoint (kubernetes-auth) the kube-apiserver asks about bearer tokens. */
  tokenReviewWebhook: { url: string; caPem: string };
  openstack: {
    authUrl: string;
    region?: string;
    applicationCredentialId: string;
    /** A secret. */
    applicationCredentialSecret: string;
    /** CA bundle of the cloud's TLS endpoints, when private. */
    caPem?: string;
    /** Network the nodes sit on (the CCM picks node addresses from it). */
    networkId?: string;
    /** Subnet Octavia puts load balancer VIPs on. */
    subnetId?: string;
    /** External network LoadBalancer Services get floating IPs from. */
    floatingNetworkId?: string;
  };
  labels?: Record<string, string>;
  taints?: Taint[];
}
