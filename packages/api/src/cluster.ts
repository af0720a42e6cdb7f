// The Cluster kind of kaas.dev/v1alpha1: what an operator asks for (spec) and what KaaS observed
// (status). Written as zod schemas; the TypeScript types, the CRD's OpenAPI schema and the
// bootstrap file reference are all derived from them.
import { z } from 'zod';
import { parseCidr, formatCidr, hasHostBits } from './cidr.ts';
import {
  ConditionSchema,
  ObjectMetaSchema,
  SecretReferenceSchema,
  dnsLabel,
  dnsSubdomain,
  formatted,
  labels,
  qualifiedName,
  labelValue,
} from './fields.ts';
import { errorReasonNames, progressReasonNames } from './errorReasons.ts';
import { defaultKubernetesVersion, kubernetesVersionPattern } from './kubernetesVersions.ts';

export const group = 'kaas.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export const providerTypes = ['local', 'openstack', 'eks'] as const;
export type ProviderType = (typeof providerTypes)[number];

/** The local cloud's machine sizes; the simulated scheduler uses these capacities. */
export const localMachineTypes = {
  small: { vcpus: 2, memoryGiB: 4 },
  medium: { vcpus: 4, memoryGiB: 8 },
  large: { vcpus: 8, memoryGiB: 16 },
  xlarge: { vcpus: 16, memoryGiB: 32 },
} as const;
export type LocalMachineType = keyof typeof localMachineTypes;
export const localMachineTypeNames = Object.keys(localMachineTypes) as LocalMachineType[];
export const defaultLocalMachineType: LocalMachineType = 'medium';

/** The managed services (the seed's add-ons), keyed as they appear under spec.services. */
export const managedServices = {
  ingressNginx: {
    name: 'ingress-nginx',
    summary: 'NGINX ingress controller (in kaas-system; in its own ingress-nginx namespace on EKS).',
  },
  monitoring: {
    name: 'monitoring',
    summary: 'Prometheus, Alertmanager, Grafana and the node and kube-state exporters.',
  },
  logging: {
    name: 'logging',
    summary: 'Fluent Bit shipping container and node logs to a log store with a UI.',
  },
  backup: { name: 'velero', summary: 'Velero backups of API objects and volumes to object storage.' },
  registry: { name: 'registry', summary: 'A container image registry for the cluster.' },
  kubernetesAuth: {
    name: 'kubernetes-auth',
    summary: "Bearer tokens from the identity service's credentials; the TokenReview webhook.",
  },
  ssoProxy: { name: 'sso-proxy', summary: 'One sign-on in front of every managed UI. Needs kubernetesAuth.' },
} as const;
export type ManagedService = keyof typeof managedServices;
export const managedServiceKeys = Object.keys(managedServices) as ManagedService[];

const name255 = z.string().min(1).max(255);

/** A CIDR string; the range must be well-formed and have no host bits set. */
const cidrString = z
  .string()
  .max(64, { abort: true })
  .superRefine((text, ctx) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.reason, params: { rule: 'cidr' } });
    } else if (hasHostBits(parsed.cidr)) {
      ctx.addIssue({
        code: 'custom',
        message: `has host bits set; did you mean ${formatCidr(parsed.cidr)}?`,
        params: { rule: 'cidr' },
      });
    }
  })
  .meta({ format: 'cidr' });

// ---- providers ----

export const LocalFaultsSchema = z.strictObject({
  errorRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Fraction of cloud calls that fail with CloudUnavailable, 0 to 1.'),
  timeoutRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Fraction of cloud calls that hang until they time out, 0 to 1. With errorRate at most 1.'),
  seed: z
    .int()
    .min(0)
    .max(2147483647)
    .optional()
    .describe('Seed of the fault generator for reproducible runs.'),
});

