// The validation vocabulary: every rule a problem can name, and the two problem shapes (a field
// problem without a position, for the API server; a positioned one, for a file).

export const validationRules = {
  yamlSyntax: 'The file is not valid YAML (bad indentation, tabs, unclosed brackets, duplicate keys).',
  yamlLimit: 'The file is too large, too deeply nested or expands too many aliases.',
  document: 'Each YAML document must be a mapping (an object).',
  apiVersion: 'apiVersion must be one the bootstrap file accepts for the kind.',
  kind: 'kind must be Cluster (kaas.dev/v1alpha1) or Secret (v1).',
  required: 'A required field is missing.',
  type: 'A field has the wrong type (string, number, boolean, list or mapping).',
  unknownField:
    'A field that the schema does not have, usually a typo; the message suggests the nearest name.',
  enum: 'The value must be one of a fixed list.',
  integer: 'The number must be a whole number.',
  min: 'The number is below the minimum.',
  max: 'The number is above the maximum.',
  minLength: 'The text is shorter than allowed.',
  maxLength: 'The text is longer than allowed.',
  minItems: 'The list has too few items.',
  maxItems: 'The list has too many items.',
  format: 'The text does not have the required form (DNS name, label, region, ARN, ...).',
  odd: 'spec.controlPlane.replicas must be odd so that etcd keeps a quorum.',
  unique: 'Names in the list must be unique (node pools, zones, role IDs).',
  reserved: 'The name or prefix is reserved for KaaS.',
  cidr: 'A network range must be a CIDR without host bits set.',
  cidrFamily: 'All network ranges must be of one IP family.',
  cidrOverlap: 'podCIDR, serviceCIDR and nodeCIDR must not overlap.',
  cidrSize: 'A network range is too small or too large for the cluster or the provider.',
  versionFormat: 'A version must be MAJOR.MINOR or MAJOR.MINOR.PATCH.',
  versionSupported: 'The Kubernetes version must be in the supported table.',
  provider: 'A field is required, or not allowed, for the chosen provider.',
  dependency: 'An enabled part needs another part that is switched off.',
  serverField:
    'A field set by the server (status, uid, resourceVersion, ...) has no place in a bootstrap file.',
  duplicateObject: 'Two documents define the same kind, namespace and name.',
  noCluster: 'A bootstrap file must contain at least one Cluster.',
  credentials: 'The credentials Secret lacks keys the provider needs, or a key is malformed.',
  secretRef: 'A Secret in the file is not used, or a referenced key is missing from it.',
  internal: 'The validator itself failed: a bug in KaaS. Please report it with the file.',
} as const;

export type RuleCode = keyof typeof validationRules;

export type PathSegment = string | number;

/** A problem with one object, located by its field path. */
export interface FieldProblem {
  /** `spec.nodePools[1].replicas`; '' for the object itself. */
  path: string;
  segments: readonly PathSegment[];
  message: string;
  rule: RuleCode;
  /**
   * What a position should point at: the value at the path (default), or the key itself (an
   * unknown field). Missing paths resolve to the nearest existing parent.
   */
  target?: 'value' | 'key';
}

/** A problem in a file: a field problem plus where it is. Lines and columns count from 1. */
export interface Problem {
  path: string;
  message: string;
  rule: RuleCode;
  file: string;
  line: number;
  column: number;
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['spec', 'nodePools', 1, 'replicas']` -> `spec.nodePools[1].replicas`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (identifier.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function fieldProblem(
  segments: readonly PathSegment[],
  rule: RuleCode,
  message: string,
  target?: 'value' | 'key',
): FieldProblem {
  const problem: FieldProblem = { path: formatPath(segments), segments, message, rule };
  if (target) problem.target = target;
  return problem;
}

/** `bootstrap.yaml:14:7: spec.nodePools[1].replicas: must be >= 1` */
export function formatProblem(p: Problem): string {
  return p.path === ''
    ? `${p.file}:${p.line}:${p.column}: ${p.message}`
    : `${p.file}:${p.line}:${p.column}: ${p.path}: ${p.message}`;
}
