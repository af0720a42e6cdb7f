// A strict zod transcription of the kubeadm v1beta4 and kubelet v1beta1 configuration types, for
// the kinds and fields the bootstrap renders. There is no kubeadm binary in Debian to check our
// YAML with, so the tests check it against this instead; it was written from upstream's Go types,
// not from our renderer:
//   kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go
//     (commit 1329935739c3aa007d23cb9a4dadfee9d59ff79b, the v1beta4 of kubeadm 1.31+ with Timeouts,
//     EncryptionAlgorithm, ExtraEnvs, ImagePullSerial)
//   kubernetes/kubernetes cmd/kubeadm/app/apis/bootstraptoken/v1/types.go (BootstrapToken)
//   kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go (KubeletConfiguration:
//     only the fields we set, plus kind/apiVersion)
// Every object is strict: kubeadm's strict decoding only warns about an unknown field and drops it,
// so on a node a typo silently loses a setting; here it fails a test. Field types follow the Go types: metav1.Duration
// is a Go duration string, int32 ports are integers, corev1 enums are enums.
import { z } from 'zod';

const duration = z.string().regex(/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/, 'a Go duration like 24h0m0s');
const nonEmpty = z.string().min(1);

/** Arg: v1beta4 turned extraArgs from a map into a list of name/value pairs. */
const Arg = z.strictObject({ name: nonEmpty, value: z.string() });

/** corev1.Taint */
const Taint = z.strictObject({
  key: nonEmpty,
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  timeAdded: z.string().optional(),
});

const hostPathTypes = [
  '',
  'DirectoryOrCreate',
  'Directory',
  'FileOrCreate',
  'File',
  'Socket',
  'CharDevice',
  'BlockDevice',
] as const;

const HostPathMount = z.strictObject({
  name: nonEmpty,
  hostPath: nonEmpty,
  mountPath: nonEmpty,
  readOnly: z.boolean().optional(),
  pathType: z.enum(hostPathTypes).optional(),
});

/** corev1.EnvVar, value form only (valueFrom is not used by kubeadm static pods we render). */
const EnvVar = z.strictObject({ name: nonEmpty, value: z.string().optional() });

const ControlPlaneComponentShape = {
  extraArgs: z.array(Arg).optional(),
  extraVolumes: z.array(HostPathMount).optional(),
  extraEnvs: z.array(EnvVar).optional(),
};
const ControlPlaneComponent = z.strictObject(ControlPlaneComponentShape);

const APIServer = z.strictObject({ ...ControlPlaneComponentShape, certSANs: z.array(nonEmpty).optional() });

const ImageMetaShape = { imageRepository: z.string().optional(), imageTag: z.string().optional() };

const NodeRegistrationOptions = z.strictObject({
  name: z.string().optional(),
  criSocket: z.string().optional(),
  taints: z.array(Taint).nullable().optional(),
  kubeletExtraArgs: z.array(Arg).optional(),
  ignorePreflightErrors: z.array(z.string()).optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  imagePullSerial: z.boolean().optional(),
});

const APIEndpoint = z.strictObject({
  advertiseAddress: z.string().optional(),
  bindPort: z.int().min(1).max(65535).optional(),
});

const Timeouts = z.strictObject({
  controlPlaneComponentHealthCheck: duration.optional(),
  kubeletHealthCheck: duration.optional(),
  kubernetesAPICall: duration.optional(),
  etcdAPICall: duration.optional(),
  tlsBootstrap: duration.optional(),
  discovery: duration.optional(),
  upgradeManifests: duration.optional(),
});

const Patches = z.strictObject({ directory: z.string().optional() });

/** bootstraptoken/v1 BootstrapToken; the token string is `[a-z0-9]{6}.[a-z0-9]{16}`. */
const BootstrapToken = z
  .strictObject({
    token: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, 'a token like abcdef.0123456789abcdef'),
    description: z.string().optional(),
    ttl: duration.optional(),
    expires: z.string().optional(),
    usages: z.array(z.enum(['signing', 'authentication'])).optional(),
    groups: z.array(z.string().regex(/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/)).optional(),
  })
  .refine((t) => !(t.ttl !== undefined && t.expires !== undefined), 'ttl and expires are mutually exclusive');

const certificateKey = z.string().regex(/^[0-9a-f]{64}$/, 'hex of a 32-byte AES key');

const typeMeta = <K extends string>(kind: K) => ({
  apiVersion: z.literal('kubeadm.k8s.io/v1beta4'),
  kind: z.literal(kind),
});