export const LocalQuotasSchema = z.strictObject({
  instances: z.int().min(0).max(100000).optional().describe('Most VMs the cluster may hold.'),
  vcpus: z.int().min(0).max(1000000).optional().describe('Most vCPUs over all VMs.'),
  memoryGiB: z.int().min(0).max(10000000).optional().describe('Most memory over all VMs, GiB.'),
  volumes: z.int().min(0).max(100000).optional().describe('Most volumes.'),
  loadBalancers: z.int().min(0).max(10000).optional().describe('Most load balancers.'),
  networks: z.int().min(0).max(10000).optional().describe('Most networks.'),
});

export const LocalProviderSchema = z.strictObject({
  vmBootSeconds: z
    .number()
    .min(0)
    .max(3600)
    .default(10)
    .describe('Time a simulated VM takes to boot before latencyScale, seconds.'),
  latencyScale: z
    .number()
    .min(0)
    .max(100)
    .default(0.1)
    .describe(
      'Multiplier on every simulated latency: 1 is realistic, 0.1 (default) ten times faster, 0 instant.',
    ),
  faults: LocalFaultsSchema.prefault({}).describe('Fault injection into the simulated cloud API.'),
  quotas: LocalQuotasSchema.optional().describe('Quotas of the simulated project; unlimited when left out.'),
});

/** An OpenStack CA bundle: a key of a Secret in the cluster's namespace. */
export const CaBundleReferenceSchema = z.strictObject({
  name: dnsSubdomain.describe('Name of a Secret in the same namespace.'),
  key: formatted(
    /^[-._a-zA-Z0-9]+$/,
    'must be a Secret key: letters, digits, "-", "_" and "."',
    'format',
    253,
  )
    .default('ca.crt')
    .describe('Key of the PEM bundle in the Secret.'),
});

const dnsZonePattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?\.?$/;

export const OpenStackProviderSchema = z.strictObject({
  cloud: name255
    .default('openstack')
    .describe('Entry of clouds.yaml to use, when the credentials Secret holds a clouds.yaml key.'),
  region: name255.describe('Region name, e.g. RegionOne.'),
  externalNetwork: name255.describe(
    'Name or ID of the external network: floating IPs and the API load balancer.',
  ),
  image: name255.describe(
    'Name or ID of the Glance image nodes boot from (a cloud-init image, e.g. Ubuntu 24.04).',
  ),
  flavors: z
    .strictObject({
      controlPlane: name255.describe('Flavor of control plane nodes.'),
      workers: name255.describe('Flavor of worker nodes unless a node pool sets machineType.'),
    })
    .describe('Nova flavors.'),
  dnsZone: formatted(dnsZonePattern, 'must be a DNS zone like kaas.example.com.', 'format', 254).describe(
    'Designate zone that gets a record per node and one for the API.',
  ),
  caBundleRef: CaBundleReferenceSchema.optional().describe(
    "CA bundle for the cloud's TLS endpoints, if private.",
  ),
  availabilityZones: z
    .array(name255)
    .min(1)
    .max(16)
    .optional()
    .describe('Nova availability zones to spread nodes over, round-robin. Default: the cloud chooses.'),
});

const awsRegionPattern = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$/;

export const eksEndpointAccess = ['Public', 'Private', 'PublicAndPrivate'] as const;

export const EksProviderSchema = z.strictObject({
  region: formatted(awsRegionPattern, 'must be an AWS region like us-east-1', 'format', 32).describe(
    'AWS region, e.g. us-east-1.',
  ),
  roleArn: formatted(
    /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@\/-]{1,512}$/,
    'must be an IAM role ARN like arn:aws:iam::123456789012:role/kaas-eks',
    'format',
    2048,
  )
    .optional()
    .describe('Existing IAM role EKS assumes for the cluster; KaaS creates one (tagged) when left out.'),
  subnets: z
    .int()
    .min(2)
    .max(6)
    .default(2)
    .describe('Routable subnets to create, one per zone, carved from nodeCIDR.'),
  availabilityZones: z
    .array(
      formatted(
        /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+[a-z]$/,
        'must be a zone like us-east-1a',
        'format',
        32,
      ),
    )
    .min(2)
    .max(6)
    .optional()
    .describe('Zones for the subnets, in the region. Default: the first zones of the region.'),
  instanceType: formatted(
    /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
    'must be an EC2 instance type like m5.large',
    'format',
    64,
  )
    .default('m5.large')
    .describe('EC2 instance type of workers unless a node pool sets machineType.'),
  endpointAccess: z
    .enum(eksEndpointAccess)
    .default('Public')
    .describe('Who can reach the Kubernetes API endpoint.'),
});

