// A strict zod transcription of the Calico operator resources the bootstrap renders (no
// kubernetes-models type exists for them), written from upstream's Go types, not from our renderer:
//   tigera/operator api/v1/installation_types.go and api/v1/apiserver_types.go at tag v1.40.3
//   (the operator of Calico v3.31.3, componentVersions.tigeraOperator)
// Only the fields we set are transcribed below spec.calicoNetwork; anything else is refused, as a
// typo would be silently dropped by the real API server (the CRD prunes unknown fields).
import { z } from 'zod';

const meta = z.strictObject({ name: z.literal('default') });

/** IPPool, with the kubebuilder enums of encapsulation and natOutgoing. */
const IPPool = z.strictObject({
  name: z.string().optional(),
  cidr: z.string().min(1),
  encapsulation: z.enum(['IPIPCrossSubnet', 'IPIP', 'VXLAN', 'VXLANCrossSubnet', 'None']).optional(),
  natOutgoing: z.enum(['Enabled', 'Disabled']).optional(),
  nodeSelector: z.string().optional(),
  blockSize: z.int().min(0).max(128).optional(),
  disableBGPExport: z.boolean().optional(),
  disableNewAllocations: z.boolean().optional(),
  allowedUses: z.array(z.enum(['Workload', 'Tunnel', 'LoadBalancer'])).optional(),
  assignmentMode: z.enum(['Automatic', 'Manual']).optional(),
});

export const InstallationSchema = z.strictObject({
  apiVersion: z.literal('operator.tigera.io/v1'),
  kind: z.literal('Installation'),
  metadata: meta,
  spec: z.strictObject({
    calicoNetwork: z
      .strictObject({
        bgp: z.enum(['Enabled', 'Disabled']).optional(),
        ipPools: z.array(IPPool).optional(),
        mtu: z.int().optional(),
      })
      .optional(),
  }),
});

/** APIServer: the spec's fields (logging, apiServerDeployment) are not set by us. */
export const CalicoAPIServerSchema = z.strictObject({
  apiVersion: z.literal('operator.tigera.io/v1'),
  kind: z.literal('APIServer'),
  metadata: meta,
  spec: z.strictObject({}),
});

export function checkCalicoObject(obj: unknown): string[] {
  const kind = (obj as { kind?: unknown } | null)?.kind;
  const schema =
    kind === 'Installation' ? InstallationSchema : kind === 'APIServer' ? CalicoAPIServerSchema : undefined;
  if (!schema) return [`unknown kind ${JSON.stringify(kind)}`];
  const r = schema.safeParse(obj);
  return r.success
    ? []
    : r.error.issues.map((i) => `${String(kind)}: ${i.path.join('.') || '(root)'}: ${i.message}`);
}
