// Defaults. Static ones live in the schemas (`.default()`), so the CRD carries them and the API
// server applies them; the ones that depend on the provider are applied here.
import {
  ClusterSchema,
  defaultLocalMachineType,
  defaultPodCIDR,
  type Cluster,
  type ClusterInput,
  type ClusterSpec,
  type NodePool,
} from './cluster.ts';

export const defaultNamespace = 'default';

/**
 * The one flat name of a Cluster (logical-cluster path, cloud tags): `<name>.<namespace>`. Unique
 * because both parts are DNS labels, which have no dots. See docs/adr/0002-node-pools.md.
 */
export function logicalClusterName(metadata: { name: string; namespace?: string | undefined }): string {
  return `${metadata.name}.${metadata.namespace ?? defaultNamespace}`;
}

/** Control plane nodes when spec.controlPlane.replicas is left out; EKS has none of its own. */
export const defaultControlPlaneReplicas = { local: 1, openstack: 3, eks: undefined } as const;

/**
 * Every default applied: the schema's static ones and the provider-dependent ones (control plane
 * size, pod CIDR, identity backend, namespace). Throws a ZodError when the input is not a valid
 * Cluster; validate first (validateCluster, parseBootstrap).
 */
export function withDefaults(cluster: ClusterInput): Cluster {
  const out = ClusterSchema.parse(cluster);
  const spec = out.spec;
  const type = spec.provider.type;
  out.metadata.namespace ??= defaultNamespace;
  const replicas = defaultControlPlaneReplicas[type];
  if (replicas !== undefined) {
    spec.controlPlane ??= {};
    spec.controlPlane.replicas ??= replicas;
  }
  if (type !== 'eks') spec.network.podCIDR ??= defaultPodCIDR;
  spec.auth.identity.backend ??= type === 'openstack' ? 'keystone' : 'local';
  return out;
}

/**
 * The machine type a node of the control plane or of a pool gets. Not written into the spec by
 * withDefaults on purpose: a pool without its own machineType follows the provider's setting when
 * that changes.
 */
export function effectiveMachineType(spec: ClusterSpec, pool: NodePool | 'controlPlane'): string | undefined {
  const own = pool === 'controlPlane' ? spec.controlPlane?.machineType : pool.machineType;
  if (own !== undefined) return own;
  const p = spec.provider;
  switch (p.type) {
    case 'local':
      return defaultLocalMachineType;
    case 'openstack':
      return pool === 'controlPlane' ? p.openstack.flavors.controlPlane : p.openstack.flavors.workers;
    case 'eks':
      return pool === 'controlPlane' ? undefined : p.eks.instanceType;
  }
}