const localMember = z.strictObject({
  type: z.literal('local'),
  local: LocalProviderSchema.prefault({}).describe('Settings of the embedded local cloud.'),
});
const openstackMember = z.strictObject({
  type: z.literal('openstack'),
  openstack: OpenStackProviderSchema.describe('Settings of an OpenStack or Red Hat OpenStack cloud.'),
});
const eksMember = z.strictObject({
  type: z.literal('eks'),
  eks: EksProviderSchema.describe('Settings of Amazon EKS.'),
});

export const ProviderSchema = z
  .discriminatedUnion('type', [localMember, openstackMember, eksMember])
  .describe(
    'Where the cluster runs: type names the provider and the field of the same name holds its settings.',
  );
export type Provider = z.infer<typeof ProviderSchema>;
export type LocalProvider = z.infer<typeof LocalProviderSchema>;
export type OpenStackProvider = z.infer<typeof OpenStackProviderSchema>;
export type EksProvider = z.infer<typeof EksProviderSchema>;

// ---- nodes ----

export const ControlPlaneSchema = z.strictObject({
  replicas: z
    .int()
    .min(1)
    .max(5)
    .optional()
    .describe('Control plane nodes: 1, 3 or 5 (odd, for etcd quorum). Default 1 on local, 3 on openstack.'),
  machineType: name255
    .optional()
    .describe(
      'Size of control plane nodes: a local size, or an OpenStack flavor. Default: from the provider.',
    ),
});
export type ControlPlane = z.infer<typeof ControlPlaneSchema>;

export const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

export const TaintSchema = z.strictObject({
  key: qualifiedName.describe('Taint key.'),
  value: labelValue.optional().describe('Taint value.'),
  effect: z.enum(taintEffects).describe('What the taint does to pods that do not tolerate it.'),
});

export const NodePoolSchema = z.strictObject({
  name: dnsLabel(20).describe('Pool name, unique in the cluster; part of node names. At most 20 characters.'),
  replicas: z.int().min(1).max(500).default(1).describe('Number of nodes.'),
  machineType: name255
    .optional()
    .describe(
      'Node size: local small|medium|large|xlarge, an OpenStack flavor, or an EC2 instance type. Default: from the provider.',
    ),
  diskGiB: z.int().min(10).max(16384).default(50).describe('Root disk size, GiB.'),
  labels: labels.optional().describe('Kubernetes labels on every node of the pool.'),
  taints: z.array(TaintSchema).max(32).optional().describe('Kubernetes taints on every node of the pool.'),
});
export type NodePool = z.infer<typeof NodePoolSchema>;

// ---- the rest of the spec ----

export const defaultPodCIDR = '10.244.0.0/16';

export const NetworkSchema = z.strictObject({
  podCIDR: cidrString
    .optional()
    .describe(
      `Pod addresses, a /24 per node. Default ${defaultPodCIDR}; not used on eks (pods get VPC addresses).`,
    ),
  serviceCIDR: cidrString.default('10.96.0.0/12').describe('Service cluster IPs.'),
  nodeCIDR: cidrString
    .default('10.0.0.0/16')
    .describe('Node addresses: the private network (the VPC on eks).'),
});

const versionOverride = formatted(
  /^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/,
  'must be a version like 1.12.1 or v2.15.0',
  'versionFormat',
  64,
);

