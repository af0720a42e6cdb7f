// The provider contract: what every cloud (local, openstack, eks) implements so that the engine can
// build, recover and destroy a cluster's infrastructure without knowing which cloud it talks to.
// Specs name other resources by their stable graph ids, never by cloud ids: the engine hands the
// provider the outputs of a node's dependencies, so a plan is pure data and can be diffed.
import { errorReasons, type Cluster, type ErrorReason, type ProviderType } from '@kaas/api';

export const resourceTypes = [
  'network',
  'subnet',
  'router',
  'securityGroup',
  'loadBalancer',
  'serverGroup',
  'server',
  'floatingIp',
  'dnsRecord',
  'volume',
] as const;
export type ResourceType = (typeof resourceTypes)[number];

/**
 * How deep a type sits in any cloud's dependency chain; deleting higher ranks first never meets a
 * "still in use" refusal. Used for resources that have no ledger entry (found by their tags only).
 */
export const resourceTypeRank: Record<ResourceType, number> = {
  network: 0,
  subnet: 1,
  securityGroup: 1,
  serverGroup: 1,
  router: 2,
  loadBalancer: 3,
  volume: 3,
  server: 4,
  floatingIp: 5,
  dnsRecord: 6,
};

/** A node's stable id in the graph and the ledger: `<type>/<name>`, e.g. `server/workers-0`. */
export type ResourceId = string;

export const tagKeys = {
  clusterUid: 'kaas.dev/cluster-uid',
  resourceId: 'kaas.dev/resource-id',
} as const;

export type Tags = Record<string, string>;

/** The tags every cloud resource of a cluster carries; destroy and leak recovery search by them. */
export function ownershipTags(clusterUid: string, resourceId?: ResourceId): Tags {
  const tags: Tags = { [tagKeys.clusterUid]: clusterUid };
  if (resourceId !== undefined) tags[tagKeys.resourceId] = resourceId;
  return tags;
}

export function tagsMatch(have: Tags, want: Tags): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

// ---- specs: what to build ----

export type NodeRole = 'controlPlane' | 'worker';

export interface NetworkSpec {
  name: string;
}
export interface SubnetSpec {
  name: string;
  network: ResourceId;
  cidr: string;
  dnsNameservers?: string[];
}
export interface RouterSpec {
  name: string;
  /** Subnets that get an interface on the router. */
  subnets: ResourceId[];
  /** Name or id of the cloud's external network (OpenStack); the local cloud has one built in. */
  externalNetwork?: string;
}
export interface SecurityGroupRule {
  direction: 'ingress' | 'egress';
  protocol: 'tcp' | 'udp' | 'icmp' | 'any';
  portMin?: number;
  portMax?: number;
  /** Source (ingress) or destination (egress): a CIDR, or `self` for members of the same group. */
  remote: string;
}
export interface SecurityGroupSpec {
  name: string;
  role: NodeRole;
  rules: SecurityGroupRule[];
}
export interface LoadBalancerSpec {
  name: string;
  subnet: ResourceId;
  listeners: { port: number; protocol: 'TCP' | 'HTTPS' }[];
  /** The servers register themselves as members (they depend on the load balancer, as in CAPO). */
  purpose: 'kubernetesApi' | 'ingress';
}
export interface ServerGroupSpec {
  name: string;
  policy: 'anti-affinity' | 'soft-anti-affinity' | 'affinity';
}
export interface ServerSpec {
  /** The Kubernetes node name the server becomes. */
  name: string;
  role: NodeRole;
  pool: string;
  /** A cloud-specific size: local small|medium|..., an OpenStack flavor, an EC2 instance type. */
  machineType: string;
  diskGiB: number;
  subnet: ResourceId;
  securityGroups: ResourceId[];
  serverGroup?: ResourceId;
  /** Load balancers whose pool the server joins (control plane: the API load balancer). */
  loadBalancers?: ResourceId[];
  /** Boot from this volume instead of a local disk. */
  bootVolume?: ResourceId;
  availabilityZone?: string;
  labels?: Record<string, string>;
}
export interface FloatingIpSpec {
  /** A server or load balancer the address points at. */
  target: ResourceId;
  externalNetwork?: string;
}
export interface DnsRecordSpec {
  zone: string;
  /** Relative name in the zone, e.g. `demo-workers-0`. */
  name: string;
  /** A server, load balancer or floating IP whose address the A record holds. */
  target: ResourceId;
  ttlSeconds?: number;
}
export interface VolumeSpec {
  name: string;
  sizeGiB: number;
  bootable: boolean;
  volumeType?: string;
}

