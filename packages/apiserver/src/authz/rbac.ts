// RBAC with Kubernetes' semantics: Role/ClusterRole rules (verbs, apiGroups, resources with
// subresources, resourceNames, nonResourceURLs), RoleBinding/ClusterRoleBinding subjects (User,
// Group, ServiceAccount), ClusterRole aggregation, and the system:masters superuser group.
// Deny by default. Pure: the caller supplies the policy objects.

export interface UserRef {
  username: string;
  groups: readonly string[];
}

export interface Attributes {
  user: UserRef;
  verb: string;
  /** Resource requests */
  resourceRequest: boolean;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  /** Non-resource requests */
  path?: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  /** User, Group or ServiceAccount; anything else matches nobody. */
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup?: string;
  /** Role or ClusterRole */
  kind: string;
  name: string;
}

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface Role {
  metadata: Meta;
  rules?: PolicyRule[] | null;
  aggregationRule?: {
    clusterRoleSelectors?: { matchLabels?: Record<string, string>; matchExpressions?: LabelExpr[] }[];
  };
}

interface LabelExpr {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface Binding {
  metadata: Meta;
  subjects?: Subject[] | null;
  roleRef: RoleRef;
}

export interface Policy {
  roles: readonly Role[];
  clusterRoles: readonly Role[];
  roleBindings: readonly Binding[];
  clusterRoleBindings: readonly Binding[];
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

export const superuserGroup = 'system:masters';

function has(list: readonly string[] | null | undefined, v: string): boolean {
  return !!list && (list.includes('*') || list.includes(v));
}

export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    const path = a.path ?? '';
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
    );
  }
  if (!has(rule.apiGroups, a.apiGroup ?? '')) return false;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resources = rule.resources ?? [];
  const resourceOK =
    resources.includes('*') ||
    resources.includes(res) ||
    (a.subresource !== undefined && resources.includes(`*/${a.subresource}`));
  if (!resourceOK) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return a.name !== undefined && a.name !== '' && names.includes(a.name);
}

export function subjectMatches(s: Subject, user: UserRef, bindingNamespace?: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.username;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return user.username === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function labelsMatch(
  sel: { matchLabels?: Record<string, string>; matchExpressions?: LabelExpr[] },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
    if (e.operator === 'In' && !(present && (e.values ?? []).includes(v!))) return false;
    if (e.operator === 'NotIn' && present && (e.values ?? []).includes(v!)) return false;
  }
  return true;
}

/** A ClusterRole's effective rules: its own plus, when aggregated, those of the roles it selects. */
export function effectiveClusterRoleRules(
  role: Role,
  all: readonly Role[],
  seen = new Set<string>(),
): PolicyRule[] {
  const name = role.metadata.name ?? '';
  if (seen.has(name)) return [];
  seen.add(name);
  const rules = [...(role.rules ?? [])];
  for (const sel of role.aggregationRule?.clusterRoleSelectors ?? []) {
    for (const other of all) {
      if (other === role || !labelsMatch(sel, other.metadata.labels ?? {})) continue;
      rules.push(...effectiveClusterRoleRules(other, all, seen));
    }
  }
  return rules;
}

export class RbacAuthorizer {
  readonly #policy: Policy;
  readonly #clusterRoles = new Map<string, Role>();
  readonly #roles = new Map<string, Role>();
  readonly #effective = new Map<string, PolicyRule[]>();

  constructor(policy: Policy) {
    this.#policy = policy;
    for (const r of policy.clusterRoles) this.#clusterRoles.set(r.metadata.name ?? '', r);
    for (const r of policy.roles) this.#roles.set(`${r.metadata.namespace}/${r.metadata.name}`, r);
  }

  #rulesFor(ref: RoleRef, namespace?: string): PolicyRule[] {
    if (ref.kind === 'ClusterRole') {
      let rules = this.#effective.get(ref.name);
      if (!rules) {
        const role = this.#clusterRoles.get(ref.name);
        rules = role ? effectiveClusterRoleRules(role, this.#policy.clusterRoles) : [];
        this.#effective.set(ref.name, rules);
      }
      return rules;
    }
    if (ref.kind === 'Role' && namespace) return this.#roles.get(`${namespace}/${ref.name}`)?.rules ?? [];
    return [];
  }

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(superuserGroup))
      return { allowed: true, reason: `member of ${superuserGroup}` };
    for (const b of this.#policy.clusterRoleBindings) {
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user))) continue;
      if (this.#rulesFor(b.roleRef).some((r) => ruleAllows(r, a))) {
        return {
          allowed: true,
          reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}"`,
        };
      }
    }
    if (a.namespace) {
      for (const b of this.#policy.roleBindings) {
        if (b.metadata.namespace !== a.namespace) continue;
        if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user, b.metadata.namespace))) continue;
        if (this.#rulesFor(b.roleRef, a.namespace).some((r) => ruleAllows(r, a))) {
          return {
            allowed: true,
            reason: `RBAC: allowed by RoleBinding "${b.metadata.name}/${a.namespace}" of ${b.roleRef.kind} "${b.roleRef.name}"`,
          };
        }
      }
    }
    return { allowed: false, reason: '' };
  }

  /** The rules that apply to a user in a namespace (SelfSubjectRulesReview). */
  rulesFor(user: UserRef, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.#policy.clusterRoleBindings) {
      if ((b.subjects ?? []).some((s) => subjectMatches(s, user))) out.push(...this.#rulesFor(b.roleRef));
    }
    for (const b of this.#policy.roleBindings) {
      if (b.metadata.namespace !== namespace) continue;
      if ((b.subjects ?? []).some((s) => subjectMatches(s, user, namespace)))
        out.push(...this.#rulesFor(b.roleRef, namespace));
    }
    return out;
  }
}

/** Upstream's message for a denied request. */
export function forbiddenMessage(a: Attributes): string {
  const user = `User "${a.user.username}"`;
  if (!a.resourceRequest) return `${user} cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = `resource "${res}" in API group "${a.apiGroup ?? ''}"`;
  const name = a.name ? ` "${a.name}"` : '';
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${a.resource}${name} is forbidden: ${user} cannot ${a.verb} ${what}${where}`;
}
