// The embedded local cloud behind the provider contract. Every call pays a simulated network and
// API latency (50-500 ms, VM boot = vmBootSeconds, all times latencyScale) and may fail the way
// real clouds fail: an error (503), a hang until the caller gives up, or, for writes, the worst
// case: the change is made and the response is lost. Quotas apply per cluster (its uid tag).
import {
  LocalProviderSchema,
  localMachineTypes,
  type Cluster,
  type ClusterInput,
  type LocalMachineType,
  type LocalProvider,
} from '@kaas/api';
import {
  CloudError,
  quotaError,
  tagKeys,
  type CallOptions,
  type EnsureResult,
  type GraphNode,
  type Inputs,
  type ObservedResource,
  type PreflightProblem,
  type PreflightReport,
  type Provider,
  type QuotaShortfall,
  type ResourceGraph,
  type ResourceId,
  type ResourceOutputs,
  type ResourceType,
  type Tags,
} from '../contract.ts';
import { abortReason, seededRandom, sleep } from '../util.ts';
import { externalNetwork, type LocalCloud, type LocalRecord } from './localCloud.ts';
import { planLocalCluster, type LocalPlanOptions } from './plan.ts';

export type LocalSettings = LocalProvider;
/** spec.provider.local as written: every field optional, the schema's defaults fill the rest. */
export type LocalSettingsInput = NonNullable<
  Extract<NonNullable<ClusterInput['spec']['provider']>, { type: 'local' }>['local']
>;

export interface LocalCloudProviderOptions extends LocalPlanOptions {
  cloud: LocalCloud;
  /** spec.provider.local of the Cluster; schema defaults fill what is left out. */
  settings?: LocalSettingsInput;
  /** Overrides faults.seed; defaults to Math.random when neither is set. */
  random?: () => number;
  /** Longest a hanging call waits when the caller passes no signal, ms. */
  maxHangMs?: number;
}

/** Resource kinds the local quotas count, by graph type. */
const quotaOfType: Partial<Record<ResourceType, 'volumes' | 'loadBalancers' | 'networks'>> = {
  volume: 'volumes',
  loadBalancer: 'loadBalancers',
  network: 'networks',
};

type Fault = 'none' | 'error' | 'timeout';

export function isLocalMachineType(name: string): name is LocalMachineType {
  return Object.hasOwn(localMachineTypes, name);
}

export class LocalCloudProvider implements Provider {
  readonly type = 'local' as const;
  readonly cloud: LocalCloud;
  readonly settings: LocalSettings;
  private readonly random: () => number;
  private readonly planOptions: LocalPlanOptions;
  private readonly maxHangMs: number;

  constructor(opts: LocalCloudProviderOptions) {
    this.cloud = opts.cloud;
    this.settings = LocalProviderSchema.parse(opts.settings ?? {});
    const seed = this.settings.faults.seed;
    this.random = opts.random ?? (seed === undefined ? Math.random : seededRandom(seed));
    this.planOptions = {
      ...(opts.rootVolumes === undefined ? {} : { rootVolumes: opts.rootVolumes }),
      ...(opts.dnsZone === undefined ? {} : { dnsZone: opts.dnsZone }),
    };
    this.maxHangMs = opts.maxHangMs ?? 120_000;
  }

  /** A provider for one Cluster, with its spec.provider.local settings. */
  static forCluster(
    cloud: LocalCloud,
    cluster: Cluster,
    opts: Omit<LocalCloudProviderOptions, 'cloud' | 'settings'> = {},
  ): LocalCloudProvider {
    const p = cluster.spec.provider;
    if (p.type !== 'local') throw new CloudError('InvalidSpec', `spec.provider.type: ${p.type} is not local`);
    return new LocalCloudProvider({ ...opts, cloud, settings: p.local });
  }

  plan(cluster: Cluster): ResourceGraph {
    return planLocalCluster(cluster, this.planOptions);
  }

  // ---- simulated API calls ----

  private latencyMs(): number {
    return (50 + this.random() * 450) * this.settings.latencyScale;
  }

  private drawFault(): Fault {
    const { errorRate, timeoutRate } = this.settings.faults;
    if (errorRate === 0 && timeoutRate === 0) return 'none';
    const r = this.random();
    if (r < errorRate) return 'error';
    if (r < errorRate + timeoutRate) return 'timeout';
    return 'none';
  }

  private async hang(what: string, signal: AbortSignal | undefined): Promise<never> {
    const limit = AbortSignal.timeout(this.maxHangMs);
    const both = signal === undefined ? limit : AbortSignal.any([signal, limit]);
    try {
      await sleep(this.maxHangMs + 1, both);
    } catch {
      // fall through: the caller gave up (or our own limit passed)
    }
    const reason = signal?.aborted === true ? abortReason(signal).message : 'no response';
    throw new CloudError('Timeout', `${what}: timed out (${reason})`, {
      cloudMessage: 'The request timed out.',
      status: 504,
    });
  }

