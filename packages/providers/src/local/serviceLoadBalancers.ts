// Load balancers for Services of type LoadBalancer inside local clusters: what a cloud controller
// manager does on OpenStack (an octavia load balancer per Service) done against the local cloud.
// Each is a `loadBalancer` record on the external network, tagged with the owning cluster's uid like
// every other resource of the cluster, so that `cluster destroy`'s sweep by tag removes the ones a
// crash or a deleted Service left behind, and `kaasctl` can count them.
import { CloudError, ownershipTags, type ResourceOutputs, type Tags } from '../contract.ts';
import { externalNetwork, type LocalCloud, type LocalRecord } from './localCloud.ts';

/** Tags a Service's load balancer carries besides the cluster's ownership tags. */
export const serviceTagKeys = {
  /** The local cluster's name (its `/clusters/NAME` path), for finding orphans after a restart. */
  cluster: 'kaas.dev/service-cluster',
  /** `namespace/name` of the Service. */
  service: 'kaas.dev/service',
} as const;

export interface ServiceRef {
  cluster: string;
  namespace: string;
  name: string;
}

export interface ServiceLoadBalancersOptions {
  cloud: LocalCloud;
  /**
   * The uid of the Cluster object whose local cluster this is, or undefined when none is known
   * (then no load balancer is made: it could not be cleaned up with its cluster).
   */
  clusterUid: (cluster: string) => string | undefined;
}

export class ServiceLoadBalancers {
  readonly #o: ServiceLoadBalancersOptions;

  constructor(o: ServiceLoadBalancersOptions) {
    this.#o = o;
  }

  /**
   * The Service's load balancer, made on first call; returns its address on the external network.
   * Idempotent: a second call (or a call after a restart) finds the record by its tags.
   */
  async ensure(ref: ServiceRef, ports: number[]): Promise<string> {
    const have = this.#find(ref);
    if (have) return (have.outputs as ResourceOutputs['loadBalancer']).vip;
    const uid = this.#o.clusterUid(ref.cluster);
    if (uid === undefined)
      throw new CloudError(
        'InvalidSpec',
        `Service ${ref.namespace}/${ref.name} in cluster ${ref.cluster}: no Cluster owns this local cluster, so its load balancer could not be deleted with it; none made`,
      );
    const cloud = this.#o.cloud;
    // allocate and insert in one turn: the cloud's index holds the address before any await
    const vip = cloud.allocateAddress('external', externalNetwork.cidr);
    const name = `svc-${ref.namespace}-${ref.name}`.slice(0, 63);
    const record: LocalRecord = {
      type: 'loadBalancer',
      cloudId: cloud.newId(),
      name,
      tags: { ...ownershipTags(uid, `service/${ref.namespace}/${ref.name}`), ...refTags(ref) },
      uses: [],
      address: { subnet: 'external', ip: vip },
      outputs: { vip, hostname: `${name}.${ref.cluster}.lb.${externalNetwork.name}`, ports },
      createdAt: new Date(cloud.now()).toISOString(),
    };
    await cloud.insert(record);
    return vip;
  }

  /** Deletes the Service's load balancer; absent is done. */
  async release(ref: ServiceRef): Promise<void> {
    const have = this.#find(ref);
    if (have) await this.#o.cloud.remove('loadBalancer', have.cloudId);
  }

  /** Every Service load balancer the cloud holds (to find those whose Service went while down). */
  list(): ServiceRef[] {
    const out: ServiceRef[] = [];
    for (const r of this.#o.cloud.list({ type: 'loadBalancer' })) {
      const cluster = r.tags[serviceTagKeys.cluster];
      const svc = r.tags[serviceTagKeys.service];
      if (cluster === undefined || svc === undefined) continue;
      const slash = svc.indexOf('/');
      out.push({ cluster, namespace: svc.slice(0, slash), name: svc.slice(slash + 1) });
    }
    return out;
  }

  #find(ref: ServiceRef): LocalRecord | undefined {
    return this.#o.cloud.list({ type: 'loadBalancer', tags: refTags(ref) })[0];
  }
}

function refTags(ref: ServiceRef): Tags {
  return { [serviceTagKeys.cluster]: ref.cluster, [serviceTagKeys.service]: `${ref.namespace}/${ref.name}` };
}
