// OpenStack behind the provider contract (packages/providers/src/contract.ts): every graph node is
// one cloud object (and its parts: a router's interfaces, a security group's rules, a load
// balancer's listener, pool and health monitor, a server's pool membership), created or adopted by
// its ownership tags, then by its name (a create whose tagging was lost), and waited on until the
// cloud says it is usable (servers and load balancers ACTIVE, volumes available, records ACTIVE).
// Delete resolves once the object is gone (404 is done); findByTags searches neutron, nova (servers
// and server groups), octavia, designate and cinder. docs/openstack.md, "Provider".
import type { Cluster, OpenStackProvider as OpenStackSettings } from '@kaas/api';
import {
  CloudError,
  isCloudError,
  tagKeys,
  type CallOptions,
  type EnsureResult,
  type GraphNode,
  type GraphNodeOf,
  type Inputs,
  type ObservedResource,
  type PreflightReport,
  type Provider,
  type ResourceGraph,
  type ResourceId,
  type ResourceOutputs,
  type ResourceType,
  type SecurityGroupRule as RuleSpec,
  type ServerOutputs,
  type Tags,
} from '@kaas/providers';
import type { OpenStack } from '../openstack.ts';
import type { Flavor, Server } from '../nova.ts';
import type { Network, SecurityGroupRule as SecurityGroupRuleOf } from '../neutron.ts';
import type { Recordset, Zone } from '../designate.ts';
import type { WaitOptions } from '../resource.ts';
import { fqdn } from '../designate.ts';
import { planOpenStackCluster, kubernetesApiPort, type OpenStackPlanOptions } from './plan.ts';
import { preflight } from './preflight.ts';
import { carries, decodeTags, encodeTags, tagsFromText, tagsToText } from './tags.ts';
import { nodeUserData, serverUserData, type ClusterBootstrap } from './userData.ts';
import {
  ccmLoadBalancerPrefix,
  cloudClusterName,
  csiClusterKey,
  isCcmDescription,
} from '../bootstrap/cloudNames.ts';

export interface OpenStackProviderOptions extends OpenStackPlanOptions {
  /** The operator's project (kaasctl server --openstack-cloud): never a user's credentials. */
  os: OpenStack;
  /** spec.provider.openstack of the cluster; needed by plan and ensure, not by delete. */
  settings?: OpenStackSettings;
  /** The cluster, for the servers' user data. */
  cluster?: Cluster;
  /** Longest wait for a server, load balancer, volume or record to become usable (default 10 min). */
  waitTimeoutMs?: number;
  /** First interval of those waits (default 500 ms, growing to 5 s). */
  pollMs?: number;
  /**
   * The cluster's shared node bootstrap values (secrets, TokenReview webhook, CCM credentials),
   * asked for before each server is created: with it servers get the real node bootstrap
   * (userData.ts). Without it they get a stub that names the node and no more, which is what the
   * provider conformance tests use: such servers never become Kubernetes nodes.
   */
  bootstrap?: (cluster: Cluster) => Promise<ClusterBootstrap>;
  /**
   * What the `bootstrap` source lacks (kaasctl server: a missing --openstack-ccm-cloud, a KaaS URL
   * the nodes cannot reach), each naming the flag and the fix: preconfigure reports them as
   * InvalidSpec when the plan has servers, before anything is created.
   */
  bootstrapCheck?: () => string[];
}

const metadataKey = (key: string): string => key.replaceAll('/', ':');

/** nova metadata keys allow `[a-zA-Z0-9-_:. ]` only: the tag keys with ':' for '/'. */
export function serverMetadata(tags: Tags, extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...tags, ...extra })) out[metadataKey(k)] = v;
  return out;
}

function abortable(signal: AbortSignal | undefined): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}

const notFound = (e: unknown): boolean => isCloudError(e) && e.code === 'NotFound';

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (notFound(e)) return undefined;
    throw e;
  }
}

/** "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances." (nova, cinder) */
const QUOTA_NUMBERS = /Quota exceeded for (\w+): Requested (\d+), but already used (\d+) of (\d+)/i;

/** A cloud error about one node: its id first, the cloud's code, words and retryability kept. */
export function nodeError(id: ResourceId, e: unknown): unknown {
  if (!isCloudError(e) || e.resource !== undefined) return e;
  const m = e.code === 'QuotaExceeded' ? QUOTA_NUMBERS.exec(e.cloudMessage ?? e.message) : null;
  const quota =
    m === null
      ? undefined
      : {
          quota: m[1]!,
          requested: Number(m[2]),
          used: Number(m[3]),
          limit: Number(m[4]),
          shortBy: Number(m[2]) + Number(m[3]) - Number(m[4]),
        };
  return new CloudError(e.code, `${id}: ${e.message}`, {
    retryable: e.retryable,
    resource: id,
    ...(e.cloudMessage === undefined ? {} : { cloudMessage: e.cloudMessage }),
    ...(e.status === undefined ? {} : { status: e.status }),
    ...(quota === undefined ? {} : { quota }),
    cause: e,
  });
}

export class OpenStackProvider implements Provider {
  readonly type = 'openstack' as const;
  readonly os: OpenStack;
  /** os.nova (calls overlap: the local cloud's nova-api runs one-thread processes, docs/openstack.md) */
  readonly nova: OpenStack['nova'];
  readonly settings: OpenStackSettings | undefined;
  readonly cluster: Cluster | undefined;
  readonly planOptions: OpenStackPlanOptions;
  readonly waitTimeoutMs: number;
  readonly pollMs: number;
  readonly bootstrap: ((cluster: Cluster) => Promise<ClusterBootstrap>) | undefined;
  readonly bootstrapCheck: (() => string[]) | undefined;
  #externalNetwork: Promise<Network> | undefined;
  #flavors = new Map<string, Promise<Flavor | undefined>>();
  #zones = new Map<string, Promise<Zone | undefined>>();
  #serviceTypes: Promise<string[]> | undefined;

