// Field schemas shared by the kinds: Kubernetes names, labels, object metadata, conditions and
// references. Every pattern here is RE2-compatible, because it is also the CRD's `pattern`.
import { z } from 'zod';
import type { RuleCode } from './problems.ts';

/**
 * A string that must match `re`. The failure carries its rule code and a message that says what
 * the form is, and the JSON schema gets the same pattern for the CRD.
 */
export function formatted(re: RegExp, message: string, rule: RuleCode = 'format', maxLength?: number) {
  const base = maxLength === undefined ? z.string() : z.string().max(maxLength, { abort: true });
  return base
    .refine((s) => re.test(s), { message, params: { rule }, abort: true })
    .meta({ pattern: re.source, 'x-kaas-format': message });
}

export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const dnsLabelMessage =
  'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit';

export function dnsLabel(maxLength = 63) {
  return formatted(dnsLabelPattern, dnsLabelMessage, 'format', maxLength);
}

export const dnsSubdomain = formatted(
  dnsSubdomainPattern,
  'must be a DNS subdomain: DNS labels separated by "."',
  'format',
  253,
);

/** A label or annotation key: an optional DNS-subdomain prefix and "/", then a name of up to 63 characters. */
export const qualifiedName = formatted(
  qualifiedNamePattern,
  'must be a qualified name like "app" or "example.com/tier": letters, digits, "-", "_" and "."',
  'format',
  316,
).refine((s) => (s.split('/').pop() ?? '').length <= 63, {
  message: 'the name part (after "/") must be at most 63 characters',
  params: { rule: 'maxLength' },
});

export const labelValue = formatted(
  labelValuePattern,
  'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
  'format',
  63,
);

export const labels = z.record(qualifiedName, labelValue);

export const annotations = z
  .record(qualifiedName, z.string())
  .refine((a) => Object.entries(a).reduce((n, [k, v]) => n + k.length + v.length, 0) <= 256 * 1024, {
    message: 'annotations must total at most 256 KiB',
    params: { rule: 'maxLength' },
  });

/**
 * Object metadata as the server stores it. Only the fields a user writes are typed; the rest
 * (uid, resourceVersion, managedFields, ...) pass through untouched.
 */
export const ObjectMetaSchema = z.looseObject({
  name: dnsLabel().describe('Object name, unique among objects of its kind in the namespace.'),
  namespace: dnsLabel().optional().describe('Namespace; kaasctl uses "default" (or -n) when left out.'),
  labels: labels.optional().describe('Labels, as in Kubernetes.'),
  annotations: annotations.optional().describe('Annotations, as in Kubernetes.'),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().min(0).optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** The metadata fields a bootstrap file may set; the others belong to the server. */
export const bootstrapMetadataFields = ['name', 'namespace', 'labels', 'annotations'] as const;
export const serverMetadataFields = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'ownerReferences',
  'finalizers',
  'selfLink',
] as const;

export const conditionStatuses = ['True', 'False', 'Unknown'] as const;

/** metav1.Condition, with upstream's limits. */
export const ConditionSchema = z.strictObject({
  type: formatted(qualifiedNamePattern, 'must be a condition type like Ready', 'format', 316),
  status: z.enum(conditionStatuses),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.iso.datetime({ offset: true }),
  reason: formatted(
    /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/,
    'must be a CamelCase reason like QuotaExceeded',
    'format',
    1024,
  ),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof ConditionSchema>;

/** A Secret in the same namespace as the object that names it. */
export const SecretReferenceSchema = z.strictObject({
  name: dnsSubdomain.describe('Name of a Secret in the same namespace.'),
});
export type SecretReference = z.infer<typeof SecretReferenceSchema>;
