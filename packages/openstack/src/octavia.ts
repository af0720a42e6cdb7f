// octavia (load-balancer v2): load balancers, listeners, pools, members, health monitors, quotas.
// Every change to a load balancer's tree makes it PENDING_UPDATE; octavia refuses the next change
// with 409 until it is ACTIVE again, so each mutating call here waits for ACTIVE afterwards (and the
// session retries 409s). `operating_status` is not waited on: it needs amphora heartbeats.
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';
import { single, waitFor } from './resource.ts';
import type { Query, WaitOptions } from './resource.ts';

export interface LoadBalancer {
  id: string;
  name: string;
  provisioning_status: string;
  operating_status: string;
  vip_address: string;
  vip_port_id: string;
  vip_subnet_id: string;
  vip_network_id: string;
  provider: string;
  tags: string[];
  listeners: { id: string }[];
  pools: { id: string }[];
}
export interface Listener {
  id: string;
  name: string;
  protocol: string;
  protocol_port: number;
  default_pool_id: string | null;
  provisioning_status: string;
  tags: string[];
}
export interface Pool {
  id: string;
  name: string;
  protocol: string;
  lb_algorithm: string;
  healthmonitor_id: string | null;
  provisioning_status: string;
  tags: string[];
}
export interface Member {
  id: string;
  name: string;
  address: string;
  protocol_port: number;
  subnet_id?: string;
  provisioning_status: string;
  tags: string[];
}
export interface HealthMonitor {
  id: string;
  name: string;
  type: string;
  delay: number;
  timeout: number;
  max_retries: number;
  pool_id?: string;
  pools?: { id: string }[];
  provisioning_status: string;
  tags: string[];
}

export class Octavia {
  readonly session: Session;
  readonly wait: WaitOptions;

  constructor(session: Session, opts: { wait?: WaitOptions } = {}) {
    this.session = session;
    this.wait = opts.wait ?? { timeoutMs: 600_000 };
  }

