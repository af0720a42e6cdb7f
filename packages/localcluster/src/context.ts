// What every controller of a local cluster shares: the manager's client, one informer per
// resource across all logical clusters (with the indexes the controllers look things up by) and
// the options.
import type { KObject } from '@kaas/apiserver';
import type { Informer, InProcessClient, Manager } from '@kaas/controllers';
import { fieldIndex, formatKey } from '@kaas/controllers';
import type { Log } from './util.ts';
import { EventRecorder, byCluster, byControllerUid, byNamespace, ensureIndex } from './util.ts';

export interface LocalClusterOptions {
  /** Volumes live under `<dataDir>/volumes/<cluster>/<pv-name>`. */
  dataDir: string;
  /** Which logical clusters are local-cloud clusters; default every cluster but root. */
  clusters?: (name: string) => boolean;
  /**
   * The cloud's load balancers for Services of type LoadBalancer (`kaasctl server`: the local
   * cloud's). Without one, a Service gets an address of 172.31.0.0/16, unique in its cluster, and
   * nothing outside the API holds it.
   */
  loadBalancers?: LoadBalancerBackend;
  /** The cluster's pod network, from which nodes without spec.podCIDR get a /24 (default 10.244.0.0/16). */
  podCIDR?: (cluster: string) => string;
  log?: Log;
}

/** A Service of a logical cluster, by name. */
export interface ServiceName {
  cluster: string;
  namespace: string;
  name: string;
}

/** Where LoadBalancer Services get their address: a cloud's load balancers. */
export interface LoadBalancerBackend {
  /** Makes (or finds) the Service's load balancer; resolves to its address. Idempotent. */
  ensure(service: ServiceName, ports: number[]): Promise<string>;
  /** Deletes the Service's load balancer; absent is done. */
  release(service: ServiceName): Promise<void>;
  /** Every Service that has a load balancer, to find those whose Service was deleted while down. */
  list(): ServiceName[];
}

export interface Informers {
  nodes: Informer;
  pods: Informer;
  deployments: Informer;
  replicasets: Informer;
  daemonsets: Informer;
  statefulsets: Informer;
  services: Informer;
  endpointslices: Informer;
  pvcs: Informer;
  pvs: Informer;
  storageclasses: Informer;
}

export interface Ctx {
  manager: Manager;
  client: InProcessClient;
  inf: Informers;
  opts: LocalClusterOptions;
  isLocal: (cluster: string) => boolean;
  events: (component: string) => EventRecorder;
  log: Log | undefined;
}

export const idx = {
  cluster: 'localcluster:cluster',
  namespace: 'localcluster:namespace',
  owner: 'localcluster:owner',
  node: 'localcluster:nodeName',
  unscheduled: 'localcluster:unscheduled',
  claimRef: 'localcluster:claimRef',
} as const;

export function createContext(manager: Manager, opts: LocalClusterOptions): Ctx {
  const inf: Informers = {
    nodes: manager.informer({ group: '', plural: 'nodes' }),
    pods: manager.informer({ group: '', plural: 'pods' }),
    deployments: manager.informer({ group: 'apps', plural: 'deployments' }),
    replicasets: manager.informer({ group: 'apps', plural: 'replicasets' }),
    daemonsets: manager.informer({ group: 'apps', plural: 'daemonsets' }),
    statefulsets: manager.informer({ group: 'apps', plural: 'statefulsets' }),
    services: manager.informer({ group: '', plural: 'services' }),
    endpointslices: manager.informer({ group: 'discovery.k8s.io', plural: 'endpointslices' }),
    pvcs: manager.informer({ group: '', plural: 'persistentvolumeclaims' }),
    pvs: manager.informer({ group: '', plural: 'persistentvolumes' }),
    storageclasses: manager.informer({ group: 'storage.k8s.io', plural: 'storageclasses' }),
  };
  for (const i of Object.values(inf)) ensureIndex(i, idx.cluster, byCluster);
  for (const i of [inf.pods, inf.replicasets, inf.endpointslices]) ensureIndex(i, idx.owner, byControllerUid);
  for (const i of [inf.pods, inf.services, inf.pvcs, inf.deployments, inf.daemonsets, inf.statefulsets])
    ensureIndex(i, idx.namespace, byNamespace);
  ensureIndex(inf.pods, idx.node, fieldIndex('spec.nodeName'));
  ensureIndex(inf.pods, idx.unscheduled, (p, cluster) => (p.spec?.nodeName ? [] : [cluster]));
  ensureIndex(inf.pvs, idx.claimRef, (pv, cluster) => {
    const r = pv.spec?.claimRef;
    return r?.name ? [`${cluster}/${r.namespace}/${r.name}`] : [];
  });
  const isLocal = opts.clusters ?? ((name: string) => name !== 'root');
  const recorders = new Map<string, EventRecorder>();
  return {
    manager,
    client: manager.client,
    inf,
    opts,
    isLocal,
    log: opts.log,
    events: (component) => {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = new EventRecorder(manager.client, component, opts.log)));
      return r;
    },
  };
}

/** The key of a namespaced object of a cluster. */
export const keyOf = (cluster: string, obj: KObject): string =>
  formatKey({ cluster, namespace: obj.metadata.namespace, name: obj.metadata.name! });