  /**
   * One API round trip: latency, then maybe a fault. A faulted write is made half of the time
   * anyway and only its response is lost: the case the ledger and tags exist for.
   */
  private async call<T>(
    what: string,
    write: boolean,
    opts: CallOptions | undefined,
    effect: () => Promise<T>,
  ): Promise<T> {
    const signal = opts?.signal;
    const fault = this.drawFault();
    const lost = fault !== 'none' && write && this.random() < 0.5;
    await sleep(this.latencyMs(), signal);
    if (fault !== 'none' && !lost) {
      if (fault === 'timeout') return this.hang(what, signal);
      throw new CloudError('CloudUnavailable', `${what}: 503 Service Unavailable`, {
        cloudMessage: 'The server is currently unavailable. Please try again at a later time.',
        status: 503,
      });
    }
    const result = await effect();
    if (lost) {
      if (fault === 'timeout') return this.hang(what, signal);
      throw new CloudError('CloudUnavailable', `${what}: connection reset before the response`, {
        cloudMessage: 'ECONNRESET',
      });
    }
    return result;
  }

  // ---- the contract ----

  async observe(
    type: ResourceType,
    cloudId: string,
    opts?: CallOptions,
  ): Promise<ObservedResource | undefined> {
    return this.call(`GET ${type} ${cloudId}`, false, opts, async () => {
      const r = this.cloud.get(type, cloudId);
      return r === undefined ? undefined : this.cloud.observe(r);
    });
  }

  async findByTags(tags: Tags, opts?: CallOptions): Promise<ObservedResource[]> {
    return this.call(`LIST by tags`, false, opts, async () =>
      this.cloud.list({ tags }).map((r) => this.cloud.observe(r)),
    );
  }

  async delete(type: ResourceType, cloudId: string, opts?: CallOptions): Promise<void> {
    await this.call(`DELETE ${type} ${cloudId}`, true, opts, () => this.cloud.remove(type, cloudId));
  }

  async ensure(node: GraphNode, inputs: Inputs, tags: Tags, opts?: CallOptions): Promise<EnsureResult> {
    const result = await this.call(`CREATE ${node.id}`, true, opts, async () => {
      // Idempotent by tags: an earlier attempt whose response was lost may have made it.
      const found = this.cloud.list({ type: node.type, tags: { [tagKeys.resourceId]: node.id, ...tags } })[0];
      if (found !== undefined) return { record: found, adopted: true };
      const record = this.build(node, inputs, tags);
      await this.cloud.insert(record);
      return { record, adopted: false };
    });
    if (node.type === 'server') await this.waitBooted(result.record, opts?.signal);
    const observed = this.cloud.observe(result.record);
    return { cloudId: observed.cloudId, outputs: observed.outputs, adopted: result.adopted };
  }

  private async waitBooted(record: LocalRecord, signal: AbortSignal | undefined): Promise<void> {
    const remaining = (record.readyAtMs ?? 0) - this.cloud.now();
    if (remaining > 0) await sleep(remaining, signal);
  }

  private input(inputs: Inputs, node: GraphNode, dep: ResourceId): ObservedResource {
    const found = inputs[dep];
    if (found === undefined) {
      throw new CloudError('InvalidSpec', `${node.id}: input ${dep} missing (not in dependsOn?)`, {
        resource: node.id,
      });
    }
    return found;
  }