  async #get<T>(path: string, key: string): Promise<T> {
    return (await this.session.request('load-balancer', 'GET', path)).body[key] as T;
  }
  async #create<T>(path: string, key: string, body: unknown): Promise<T> {
    return (await this.session.request('load-balancer', 'POST', path, { body: { [key]: body } })).body[
      key
    ] as T;
  }

  // ---- load balancers
  listLoadBalancers(query: Query = {}): Promise<LoadBalancer[]> {
    return this.session.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers', { query });
  }
  getLoadBalancer(id: string): Promise<LoadBalancer> {
    return this.#get(`/lbaas/loadbalancers/${id}`, 'loadbalancer');
  }
  async findLoadBalancer(name: string): Promise<LoadBalancer | undefined> {
    return single(
      (await this.listLoadBalancers({ name })).filter((l) => l.provisioning_status !== 'DELETED'),
      `load balancers named "${name}"`,
    );
  }
  async createLoadBalancer(l: {
    name: string;
    vipSubnetId?: string;
    vipNetworkId?: string;
    vipAddress?: string;
    provider?: string;
    description?: string;
    tags?: string[];
  }): Promise<LoadBalancer> {
    if (!l.vipSubnetId && !l.vipNetworkId)
      throw new CloudError('InvalidSpec', `load balancer ${l.name}: a VIP subnet or network is needed`);
    return this.#create('/lbaas/loadbalancers', 'loadbalancer', {
      name: l.name,
      ...(l.vipSubnetId ? { vip_subnet_id: l.vipSubnetId } : {}),
      ...(l.vipNetworkId ? { vip_network_id: l.vipNetworkId } : {}),
      ...(l.vipAddress ? { vip_address: l.vipAddress } : {}),
      ...(l.provider ? { provider: l.provider } : {}),
      ...(l.description ? { description: l.description } : {}),
      ...(l.tags ? { tags: l.tags } : {}),
    });
  }
  /** The load balancer called `name`, created if missing, once ACTIVE. */
  async ensureLoadBalancer(l: Parameters<Octavia['createLoadBalancer']>[0]): Promise<LoadBalancer> {
    const lb = (await this.findLoadBalancer(l.name)) ?? (await this.createLoadBalancer(l));
    return this.waitForActive(lb.id);
  }
  /** Until provisioning_status is ACTIVE; ERROR ends the wait. */
  waitForActive(id: string, opts: WaitOptions = this.wait): Promise<LoadBalancer> {
    return waitFor(
      `load balancer ${id}`,
      () => this.getLoadBalancer(id),
      (l) => l.provisioning_status === 'ACTIVE',
      {
        ...opts,
        failed: (l) => (l.provisioning_status === 'ERROR' ? 'provisioning_status ERROR' : undefined),
        describe: (l) => `${l.provisioning_status}/${l.operating_status}`,
      },
    );
  }
  /** Deletes it with everything under it (cascade), and waits until it is gone. */
  async deleteLoadBalancer(id: string, opts: { cascade?: boolean; wait?: boolean } = {}): Promise<void> {
    await this.session.request('load-balancer', 'DELETE', `/lbaas/loadbalancers/${id}`, {
      query: { cascade: opts.cascade ?? true },
    });
    if (opts.wait === false) return;
    await waitFor(
      `load balancer ${id} deletion`,
      async () => {
        try {
          return (await this.getLoadBalancer(id)).provisioning_status;
        } catch (e) {
          if (e instanceof CloudError && e.code === 'NotFound') return 'GONE';
          throw e;
        }
      },
      (s) => s === 'GONE' || s === 'DELETED',
      {
        ...this.wait,
        failed: (s) => (s === 'ERROR' ? 'provisioning_status ERROR while deleting' : undefined),
      },
    );
  }

  // ---- listeners
  listListeners(query: Query = {}): Promise<Listener[]> {
    return this.session.list('load-balancer', '/lbaas/listeners', 'listeners', { query });
  }
  async ensureListener(
    loadBalancerId: string,
    l: { name: string; protocol: 'TCP' | 'HTTP' | 'HTTPS' | 'UDP'; port: number; tags?: string[] },
  ): Promise<Listener> {
    const have = single(
      await this.listListeners({ loadbalancer_id: loadBalancerId, name: l.name }),
      `listeners named "${l.name}"`,
    );
    if (have) return have;
    const created = await this.#create<Listener>('/lbaas/listeners', 'listener', {
      loadbalancer_id: loadBalancerId,
      name: l.name,
      protocol: l.protocol,
      protocol_port: l.port,
      ...(l.tags ? { tags: l.tags } : {}),
    });
    await this.waitForActive(loadBalancerId);
    return created;
  }
  async deleteListener(loadBalancerId: string, id: string): Promise<void> {
    await this.session.request('load-balancer', 'DELETE', `/lbaas/listeners/${id}`);
    await this.waitForActive(loadBalancerId);
  }

  // ---- pools
  listPools(query: Query = {}): Promise<Pool[]> {
    return this.session.list('load-balancer', '/lbaas/pools', 'pools', { query });
  }
  async ensurePool(
    loadBalancerId: string,
    p: {
      name: string;
      protocol: 'TCP' | 'HTTP' | 'HTTPS' | 'UDP' | 'PROXY';
      algorithm?: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP';
      listenerId?: string;
      tags?: string[];
    },
  ): Promise<Pool> {
    const have = single(
      await this.listPools({ loadbalancer_id: loadBalancerId, name: p.name }),
      `pools named "${p.name}"`,
    );
    if (have) return have;
    const created = await this.#create<Pool>('/lbaas/pools', 'pool', {
      name: p.name,
      protocol: p.protocol,
      lb_algorithm: p.algorithm ?? 'ROUND_ROBIN',
      ...(p.listenerId ? { listener_id: p.listenerId } : { loadbalancer_id: loadBalancerId }),
      ...(p.tags ? { tags: p.tags } : {}),
    });
    await this.waitForActive(loadBalancerId);
    return created;
  }
  async deletePool(loadBalancerId: string, id: string): Promise<void> {
    await this.session.request('load-balancer', 'DELETE', `/lbaas/pools/${id}`);
    await this.waitForActive(loadBalancerId);
  }

  // ---- members
  async listMembers(poolId: string, query: Query = {}): Promise<Member[]> {
    return this.session.list('load-balancer', `/lbaas/pools/${poolId}/members`, 'members', { query });
  }
  /** The member at address:port, added if missing. */
  async ensureMember(
    loadBalancerId: string,
    poolId: string,
    m: { name?: string; address: string; port: number; subnetId?: string; tags?: string[] },
  ): Promise<Member> {
    const have = (await this.listMembers(poolId)).find(
      (x) => x.address === m.address && x.protocol_port === m.port,
    );
    if (have) return have;
    const created = await this.#create<Member>(`/lbaas/pools/${poolId}/members`, 'member', {
      address: m.address,
      protocol_port: m.port,
      ...(m.name ? { name: m.name } : {}),
      ...(m.subnetId ? { subnet_id: m.subnetId } : {}),
      ...(m.tags ? { tags: m.tags } : {}),
    });
    await this.waitForActive(loadBalancerId);
    return created;
  }
  async deleteMember(loadBalancerId: string, poolId: string, id: string): Promise<void> {
    await this.session.request('load-balancer', 'DELETE', `/lbaas/pools/${poolId}/members/${id}`);
    await this.waitForActive(loadBalancerId);
  }

  // ---- health monitors
  async ensureHealthMonitor(
    loadBalancerId: string,
    poolId: string,
    h: {
      name: string;
      type: 'TCP' | 'HTTP' | 'HTTPS' | 'PING' | 'UDP-CONNECT';
      delayS?: number;
      timeoutS?: number;
      maxRetries?: number;
      urlPath?: string;
    },
  ): Promise<HealthMonitor> {
    const pool = (await this.session.request('load-balancer', 'GET', `/lbaas/pools/${poolId}`)).body
      .pool as Pool;
    if (pool.healthmonitor_id)
      return this.#get(`/lbaas/healthmonitors/${pool.healthmonitor_id}`, 'healthmonitor');
    const created = await this.#create<HealthMonitor>('/lbaas/healthmonitors', 'healthmonitor', {
      pool_id: poolId,
      name: h.name,
      type: h.type,
      delay: h.delayS ?? 5,
      timeout: h.timeoutS ?? 3,
      max_retries: h.maxRetries ?? 3,
      ...(h.urlPath ? { url_path: h.urlPath } : {}),
    });
    await this.waitForActive(loadBalancerId);
    return created;
  }
  async deleteHealthMonitor(loadBalancerId: string, id: string): Promise<void> {
    await this.session.request('load-balancer', 'DELETE', `/lbaas/healthmonitors/${id}`);
    await this.waitForActive(loadBalancerId);
  }

  // ---- quotas
  async quotas(projectId?: string): Promise<Record<string, number>> {
    const pid = projectId ?? (await this.session.projectId());
    return (await this.session.request('load-balancer', 'GET', `/lbaas/quotas/${pid}`)).body.quota as Record<
      string,
      number
    >;
  }
  async setQuotas(projectId: string, quota: Record<string, number>): Promise<void> {
    await this.session.request('load-balancer', 'PUT', `/lbaas/quotas/${projectId}`, { body: { quota } });
  }
}
