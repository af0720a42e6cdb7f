// Pod Security admission: the upstream Pod Security Standards (privileged / baseline / restricted,
// "latest") checked on every Pod and every pod template, plus operator exemptions that cluster
// users cannot override. The seed's rule — no root, no privileged, no host network or host
// namespaces — is the "restricted" level, which is the default. See docs/pod-security.md.
import { errors } from '../errors.ts';
import type { ResourceInfo } from '../registry/types.ts';
import type { KObject } from '../server/objects.ts';
import type { AdmissionAttributes, AdmissionPlugin, AdmissionUser } from './types.ts';

export const podSecurityLevels = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof podSecurityLevels)[number];

/** Upstream's namespace labels; `enforce` refuses pods, `warn` adds warnings. */
export const podSecurityLabelPrefix = 'pod-security.kubernetes.io/';
export const podSecurityEnforceLabel = 'pod-security.kubernetes.io/enforce';
export const podSecurityWarnLabel = 'pod-security.kubernetes.io/warn';
/** Ours: a namespace an operator exempted from Pod Security altogether (value "true"). */
export const kaasPodSecurityLabelPrefix = 'pod-security.kaas.dev/';
export const podSecurityExemptLabel = 'pod-security.kaas.dev/exempt';
export const podSecurityOperatorGroup = 'system:masters';

export interface PodSecurityConfig {
  /** Levels for namespaces without labels (both default to "restricted"). */
  defaults?: { enforce?: PodSecurityLevel; warn?: PodSecurityLevel };
  /** Requests that skip the checks, as upstream's AdmissionConfiguration exemptions. */
  exemptions?: { namespaces?: string[]; usernames?: string[]; runtimeClassNames?: string[] };
  /**
   * Who may set or change the pod-security labels of a namespace, besides members of
   * system:masters and the server's own in-process callers.
   */
  operators?: { groups?: string[]; usernames?: string[] };
}

/** One violated rule: upstream's forbidden reason and the detail naming the culprits. */
export interface PodSecurityViolation {
  id: string;
  reason: string;
  detail: string;
}

type PodMeta = { annotations?: Record<string, string> } | undefined;
type Spec = Record<string, any>;

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** A restricted check that replaces a baseline one (same field, stricter rule). */
  overrides?: string;
  check(meta: PodMeta, spec: Spec): Omit<PodSecurityViolation, 'id'> | undefined;
}

// ---- formatting, in upstream's style --------------------------------------------------------