export interface ResourceSpecs {
  network: NetworkSpec;
  subnet: SubnetSpec;
  router: RouterSpec;
  securityGroup: SecurityGroupSpec;
  loadBalancer: LoadBalancerSpec;
  serverGroup: ServerGroupSpec;
  server: ServerSpec;
  floatingIp: FloatingIpSpec;
  dnsRecord: DnsRecordSpec;
  volume: VolumeSpec;
}

// ---- outputs: what the cloud made ----

export interface ServerOutputs {
  nodeName: string;
  role: NodeRole;
  pool: string;
  /** Private address on the node network. */
  ip: string;
  machineType: string;
  vcpus: number;
  memoryGiB: number;
  status: 'ACTIVE' | 'BUILD' | 'ERROR' | 'SHUTOFF';
}

export interface ResourceOutputs {
  network: { name: string };
  subnet: { cidr: string; gatewayIp: string };
  router: { externalIp: string };
  securityGroup: { name: string };
  loadBalancer: { vip: string; hostname: string; ports: number[] };
  serverGroup: { policy: string };
  server: ServerOutputs;
  floatingIp: { address: string };
  dnsRecord: { fqdn: string; address: string };
  volume: { sizeGiB: number };
}

/** One node of the resource graph: stable id, its dependencies, and what to build. */
export type GraphNode = {
  [T in ResourceType]: { id: ResourceId; type: T; dependsOn: ResourceId[]; spec: ResourceSpecs[T] };
}[ResourceType];

export type GraphNodeOf<T extends ResourceType> = Extract<GraphNode, { type: T }>;

export interface ResourceGraph {
  provider: ProviderType;
  /** The owning Cluster's metadata.uid: every resource is tagged with it. */
  clusterUid: string;
  nodes: GraphNode[];
}

/** A resource as the cloud reports it. */
export type ObservedResource = {
  [T in ResourceType]: { type: T; cloudId: string; tags: Tags; outputs: ResourceOutputs[T] };
}[ResourceType];

/** The outputs of a node's dependencies, by their graph ids. */
export type Inputs = Record<ResourceId, ObservedResource>;

export interface EnsureResult {
  cloudId: string;
  outputs: ResourceOutputs[ResourceType];
  /** True when the resource already existed (found by its tags) and was adopted. */
  adopted?: boolean;
}

/** Per call: the engine aborts the signal when the call times out or the run stops. */
export interface CallOptions {
  signal?: AbortSignal;
}

// ---- preflight ----

export interface QuotaShortfall {
  /** Quota name as the cloud calls it, e.g. `instances`, `vcpus`, `memoryGiB`. */
  quota: string;
  limit: number;
  used: number;
  requested: number;
  /** How much more the quota must allow: used + requested - limit. */
  shortBy: number;
}

export interface PreflightProblem {
  code: CloudErrorCode;
  message: string;
  /** The graph node the problem is about, when there is one. */
  resource?: ResourceId;
  quota?: QuotaShortfall;
}

export interface PreflightReport {
  ok: boolean;
  problems: PreflightProblem[];
  /** What the plan asks for in total, by quota name. */
  requested: Record<string, number>;
}

// ---- the provider ----