  /** Synchronous from checks to the returned record: the caller inserts it in the same turn. */
  private build(node: GraphNode, inputs: Inputs, tags: Tags): LocalRecord {
    const base = {
      type: node.type,
      cloudId: this.cloud.newId(),
      tags: { ...tags, [tagKeys.resourceId]: tags[tagKeys.resourceId] ?? node.id },
      createdAt: new Date(this.cloud.now()).toISOString(),
    };
    const quotaName = quotaOfType[node.type];
    if (quotaName !== undefined) this.checkQuota(quotaName, 1, tags, node.id);
    switch (node.type) {
      case 'network':
        return { ...base, name: node.spec.name, uses: [], outputs: { name: node.spec.name } };
      case 'subnet': {
        const net = this.input(inputs, node, node.spec.network);
        const gatewayIp = this.cloud.gatewayAddress(node.spec.cidr);
        return {
          ...base,
          name: node.spec.name,
          uses: [net.cloudId],
          outputs: { cidr: node.spec.cidr, gatewayIp },
        };
      }
      case 'router': {
        const subnets = node.spec.subnets.map((s) => this.input(inputs, node, s).cloudId);
        const ip = this.cloud.allocateAddress('external', externalNetwork.cidr);
        return {
          ...base,
          name: node.spec.name,
          uses: subnets,
          address: { subnet: 'external', ip },
          outputs: { externalIp: ip },
        };
      }
      case 'securityGroup':
        return { ...base, name: node.spec.name, uses: [], outputs: { name: node.spec.name } };
      case 'serverGroup':
        return { ...base, name: node.spec.name, uses: [], outputs: { policy: node.spec.policy } };
      case 'loadBalancer': {
        const subnet = this.input(inputs, node, node.spec.subnet);
        const cidr = (subnet.outputs as ResourceOutputs['subnet']).cidr;
        const vip = this.cloud.allocateAddress(subnet.cloudId, cidr);
        return {
          ...base,
          name: node.spec.name,
          uses: [subnet.cloudId],
          address: { subnet: subnet.cloudId, ip: vip },
          outputs: {
            vip,
            hostname: `${node.spec.name}.lb.${externalNetwork.name}`,
            ports: node.spec.listeners.map((l) => l.port),
          },
        };
      }
      case 'volume':
        return {
          ...base,
          name: node.spec.name,
          uses: [],
          outputs: { sizeGiB: node.spec.sizeGiB },
        };
      case 'floatingIp': {
        const target = this.input(inputs, node, node.spec.target);
        const ip = this.cloud.allocateAddress('external', externalNetwork.cidr);
        return {
          ...base,
          name: `fip-${ip}`,
          uses: [target.cloudId],
          address: { subnet: 'external', ip },
          outputs: { address: ip },
        };
      }
      case 'dnsRecord': {
        const target = this.input(inputs, node, node.spec.target);
        const address = addressOf(target);
        const fqdn = `${node.spec.name}.${node.spec.zone.replace(/\.$/, '')}.`;
        return { ...base, name: fqdn, uses: [target.cloudId], outputs: { fqdn, address } };
      }
      case 'server': {
        const spec = node.spec;
        if (!isLocalMachineType(spec.machineType)) {
          throw new CloudError('InvalidSpec', `${node.id}: machine type ${spec.machineType} does not exist`, {
            resource: node.id,
            cloudMessage: `Flavor ${spec.machineType} could not be found.`,
            status: 400,
          });
        }
        const size = localMachineTypes[spec.machineType];
        this.checkServerQuotas(size, tags, node.id);
        const subnet = this.input(inputs, node, spec.subnet);
        const uses = [
          subnet.cloudId,
          ...spec.securityGroups.map((s) => this.input(inputs, node, s).cloudId),
          ...(spec.loadBalancers ?? []).map((l) => this.input(inputs, node, l).cloudId),
        ];
        if (spec.serverGroup !== undefined) uses.push(this.input(inputs, node, spec.serverGroup).cloudId);
        if (spec.bootVolume !== undefined) uses.push(this.input(inputs, node, spec.bootVolume).cloudId);
        const ip = this.cloud.allocateAddress(
          subnet.cloudId,
          (subnet.outputs as ResourceOutputs['subnet']).cidr,
        );
        const bootMs = this.settings.vmBootSeconds * 1000 * this.settings.latencyScale;
        return {
          ...base,
          name: spec.name,
          uses,
          address: { subnet: subnet.cloudId, ip },
          readyAtMs: this.cloud.now() + bootMs,
          outputs: {
            nodeName: spec.name,
            role: spec.role,
            pool: spec.pool,
            ip,
            machineType: spec.machineType,
            vcpus: size.vcpus,
            memoryGiB: size.memoryGiB,
            status: 'BUILD',
          },
        };
      }
    }
  }

  // ---- quotas ----

  /** What the cluster (by its uid tag) holds now, by quota name. */
  usage(clusterUid: string): Record<string, number> {
    const used: Record<string, number> = {
      instances: 0,
      vcpus: 0,
      memoryGiB: 0,
      volumes: 0,
      loadBalancers: 0,
      networks: 0,
    };
    for (const r of this.cloud.list({ tags: { [tagKeys.clusterUid]: clusterUid } })) {
      if (r.type === 'server') {
        const o = r.outputs as ResourceOutputs['server'];
        used.instances = (used.instances ?? 0) + 1;
        used.vcpus = (used.vcpus ?? 0) + o.vcpus;
        used.memoryGiB = (used.memoryGiB ?? 0) + o.memoryGiB;
      }
      const q = quotaOfType[r.type];
      if (q !== undefined) used[q] = (used[q] ?? 0) + 1;
    }
    return used;
  }

