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
