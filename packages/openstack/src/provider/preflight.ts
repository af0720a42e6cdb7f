// The OpenStack preflight: before anything is created, check that the catalog has every service
// the plan uses, that the flavors, the image, the external network and the DNS zone exist, and
// that the project's quotas hold what the plan still has to create. One report naming each
// missing piece and each quota short, never just the first.
import {
  ownershipTags,
  tagKeys,
  type CallOptions,
  type GraphNode,
  type PreflightProblem,
  type PreflightReport,
  type QuotaShortfall,
  type ResourceGraph,
} from '@kaas/providers';
import type { Flavor } from '../nova.ts';
import type { OpenStackProvider } from './openStackProvider.ts';

/** Service types a plan needs, by the graph types that use them. */
export function servicesFor(nodes: readonly GraphNode[]): Record<string, string[]> {
  const need: Record<string, string[]> = {};
  const add = (service: string, why: string): void => {
    need[service] = [...new Set([...(need[service] ?? []), why])];
  };
  for (const n of nodes) {
    if (['network', 'subnet', 'router', 'securityGroup', 'floatingIp'].includes(n.type))
      add('network', n.type);
    if (n.type === 'server' || n.type === 'serverGroup') add('compute', n.type);
    if (n.type === 'server' || (n.type === 'volume' && n.spec.bootable)) add('image', 'the node image');
    if (n.type === 'loadBalancer') add('load-balancer', n.type);
    if (n.type === 'dnsRecord') add('dns', n.type);
    if (n.type === 'volume') add('block-storage', n.type);
  }
  return need;
}

/**
 * What the nodes ask of each quota, by the cloud's own quota names (nova: instances, cores, ram
 * in MiB; neutron: network, subnet, router, floatingip, security_group, security_group_rule, port;
 * octavia: load_balancer; cinder: volumes, gigabytes; designate: zone_recordsets).
 */
export function quotaRequests(
  nodes: readonly GraphNode[],
  flavors: ReadonlyMap<string, Pick<Flavor, 'vcpus' | 'ram'>>,
): Record<string, number> {
  const r: Record<string, number> = {};
  const add = (k: string, v: number): void => {
    r[k] = (r[k] ?? 0) + v;
  };
  for (const n of nodes) {
    switch (n.type) {
      case 'network':
        add('network', 1);
        add('port', 1); // DHCP
        break;
      case 'subnet':
        add('subnet', 1);
        break;
      case 'router':
        add('router', 1);
        add('port', n.spec.subnets.length);
        break;
      case 'securityGroup':
        add('security_group', 1);
        // neutron adds an IPv4 and an IPv6 egress rule; an egress-any rule of ours is the first
        add('security_group_rule', n.spec.rules.filter((x) => x.direction === 'ingress').length + 2);
        break;
      case 'floatingIp':
        add('floatingip', 1);
        break;
      case 'loadBalancer':
        add('load_balancer', 1);
        add('port', 1); // the VIP
        break;
      case 'server': {
        add('instances', 1);
        add('port', 1);
        const f = flavors.get(n.spec.machineType);
        if (f) {
          add('cores', f.vcpus);
          add('ram', f.ram);
        }
        break;
      }
      case 'volume':
        add('volumes', 1);
        add('gigabytes', n.spec.sizeGiB);
        break;
      case 'dnsRecord':
        add('zone_recordsets', 1);
        break;
      case 'serverGroup':
        add('server_groups', 1);
        break;
    }
  }
  return r;
}

/** Quotas that cannot take `requested` on top of `used` (a limit of -1 is unlimited). */
export function shortfalls(
  requested: Record<string, number>,
  limits: Record<string, { limit: number; used: number }>,
): QuotaShortfall[] {
  const out: QuotaShortfall[] = [];
  for (const [quota, n] of Object.entries(requested)) {
    const q = limits[quota];
    if (q === undefined || q.limit < 0 || n === 0 || q.used + n <= q.limit) continue;
    out.push({ quota, limit: q.limit, used: q.used, requested: n, shortBy: q.used + n - q.limit });
  }
  return out;
}

async function settle<T>(p: Promise<T>, problems: PreflightProblem[], what: string): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    const code = (e as { code?: PreflightProblem['code'] }).code ?? 'CloudUnavailable';
    problems.push({ code, message: `${what}: ${(e as Error).message}` });
    return undefined;
  }
}