export const ManagedServiceSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Install and keep the service healthy.'),
  version: versionOverride
    .optional()
    .describe("Pin a version; default: the catalog's version for this release."),
});
export type ManagedServiceSpec = z.infer<typeof ManagedServiceSchema>;

const serviceShape = Object.fromEntries(
  managedServiceKeys.map((key) => [
    key,
    ManagedServiceSchema.prefault({}).describe(
      `${managedServices[key].name}: ${managedServices[key].summary}`,
    ),
  ]),
) as Record<ManagedService, z.ZodPrefault<typeof ManagedServiceSchema>>;

export const ServicesSchema = z.strictObject(serviceShape);

export const identityBackends = ['keystone', 'local'] as const;

/** The managed web UIs behind the SSO proxy, as spec.auth.uiRoleIds keys them. */
export const managedUis = ['grafana', 'prometheus', 'alertmanager', 'logs'] as const;
export type ManagedUi = (typeof managedUis)[number];

export const AuthSchema = z.strictObject({
  identity: z
    .strictObject({
      backend: z
        .enum(identityBackends)
        .optional()
        .describe(
          'Where users sign in: keystone, or KaaS local users. Default keystone on openstack, local elsewhere.',
        ),
      authURL: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .optional()
        .describe(
          "Keystone v3 URL. Default on openstack: the credentials' auth_url; required for keystone elsewhere.",
        ),
    })
    .prefault({})
    .describe('The identity service kubernetes-auth checks credentials against.'),
  clusterAdminRoleIds: z
    .array(z.string().min(1).max(255))
    .min(1)
    .max(64)
    .describe("Role IDs whose holders get cluster-admin (the seed's cluster-admin ClusterRoleBinding)."),
  uiRoleIds: z
    .strictObject(
      Object.fromEntries(
        managedUis.map((ui) => [
          ui,
          z
            .array(z.string().min(1).max(255))
            .max(64)
            .optional()
            .describe(
              ui === 'logs'
                ? 'Role IDs let through the SSO proxy to the logs (Grafana with Loki), besides clusterAdminRoleIds.'
                : `Role IDs let through the SSO proxy to ${ui}, besides clusterAdminRoleIds.`,
            ),
        ]),
      ) as Record<ManagedUi, z.ZodOptional<z.ZodArray<z.ZodString>>>,
    )
    .optional()
    .describe('Who may open each managed UI through the SSO proxy; cluster admins always may.'),
});

