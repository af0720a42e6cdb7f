// One row of the resource registry. The registry is a table of these, not a class per kind.

export const allVerbs = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;
export type Verb = (typeof allVerbs)[number];

export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural resource name used in URLs, e.g. 'deployments'. */
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: readonly Verb[];
  shortNames?: readonly string[];
  categories?: readonly string[];
  subresources?: readonly ('status' | 'scale')[];
  /** True when the kind can be sent and received as application/vnd.kubernetes.protobuf. */
  protobuf: boolean;
  /** Create-only virtual kinds (TokenReview, SubjectAccessReview): never stored. */
  virtual?: boolean;
  /** Scale subresource paths (Deployment: spec.replicas / status.replicas / status.selector). */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Field selectors accepted besides metadata.name / metadata.namespace (e.g. Pod: spec.nodeName). */
  fieldSelectors?: readonly string[];
  /** How metadata.name is validated; 'subdomain' (DNS-1123 subdomain, 253) when absent. */
  nameFormat?: NameFormat;
  /** Set on kinds served from a CustomResourceDefinition: the per-version data the CRD declares. */
  custom?: CustomResourceVersion;
}

/**
 * Upstream's name rules: most kinds are DNS-1123 subdomains; Namespace a DNS-1123 label; Service a
 * DNS-1035 label; RBAC kinds any path segment; 'none' for virtual kinds that are never named.
 */
export type NameFormat = 'subdomain' | 'label' | 'dns1035' | 'path-segment' | 'none';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface CustomResourceVersion {
  /** metadata.name of the CRD, `<plural>.<group>`. */
  crdName: string;
  /** spec.versions[].schema.openAPIV3Schema; undefined only for legacy preserve-everything CRDs. */
  schema?: JSONSchemaProps;
  /** spec.preserveUnknownFields (v1beta1 legacy): true disables pruning at the root. */
  preserveUnknownFields?: boolean;
  storage: boolean;
  printerColumns: readonly PrinterColumn[];
  deprecated?: boolean;
  deprecationWarning?: string;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps our structural validator understands. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  uniqueItems?: boolean;
  pattern?: string;
  nullable?: boolean;
  default?: unknown;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  [extension: `x-${string}`]: unknown;
}

export function apiVersionOf(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** One validation problem, Kubernetes-style: the field path, the machine reason, a message. */
export interface FieldCause {
  /** e.g. 'FieldValueInvalid', 'FieldValueRequired', 'FieldValueNotSupported', 'FieldValueTypeInvalid', 'FieldValueDuplicate' */
  reason: string;
  /** e.g. 'spec.replicas' or 'metadata.name' */
  field: string;
  message: string;
}