export async function preflight(
  provider: OpenStackProvider,
  plan: ResourceGraph,
  opts?: CallOptions,
): Promise<PreflightReport> {
  void opts;
  const os = provider.os;
  const problems: PreflightProblem[] = [];
  const settings = provider.settings;
  // the server's own configuration for the nodes (flags): said even when the cloud is fine
  if (plan.nodes.some((n) => n.type === 'server'))
    for (const message of provider.bootstrapCheck?.() ?? []) problems.push({ code: 'InvalidSpec', message });
  // credentials first: without a token nothing else can be asked
  const types = await settle(provider.serviceTypes(), problems, 'keystone');
  if (types === undefined) return { ok: false, problems, requested: {} };
  const have = new Set(types);
  if (have.has('volumev3')) have.add('block-storage');
  for (const [service, why] of Object.entries(servicesFor(plan.nodes))) {
    if (!have.has(service)) {
      problems.push({
        code: 'InvalidSpec',
        message: `service catalog: no ${service} service (needed for ${why.join(', ')}); the cloud must offer it`,
      });
    }
  }

  // what exists already for this cluster is not asked for again
  const present = new Set(
    (
      (await settle(provider.findByTags(ownershipTags(plan.clusterUid)), problems, 'listing by tags')) ?? []
    ).map((r) => r.tags[tagKeys.resourceId]),
  );
  const todo = plan.nodes.filter((n) => !present.has(n.id));

  const flavors = new Map<string, Flavor>();
  for (const name of new Set(plan.nodes.flatMap((n) => (n.type === 'server' ? [n.spec.machineType] : [])))) {
    const f = await settle(provider.flavor(name), problems, `flavor ${name}`);
    if (f) flavors.set(name, f);
    else if (f === undefined && !problems.some((p) => p.message.startsWith(`flavor ${name}:`))) {
      const users = plan.nodes
        .filter((n) => n.type === 'server' && n.spec.machineType === name)
        .map((n) => n.id);
      problems.push({
        code: 'InvalidSpec',
        resource: users[0],
        message: `flavor ${name} (${users.join(', ')}): no such nova flavor visible to the project; set spec.provider.openstack.flavors or the pool's machineType to one of \`openstack flavor list\``,
      });
    }
  }
  if (settings !== undefined) {
    const image = await settle(os.glance.findImage(settings.image), problems, `image ${settings.image}`);
    if (image === undefined && !problems.some((p) => p.message.startsWith(`image ${settings.image}:`))) {
      problems.push({
        code: 'InvalidSpec',
        message: `spec.provider.openstack.image: no active image "${settings.image}" visible to the project; upload it or name one of \`openstack image list\``,
      });
    }
    await settle(provider.externalNetwork(), problems, 'external network');
    if (plan.nodes.some((n) => n.type === 'dnsRecord') && have.has('dns')) {
      const zone = await settle(provider.zone(settings.dnsZone), problems, `DNS zone ${settings.dnsZone}`);
      if (zone === undefined && !problems.some((p) => p.message.startsWith(`DNS zone`))) {
        problems.push({
          code: 'InvalidSpec',
          message: `spec.provider.openstack.dnsZone: no designate zone ${settings.dnsZone} in the project; create it (\`openstack zone create\`) or name another`,
        });
      }
    }
  }

  const requested = quotaRequests(todo, flavors);
  const limits: Record<string, { limit: number; used: number }> = {};
  const jobs: Promise<unknown>[] = [];
  if (have.has('compute')) {
    jobs.push(
      settle(provider.nova.quotas(), problems, 'nova quotas').then((q) => {
        for (const [k, v] of Object.entries(q ?? {}))
          limits[k] = { limit: v.limit, used: v.in_use + v.reserved };
      }),
    );
  }
  if (have.has('network')) {
    jobs.push(
      settle(os.neutron.quotas(), problems, 'neutron quotas').then((q) => {
        for (const [k, v] of Object.entries(q ?? {}))
          limits[k] = { limit: v.limit, used: v.used + v.reserved };
      }),
    );
  }
  if (have.has('block-storage') && requested.volumes) {
    jobs.push(
      settle(os.cinder.quotas(), problems, 'cinder quotas').then((q) => {
        for (const k of ['volumes', 'gigabytes']) {
          const v = q?.[k];
          if (v) limits[k] = { limit: v.limit, used: v.in_use + v.reserved };
        }
      }),
    );
  }
  if (have.has('load-balancer') && requested.load_balancer) {
    jobs.push(
      (async () => {
        const q = await settle(os.octavia.quotas(), problems, 'octavia quotas');
        const lb = q?.load_balancer ?? q?.loadbalancer;
        if (typeof lb === 'number') {
          const used = (await os.octavia.listLoadBalancers()).length;
          limits.load_balancer = { limit: lb, used };
        }
      })(),
    );
  }
  await Promise.all(jobs);
  for (const short of shortfalls(requested, limits)) {
    const { quota, limit, used, requested: asked, shortBy } = short;
    problems.push({
      code: 'QuotaExceeded',
      quota: short,
      message: `quota ${quota} exceeded: limit ${limit}, in use ${used}, the plan needs ${asked} more (short by ${shortBy}); raise it (\`openstack quota set --${quota.replaceAll('_', '-')}\`) or plan a smaller cluster`,
    });
  }
  return { ok: problems.length === 0, problems, requested };
}
