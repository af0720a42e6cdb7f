// Reading a Cluster (kaas.dev/v1alpha1) for display, and writing one from the create form. Types
// only from @kaas/api: its schemas would bring zod into the bundle.
import type { ClusterCondition, ClusterInput, LedgerEntry } from '@kaas/api';
import { stringify } from 'yaml';
import type { KObject } from './types.ts';

export const clustersPath = '/apis/kaas.dev/v1alpha1/clusters';
export const clusterPath = (namespace: string, name: string) =>
  `/apis/kaas.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/clusters/${encodeURIComponent(name)}`;

export interface ClusterView {
  name: string;
  namespace: string;
  provider: string;
  version: string;
  ready: boolean;
  /** 'Ready', or the failing condition's coded reason */
  reason: string;
  message: string;
  nodes: string;
  conditions: ClusterCondition[];
  deleting: boolean;
  /** the status describes an older spec */
  stale: boolean;
}

type Spec = ClusterInput['spec'];
type Status = {
  conditions?: ClusterCondition[];
  kubernetesVersion?: string;
  observedGeneration?: number;
  nodes?: { desired: number; ready: number };
  resources?: LedgerEntry[];
  nodePools?: { name: string; desired: number; ready: number }[];
};

export const specOf = (o: KObject): Spec => (o.spec ?? {}) as Spec;
export const statusOf = (o: KObject): Status => o.status ?? {};

const order = ['InfrastructureReady', 'ControlPlaneReady', 'NodesReady', 'ServicesReady'];

export function viewCluster(o: KObject): ClusterView {
  const spec = specOf(o);
  const status = statusOf(o);
  const conditions = status.conditions ?? [];
  const readyCond = conditions.find((c) => c.type === 'Ready');
  const ready = readyCond?.status === 'True';
  // the first failing sub-condition says why; else Ready's own reason
  const failing =
    order.map((t) => conditions.find((c) => c.type === t && c.status !== 'True')).find(Boolean) ?? readyCond;
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? 'default',
    provider: spec.provider?.type ?? '',
    version: status.kubernetesVersion ?? String(spec.kubernetesVersion ?? ''),
    ready,
    reason: o.metadata.deletionTimestamp ? 'Deleting' : ready ? 'Ready' : (failing?.reason ?? 'Pending'),
    message: ready ? '' : (failing?.message ?? 'waiting for the controller'),
    nodes: status.nodes ? `${status.nodes.ready}/${status.nodes.desired}` : '',
    conditions,
    deleting: Boolean(o.metadata.deletionTimestamp),
    stale: (status.observedGeneration ?? 0) < (o.metadata.generation ?? 0),
  };
}

// ---- the create form's model and the manifest it produces ----

export const machineTypes = ['small', 'medium', 'large', 'xlarge'] as const;

/** spec.services keys and what they are (the same list as @kaas/api's managedServices). */
export const serviceToggles = [
  ['ingressNginx', 'NGINX ingress controller'],
  ['monitoring', 'Monitoring: Prometheus, Alertmanager, Grafana'],
  ['logging', 'Logging: Fluent Bit and a log store'],
  ['backup', 'Backup: Velero'],
  ['registry', 'Container registry'],
  ['kubernetesAuth', 'kubernetes-auth (bearer tokens from your identity service)'],
  ['ssoProxy', 'SSO proxy in front of the UIs (needs kubernetes-auth)'],
] as const;
export type ServiceKey = (typeof serviceToggles)[number][0];

export interface PoolForm {
  name: string;
  replicas: number;
  machineType: string;
}

export interface ClusterForm {
  name: string;
  namespace: string;
  kubernetesVersion: string;
  latencyScale: number;
  controlPlaneReplicas: number;
  controlPlaneMachineType: string;
  nodePools: PoolForm[];
  services: Record<ServiceKey, boolean>;
  clusterAdminRoleIds: string;
}

export const emptyForm = (version: string): ClusterForm => ({
  name: '',
  namespace: 'default',
  kubernetesVersion: version,
  latencyScale: 0.1,
  controlPlaneReplicas: 1,
  controlPlaneMachineType: 'medium',
  nodePools: [{ name: 'workers', replicas: 3, machineType: 'medium' }],
  services: Object.fromEntries(serviceToggles.map(([k]) => [k, true])) as Record<ServiceKey, boolean>,
  clusterAdminRoleIds: 'cluster-admins',
});

/** The Cluster the form describes: the same shape as examples/bootstrap.yaml. */
export function manifestOf(f: ClusterForm): ClusterInput {
  return {
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: f.name, namespace: f.namespace },
    spec: {
      provider: { type: 'local', local: { vmBootSeconds: 10, latencyScale: f.latencyScale } },
      kubernetesVersion: f.kubernetesVersion,
      controlPlane: { replicas: f.controlPlaneReplicas, machineType: f.controlPlaneMachineType },
      nodePools: f.nodePools.map((p) => ({ name: p.name, replicas: p.replicas, machineType: p.machineType })),
      network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDR: '10.0.0.0/16' },
      services: Object.fromEntries(serviceToggles.map(([k]) => [k, { enabled: f.services[k] }])),
      auth: {
        identity: { backend: 'local' },
        clusterAdminRoleIds: f.clusterAdminRoleIds
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      },
    },
  };
}

/** The manifest as a bootstrap file (`kaasctl cluster deploy -f` takes it as is). */
export function manifestYaml(f: ClusterForm): string {
  return stringify(manifestOf(f), { lineWidth: 0 });
}

/** What the form gets wrong, field by field (the API server checks everything again). */
export function formProblems(f: ClusterForm): Record<string, string> {
  const p: Record<string, string> = {};
  if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(f.name))
    p.name =
      'lowercase letters, digits and "-", at most 32 characters, starting and ending with a letter or digit';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(f.namespace)) p.namespace = 'must be a DNS label';
  const names = new Set<string>();
  f.nodePools.forEach((pool, i) => {
    if (!/^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(pool.name))
      p[`pool${i}.name`] = 'a DNS label of at most 20 characters';
    else if (names.has(pool.name)) p[`pool${i}.name`] = `pool name ${pool.name} is used twice`;
    names.add(pool.name);
    if (!Number.isInteger(pool.replicas) || pool.replicas < 1 || pool.replicas > 500)
      p[`pool${i}.replicas`] = 'a whole number from 1 to 500';
  });
  if (f.services.ssoProxy && !f.services.kubernetesAuth)
    p.services = 'the SSO proxy needs kubernetes-auth: enable it or switch the SSO proxy off';
  return p;
}