export const InitConfigurationSchema = z.strictObject({
  ...typeMeta('InitConfiguration'),
  bootstrapTokens: z.array(BootstrapToken).optional(),
  dryRun: z.boolean().optional(),
  nodeRegistration: NodeRegistrationOptions.optional(),
  localAPIEndpoint: APIEndpoint.optional(),
  certificateKey: certificateKey.optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: Patches.optional(),
  timeouts: Timeouts.optional(),
});

const LocalEtcd = z.strictObject({
  ...ImageMetaShape,
  dataDir: z.string(),
  extraArgs: z.array(Arg).optional(),
  extraEnvs: z.array(EnvVar).optional(),
  serverCertSANs: z.array(z.string()).optional(),
  peerCertSANs: z.array(z.string()).optional(),
});
const ExternalEtcd = z.strictObject({
  endpoints: z.array(z.string()),
  caFile: z.string(),
  certFile: z.string(),
  keyFile: z.string(),
});

export const ClusterConfigurationSchema = z.strictObject({
  ...typeMeta('ClusterConfiguration'),
  etcd: z
    .strictObject({ local: LocalEtcd.optional(), external: ExternalEtcd.optional() })
    .refine((e) => !(e.local && e.external), 'local and external are mutually exclusive')
    .optional(),
  networking: z
    .strictObject({
      serviceSubnet: z.string().optional(),
      podSubnet: z.string().optional(),
      dnsDomain: z.string().optional(),
    })
    .optional(),
  kubernetesVersion: z
    .string()
    .regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, 'a version like v1.31.4')
    .optional(),
  controlPlaneEndpoint: z.string().optional(),
  apiServer: APIServer.optional(),
  controllerManager: ControlPlaneComponent.optional(),
  scheduler: ControlPlaneComponent.optional(),
  dns: z.strictObject({ ...ImageMetaShape, disabled: z.boolean().optional() }).optional(),
  proxy: z.strictObject({ disabled: z.boolean().optional() }).optional(),
  certificatesDir: z.string().optional(),
  imageRepository: z.string().optional(),
  featureGates: z.record(z.string(), z.boolean()).optional(),
  clusterName: z.string().optional(),
  encryptionAlgorithm: z.enum(['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256']).optional(),
  certificateValidityPeriod: duration.optional(),
  caCertificateValidityPeriod: duration.optional(),
});

const Discovery = z
  .strictObject({
    bootstrapToken: z
      .strictObject({
        token: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/),
        apiServerEndpoint: z.string().optional(),
        caCertHashes: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/)).optional(),
        unsafeSkipCAVerification: z.boolean().optional(),
      })
      .optional(),
    file: z.strictObject({ kubeConfigPath: nonEmpty }).optional(),
    tlsBootstrapToken: z.string().optional(),
  })
  .refine(
    (d) => (d.bootstrapToken === undefined) !== (d.file === undefined),
    'exactly one of bootstrapToken and file',
  );

export const JoinConfigurationSchema = z.strictObject({
  ...typeMeta('JoinConfiguration'),
  dryRun: z.boolean().optional(),
  nodeRegistration: NodeRegistrationOptions.optional(),
  caCertPath: z.string().optional(),
  discovery: Discovery,
  controlPlane: z
    .strictObject({ localAPIEndpoint: APIEndpoint.optional(), certificateKey: certificateKey.optional() })
    .optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: Patches.optional(),
  timeouts: Timeouts.optional(),
});

/** KubeletConfiguration: only the fields the bootstrap sets (cgroupDriver's values per the type's doc). */
export const KubeletConfigurationSchema = z.strictObject({
  apiVersion: z.literal('kubelet.config.k8s.io/v1beta1'),
  kind: z.literal('KubeletConfiguration'),
  cgroupDriver: z.enum(['systemd', 'cgroupfs']).optional(),
  containerRuntimeEndpoint: z
    .string()
    .regex(/^unix:\/\/\//)
    .optional(),
  rotateCertificates: z.boolean().optional(),
});

const byKind = {
  InitConfiguration: InitConfigurationSchema,
  ClusterConfiguration: ClusterConfigurationSchema,
  JoinConfiguration: JoinConfigurationSchema,
  KubeletConfiguration: KubeletConfigurationSchema,
} as const;

/** Every problem of one document, `Kind: path: message`; empty when it conforms. */
export function checkKubeadmDocument(doc: unknown): string[] {
  const kind = (doc as { kind?: unknown } | null)?.kind;
  const schema = typeof kind === 'string' ? byKind[kind as keyof typeof byKind] : undefined;
  if (!schema) return [`unknown kind ${JSON.stringify(kind)}`];
  const r = schema.safeParse(doc);
  if (r.success) return [];
  return r.error.issues.map((i) => `${String(kind)}: ${i.path.join('.') || '(root)'}: ${i.message}`);
}