export interface Provider {
  readonly type: ProviderType;
  /** Check, before creating anything, that the plan fits: quotas, sizes, images, zones, credentials. */
  preconfigure(plan: ResourceGraph, opts?: CallOptions): Promise<PreflightReport>;
  /** The resources a Cluster needs. Pure: no cloud calls. */
  plan(cluster: Cluster): ResourceGraph;
  /**
   * Create the node's resource, or adopt the one already carrying `tags` (idempotent: calling it
   * twice, or after a lost response, never makes a second resource).
   */
  ensure(node: GraphNode, inputs: Inputs, tags: Tags, opts?: CallOptions): Promise<EnsureResult>;
  /** The resource as it is now; undefined when it does not exist. */
  observe(type: ResourceType, cloudId: string, opts?: CallOptions): Promise<ObservedResource | undefined>;
  /** Delete; resolves when the resource is gone, including when it never existed (404 = done). */
  delete(type: ResourceType, cloudId: string, opts?: CallOptions): Promise<void>;
  /** Every resource carrying all of `tags`: leak recovery and the proof that destroy left nothing. */
  findByTags(tags: Tags, opts?: CallOptions): Promise<ObservedResource[]>;
}

// ---- errors ----

export const cloudErrorCodes = [
  'QuotaExceeded',
  'AuthFailed',
  'CloudUnavailable',
  'Timeout',
  'InvalidSpec',
  'NotFound',
  'Conflict',
] as const satisfies readonly ErrorReason[];
export type CloudErrorCode = (typeof cloudErrorCodes)[number];

/**
 * Whether repeating the same call within seconds can succeed. Differs from errorReasons' retryable,
 * which says whether the reconciler should requeue: a quota may be raised in an hour, but retrying
 * the create now only burns the backoff budget.
 */
const retryableCalls: Record<CloudErrorCode, boolean> = {
  QuotaExceeded: false,
  AuthFailed: false,
  CloudUnavailable: true,
  Timeout: true,
  InvalidSpec: false,
  NotFound: false,
  Conflict: true,
};

export interface CloudErrorOptions {
  /** The cloud's own message, verbatim. */
  cloudMessage?: string;
  retryable?: boolean;
  resource?: ResourceId;
  quota?: QuotaShortfall;
  /** The HTTP status the cloud answered with, when there was one. */
  status?: number;
  cause?: unknown;
}

export class CloudError extends Error {
  override name = 'CloudError';
  readonly code: CloudErrorCode;
  /** Whether the engine should retry the call (with backoff). */
  readonly retryable: boolean;
  /** Whether the operator can fix it (quota, credentials, spec) rather than wait. */
  readonly userFixable: boolean;
  readonly cloudMessage: string | undefined;
  readonly resource: ResourceId | undefined;
  readonly quota: QuotaShortfall | undefined;
  readonly status: number | undefined;

  constructor(code: CloudErrorCode, message: string, opts: CloudErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? retryableCalls[code];
    this.userFixable = errorReasons[code].userFixable;
    this.cloudMessage = opts.cloudMessage;
    this.resource = opts.resource;
    this.quota = opts.quota;
    this.status = opts.status;
  }

  /** The Cluster condition reason this error is reported under. */
  get reason(): ErrorReason {
    return this.code;
  }
}

export function isCloudError(err: unknown): err is CloudError {
  return err instanceof CloudError;
}

/** The condition reason for any error: CloudErrors keep their code, anything else is a bug. */
export function reasonOf(err: unknown): ErrorReason {
  return isCloudError(err) ? err.reason : 'Internal';
}

export function quotaError(shortfall: QuotaShortfall, resource?: ResourceId): CloudError {
  const { quota, limit, used, requested, shortBy } = shortfall;
  return new CloudError(
    'QuotaExceeded',
    `quota ${quota} exceeded: limit ${limit}, in use ${used}, requested ${requested} (short by ${shortBy})`,
    {
      quota: shortfall,
      ...(resource === undefined ? {} : { resource }),
      cloudMessage: `Quota exceeded for ${quota}: Requested ${requested}, but already used ${used} of ${limit} ${quota}`,
      status: 413,
    },
  );
}