  constructor(opts: OpenStackProviderOptions) {
    this.os = opts.os;
    this.nova = opts.os.nova;
    this.settings = opts.settings;
    this.cluster = opts.cluster;
    this.planOptions = {
      ...(opts.rootVolumes === undefined ? {} : { rootVolumes: opts.rootVolumes }),
      ...(opts.controlPlaneAffinity === undefined ? {} : { controlPlaneAffinity: opts.controlPlaneAffinity }),
      ...(opts.controlPlaneFloatingIps === undefined
        ? {}
        : { controlPlaneFloatingIps: opts.controlPlaneFloatingIps }),
    };
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 600_000;
    this.pollMs = opts.pollMs ?? 500;
    this.bootstrap = opts.bootstrap;
    this.bootstrapCheck = opts.bootstrapCheck;
  }

  /** A provider for one Cluster, with its spec.provider.openstack settings. */
  static forCluster(
    os: OpenStack,
    cluster: Cluster,
    opts: Omit<OpenStackProviderOptions, 'os' | 'settings' | 'cluster'> = {},
  ): OpenStackProvider {
    const p = cluster.spec.provider;
    if (p.type !== 'openstack')
      throw new CloudError('InvalidSpec', `spec.provider.type: ${p.type} is not openstack`);
    return new OpenStackProvider({ ...opts, os, settings: p.openstack, cluster });
  }

  plan(cluster: Cluster): ResourceGraph {
    return planOpenStackCluster(cluster, this.planOptions);
  }

  // ---- shared lookups (cached for the provider's life: they do not change under a cluster) ----