const pluralize = (one: string, many: string, n: number) => (n === 1 ? one : many);
const joinQuote = (xs: Iterable<string | number>) => [...xs].map((x) => JSON.stringify(String(x))).join(', ');
const containersPhrase = (names: string[]) =>
  `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
/** "pod", `container "a"`, `pod and containers "a", "b"`. */
function setters(pod: boolean, containers: string[]): string {
  if (!containers.length) return 'pod';
  return pod ? `pod and ${containersPhrase(containers)}` : containersPhrase(containers);
}
const uniq = <T>(xs: T[]) => [...new Set(xs)];

// ---- reading pod specs ----------------------------------------------------------------------

const obj = (v: unknown): Spec => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const list = (v: unknown): Spec[] => (Array.isArray(v) ? v.map(obj) : []);

function allContainers(spec: Spec): { name: string; sc: Spec; c: Spec }[] {
  return [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)].map(
    (c) => ({ name: String(c.name ?? ''), sc: obj(c.securityContext), c }),
  );
}

const isWindows = (spec: Spec) => obj(spec.os).name === 'windows';

// ---- the checks -----------------------------------------------------------------------------

const baselineCapabilities = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const allowedSELinuxTypes = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

const safeSysctls = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const restrictedVolumeSources = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

const appArmorAnnotationPrefix = 'container.apparmor.security.beta.kubernetes.io/';
const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';

const checks: readonly Check[] = [
  {
    id: 'appArmorProfile',
    level: 'baseline',
    check(meta, spec) {
      const bad: string[] = [];
      const okType = (t: unknown) => t === undefined || t === 'RuntimeDefault' || t === 'Localhost';
      const podType = obj(obj(spec.securityContext).appArmorProfile).type;
      if (!okType(podType))
        bad.push(`pod must not set securityContext.appArmorProfile.type to ${joinQuote([podType])}`);
      for (const { name, sc } of allContainers(spec)) {
        const t = obj(sc.appArmorProfile).type;
        if (!okType(t))
          bad.push(
            `container ${joinQuote([name])} must not set securityContext.appArmorProfile.type to ${joinQuote([t])}`,
          );
      }
      for (const [k, v] of Object.entries(meta?.annotations ?? {})) {
        if (!k.startsWith(appArmorAnnotationPrefix)) continue;
        if (v === '' || v === 'runtime/default' || v.startsWith('localhost/')) continue;
        bad.push(`${k}=${JSON.stringify(v)}`);
      }
      if (!bad.length) return undefined;
      return {
        reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', bad.length),
        detail: bad.join(', '),
      };
    },
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    check(_meta, spec) {
      const names: string[] = [];
      const caps: string[] = [];
      for (const { name, sc } of allContainers(spec)) {
        const bad = (obj(sc.capabilities).add ?? []).filter(
          (c: unknown) => !baselineCapabilities.has(String(c)),
        );
        if (bad.length) {
          names.push(name);
          caps.push(...bad.map(String));
        }
      }
      if (!names.length) return undefined;
      return {
        reason: 'non-default capabilities',
        detail: `${containersPhrase(names)} must not include ${joinQuote(uniq(caps))} in securityContext.capabilities.add`,
      };
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    check(_meta, spec) {
      const set = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true);
      if (!set.length) return undefined;
      return { reason: 'host namespaces', detail: set.map((f) => `${f}=true`).join(', ') };
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    check(_meta, spec) {
      const names = list(spec.volumes)
        .filter((v) => v.hostPath !== undefined && v.hostPath !== null)
        .map((v) => String(v.name ?? ''));
      if (!names.length) return undefined;
      return {
        reason: 'hostPath volumes',
        detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}`,
      };
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    check(_meta, spec) {
      const names: string[] = [];
      const ports: number[] = [];
      for (const { name, c } of allContainers(spec)) {
        const hp = list(c.ports)
          .map((p) => Number(p.hostPort ?? 0))
          .filter((p) => p !== 0);
        if (hp.length) {
          names.push(name);
          ports.push(...hp);
        }
      }
      if (!names.length) return undefined;
      const p = uniq(ports);
      return {
        reason: 'hostPort',
        detail: `${containersPhrase(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('hostPort', 'hostPorts', p.length)} ${p.join(', ')}`,
      };
    },
  },
  {
    id: 'hostProcess',
    level: 'baseline',
    check(_meta, spec) {
      const pod = obj(obj(spec.securityContext).windowsOptions).hostProcess === true;
      const names = allContainers(spec)
        .filter(({ sc }) => obj(sc.windowsOptions).hostProcess === true)
        .map((c) => c.name);
      if (!pod && !names.length) return undefined;
      return {
        reason: 'hostProcess',
        detail: `${setters(pod, names)} must not set securityContext.windowsOptions.hostProcess=true`,
      };
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    check(_meta, spec) {
      const names = allContainers(spec)
        .filter(({ sc }) => sc.privileged === true)
        .map((c) => c.name);
      if (!names.length) return undefined;
      return {
        reason: 'privileged',
        detail: `${containersPhrase(names)} must not set securityContext.privileged=true`,
      };
    },
  },
  {
    id: 'procMount',
    level: 'baseline',
    check(_meta, spec) {
      const names: string[] = [];
      const values: string[] = [];
      for (const { name, sc } of allContainers(spec)) {
        const v = sc.procMount;
        if (v !== undefined && v !== null && v !== '' && v !== 'Default') {
          names.push(name);
          values.push(String(v));
        }
      }
      if (!names.length) return undefined;
      return {
        reason: 'procMount',
        detail: `${containersPhrase(names)} must not set securityContext.procMount to ${joinQuote(uniq(values))}`,
      };
    },
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    check(_meta, spec) {
      const problems: string[] = [];
      const bad = (o: Spec) => {
        const found: string[] = [];
        if (o.type !== undefined && o.type !== null && !allowedSELinuxTypes.has(String(o.type)))
          found.push(`type ${JSON.stringify(String(o.type))}`);
        if (o.user) found.push(`user ${JSON.stringify(String(o.user))}`);
        if (o.role) found.push(`role ${JSON.stringify(String(o.role))}`);
        problems.push(...found);
        return found.length > 0;
      };
      const pod = bad(obj(obj(spec.securityContext).seLinuxOptions));
      const names = allContainers(spec)
        .filter(({ sc }) => bad(obj(sc.seLinuxOptions)))
        .map((c) => c.name);
      if (!pod && !names.length) return undefined;
      return {
        reason: 'seLinuxOptions',
        detail: `${setters(pod, names)} set forbidden securityContext.seLinuxOptions: ${uniq(problems).join('; ')}`,
      };
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    check(_meta, spec) {
      const pod = obj(obj(spec.securityContext).seccompProfile).type === 'Unconfined';
      const names = allContainers(spec)
        .filter(({ sc }) => obj(sc.seccompProfile).type === 'Unconfined')
        .map((c) => c.name);
      if (!pod && !names.length) return undefined;
      return {
        reason: 'seccompProfile',
        detail: `${setters(pod, names)} must not set securityContext.seccompProfile.type to "Unconfined"`,
      };
    },
  },
  {
    id: 'sysctls',
    level: 'baseline',
    check(_meta, spec) {
      const bad = list(obj(spec.securityContext).sysctls)
        .map((s) => String(s.name ?? ''))
        .filter((n) => !safeSysctls.has(n));
      if (!bad.length) return undefined;
      return { reason: 'forbidden sysctls', detail: uniq(bad).join(', ') };
    },
  },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    check(_meta, spec) {
      if (isWindows(spec)) return undefined;
      const names = allContainers(spec)
        .filter(({ sc }) => sc.allowPrivilegeEscalation !== false)
        .map((c) => c.name);
      if (!names.length) return undefined;
      return {
        reason: 'allowPrivilegeEscalation != false',
        detail: `${containersPhrase(names)} must set securityContext.allowPrivilegeEscalation=false`,
      };
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    overrides: 'capabilities_baseline',
    check(_meta, spec) {
      if (isWindows(spec)) return undefined;
      const noDrop: string[] = [];
      const badAdd: string[] = [];
      const caps: string[] = [];
      for (const { name, sc } of allContainers(spec)) {
        const c = obj(sc.capabilities);
        if (!(Array.isArray(c.drop) && c.drop.includes('ALL'))) noDrop.push(name);
        const add = (Array.isArray(c.add) ? c.add : []).map(String).filter((x) => x !== 'NET_BIND_SERVICE');
        if (add.length) {
          badAdd.push(name);
          caps.push(...add);
        }
      }
      const parts: string[] = [];
      if (noDrop.length)
        parts.push(`${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
      if (badAdd.length)
        parts.push(
          `${containersPhrase(badAdd)} must not include ${joinQuote(uniq(caps))} in securityContext.capabilities.add`,
        );
      return parts.length ? { reason: 'unrestricted capabilities', detail: parts.join('; ') } : undefined;
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    overrides: 'hostPathVolumes',
    check(_meta, spec) {
      const names: string[] = [];
      const types = new Set<string>();
      for (const v of list(spec.volumes)) {
        // A volume that names no source is an emptyDir (upstream's defaulting).
        const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
        const bad = sources.filter((k) => !restrictedVolumeSources.has(k));
        if (bad.length) {
          names.push(String(v.name ?? ''));
          for (const b of bad) types.add(b);
        }
      }
      if (!names.length) return undefined;
      return {
        reason: 'restricted volume types',
        detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('restricted volume type', 'restricted volume types', types.size)} ${joinQuote([...types].sort())}`,
      };
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    check(_meta, spec) {
      const podValue = obj(spec.securityContext).runAsNonRoot;
      const explicit: string[] = [];
      const implicit: string[] = [];
      for (const { name, sc } of allContainers(spec)) {
        if (sc.runAsNonRoot === false) explicit.push(name);
        else if (sc.runAsNonRoot !== true && podValue !== true) implicit.push(name);
      }
      const parts: string[] = [];
      if (podValue === false || explicit.length)
        parts.push(
          `${setters(podValue === false, explicit)} must not set securityContext.runAsNonRoot=false`,
        );
      if (implicit.length)
        parts.push(`pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`);
      return parts.length ? { reason: 'runAsNonRoot != true', detail: parts.join('; ') } : undefined;
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    check(_meta, spec) {
      const pod = obj(spec.securityContext).runAsUser === 0;
      const names = allContainers(spec)
        .filter(({ sc }) => sc.runAsUser === 0)
        .map((c) => c.name);
      if (!pod && !names.length) return undefined;
      return { reason: 'runAsUser=0', detail: `${setters(pod, names)} must not set runAsUser=0` };
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    overrides: 'seccompProfile_baseline',
    check(_meta, spec) {
      if (isWindows(spec)) return undefined;
      const podType = obj(obj(spec.securityContext).seccompProfile).type;
      const podSet = podType !== undefined && podType !== null;
      const podBad = podSet && !validSeccomp(podType);
      const explicit: string[] = [];
      const implicit: string[] = [];
      const values: string[] = podBad ? [String(podType)] : [];
      for (const { name, sc } of allContainers(spec)) {
        const t = obj(sc.seccompProfile).type;
        if (t === undefined || t === null) {
          if (!podSet) implicit.push(name);
        } else if (!validSeccomp(t)) {
          explicit.push(name);
          values.push(String(t));
        }
      }
      const parts: string[] = [];
      if (podBad || explicit.length)
        parts.push(
          `${setters(podBad, explicit)} must not set securityContext.seccompProfile.type to ${joinQuote(uniq(values))}`,
        );
      if (implicit.length)
        parts.push(
          `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
        );
      return parts.length ? { reason: 'seccompProfile', detail: parts.join('; ') } : undefined;
    },
  },
];

/** Every rule of `level` the pod breaks, in upstream's order (baseline checks, then restricted). */
export function checkPod(
  level: PodSecurityLevel,
  meta: PodMeta,
  spec: Spec | undefined,
): PodSecurityViolation[] {
  if (level === 'privileged') return [];
  const active = checks.filter((c) => level === 'restricted' || c.level === 'baseline');
  const overridden = new Set(active.map((c) => c.overrides).filter((x) => x !== undefined));
  const out: PodSecurityViolation[] = [];
  for (const c of active) {
    if (overridden.has(c.id)) continue;
    const r = c.check(meta, obj(spec));
    if (r) out.push({ id: c.id, ...r });
  }
  return out;
}

/** `violates PodSecurity "restricted:latest": reason (detail), reason (detail)`. */
export function violationSummary(level: PodSecurityLevel, violations: PodSecurityViolation[]): string {
  return `PodSecurity "${level}:latest": ${violations.map((v) => `${v.reason} (${v.detail})`).join(', ')}`;
}

// ---- where pod specs sit --------------------------------------------------------------------

type Template = { metadata?: PodMeta; spec?: Spec };
const templateOf: Record<string, (o: KObject) => Template | undefined> = {
  '/PodTemplate': (o) => o.template,
  '/ReplicationController': (o) => o.spec?.template,
  'apps/Deployment': (o) => o.spec?.template,
  'apps/ReplicaSet': (o) => o.spec?.template,
  'apps/StatefulSet': (o) => o.spec?.template,
  'apps/DaemonSet': (o) => o.spec?.template,
  'batch/Job': (o) => o.spec?.template,
  'batch/CronJob': (o) => o.spec?.jobTemplate?.spec?.template,
};

const isKind = (r: ResourceInfo, group: string, kind: string) => r.group === group && r.kind === kind;

function parseLevel(v: string | undefined, fallback: PodSecurityLevel): PodSecurityLevel {
  if (v === undefined) return fallback;
  // An unreadable level is treated as the strictest, as upstream does.
  return (podSecurityLevels as readonly string[]).includes(v) ? (v as PodSecurityLevel) : 'restricted';
}

const rank = (l: PodSecurityLevel) => podSecurityLevels.indexOf(l);

/** The pod-security label keys whose values differ between the two label sets. */
export function changedPodSecurityLabels(
  before: Record<string, string> | undefined,
  after: Record<string, string> | undefined,
): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys]
    .filter((k) => k.startsWith(podSecurityLabelPrefix) || k.startsWith(kaasPodSecurityLabelPrefix))
    .filter((k) => before?.[k] !== after?.[k])
    .sort();
}

const podSecurityAnnotations = (m: PodMeta) =>
  Object.entries(m?.annotations ?? {})
    .filter(
      ([k]) =>
        k.startsWith(appArmorAnnotationPrefix) || k.startsWith('seccomp.security.alpha.kubernetes.io/'),
    )
    .sort(([a], [b]) => (a < b ? -1 : 1));

export class PodSecurityAdmission implements AdmissionPlugin {
  readonly name = 'PodSecurity';
  readonly #c: PodSecurityConfig;

  constructor(config: PodSecurityConfig = {}) {
    this.#c = config;
  }

  /** system:masters, a configured operator group or user, or the server itself (no user). */
  isOperator(user: AdmissionUser | undefined): boolean {
    if (!user) return true;
    const groups = [podSecurityOperatorGroup, ...(this.#c.operators?.groups ?? [])];
    return (
      user.groups.some((g) => groups.includes(g)) ||
      (this.#c.operators?.usernames ?? []).includes(user.username)
    );
  }

  async admit(a: AdmissionAttributes): Promise<void> {
    if (a.operation === 'DELETE') return;
    if (isKind(a.resource, '', 'Namespace')) return this.#admitNamespace(a);
    if (a.subresource !== undefined) return;
    if (isKind(a.resource, '', 'Pod')) return this.#admitPod(a);
    const extract = templateOf[`${a.resource.group}/${a.resource.kind}`];
    if (extract && a.object) return this.#admitTemplate(a, extract(a.object));
  }

  #admitNamespace(a: AdmissionAttributes): void {
    if (a.subresource !== undefined) return;
    const labels = a.object?.metadata.labels;
    const changed = changedPodSecurityLabels(a.oldObject?.metadata.labels, labels);
    if (!changed.length) return;
    if (!this.isOperator(a.user)) {
      throw errors.forbidden(
        `namespaces "${a.name}" is forbidden: only cluster operators may set or change ${pluralize('label', 'labels', changed.length)} ${joinQuote(changed)}: user "${a.user?.username ?? ''}" is not in group "${podSecurityOperatorGroup}" or an operator group`,
        { group: '', resource: 'namespaces', name: a.name },
      );
    }
    for (const key of changed) {
      const v = labels?.[key];
      const isLevel =
        key === podSecurityEnforceLabel ||
        key === podSecurityWarnLabel ||
        key === `${podSecurityLabelPrefix}audit`;
      if (v !== undefined && isLevel && !(podSecurityLevels as readonly string[]).includes(v)) {
        throw errors.invalid('Namespace', '', a.name, [
          {
            reason: 'FieldValueNotSupported',
            field: `metadata.labels[${key}]`,
            message: `Unsupported value: ${JSON.stringify(v)}: supported values: "privileged", "baseline", "restricted"`,
          },
        ]);
      }
    }
  }

  async #policy(
    a: AdmissionAttributes,
  ): Promise<{ enforce: PodSecurityLevel; warn: PodSecurityLevel } | undefined> {
    const ex = this.#c.exemptions ?? {};
    if (a.namespace === undefined || ex.namespaces?.includes(a.namespace)) return undefined;
    if (a.user && ex.usernames?.includes(a.user.username)) return undefined;
    const ns = await a.getNamespace(a.namespace);
    // A missing namespace: storage answers 404 after admission.
    if (!ns) return undefined;
    const labels = ns.metadata.labels ?? {};
    if (labels[podSecurityExemptLabel] === 'true') return undefined;
    const enforce = parseLevel(labels[podSecurityEnforceLabel], this.#c.defaults?.enforce ?? 'restricted');
    const warn = parseLevel(labels[podSecurityWarnLabel], this.#c.defaults?.warn ?? 'restricted');
    return { enforce, warn };
  }

  #runtimeClassExempt(spec: Spec | undefined): boolean {
    const rc = obj(spec).runtimeClassName;
    return typeof rc === 'string' && (this.#c.exemptions?.runtimeClassNames ?? []).includes(rc);
  }

  async #admitPod(a: AdmissionAttributes): Promise<void> {
    const pod = a.object;
    if (!pod) return;
    // Updates that leave the spec and the security annotations alone (labels, finalizers, owner
    // references) are not re-checked, as upstream.
    if (
      a.operation === 'UPDATE' &&
      a.oldObject &&
      JSON.stringify(a.oldObject.spec) === JSON.stringify(pod.spec) &&
      JSON.stringify(podSecurityAnnotations(a.oldObject.metadata)) ===
        JSON.stringify(podSecurityAnnotations(pod.metadata))
    )
      return;
    if (this.#runtimeClassExempt(pod.spec)) return;
    const policy = await this.#policy(a);
    if (!policy) return;
    const denied = checkPod(policy.enforce, pod.metadata, pod.spec);
    if (denied.length) {
      throw errors.forbidden(
        `pods "${a.name}" is forbidden: violates ${violationSummary(policy.enforce, denied)}`,
        {
          group: '',
          resource: 'pods',
          name: a.name,
        },
      );
    }
    if (rank(policy.warn) > rank(policy.enforce)) {
      const w = checkPod(policy.warn, pod.metadata, pod.spec);
      if (w.length) a.warn(`would violate ${violationSummary(policy.warn, w)}`);
    }
  }

  async #admitTemplate(a: AdmissionAttributes, t: Template | undefined): Promise<void> {
    if (!t?.spec || this.#runtimeClassExempt(t.spec)) return;
    const policy = await this.#policy(a);
    if (!policy) return;
    // Workloads are admitted: their pods will be refused. Say so now, as upstream's warn mode.
    const level = rank(policy.warn) > rank(policy.enforce) ? policy.warn : policy.enforce;
    const v = checkPod(level, t.metadata, t.spec);
    if (v.length) a.warn(`would violate ${violationSummary(level, v)}`);
  }
}
