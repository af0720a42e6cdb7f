// neutron (network v2.0): networks, subnets, routers and their interfaces, ports, security groups
// and rules, floating IPs, tags and quotas. Lookups by name or tag make creates idempotent:
// `ensureX` returns what exists, else creates it.
import type { Session } from './session.ts';
import { single } from './resource.ts';
import type { Query } from './resource.ts';

export interface Network {
  id: string;
  name: string;
  status: string;
  admin_state_up: boolean;
  shared: boolean;
  'router:external'?: boolean;
  subnets: string[];
  tags: string[];
  project_id: string;
  mtu?: number;
}
export interface Subnet {
  id: string;
  name: string;
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  gateway_ip: string | null;
  enable_dhcp: boolean;
  dns_nameservers: string[];
  allocation_pools: { start: string; end: string }[];
  tags: string[];
}
export interface Router {
  id: string;
  name: string;
  status: string;
  external_gateway_info: {
    network_id: string;
    external_fixed_ips?: { subnet_id: string; ip_address: string }[];
  } | null;
  tags: string[];
}
export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}
export interface Port {
  id: string;
  name: string;
  network_id: string;
  device_id: string;
  device_owner: string;
  status: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  security_groups: string[];
  allowed_address_pairs: { ip_address: string; mac_address?: string }[];
  tags: string[];
}
export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
}
export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  security_group_rules: SecurityGroupRule[];
  tags: string[];
}
export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
  description: string;
  tags: string[];
}
export interface NetworkQuota {
  network: number;
  subnet: number;
  port: number;
  router: number;
  floatingip: number;
  security_group: number;
  security_group_rule: number;
}
export type QuotaDetail = Record<string, { limit: number; used: number; reserved: number }>;

/** neutron's tag filters: every tag (`tags`) or any (`tags-any`), comma separated. */
export function tagQuery(tags: readonly string[] | undefined, any = false): Query {
  if (!tags || tags.length === 0) return {};
  return { [any ? 'tags-any' : 'tags']: tags.join(',') };
}

type Resource = 'networks' | 'subnets' | 'routers' | 'ports' | 'security-groups' | 'floatingips';

export class Neutron {
  readonly session: Session;

  constructor(session: Session) {
    this.session = session;
  }