  #need(): OpenStackSettings {
    if (this.settings === undefined) {
      throw new CloudError('InvalidSpec', 'spec.provider.openstack: settings are needed to create resources');
    }
    return this.settings;
  }

  serviceTypes(): Promise<string[]> {
    this.#serviceTypes ??= this.os.serviceTypes().catch((e: unknown) => {
      this.#serviceTypes = undefined;
      throw e;
    });
    return this.#serviceTypes;
  }

  /** The external network named (or with the id) in the settings, or in a node's spec. */
  externalNetwork(nameOrId?: string): Promise<Network> {
    const want = nameOrId ?? this.#need().externalNetwork;
    this.#externalNetwork ??= (async () => {
      const byId = await orUndefined(this.os.neutron.getNetwork(want));
      const net = byId ?? (await this.os.neutron.findNetwork(want));
      if (net === undefined || net['router:external'] !== true) {
        throw new CloudError(
          'InvalidSpec',
          `spec.provider.openstack.externalNetwork: no external network "${want}" visible to the project; name one of \`openstack network list --external\``,
        );
      }
      return net;
    })().catch((e: unknown) => {
      this.#externalNetwork = undefined;
      throw e;
    });
    return this.#externalNetwork;
  }

  flavor(name: string): Promise<Flavor | undefined> {
    let f = this.#flavors.get(name);
    if (f === undefined) {
      f = this.nova.findFlavor(name).catch((e: unknown) => {
        this.#flavors.delete(name);
        throw e;
      });
      this.#flavors.set(name, f);
    }
    return f;
  }

  zone(name: string): Promise<Zone | undefined> {
    let z = this.#zones.get(fqdn(name));
    if (z === undefined) {
      z = this.os.designate.findZone(name).catch((e: unknown) => {
        this.#zones.delete(fqdn(name));
        throw e;
      });
      this.#zones.set(fqdn(name), z);
    }
    return z;
  }

  #wait(opts?: CallOptions): WaitOptions {
    return { timeoutMs: this.waitTimeoutMs, intervalMs: this.pollMs, sleep: abortable(opts?.signal) };
  }

  // ---- preconfigure ----

  async preconfigure(plan: ResourceGraph, opts?: CallOptions): Promise<PreflightReport> {
    return preflight(this, plan, opts);
  }

  // ---- ensure ----

  async ensure(node: GraphNode, inputs: Inputs, tags: Tags, opts?: CallOptions): Promise<EnsureResult> {
    const all = { ...tags, [tagKeys.resourceId]: tags[tagKeys.resourceId] ?? node.id };
    try {
      switch (node.type) {
        case 'network':
          return await this.#ensureNetwork(node, all);
        case 'subnet':
          return await this.#ensureSubnet(node, inputs, all);
        case 'router':
          return await this.#ensureRouter(node, inputs, all);
        case 'securityGroup':
          return await this.#ensureSecurityGroup(node, all);
        case 'serverGroup':
          return await this.#ensureServerGroup(node, all);
        case 'loadBalancer':
          return await this.#ensureLoadBalancer(node, inputs, all, opts);
        case 'volume':
          return await this.#ensureVolume(node, all, opts);
        case 'server':
          return await this.#ensureServer(node, inputs, all, opts);
        case 'floatingIp':
          return await this.#ensureFloatingIp(node, inputs, all);
        case 'dnsRecord':
          return await this.#ensureDnsRecord(node, inputs, all, opts);
      }
    } catch (e) {
      throw nodeError(node.id, e);
    }
  }

  #input(inputs: Inputs, node: GraphNode, dep: ResourceId): ObservedResource {
    const found = inputs[dep];
    if (found === undefined) {
      throw new CloudError('InvalidSpec', `${node.id}: input ${dep} missing (not in dependsOn?)`, {
        resource: node.id,
      });
    }
    return found;
  }

  /**
   * Neutron's create-then-tag: the object found by its tags, else by its name (a create whose
   * tagging was lost: tagged now and adopted), else created with the tags.
   */
  async #neutronAdopt<T extends { id: string; name?: string; tags: string[] }>(
    what: string,
    resource: 'networks' | 'subnets' | 'routers' | 'security-groups',
    name: string,
    tags: Tags,
    list: (q: Record<string, string>) => Promise<T[]>,
    create: () => Promise<T>,
  ): Promise<{ item: T; adopted: boolean }> {
    const encoded = encodeTags(tags);
    const [tagged] = await list({ tags: encoded.join(',') });
    if (tagged) return { item: tagged, adopted: true };
    const named = (await list({ name })).filter((x) => x.name === name);
    if (named.length > 1) {
      throw new CloudError('Conflict', `${what} "${name}": ${named.length} exist; names must be unique`);
    }
    const [same] = named;
    if (same) {
      const theirs = decodeTags(same.tags);
      if (
        theirs[tagKeys.clusterUid] !== undefined &&
        theirs[tagKeys.clusterUid] !== tags[tagKeys.clusterUid]
      ) {
        throw new CloudError(
          'Conflict',
          `${what} "${name}" belongs to another cluster (${theirs[tagKeys.clusterUid]})`,
        );
      }
      await this.os.neutron.setTags(resource, same.id, [...new Set([...same.tags, ...encoded])]);
      return { item: { ...same, tags: encoded }, adopted: true };
    }
    return { item: await create(), adopted: false };
  }

  async #ensureNetwork(node: GraphNodeOf<'network'>, tags: Tags): Promise<EnsureResult> {
    const n = this.os.neutron;
    const { item, adopted } = await this.#neutronAdopt(
      'network',
      'networks',
      node.spec.name,
      tags,
      (q) => n.listNetworks(q),
      () => n.createNetwork({ name: node.spec.name, tags: encodeTags(tags), description: tagsToText(tags) }),
    );
    return { cloudId: item.id, outputs: { name: item.name }, adopted };
  }

  async #ensureSubnet(node: GraphNodeOf<'subnet'>, inputs: Inputs, tags: Tags): Promise<EnsureResult> {
    const n = this.os.neutron;
    const network = this.#input(inputs, node, node.spec.network);
    const { item, adopted } = await this.#neutronAdopt(
      'subnet',
      'subnets',
      node.spec.name,
      tags,
      (q) => n.listSubnets({ ...q, network_id: network.cloudId }),
      () =>
        n.createSubnet({
          name: node.spec.name,
          networkId: network.cloudId,
          cidr: node.spec.cidr,
          tags: encodeTags(tags),
          ...(node.spec.dnsNameservers ? { dnsNameservers: node.spec.dnsNameservers } : {}),
        }),
    );
    return { cloudId: item.id, outputs: { cidr: item.cidr, gatewayIp: item.gateway_ip ?? '' }, adopted };
  }

  async #ensureRouter(node: GraphNodeOf<'router'>, inputs: Inputs, tags: Tags): Promise<EnsureResult> {
    const n = this.os.neutron;
    const external = await this.externalNetwork(node.spec.externalNetwork);
    const { item, adopted } = await this.#neutronAdopt(
      'router',
      'routers',
      node.spec.name,
      tags,
      (q) => n.listRouters(q),
      () => n.createRouter({ name: node.spec.name, externalNetworkId: external.id, tags: encodeTags(tags) }),
    );
    let router = item;
    if (router.external_gateway_info?.network_id !== external.id)
      router = await n.setRouterGateway(router.id, external.id);
    for (const s of node.spec.subnets)
      await n.addRouterInterface(router.id, this.#input(inputs, node, s).cloudId);
    return { cloudId: router.id, outputs: routerOutputs(router), adopted };
  }

  async #ensureSecurityGroup(node: GraphNodeOf<'securityGroup'>, tags: Tags): Promise<EnsureResult> {
    const n = this.os.neutron;
    const projectId = await this.os.session.projectId();
    const { item, adopted } = await this.#neutronAdopt(
      'security group',
      'security-groups',
      node.spec.name,
      tags,
      (q) => n.listSecurityGroups({ ...q, project_id: projectId }),
      () =>
        n.createSecurityGroup({
          name: node.spec.name,
          description: `KaaS ${node.spec.role} nodes`,
          tags: encodeTags(tags),
        }),
    );
    // one read of the rules there, then the missing ones at once (a rule is one POST each)
    const have = (await n.getSecurityGroup(item.id)).security_group_rules;
    const missing = node.spec.rules
      .map((r) => neutronRule(item.id, r))
      .filter((r) => !have.some((x) => sameRule(x, r)));
    await Promise.all(
      missing.map(async (r) => {
        try {
          await n.createSecurityGroupRule(r);
        } catch (e) {
          if (!(isCloudError(e) && e.code === 'Conflict')) throw e; // made by a concurrent attempt
        }
      }),
    );
    return { cloudId: item.id, outputs: { name: item.name }, adopted };
  }

  async #ensureServerGroup(node: GraphNodeOf<'serverGroup'>, tags: Tags): Promise<EnsureResult> {
    // nova's server groups have neither tags nor metadata: the name carries them
    const name = `${node.spec.name} ${tagsToText(tags)}`;
    const have = (await this.nova.listServerGroups()).filter((g) => g.name === name);
    const group = have[0] ?? (await this.nova.createServerGroup({ name, policy: node.spec.policy }));
    return {
      cloudId: group.id,
      outputs: { policy: group.policy ?? group.policies?.[0] ?? node.spec.policy },
      adopted: have.length > 0,
    };
  }

  async #ensureLoadBalancer(
    node: GraphNodeOf<'loadBalancer'>,
    inputs: Inputs,
    tags: Tags,
    opts?: CallOptions,
  ): Promise<EnsureResult> {
    const o = this.os.octavia;
    const subnet = this.#input(inputs, node, node.spec.subnet);
    const encoded = encodeTags(tags);
    const live = <T extends { provisioning_status: string }>(lbs: T[]): T[] =>
      lbs.filter((l) => !['DELETED', 'PENDING_DELETE'].includes(l.provisioning_status));
    let [lb] = live(await o.listLoadBalancers({ tags: encoded.join(',') }));
    const adopted = lb !== undefined;
    if (lb?.provisioning_status === 'ERROR') {
      await o.deleteLoadBalancer(lb.id);
      lb = undefined;
    }
    lb ??= await o.createLoadBalancer({
      name: node.spec.name,
      vipSubnetId: subnet.cloudId,
      description: tagsToText(tags),
      tags: encoded,
    });
    lb = await o.waitForActive(lb.id, this.#wait(opts));
    for (const l of node.spec.listeners) {
      const name = `${node.spec.name}-${l.port}`;
      const listener = await o.ensureListener(lb.id, {
        name,
        protocol: l.protocol,
        port: l.port,
        tags: encoded,
      });
      const pool = await o.ensurePool(lb.id, {
        name,
        protocol: 'TCP',
        listenerId: listener.id,
        tags: encoded,
      });
      await o.ensureHealthMonitor(lb.id, pool.id, {
        name,
        type: 'TCP',
        delayS: 10,
        timeoutS: 5,
        maxRetries: 3,
      });
    }
    return {
      cloudId: lb.id,
      outputs: {
        vip: lb.vip_address,
        hostname: lb.vip_address,
        ports: node.spec.listeners.map((l) => l.port),
      },
      adopted,
    };
  }

  async #ensureVolume(node: GraphNodeOf<'volume'>, tags: Tags, opts?: CallOptions): Promise<EnsureResult> {
    const c = this.os.cinder;
    const live = (await c.listVolumesByMetadata(tags)).filter(
      (v) => !['deleting', 'error_deleting'].includes(v.status),
    );
    let [vol] = live;
    const adopted = vol !== undefined;
    if (vol?.status === 'error') {
      await c.deleteVolume(vol.id, { wait: true });
      vol = undefined;
    }
    if (vol === undefined) {
      let imageId: string | undefined;
      if (node.spec.bootable) {
        const image = await this.os.glance.findImage(this.#need().image);
        if (!image)
          throw new CloudError(
            'InvalidSpec',
            `spec.provider.openstack.image: no active image "${this.#need().image}"`,
          );
        imageId = image.id;
      }
      vol = await c.createVolume({
        name: node.spec.name,
        sizeGb: node.spec.sizeGiB,
        metadata: tags,
        ...(imageId ? { imageId } : {}),
        ...(node.spec.volumeType ? { volumeType: node.spec.volumeType } : {}),
      });
    }
    vol = await c.waitForVolume(vol.id, ['available', 'in-use'], this.#wait(opts));
    return { cloudId: vol.id, outputs: { sizeGiB: vol.size }, adopted };
  }

  async #ensureServer(
    node: GraphNodeOf<'server'>,
    inputs: Inputs,
    tags: Tags,
    opts?: CallOptions,
  ): Promise<EnsureResult> {
    const nova = this.nova;
    const spec = node.spec;
    let [server] = await nova.listServersByTags(encodeTags(tags));
    const adopted = server !== undefined;
    if (server?.status === 'ERROR') {
      // a server that failed to build is never repaired: make it again
      await nova.deleteServer(server.id);
      await nova.waitForServerGone(server.id, this.#wait(opts));
      server = undefined;
    }
    const flavor = await this.flavor(spec.machineType);
    if (flavor === undefined) {
      throw new CloudError(
        'InvalidSpec',
        `machineType ${spec.machineType}: no such nova flavor visible to the project (\`openstack flavor list\`)`,
        { resource: node.id },
      );
    }
    if (server === undefined) {
      const subnet = await this.os.neutron.getSubnet(this.#input(inputs, node, spec.subnet).cloudId);
      const bootVolume =
        spec.bootVolume === undefined ? undefined : this.#input(inputs, node, spec.bootVolume);
      let imageId: string | undefined;
      if (bootVolume === undefined) {
        const image = await this.os.glance.findImage(this.#need().image);
        if (!image)
          throw new CloudError(
            'InvalidSpec',
            `spec.provider.openstack.image: no active image "${this.#need().image}"`,
          );
        imageId = image.id;
      }
      server = await nova.createServer({
        name: spec.name,
        flavorId: flavor.id,
        ...(imageId ? { imageId } : {}),
        ...(bootVolume ? { bootVolumeId: bootVolume.cloudId } : {}),
        networks: [{ uuid: subnet.network_id }],
        securityGroups: spec.securityGroups.map((s) => this.#input(inputs, node, s).cloudId),
        userData: await this.#userData(node, inputs, subnet),
        metadata: serverMetadata(tags, { 'kaas.dev/role': spec.role, 'kaas.dev/pool': spec.pool }),
        tags: encodeTags(tags),
        ...(spec.serverGroup ? { serverGroupId: this.#input(inputs, node, spec.serverGroup).cloudId } : {}),
        ...(spec.availabilityZone ? { availabilityZone: spec.availabilityZone } : {}),
      });
    }
    server = await nova.waitForServer(server.id, this.#wait(opts));
    const outputs = serverOutputs(server);
    for (const lbRef of spec.loadBalancers ?? []) {
      const lb = this.#input(inputs, node, lbRef);
      const subnetId = this.#input(inputs, node, spec.subnet).cloudId;
      for (const pool of await this.os.octavia.listPools({ loadbalancer_id: lb.cloudId })) {
        await this.os.octavia.ensureMember(lb.cloudId, pool.id, {
          name: spec.name,
          address: outputs.ip,
          port: kubernetesApiPort,
          subnetId,
          tags: encodeTags(tags),
        });
      }
    }
    return { cloudId: server.id, outputs, adopted };
  }

  /** The real node bootstrap when the provider has a ClusterBootstrap, else the stub. */
  async #userData(
    node: GraphNodeOf<'server'>,
    inputs: Inputs,
    subnet: { id: string; network_id: string },
  ): Promise<string> {
    if (this.bootstrap === undefined || this.cluster === undefined)
      return serverUserData(this.cluster, node.spec);
    const bootstrap = await this.bootstrap(this.cluster);
    const external = await this.externalNetwork();
    return nodeUserData(this.cluster, node, inputs, bootstrap, {
      networkId: subnet.network_id,
      subnetId: subnet.id,
      floatingNetworkId: external.id,
    });
  }

  async #portOf(target: ObservedResource): Promise<string> {
    if (target.type === 'loadBalancer')
      return (await this.os.octavia.getLoadBalancer(target.cloudId)).vip_port_id;
    if (target.type === 'server') {
      const [first] = await this.nova.interfaces(target.cloudId);
      if (first) return first.port_id;
      throw new CloudError('CloudUnavailable', `server ${target.cloudId} has no port yet`);
    }
    throw new CloudError('InvalidSpec', `a floating IP cannot point at a ${target.type}`);
  }

  async #ensureFloatingIp(
    node: GraphNodeOf<'floatingIp'>,
    inputs: Inputs,
    tags: Tags,
  ): Promise<EnsureResult> {
    const n = this.os.neutron;
    const target = this.#input(inputs, node, node.spec.target);
    const external = await this.externalNetwork(node.spec.externalNetwork);
    const portId = await this.#portOf(target);
    const encoded = encodeTags(tags);
    let [fip] = await n.listFloatingIps({ tags: encoded.join(',') });
    let adopted = fip !== undefined;
    if (fip === undefined) {
      // a create whose tagging was lost is the address already on the port
      const [onPort] = await n.listFloatingIps({ port_id: portId });
      if (onPort) {
        await n.setTags('floatingips', onPort.id, encoded);
        fip = onPort;
        adopted = true;
      }
    }
    fip ??= await n.createFloatingIp({
      floatingNetworkId: external.id,
      portId,
      description: tagsToText(tags),
      tags: encoded,
    });
    if (fip.port_id !== portId) fip = await n.associateFloatingIp(fip.id, portId);
    return { cloudId: fip.id, outputs: { address: fip.floating_ip_address }, adopted };
  }

  async #ensureDnsRecord(
    node: GraphNodeOf<'dnsRecord'>,
    inputs: Inputs,
    tags: Tags,
    opts?: CallOptions,
  ): Promise<EnsureResult> {
    const d = this.os.designate;
    const zone = await this.zone(node.spec.zone);
    if (zone === undefined) {
      throw new CloudError(
        'InvalidSpec',
        `spec.provider.openstack.dnsZone: no designate zone ${fqdn(node.spec.zone)} in the project`,
      );
    }
    const name = `${node.spec.name}.${fqdn(zone.name)}`;
    const address = addressOf(this.#input(inputs, node, node.spec.target));
    const have = await d.findRecordset(zone.id, name, 'A');
    if (have && !carries(tagsFromText(have.description), tags)) {
      throw new CloudError(
        'Conflict',
        `DNS record ${name} exists and is not this cluster's (${have.description ?? 'no description'})`,
      );
    }
    const rs = await d.ensureRecordset(zone.id, {
      name,
      type: 'A',
      records: [address],
      ...(node.spec.ttlSeconds === undefined ? {} : { ttl: node.spec.ttlSeconds }),
      description: tagsToText(tags),
    });
    void opts;
    return {
      cloudId: `${zone.id}/${rs.id}`,
      outputs: { fqdn: rs.name, address },
      adopted: have !== undefined,
    };
  }

  // ---- observe ----

  async observe(
    type: ResourceType,
    cloudId: string,
    _opts?: CallOptions,
  ): Promise<ObservedResource | undefined> {
    const n = this.os.neutron;
    switch (type) {
      case 'network': {
        const x = await orUndefined(n.getNetwork(cloudId));
        return x && { type, cloudId, tags: decodeTags(x.tags), outputs: { name: x.name } };
      }
      case 'subnet': {
        const x = await orUndefined(n.getSubnet(cloudId));
        return (
          x && {
            type,
            cloudId,
            tags: decodeTags(x.tags),
            outputs: { cidr: x.cidr, gatewayIp: x.gateway_ip ?? '' },
          }
        );
      }
      case 'router': {
        const x = await orUndefined(n.getRouter(cloudId));
        return x && { type, cloudId, tags: decodeTags(x.tags), outputs: routerOutputs(x) };
      }
      case 'securityGroup': {
        const x = await orUndefined(n.getSecurityGroup(cloudId));
        return x && { type, cloudId, tags: decodeTags(x.tags), outputs: { name: x.name } };
      }
      case 'floatingIp': {
        const x = await orUndefined(n.getFloatingIp(cloudId));
        return x && { type, cloudId, tags: decodeTags(x.tags), outputs: { address: x.floating_ip_address } };
      }
      case 'serverGroup': {
        const x = (await this.nova.listServerGroups()).find((g) => g.id === cloudId);
        return (
          x && {
            type,
            cloudId,
            tags: tagsFromText(x.name),
            outputs: { policy: x.policy ?? x.policies?.[0] ?? '' },
          }
        );
      }
      case 'server': {
        const x = await orUndefined(this.nova.getServer(cloudId));
        if (x === undefined || x.status === 'DELETED' || x.status === 'SOFT_DELETED') return undefined;
        return { type, cloudId, tags: decodeTags(x.tags), outputs: serverOutputs(x) };
      }
      case 'loadBalancer': {
        const x = await orUndefined(this.os.octavia.getLoadBalancer(cloudId));
        if (x === undefined || x.provisioning_status === 'DELETED') return undefined;
        const listeners = await this.os.octavia.listListeners({ loadbalancer_id: cloudId });
        return {
          type,
          cloudId,
          tags: decodeTags(x.tags),
          outputs: {
            vip: x.vip_address,
            hostname: x.vip_address,
            ports: listeners.map((l) => l.protocol_port),
          },
        };
      }
      case 'volume': {
        const x = await orUndefined(this.os.cinder.getVolume(cloudId));
        if (x === undefined || x.status === 'deleted') return undefined;
        return { type, cloudId, tags: { ...x.metadata }, outputs: { sizeGiB: x.size } };
      }
      case 'dnsRecord': {
        const [zoneId, id] = splitRecordId(cloudId);
        const x = await orUndefined(this.os.designate.getRecordset(zoneId, id));
        if (x === undefined || x.action === 'DELETE') return undefined;
        return recordObserved(zoneId, x);
      }
    }
  }

  // ---- delete ----

  async delete(type: ResourceType, cloudId: string, opts?: CallOptions): Promise<void> {
    try {
      await this.#delete(type, cloudId, opts);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  }

  async #delete(type: ResourceType, cloudId: string, opts?: CallOptions): Promise<void> {
    const n = this.os.neutron;
    switch (type) {
      case 'network':
        return n.deleteNetwork(cloudId);
      case 'subnet':
        return n.deleteSubnet(cloudId);
      case 'router': {
        const ifaces = await n.listPorts({ device_id: cloudId, device_owner: 'network:router_interface' });
        for (const p of ifaces)
          for (const ip of p.fixed_ips) await n.removeRouterInterface(cloudId, ip.subnet_id);
        return n.deleteRouter(cloudId);
      }
      case 'securityGroup':
        return n.deleteSecurityGroup(cloudId);
      case 'floatingIp':
        return n.deleteFloatingIp(cloudId);
      case 'serverGroup':
        return this.nova.deleteServerGroup(cloudId);
      case 'server':
        return this.#deleteServer(cloudId, opts);
      case 'loadBalancer':
        // cascade: listeners, pools, members and health monitors with it; waits until gone
        return this.os.octavia.deleteLoadBalancer(cloudId, { cascade: true });
      case 'volume': {
        const v = await orUndefined(this.os.cinder.getVolume(cloudId));
        if (v === undefined) return;
        // a root volume is released by nova shortly after its server is gone
        if (v.status === 'in-use' || v.status === 'detaching')
          await this.os.cinder.waitForVolume(cloudId, ['available', 'error'], this.#wait(opts));
        return this.os.cinder.deleteVolume(cloudId, { wait: true });
      }
      case 'dnsRecord': {
        const [zoneId, id] = splitRecordId(cloudId);
        await this.os.designate.deleteRecordset(zoneId, id);
        const deadline = Date.now() + this.waitTimeoutMs;
        const sleep = abortable(opts?.signal);
        while (Date.now() < deadline) {
          if ((await orUndefined(this.os.designate.getRecordset(zoneId, id))) === undefined) return;
          await sleep(this.pollMs);
        }
        throw new CloudError(
          'Timeout',
          `DNS record ${cloudId}: still there ${this.waitTimeoutMs} ms after its delete`,
        );
      }
    }
  }

  /** Leaves the load balancer pools it joined, then deletes it and waits until nova forgets it. */
  async #deleteServer(id: string, opts?: CallOptions): Promise<void> {
    const nova = this.nova;
    const server = await orUndefined(nova.getServer(id));
    if (server === undefined) return;
    const uid = decodeTags(server.tags)[tagKeys.clusterUid];
    const ip = serverOutputs(server).ip;
    if (uid !== undefined && ip !== '') {
      const lbs = await this.os.octavia.listLoadBalancers({
        tags: encodeTags({ [tagKeys.clusterUid]: uid }).join(','),
      });
      for (const lb of lbs) {
        if (lb.provisioning_status !== 'ACTIVE') continue;
        for (const pool of await this.os.octavia.listPools({ loadbalancer_id: lb.id })) {
          for (const m of await this.os.octavia.listMembers(pool.id)) {
            if (m.address === ip || m.name === server.name)
              await this.os.octavia.deleteMember(lb.id, pool.id, m.id);
          }
        }
      }
    }
    await nova.deleteServer(id);
    await nova.waitForServerGone(id, this.#wait(opts));
  }

  // ---- findByTags ----

  /**
   * Every object carrying the tags, across the services the catalog has: one listing per kind
   * (the table below), in parallel. Asked for a whole cluster (its uid tag alone), it also finds what
   * the cluster's in-cluster controllers made by their own names (ccmAndCsiObjects).
   */
  async findByTags(tags: Tags, _opts?: CallOptions): Promise<ObservedResource[]> {
    const types = new Set(await this.serviceTypes());
    const q = { tags: encodeTags(tags).join(',') };
    const n = this.os.neutron;
    const projectId = types.has('network') ? await this.os.session.projectId() : '';
    const tagged = (xs: { tags?: string[] }): Tags => decodeTags(xs.tags);
    // [catalog service, listing]: a listing maps each object it finds to what the contract reports
    const listings: [string[], () => Promise<ObservedResource[]>][] = [
      [['network'], async () => (await n.listNetworks(q)).map((x) => networkObserved(x, tagged(x)))],
      [
        ['network'],
        async () =>
          (await n.listSubnets(q)).map((x) => ({
            type: 'subnet' as const,
            cloudId: x.id,
            tags: tagged(x),
            outputs: { cidr: x.cidr, gatewayIp: x.gateway_ip ?? '' },
          })),
      ],
      [
        ['network'],
        async () =>
          (await n.listRouters(q)).map((x) => ({
            type: 'router' as const,
            cloudId: x.id,
            tags: tagged(x),
            outputs: routerOutputs(x),
          })),
      ],
      [
        ['network'],
        async () =>
          (await n.listSecurityGroups({ ...q, project_id: projectId })).map((x) =>
            securityGroupObserved(x, tagged(x)),
          ),
      ],
      [['network'], async () => (await n.listFloatingIps(q)).map((x) => floatingIpObserved(x, tagged(x)))],
      [
        ['compute'],
        async () =>
          (await this.nova.listServers(q))
            .filter((x) => x.status !== 'DELETED' && x.status !== 'SOFT_DELETED')
            .map((x) => ({
              type: 'server' as const,
              cloudId: x.id,
              tags: tagged(x),
              outputs: serverOutputs(x),
            })),
      ],
      [
        ['compute'],
        async () =>
          (await this.nova.listServerGroups())
            .filter((g) => carries(tagsFromText(g.name), tags))
            .map((g) => ({
              type: 'serverGroup' as const,
              cloudId: g.id,
              tags: tagsFromText(g.name),
              outputs: { policy: g.policy ?? g.policies?.[0] ?? '' },
            })),
      ],
      [
        ['load-balancer'],
        async () =>
          (await this.os.octavia.listLoadBalancers(q))
            .filter((x) => x.provisioning_status !== 'DELETED')
            .map((x) => loadBalancerObserved(x, tagged(x))),
      ],
      [
        ['block-storage', 'volumev3'],
        async () =>
          (await this.os.cinder.listVolumesByMetadata(tags))
            .filter((x) => x.status !== 'deleted')
            .map((x) => volumeObserved(x, { ...x.metadata })),
      ],
      [
        ['dns'],
        async () => {
          const found: ObservedResource[] = [];
          for (const zone of await this.os.designate.listZones()) {
            for (const rs of await this.os.designate.listRecordsets(zone.id, { type: 'A' })) {
              if (carries(tagsFromText(rs.description), tags)) found.push(recordObserved(zone.id, rs));
            }
          }
          return found;
        },
      ],
    ];
    const uid = tags[tagKeys.clusterUid];
    const wholeCluster = uid !== undefined && Object.keys(tags).length === 1;
    const jobs = listings.filter(([svc]) => svc.some((t) => types.has(t))).map(([, list]) => list());
    if (wholeCluster) jobs.push(this.ccmAndCsiObjects(uid, types, projectId));
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled
      .flatMap((s) => (s.status === 'fulfilled' ? s.value : []))
      .filter((r) => carries(r.tags, tags));
  }

  /**
   * What the cluster's cloud controller manager and cinder CSI made, found by their own conventions
   * (bootstrap/cloudNames.ts): load balancers named `kube_service_kaas-<uid>_...`, their floating IPs
   * and security groups by description, volumes by `cinder.csi.openstack.org/cluster`. Reported
   * with the cluster's uid tag, so that destroy's sweep deletes them and its last listing proves
   * none is left. Deleting a Service's load balancer cascades to its listeners, pools and monitors.
   */
  async ccmAndCsiObjects(uid: string, types: Set<string>, projectId: string): Promise<ObservedResource[]> {
    const owned = (kind: string, id: string): Tags => ({
      [tagKeys.clusterUid]: uid,
      [tagKeys.resourceId]: `${kind}/${id}`,
    });
    const out: ObservedResource[] = [];
    if (types.has('load-balancer')) {
      const prefix = ccmLoadBalancerPrefix(uid);
      for (const lb of await this.os.octavia.listLoadBalancers()) {
        if (lb.name.startsWith(prefix) && lb.provisioning_status !== 'DELETED')
          out.push(loadBalancerObserved(lb, owned('ccm-loadBalancer', lb.name)));
      }
    }
    if (types.has('network')) {
      const n = this.os.neutron;
      for (const f of await n.listFloatingIps({ project_id: projectId })) {
        if (isCcmDescription(f.description, uid))
          out.push(floatingIpObserved(f, owned('ccm-floatingIp', f.id)));
      }
      for (const g of await n.listSecurityGroups({ project_id: projectId })) {
        if (isCcmDescription(g.description, uid))
          out.push(securityGroupObserved(g, owned('ccm-securityGroup', g.name)));
      }
    }
    if (types.has('block-storage') || types.has('volumev3')) {
      for (const v of await this.os.cinder.listVolumesByMetadata({
        [csiClusterKey]: cloudClusterName(uid),
      })) {
        if (v.status !== 'deleted') out.push(volumeObserved(v, owned('csi-volume', v.name || v.id)));
      }
    }
    return out;
  }
}

function networkObserved(x: { id: string; name: string }, tags: Tags): ObservedResource {
  return { type: 'network', cloudId: x.id, tags, outputs: { name: x.name } };
}

function securityGroupObserved(x: { id: string; name: string }, tags: Tags): ObservedResource {
  return { type: 'securityGroup', cloudId: x.id, tags, outputs: { name: x.name } };
}

function floatingIpObserved(x: { id: string; floating_ip_address: string }, tags: Tags): ObservedResource {
  return { type: 'floatingIp', cloudId: x.id, tags, outputs: { address: x.floating_ip_address } };
}

function loadBalancerObserved(x: { id: string; vip_address: string }, tags: Tags): ObservedResource {
  return {
    type: 'loadBalancer',
    cloudId: x.id,
    tags,
    outputs: { vip: x.vip_address, hostname: x.vip_address, ports: [] },
  };
}

function volumeObserved(x: { id: string; size: number }, tags: Tags): ObservedResource {
  return { type: 'volume', cloudId: x.id, tags, outputs: { sizeGiB: x.size } };
}

function splitRecordId(cloudId: string): [string, string] {
  const i = cloudId.indexOf('/');
  if (i <= 0) throw new CloudError('NotFound', `DNS record id ${cloudId}: expected ZONE_ID/RECORDSET_ID`);
  return [cloudId.slice(0, i), cloudId.slice(i + 1)];
}

function recordObserved(zoneId: string, rs: Recordset): ObservedResource {
  return {
    type: 'dnsRecord',
    cloudId: `${zoneId}/${rs.id}`,
    tags: tagsFromText(rs.description),
    outputs: { fqdn: rs.name, address: rs.records[0] ?? '' },
  };
}

function routerOutputs(r: {
  external_gateway_info: { external_fixed_ips?: { ip_address: string }[] } | null;
}): ResourceOutputs['router'] {
  return { externalIp: r.external_gateway_info?.external_fixed_ips?.[0]?.ip_address ?? '' };
}

const serverStatuses: ServerOutputs['status'][] = ['ACTIVE', 'BUILD', 'ERROR', 'SHUTOFF'];

/** What the contract reports of a server; role and pool come back from its metadata. */
export function serverOutputs(s: Server): ServerOutputs {
  const fixed = Object.values(s.addresses ?? {})
    .flat()
    .filter((a) => a.version === 4 && (a['OS-EXT-IPS:type'] ?? 'fixed') === 'fixed');
  const flavor = s.flavor as { original_name?: string; vcpus?: number; ram?: number };
  const role = s.metadata?.[metadataKey('kaas.dev/role')];
  return {
    nodeName: s.name,
    role: role === 'controlPlane' ? 'controlPlane' : 'worker',
    pool: s.metadata?.[metadataKey('kaas.dev/pool')] ?? '',
    ip: fixed[0]?.addr ?? '',
    machineType: flavor.original_name ?? flavor.vcpus?.toString() ?? '',
    vcpus: flavor.vcpus ?? 0,
    memoryGiB: (flavor.ram ?? 0) / 1024,
    status: serverStatuses.includes(s.status as ServerOutputs['status'])
      ? (s.status as ServerOutputs['status'])
      : 'BUILD',
  };
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

type NeutronRuleInput = Parameters<OpenStack['neutron']['createSecurityGroupRule']>[0];

/** Whether neutron's rule is the one asked for (neutron's null is our undefined). */
export function sameRule(x: SecurityGroupRuleOf, r: NeutronRuleInput): boolean {
  return (
    x.direction === r.direction &&
    x.ethertype === (r.ethertype ?? 'IPv4') &&
    (x.protocol ?? undefined) === r.protocol &&
    (x.port_range_min ?? undefined) === r.portRangeMin &&
    (x.port_range_max ?? undefined) === r.portRangeMax &&
    (x.remote_ip_prefix ?? undefined) === r.remoteIpPrefix &&
    (x.remote_group_id ?? undefined) === r.remoteGroupId
  );
}

/** The contract's rule as neutron's: `self` is the group itself, 0.0.0.0/0 is neutron's "any". */
export function neutronRule(
  securityGroupId: string,
  r: RuleSpec,
): Parameters<OpenStack['neutron']['ensureSecurityGroupRule']>[0] {
  return {
    securityGroupId,
    direction: r.direction,
    ...(r.protocol === 'any' ? {} : { protocol: r.protocol }),
    ...(r.portMin === undefined ? {} : { portRangeMin: r.portMin }),
    ...(r.portMax === undefined ? {} : { portRangeMax: r.portMax }),
    ...(r.remote === 'self' ? { remoteGroupId: securityGroupId } : {}),
    ...(r.remote !== 'self' && r.remote !== '0.0.0.0/0' ? { remoteIpPrefix: r.remote } : {}),
    description: 'kaas',
  };
}