  private shortfall(quota: string, requested: number, used: number): QuotaShortfall | undefined {
    const limit = (this.settings.quotas as Record<string, number | undefined> | undefined)?.[quota];
    if (limit === undefined || used + requested <= limit) return undefined;
    return { quota, limit, used, requested, shortBy: used + requested - limit };
  }

  private checkQuota(quota: string, requested: number, tags: Tags, resource: ResourceId): void {
    const uid = tags[tagKeys.clusterUid] ?? '';
    const short = this.shortfall(quota, requested, this.usage(uid)[quota] ?? 0);
    if (short !== undefined) throw quotaError(short, resource);
  }

  private checkServerQuotas(
    size: { vcpus: number; memoryGiB: number },
    tags: Tags,
    resource: ResourceId,
  ): void {
    const used = this.usage(tags[tagKeys.clusterUid] ?? '');
    const asks: [string, number][] = [
      ['instances', 1],
      ['vcpus', size.vcpus],
      ['memoryGiB', size.memoryGiB],
    ];
    for (const [quota, requested] of asks) {
      const short = this.shortfall(quota, requested, used[quota] ?? 0);
      if (short !== undefined) throw quotaError(short, resource);
    }
  }

  async preconfigure(plan: ResourceGraph, opts?: CallOptions): Promise<PreflightReport> {
    return this.call('GET limits', false, opts, async () => this.preflight(plan));
  }

  /** The preflight without a simulated round trip (pure over the cloud's state). */
  preflight(plan: ResourceGraph): PreflightReport {
    const problems: PreflightProblem[] = [];
    const requested: Record<string, number> = {
      instances: 0,
      vcpus: 0,
      memoryGiB: 0,
      volumes: 0,
      loadBalancers: 0,
      networks: 0,
    };
    const present = new Set(
      this.cloud
        .list({ tags: { [tagKeys.clusterUid]: plan.clusterUid } })
        .map((r) => r.tags[tagKeys.resourceId]),
    );
    let addresses = 0;
    for (const node of plan.nodes) {
      if (node.type === 'server' || node.type === 'loadBalancer') addresses++;
      if (present.has(node.id)) continue;
      const q = quotaOfType[node.type];
      if (q !== undefined) requested[q] = (requested[q] ?? 0) + 1;
      if (node.type !== 'server') continue;
      const machine = node.spec.machineType;
      if (!isLocalMachineType(machine)) {
        problems.push({
          code: 'InvalidSpec',
          resource: node.id,
          message: `${node.id}: machine type ${machine} does not exist; one of ${Object.keys(localMachineTypes).join(', ')}`,
        });
        continue;
      }
      requested.instances = (requested.instances ?? 0) + 1;
      requested.vcpus = (requested.vcpus ?? 0) + localMachineTypes[machine].vcpus;
      requested.memoryGiB = (requested.memoryGiB ?? 0) + localMachineTypes[machine].memoryGiB;
    }
    const used = this.usage(plan.clusterUid);
    for (const [quota, n] of Object.entries(requested)) {
      const short = this.shortfall(quota, n, used[quota] ?? 0);
      if (short === undefined) continue;
      problems.push({ code: 'QuotaExceeded', message: quotaError(short).message, quota: short });
    }
    for (const node of plan.nodes) {
      if (node.type !== 'subnet') continue;
      try {
        this.cloud.gatewayAddress(node.spec.cidr); // throws InvalidSpec on a malformed CIDR
        const size = subnetHosts(node.spec.cidr);
        if (size < addresses) {
          problems.push({
            code: 'InvalidSpec',
            resource: node.id,
            message: `${node.id}: ${node.spec.cidr} has room for ${size} addresses, the plan needs ${addresses}`,
          });
        }
      } catch (err) {
        problems.push({ code: 'InvalidSpec', resource: node.id, message: (err as Error).message });
      }
    }
    return { ok: problems.length === 0, problems, requested };
  }
}

/** Host addresses a subnet can hand out (from .10 on), capped: only the comparison matters. */
function subnetHosts(cidr: string): number {
  const [, prefix] = cidr.split('/');
  const bits = cidr.includes(':') ? 128 : 32;
  const hostBits = bits - Number(prefix);
  if (hostBits > 30) return 2 ** 30;
  return Math.max(0, 2 ** hostBits - 11);
}

function addressOf(target: ObservedResource): string {
  switch (target.type) {
    case 'server':
      return target.outputs.ip;
    case 'loadBalancer':
      return target.outputs.vip;
    case 'floatingIp':
      return target.outputs.address;
    default:
      throw new CloudError('InvalidSpec', `a DNS record cannot point at a ${target.type}`);
  }
}