  #list<T>(path: string, key: string, query: Query): Promise<T[]> {
    return this.session.list<T>('network', path, key, { query });
  }
  async #get<T>(path: string, key: string): Promise<T> {
    return (await this.session.request('network', 'GET', path)).body[key] as T;
  }
  async #create<T>(path: string, key: string, body: unknown): Promise<T> {
    return (await this.session.request('network', 'POST', path, { body: { [key]: body } })).body[key] as T;
  }
  async #update<T>(path: string, key: string, body: unknown): Promise<T> {
    return (await this.session.request('network', 'PUT', path, { body: { [key]: body } })).body[key] as T;
  }
  async #delete(path: string): Promise<void> {
    await this.session.request('network', 'DELETE', path);
  }

  // ---- networks
  listNetworks(query: Query = {}): Promise<Network[]> {
    return this.#list('/networks', 'networks', query);
  }
  getNetwork(id: string): Promise<Network> {
    return this.#get(`/networks/${id}`, 'network');
  }
  async findNetwork(name: string, query: Query = {}): Promise<Network | undefined> {
    return single(await this.listNetworks({ ...query, name }), `networks named "${name}"`);
  }
  /** External networks (router:external), e.g. the one to put router gateways and floating IPs on. */
  listExternalNetworks(): Promise<Network[]> {
    return this.listNetworks({ 'router:external': true });
  }
  createNetwork(n: {
    name: string;
    tags?: string[];
    description?: string;
    mtu?: number;
    adminStateUp?: boolean;
    /** admin only */
    external?: boolean;
    shared?: boolean;
    provider?: { networkType: string; physicalNetwork?: string; segmentationId?: number };
  }): Promise<Network> {
    return this.#createTagged('networks', 'network', n.tags, {
      name: n.name,
      ...(n.description !== undefined ? { description: n.description } : {}),
      ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
      ...(n.adminStateUp !== undefined ? { admin_state_up: n.adminStateUp } : {}),
      ...(n.external !== undefined ? { 'router:external': n.external } : {}),
      ...(n.shared !== undefined ? { shared: n.shared } : {}),
      ...(n.provider
        ? {
            'provider:network_type': n.provider.networkType,
            ...(n.provider.physicalNetwork
              ? { 'provider:physical_network': n.provider.physicalNetwork }
              : {}),
            ...(n.provider.segmentationId !== undefined
              ? { 'provider:segmentation_id': n.provider.segmentationId }
              : {}),
          }
        : {}),
    });
  }
  async ensureNetwork(n: Parameters<Neutron['createNetwork']>[0]): Promise<Network> {
    return (await this.findNetwork(n.name)) ?? this.createNetwork(n);
  }
  deleteNetwork(id: string): Promise<void> {
    return this.#delete(`/networks/${id}`);
  }

  // ---- subnets
  listSubnets(query: Query = {}): Promise<Subnet[]> {
    return this.#list('/subnets', 'subnets', query);
  }
  getSubnet(id: string): Promise<Subnet> {
    return this.#get(`/subnets/${id}`, 'subnet');
  }
  async findSubnet(name: string, query: Query = {}): Promise<Subnet | undefined> {
    return single(await this.listSubnets({ ...query, name }), `subnets named "${name}"`);
  }
  createSubnet(s: {
    name: string;
    networkId: string;
    cidr: string;
    ipVersion?: 4 | 6;
    gatewayIp?: string | null;
    enableDhcp?: boolean;
    dnsNameservers?: string[];
    allocationPools?: { start: string; end: string }[];
    tags?: string[];
  }): Promise<Subnet> {
    return this.#createTagged('subnets', 'subnet', s.tags, {
      name: s.name,
      network_id: s.networkId,
      cidr: s.cidr,
      ip_version: s.ipVersion ?? 4,
      ...(s.gatewayIp !== undefined ? { gateway_ip: s.gatewayIp } : {}),
      ...(s.enableDhcp !== undefined ? { enable_dhcp: s.enableDhcp } : {}),
      ...(s.dnsNameservers ? { dns_nameservers: s.dnsNameservers } : {}),
      ...(s.allocationPools ? { allocation_pools: s.allocationPools } : {}),
    });
  }
  async ensureSubnet(s: Parameters<Neutron['createSubnet']>[0]): Promise<Subnet> {
    return (await this.findSubnet(s.name, { network_id: s.networkId })) ?? this.createSubnet(s);
  }
  deleteSubnet(id: string): Promise<void> {
    return this.#delete(`/subnets/${id}`);
  }

  // ---- routers
  listRouters(query: Query = {}): Promise<Router[]> {
    return this.#list('/routers', 'routers', query);
  }
  getRouter(id: string): Promise<Router> {
    return this.#get(`/routers/${id}`, 'router');
  }
  async findRouter(name: string, query: Query = {}): Promise<Router | undefined> {
    return single(await this.listRouters({ ...query, name }), `routers named "${name}"`);
  }
  createRouter(r: { name: string; externalNetworkId?: string; tags?: string[] }): Promise<Router> {
    return this.#createTagged('routers', 'router', r.tags, {
      name: r.name,
      ...(r.externalNetworkId ? { external_gateway_info: { network_id: r.externalNetworkId } } : {}),
    });
  }
  async ensureRouter(r: Parameters<Neutron['createRouter']>[0]): Promise<Router> {
    return (await this.findRouter(r.name)) ?? this.createRouter(r);
  }
  setRouterGateway(id: string, externalNetworkId: string | null): Promise<Router> {
    return this.#update(`/routers/${id}`, 'router', {
      external_gateway_info: externalNetworkId ? { network_id: externalNetworkId } : {},
    });
  }
  /** The router's interface on the subnet; adding one that exists is done. */
  async addRouterInterface(routerId: string, subnetId: string): Promise<void> {
    const have = await this.listPorts({ device_id: routerId, device_owner: 'network:router_interface' });
    if (have.some((p) => p.fixed_ips.some((f) => f.subnet_id === subnetId))) return;
    await this.session.request('network', 'PUT', `/routers/${routerId}/add_router_interface`, {
      body: { subnet_id: subnetId },
      retryConflict: true,
    });
  }
  /** Removing an interface that is not there (404, or neutron's 400/404 for it) is done. */
  async removeRouterInterface(routerId: string, subnetId: string): Promise<void> {
    const have = await this.listPorts({ device_id: routerId, device_owner: 'network:router_interface' });
    if (!have.some((p) => p.fixed_ips.some((f) => f.subnet_id === subnetId))) return;
    await this.session.request('network', 'PUT', `/routers/${routerId}/remove_router_interface`, {
      body: { subnet_id: subnetId },
      notFoundOk: true,
    });
  }
  deleteRouter(id: string): Promise<void> {
    return this.#delete(`/routers/${id}`);
  }

  // ---- ports
  listPorts(query: Query = {}): Promise<Port[]> {
    return this.#list('/ports', 'ports', query);
  }
  getPort(id: string): Promise<Port> {
    return this.#get(`/ports/${id}`, 'port');
  }
  async findPort(name: string, query: Query = {}): Promise<Port | undefined> {
    return single(await this.listPorts({ ...query, name }), `ports named "${name}"`);
  }
  createPort(p: {
    name: string;
    networkId: string;
    fixedIps?: { subnetId: string; ipAddress?: string }[];
    securityGroups?: string[];
    allowedAddressPairs?: { ipAddress: string; macAddress?: string }[];
    portSecurityEnabled?: boolean;
    tags?: string[];
  }): Promise<Port> {
    return this.#createTagged('ports', 'port', p.tags, {
      name: p.name,
      network_id: p.networkId,
      ...(p.fixedIps
        ? {
            fixed_ips: p.fixedIps.map((f) => ({
              subnet_id: f.subnetId,
              ...(f.ipAddress ? { ip_address: f.ipAddress } : {}),
            })),
          }
        : {}),
      ...(p.securityGroups ? { security_groups: p.securityGroups } : {}),
      ...(p.allowedAddressPairs
        ? {
            allowed_address_pairs: p.allowedAddressPairs.map((a) => ({
              ip_address: a.ipAddress,
              ...(a.macAddress ? { mac_address: a.macAddress } : {}),
            })),
          }
        : {}),
      ...(p.portSecurityEnabled !== undefined ? { port_security_enabled: p.portSecurityEnabled } : {}),
    });
  }
  async ensurePort(p: Parameters<Neutron['createPort']>[0]): Promise<Port> {
    return (await this.findPort(p.name, { network_id: p.networkId })) ?? this.createPort(p);
  }
  updatePort(
    id: string,
    patch: { securityGroups?: string[]; allowedAddressPairs?: { ip_address: string }[]; name?: string },
  ): Promise<Port> {
    return this.#update(`/ports/${id}`, 'port', {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.securityGroups ? { security_groups: patch.securityGroups } : {}),
      ...(patch.allowedAddressPairs ? { allowed_address_pairs: patch.allowedAddressPairs } : {}),
    });
  }
  deletePort(id: string): Promise<void> {
    return this.#delete(`/ports/${id}`);
  }

  // ---- security groups
  listSecurityGroups(query: Query = {}): Promise<SecurityGroup[]> {
    return this.#list('/security-groups', 'security_groups', query);
  }
  getSecurityGroup(id: string): Promise<SecurityGroup> {
    return this.#get(`/security-groups/${id}`, 'security_group');
  }
  async findSecurityGroup(name: string, query: Query = {}): Promise<SecurityGroup | undefined> {
    const projectId = await this.session.projectId();
    // admins see every project's groups: the name is unique only within a project
    return single(
      await this.listSecurityGroups({ project_id: projectId, ...query, name }),
      `security groups named "${name}"`,
    );
  }
  createSecurityGroup(g: { name: string; description?: string; tags?: string[] }): Promise<SecurityGroup> {
    return this.#createTagged('security-groups', 'security_group', g.tags, {
      name: g.name,
      description: g.description ?? '',
    });
  }
  async ensureSecurityGroup(g: Parameters<Neutron['createSecurityGroup']>[0]): Promise<SecurityGroup> {
    return (await this.findSecurityGroup(g.name)) ?? this.createSecurityGroup(g);
  }
  deleteSecurityGroup(id: string): Promise<void> {
    return this.#delete(`/security-groups/${id}`);
  }
  async createSecurityGroupRule(r: {
    securityGroupId: string;
    direction: 'ingress' | 'egress';
    ethertype?: 'IPv4' | 'IPv6';
    protocol?: string;
    portRangeMin?: number;
    portRangeMax?: number;
    remoteIpPrefix?: string;
    remoteGroupId?: string;
    description?: string;
  }): Promise<SecurityGroupRule> {
    const body = {
      security_group_id: r.securityGroupId,
      direction: r.direction,
      ethertype: r.ethertype ?? 'IPv4',
      ...(r.protocol ? { protocol: r.protocol } : {}),
      ...(r.portRangeMin !== undefined ? { port_range_min: r.portRangeMin } : {}),
      ...(r.portRangeMax !== undefined ? { port_range_max: r.portRangeMax } : {}),
      ...(r.remoteIpPrefix ? { remote_ip_prefix: r.remoteIpPrefix } : {}),
      ...(r.remoteGroupId ? { remote_group_id: r.remoteGroupId } : {}),
      ...(r.description ? { description: r.description } : {}),
    };
    return (
      await this.session.request('network', 'POST', '/security-group-rules', {
        body: { security_group_rule: body },
        retryConflict: false,
      })
    ).body.security_group_rule as SecurityGroupRule;
  }
  /** A rule that already exists (same direction, protocol, ports, remote) is returned, not created. */
  async ensureSecurityGroupRule(
    r: Parameters<Neutron['createSecurityGroupRule']>[0],
  ): Promise<SecurityGroupRule> {
    const g = await this.getSecurityGroup(r.securityGroupId);
    const same = g.security_group_rules.find(
      (x) =>
        x.direction === r.direction &&
        x.ethertype === (r.ethertype ?? 'IPv4') &&
        (x.protocol ?? undefined) === r.protocol &&
        (x.port_range_min ?? undefined) === r.portRangeMin &&
        (x.port_range_max ?? undefined) === r.portRangeMax &&
        (x.remote_ip_prefix ?? undefined) === r.remoteIpPrefix &&
        (x.remote_group_id ?? undefined) === r.remoteGroupId,
    );
    return same ?? this.createSecurityGroupRule(r);
  }
  deleteSecurityGroupRule(id: string): Promise<void> {
    return this.#delete(`/security-group-rules/${id}`);
  }

  // ---- floating IPs
  listFloatingIps(query: Query = {}): Promise<FloatingIp[]> {
    return this.#list('/floatingips', 'floatingips', query);
  }
  getFloatingIp(id: string): Promise<FloatingIp> {
    return this.#get(`/floatingips/${id}`, 'floatingip');
  }
  /** Floating IPs have no name: the idempotent handle is a tag, or the port it is on. */
  createFloatingIp(f: {
    floatingNetworkId: string;
    portId?: string;
    fixedIpAddress?: string;
    description?: string;
    tags?: string[];
  }): Promise<FloatingIp> {
    return this.#createTagged('floatingips', 'floatingip', f.tags, {
      floating_network_id: f.floatingNetworkId,
      ...(f.portId ? { port_id: f.portId } : {}),
      ...(f.fixedIpAddress ? { fixed_ip_address: f.fixedIpAddress } : {}),
      ...(f.description ? { description: f.description } : {}),
    });
  }
  /** The floating IP on `portId`, created if the port has none. */
  async ensureFloatingIpForPort(f: {
    floatingNetworkId: string;
    portId: string;
    tags?: string[];
  }): Promise<FloatingIp> {
    const have = await this.listFloatingIps({ port_id: f.portId });
    return have[0] ?? this.createFloatingIp(f);
  }
  associateFloatingIp(id: string, portId: string | null): Promise<FloatingIp> {
    return this.#update(`/floatingips/${id}`, 'floatingip', { port_id: portId });
  }
  deleteFloatingIp(id: string): Promise<void> {
    return this.#delete(`/floatingips/${id}`);
  }

  // ---- tags (the standard attribute tag extension)
  async setTags(resource: Resource, id: string, tags: readonly string[]): Promise<void> {
    await this.session.request('network', 'PUT', `/${resource}/${id}/tags`, { body: { tags } });
  }
  async addTag(resource: Resource, id: string, tag: string): Promise<void> {
    await this.session.request('network', 'PUT', `/${resource}/${id}/tags/${encodeURIComponent(tag)}`);
  }
  async getTags(resource: Resource, id: string): Promise<string[]> {
    return ((await this.session.request('network', 'GET', `/${resource}/${id}/tags`)).body.tags ??
      []) as string[];
  }

  /** Creates, then tags (neutron takes no tags in a create body before the tag-creation extension). */
  async #createTagged<T extends { id: string; tags: string[] }>(
    resource: Resource,
    key: string,
    tags: readonly string[] | undefined,
    body: Record<string, unknown>,
  ): Promise<T> {
    const created = await this.#create<T>(`/${resource}`, key, body);
    if (tags && tags.length > 0) {
      await this.setTags(resource, created.id, tags);
      created.tags = [...tags];
    }
    return created;
  }

  // ---- quotas
  async quotas(projectId?: string): Promise<QuotaDetail> {
    const pid = projectId ?? (await this.session.projectId());
    return (await this.session.request('network', 'GET', `/quotas/${pid}/details.json`)).body
      .quota as QuotaDetail;
  }
  async setQuotas(projectId: string, quota: Partial<NetworkQuota>): Promise<void> {
    await this.session.request('network', 'PUT', `/quotas/${projectId}`, { body: { quota } });
  }
}
