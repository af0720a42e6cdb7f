// One descriptor per kind drives the generic list and YAML views (like headlamp's lib/k8s): where
// the kind lives in the API, whether it is namespaced, and the columns its list shows.
import type { KObject } from './watch.ts';

export interface Column {
  header: string;
  value: (o: KObject) => string;
}

export interface KindDescriptor {
  /** URL key of the view (`?view=pods`) */
  key: string;
  title: string;
  kind: string;
  /** '' for the core group */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  columns: Column[];
}

type Any = Record<string, any>;
const spec = (o: KObject): Any => (o.spec as Any | undefined) ?? {};
const status = (o: KObject): Any => (o.status as Any | undefined) ?? {};

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const ageColumn: Column = { header: 'Age', value: (o) => age(o.metadata.creationTimestamp) };
const ready = (want: unknown, have: unknown) => `${Number(have ?? 0)}/${Number(want ?? 0)}`;

function conditionTrue(o: KObject, type: string): string {
  const c = (status(o).conditions as Any[] | undefined)?.find((x) => x.type === type);
  return c ? String(c.status) : 'Unknown';
}

export const kinds: KindDescriptor[] = [
  {
    key: 'nodes',
    title: 'Nodes',
    kind: 'Node',
    group: '',
    version: 'v1',
    plural: 'nodes',
    namespaced: false,
    columns: [
      { header: 'Ready', value: (o) => conditionTrue(o, 'Ready') },
      {
        header: 'Roles',
        value: (o) =>
          Object.keys(o.metadata.labels ?? {})
            .filter((l) => l.startsWith('node-role.kubernetes.io/'))
            .map((l) => l.slice('node-role.kubernetes.io/'.length))
            .join(',') || 'worker',
      },
      { header: 'Version', value: (o) => String(status(o).nodeInfo?.kubeletVersion ?? '') },
      { header: 'Schedulable', value: (o) => (spec(o).unschedulable ? 'no (cordoned)' : 'yes') },
      ageColumn,
    ],
  },
  {
    key: 'namespaces',
    title: 'Namespaces',
    kind: 'Namespace',
    group: '',
    version: 'v1',
    plural: 'namespaces',
    namespaced: false,
    columns: [{ header: 'Status', value: (o) => String(status(o).phase ?? '') }, ageColumn],
  },
  {
    key: 'deployments',
    title: 'Deployments',
    kind: 'Deployment',
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    namespaced: true,
    columns: [
      { header: 'Ready', value: (o) => ready(spec(o).replicas, status(o).readyReplicas) },
      { header: 'Up to date', value: (o) => String(status(o).updatedReplicas ?? 0) },
      ageColumn,
    ],
  },
  {
    key: 'daemonsets',
    title: 'DaemonSets',
    kind: 'DaemonSet',
    group: 'apps',
    version: 'v1',
    plural: 'daemonsets',
    namespaced: true,
    columns: [
      { header: 'Ready', value: (o) => ready(status(o).desiredNumberScheduled, status(o).numberReady) },
      ageColumn,
    ],
  },
  {
    key: 'statefulsets',
    title: 'StatefulSets',
    kind: 'StatefulSet',
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    namespaced: true,
    columns: [{ header: 'Ready', value: (o) => ready(spec(o).replicas, status(o).readyReplicas) }, ageColumn],
  },
  {
    key: 'pods',
    title: 'Pods',
    kind: 'Pod',
    group: '',
    version: 'v1',
    plural: 'pods',
    namespaced: true,
    columns: [
      { header: 'Phase', value: (o) => String(status(o).phase ?? '') },
      { header: 'Node', value: (o) => String(spec(o).nodeName ?? '') },
      {
        header: 'Restarts',
        value: (o) =>
          String(
            ((status(o).containerStatuses as Any[] | undefined) ?? []).reduce(
              (n, c) => n + Number(c.restartCount ?? 0),
              0,
            ),
          ),
      },
      ageColumn,
    ],
  },
  {
    key: 'services',
    title: 'Services',
    kind: 'Service',
    group: '',
    version: 'v1',
    plural: 'services',
    namespaced: true,
    columns: [
      { header: 'Type', value: (o) => String(spec(o).type ?? 'ClusterIP') },
      { header: 'Cluster IP', value: (o) => String(spec(o).clusterIP ?? '') },
      {
        header: 'Ports',
        value: (o) =>
          ((spec(o).ports as Any[] | undefined) ?? [])
            .map((p) => `${p.port}/${p.protocol ?? 'TCP'}`)
            .join(', '),
      },
      ageColumn,
    ],
  },
  {
    key: 'persistentvolumes',
    title: 'PersistentVolumes',
    kind: 'PersistentVolume',
    group: '',
    version: 'v1',
    plural: 'persistentvolumes',
    namespaced: false,
    columns: [
      { header: 'Capacity', value: (o) => String(spec(o).capacity?.storage ?? '') },
      { header: 'Status', value: (o) => String(status(o).phase ?? '') },
      {
        header: 'Claim',
        value: (o) => (spec(o).claimRef ? `${spec(o).claimRef.namespace}/${spec(o).claimRef.name}` : ''),
      },
      ageColumn,
    ],
  },
  {
    key: 'persistentvolumeclaims',
    title: 'PersistentVolumeClaims',
    kind: 'PersistentVolumeClaim',
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    columns: [
      { header: 'Status', value: (o) => String(status(o).phase ?? '') },
      { header: 'Volume', value: (o) => String(spec(o).volumeName ?? '') },
      { header: 'Capacity', value: (o) => String(status(o).capacity?.storage ?? '') },
      ageColumn,
    ],
  },
  {
    key: 'events',
    title: 'Events',
    kind: 'Event',
    group: '',
    version: 'v1',
    plural: 'events',
    namespaced: true,
    columns: [
      { header: 'Type', value: (o) => str(o.type) },
      { header: 'Reason', value: (o) => str(o.reason) },
      {
        header: 'Object',
        value: (o) => {
          const r = o.involvedObject as Any | undefined;
          return r ? `${r.kind}/${r.name}` : '';
        },
      },
      { header: 'Message', value: (o) => str(o.message) },
      { header: 'Last seen', value: (o) => age(str(o.lastTimestamp) || o.metadata.creationTimestamp) },
    ],
  },
];

export const kindByKey = (key: string): KindDescriptor | undefined => kinds.find((k) => k.key === key);

/** `/clusters/NAME` for a workload cluster, '' for the management API. */
export const clusterPrefix = (cluster: string): string => (cluster ? `/clusters/${cluster}` : '');

/** The collection path of a kind, in one namespace or all. */
export function collectionPath(cluster: string, k: KindDescriptor, namespace?: string): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  const ns = k.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${clusterPrefix(cluster)}${base}${ns}/${k.plural}`;
}

/** The path of one object, from its apiVersion, kind and the descriptor's plural. */
export function objectPath(cluster: string, k: KindDescriptor, o: KObject): string {
  return `${collectionPath(cluster, k, o.metadata.namespace)}/${encodeURIComponent(o.metadata.name)}`;
}