/** S3-compatible object storage for backups (Velero's BackupStorageLocation). */
export const ObjectStorageSchema = z.strictObject({
  endpoint: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional()
    .describe(
      "S3 endpoint URL. Default: AWS S3 of the region on eks; on openstack and local it must be given (Swift's S3 API, MinIO, ...).",
    ),
  region: name255.optional().describe("Region of the bucket. Default: the provider's region."),
  bucket: formatted(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name', 'format', 63)
    .optional()
    .describe('Bucket name. Default: kaas-<namespace>-<cluster>-backups.'),
});

export const ClusterSpecSchema = z.strictObject({
  provider: ProviderSchema.prefault({ type: 'local' }),
  kubernetesVersion: formatted(
    kubernetesVersionPattern,
    'must be MAJOR.MINOR or MAJOR.MINOR.PATCH, like 1.33 or 1.33.2',
    'versionFormat',
    32,
  )
    .default(defaultKubernetesVersion)
    .describe('Kubernetes version; MAJOR.MINOR means its newest supported patch.'),
  controlPlane: ControlPlaneSchema.optional().describe(
    'Control plane nodes. Not allowed on eks (Amazon runs it).',
  ),
  nodePools: z
    .array(NodePoolSchema)
    .min(1)
    .max(32)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Worker node pools.'),
  network: NetworkSchema.prefault({}).describe('Address ranges; they must not overlap.'),
  services: ServicesSchema.prefault({}).describe('Managed services, all enabled unless switched off.'),
  auth: AuthSchema.describe('Who administers the cluster.'),
  objectStorage: ObjectStorageSchema.optional().describe('Object storage for backups (the backup service).'),
  credentialsRef: SecretReferenceSchema.optional().describe(
    'Secret with the cloud credentials. Required on openstack and eks; never put credentials in the spec.',
  ),
});
export type ClusterSpec = z.infer<typeof ClusterSpecSchema>;

// ---- status ----

export const resourcePhases = ['Creating', 'Created', 'Deleting'] as const;

/** One cloud object KaaS made; written before the cloud call and after it, so nothing leaks. */
export const LedgerEntrySchema = z.strictObject({
  kind: z.string().min(1).max(63).describe('Cloud resource kind, e.g. Network, Server, LoadBalancer.'),
  name: z
    .string()
    .min(1)
    .max(253)
    .describe('Logical name, unique in the ledger, e.g. server/demo-workers-0.'),
  id: z.string().max(255).optional().describe('Cloud ID; absent until the create call returns.'),
  provider: z.enum(providerTypes),
  phase: z.enum(resourcePhases),
  dependsOn: z
    .array(z.string().min(1).max(253))
    .max(64)
    .optional()
    .describe('Names of entries it depends on.'),
  createdAt: z.iso.datetime({ offset: true }),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

const count = z.int().min(0);

/** The reasons a Cluster's conditions may carry: the coded vocabulary, nothing free-form. */
export const clusterConditionReasons = [...errorReasonNames, ...progressReasonNames] as const;

export const ClusterConditionSchema = ConditionSchema.extend({
  reason: z.enum(clusterConditionReasons).describe('A coded reason; see the reasons table.'),
});
export type ClusterCondition = z.infer<typeof ClusterConditionSchema>;

export const ClusterStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional().describe('The metadata.generation the status describes.'),
  conditions: z
    .array(ClusterConditionSchema)
    .max(64)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .describe('Ready, InfrastructureReady, ControlPlaneReady, NodesReady, ServicesReady; reasons are coded.'),
  endpoint: z.url().max(2048).optional().describe('URL of the Kubernetes API.'),
  kubernetesVersion: z.string().max(32).optional().describe('The version the control plane runs.'),
  nodes: z
    .strictObject({
      desired: count.describe('Nodes wanted (control plane and workers).'),
      ready: count.describe('Nodes registered and Ready.'),
      upToDate: count.optional().describe('Nodes on the desired Kubernetes version.'),
    })
    .optional()
    .describe('Node summary (kubectl NODES column).'),
  nodePools: z
    .array(z.strictObject({ name: z.string().max(63), desired: count, ready: count }))
    .max(32)
    .optional()
    .describe('Per node pool: nodes wanted and Ready.')
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  services: z
    .array(
      z.strictObject({
        name: z
          .string()
          .max(63)
          .describe('The service, as kaasctl versions names it (ingress-nginx, velero, ...).'),
        version: z.string().max(64).describe('The version applied.'),
        ready: z.boolean().describe('Every workload Available and the service ready.'),
        message: z.string().max(4096).describe('What is not ready yet, or "healthy".'),
      }),
    )
    .max(32)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Per enabled managed service: its version and health.'),
  resources: z
    .array(LedgerEntrySchema)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
    .describe('Ledger of every cloud object KaaS created for this cluster.'),
});
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

export const ClusterMetaSchema = ObjectMetaSchema.extend({
  name: dnsLabel(32).describe('Cluster name: a DNS label of at most 32 characters (it prefixes node names).'),
});

export const ClusterSchema = z.strictObject({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('Cluster'),
  metadata: ClusterMetaSchema,
  spec: ClusterSpecSchema,
  status: ClusterStatusSchema.optional(),
});

/** A Cluster with its static defaults applied (what the schema parses to). */
export type Cluster = z.output<typeof ClusterSchema>;
/** A Cluster as written, defaults not yet applied. */
export type ClusterInput = z.input<typeof ClusterSchema>;
