// Validation of one Cluster: the schema (types, ranges, formats, unknown fields) plus the rules
// that span fields. The cross-field rules read the raw input defensively, so that they still run
// when other parts of the object are broken: every problem at once.
import { cidrSize, cidrsOverlap, formatCidr, parseCidr, type Cidr } from './cidr.ts';
import {
  ClusterSchema,
  defaultPodCIDR,
  localMachineTypeNames,
  managedServices,
  type ProviderType,
} from './cluster.ts';
import { didYouMean } from './didYouMean.ts';
import { checkKubernetesVersion, parseKubernetesVersion } from './kubernetesVersions.ts';
import { fieldProblem, type FieldProblem, type PathSegment, type RuleCode } from './problems.ts';
import { isRecord, zodProblems } from './zodProblems.ts';

/** Node name = `<cluster>-<pool>-<suffix>`; the control plane's pool name is this. */
export const reservedPoolNames = ['control-plane'] as const;
/** Label prefixes KaaS sets on nodes itself. */
export const reservedLabelPrefixes = ['kaas.dev/'] as const;

/**
 * The rules that span fields, as data for the reference docs. `fields` are path patterns ("[]" for
 * any index); the tests check that every problem clusterRules reports is covered by a row.
 */
export const clusterRuleCatalog: readonly { rule: RuleCode; fields: readonly string[]; summary: string }[] = [
  {
    rule: 'odd',
    fields: ['spec.controlPlane.replicas'],
    summary: 'Control plane replicas must be odd: 1, 3 or 5.',
  },
  { rule: 'unique', fields: ['spec.nodePools[].name'], summary: 'Node pool names are unique.' },
  { rule: 'reserved', fields: ['spec.nodePools[].name'], summary: '"control-plane" is not a pool name.' },
  {
    rule: 'reserved',
    fields: ['spec.nodePools[].labels'],
    summary: 'Node labels must not use the kaas.dev/ prefix.',
  },
  {
    rule: 'unique',
    fields: ['spec.nodePools[].taints[]'],
    summary: 'A pool has one taint per key and effect.',
  },
  {
    rule: 'enum',
    fields: ['spec.controlPlane.machineType', 'spec.nodePools[].machineType'],
    summary: 'On local, machine types are small, medium, large or xlarge.',
  },
  {
    rule: 'format',
    fields: ['spec.nodePools[].machineType'],
    summary: 'On eks, machine types are EC2 instance types (m5.large).',
  },
  {
    rule: 'cidrFamily',
    fields: ['spec.network.podCIDR', 'spec.network.serviceCIDR', 'spec.network.nodeCIDR'],
    summary: 'podCIDR, serviceCIDR and nodeCIDR are all IPv4 or all IPv6.',
  },
  {
    rule: 'cidrOverlap',
    fields: ['spec.network.podCIDR', 'spec.network.serviceCIDR', 'spec.network.nodeCIDR', 'spec.network'],
    summary: 'No two of podCIDR, serviceCIDR and nodeCIDR overlap, defaults included.',
  },
  {
    rule: 'cidrSize',
    fields: ['spec.network.podCIDR'],
    summary: 'podCIDR is /24 or larger (/64 for IPv6) and holds a /24 per node.',
  },
  {
    rule: 'cidrSize',
    fields: ['spec.network.serviceCIDR'],
    summary: 'serviceCIDR is /12 or smaller (/108 for IPv6).',
  },
  {
    rule: 'cidrSize',
    fields: ['spec.network.nodeCIDR'],
    summary: 'nodeCIDR has an address for every node and the API, besides 5 reserved ones.',
  },
  {
    rule: 'provider',
    fields: ['spec.network.nodeCIDR'],
    summary: 'On eks, nodeCIDR is the VPC: IPv4, /16 or smaller, room for the subnets at /28 or larger.',
  },
  {
    rule: 'provider',
    fields: ['spec.network.serviceCIDR'],
    summary: 'On eks, serviceCIDR is a /12 to /24 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.',
  },
  { rule: 'provider', fields: ['spec.network.podCIDR'], summary: 'On eks, there is no podCIDR.' },
  { rule: 'provider', fields: ['spec.controlPlane'], summary: 'On eks, there is no controlPlane.' },
  {
    rule: 'provider',
    fields: ['spec.credentialsRef', 'spec'],
    summary: 'On openstack and eks, credentialsRef is required.',
  },
  {
    rule: 'provider',
    fields: ['spec.provider.eks.availabilityZones[]'],
    summary: 'On eks, zones are in the region (us-east-1a in us-east-1).',
  },
  {
    rule: 'unique',
    fields: ['spec.provider.openstack.availabilityZones[]', 'spec.provider.eks.availabilityZones[]'],
    summary: 'Availability zones are listed once.',
  },
  {
    rule: 'max',
    fields: ['spec.provider.local.faults.timeoutRate'],
    summary: 'errorRate + timeoutRate is at most 1.',
  },
  {
    rule: 'versionSupported',
    fields: ['spec.kubernetesVersion'],
    summary: 'The Kubernetes version is in the supported table, patch not newer than the newest tested.',
  },
  { rule: 'provider', fields: ['spec.kubernetesVersion'], summary: 'On eks, the version is MAJOR.MINOR.' },
  {
    rule: 'dependency',
    fields: ['spec.services.ssoProxy', 'spec.services'],
    summary: 'ssoProxy needs kubernetesAuth enabled.',
  },
  { rule: 'unique', fields: ['spec.auth.clusterAdminRoleIds[]'], summary: 'Role IDs are listed once.' },
  {
    rule: 'dependency',
    fields: ['spec.auth.identity.authURL'],
    summary: 'The keystone backend needs authURL except on openstack; the local backend takes none.',
  },
];

function rec(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

interface Ctx {
  problems: FieldProblem[];
  provider: ProviderType | undefined;
}

function rulesControlPlane(spec: Record<string, unknown>, ctx: Ctx): void {
  const cp = spec.controlPlane;
  if (ctx.provider === 'eks' && cp !== undefined) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'controlPlane'],
        'provider',
        'is not allowed on eks: Amazon runs the control plane; remove it',
        'key',
      ),
    );
    return;
  }
  const replicas = int(rec(cp).replicas);
  if (replicas !== undefined && replicas >= 1 && replicas <= 5 && replicas % 2 === 0) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'controlPlane', 'replicas'],
        'odd',
        'must be odd (1, 3 or 5) so that etcd keeps a quorum',
      ),
    );
  }
  const machineType = str(rec(cp).machineType);
  if (ctx.provider === 'local' && machineType !== undefined) {
    checkLocalMachineType(['spec', 'controlPlane', 'machineType'], machineType, ctx);
  }
}

function checkLocalMachineType(path: PathSegment[], machineType: string, ctx: Ctx): void {
  if ((localMachineTypeNames as string[]).includes(machineType)) return;
  const typo = didYouMean(machineType, localMachineTypeNames);
  const hint = typo ? `; did you mean ${JSON.stringify(typo)}?` : '';
  ctx.problems.push(
    fieldProblem(path, 'enum', `must be a local size, one of: ${localMachineTypeNames.join(', ')}${hint}`),
  );
}

const ec2InstanceType = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

function rulesNodePools(spec: Record<string, unknown>, ctx: Ctx): number {
  const pools = Array.isArray(spec.nodePools) ? spec.nodePools : [];
  const seen = new Map<string, number>();
  let workers = 0;
  pools.forEach((raw, i) => {
    const pool = rec(raw);
    const name = str(pool.name);
    const path: PathSegment[] = ['spec', 'nodePools', i];
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.problems.push(
          fieldProblem(
            [...path, 'name'],
            'unique',
            `duplicates spec.nodePools[${first}].name ${JSON.stringify(name)}`,
          ),
        );
      } else seen.set(name, i);
      if ((reservedPoolNames as readonly string[]).includes(name)) {
        ctx.problems.push(
          fieldProblem(
            [...path, 'name'],
            'reserved',
            `${JSON.stringify(name)} is reserved for the control plane`,
          ),
        );
      }
    }
    workers += int(pool.replicas) ?? (pool.replicas === undefined ? 1 : 0);
    const machineType = str(pool.machineType);
    if (machineType !== undefined && ctx.provider === 'local')
      checkLocalMachineType([...path, 'machineType'], machineType, ctx);
    if (machineType !== undefined && ctx.provider === 'eks' && !ec2InstanceType.test(machineType)) {
      ctx.problems.push(
        fieldProblem([...path, 'machineType'], 'format', 'must be an EC2 instance type like m5.large on eks'),
      );
    }
    for (const key of Object.keys(rec(pool.labels))) {
      const prefix = reservedLabelPrefixes.find((p) => key.startsWith(p));
      if (prefix) {
        ctx.problems.push(
          fieldProblem(
            [...path, 'labels', key],
            'reserved',
            `the ${prefix} prefix is reserved for labels KaaS sets`,
            'key',
          ),
        );
      }
    }
    const taints = Array.isArray(pool.taints) ? pool.taints : [];
    const taintKeys = new Map<string, number>();
    taints.forEach((t, j) => {
      const key = `${str(rec(t).key)}:${str(rec(t).effect)}`;
      const first = taintKeys.get(key);
      if (first !== undefined) {
        ctx.problems.push(
          fieldProblem([...path, 'taints', j], 'unique', `duplicates taints[${first}]: same key and effect`),
        );
      } else taintKeys.set(key, j);
    });
  });
  return workers;
}

function cidrAt(
  network: Record<string, unknown>,
  field: string,
  fallback: string | undefined,
): Cidr | undefined {
  const text = network[field] === undefined ? fallback : str(network[field]);
  if (text === undefined) return undefined;
  const parsed = parseCidr(text);
  // Malformed or with host bits: the schema reports it; the range rules skip it.
  return parsed.ok && parsed.cidr.address === parsed.cidr.network ? parsed.cidr : undefined;
}

const rfc1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => {
  const p = parseCidr(c);
  if (!p.ok) throw new Error(`bad constant ${c}`);
  return p.cidr;
});

function within(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family && inner.prefixLength >= outer.prefixLength && cidrsOverlap(inner, outer)
  );
}

function rulesNetwork(spec: Record<string, unknown>, nodes: number, ctx: Ctx): void {
  const network = rec(spec.network);
  const path = (field: string): PathSegment[] =>
    network[field] === undefined ? ['spec', 'network'] : ['spec', 'network', field];
  const eks = ctx.provider === 'eks';
  if (eks && network.podCIDR !== undefined) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'network', 'podCIDR'],
        'provider',
        'is not used on eks: pods get addresses from the VPC (nodeCIDR); remove it',
        'key',
      ),
    );
  }
  const ranges: { field: string; cidr: Cidr; isDefault: boolean }[] = [];
  const fallbacks: Record<string, string | undefined> = {
    podCIDR: eks ? undefined : defaultPodCIDR,
    serviceCIDR: '10.96.0.0/12',
    nodeCIDR: '10.0.0.0/16',
  };
  for (const field of ['podCIDR', 'serviceCIDR', 'nodeCIDR']) {
    if (eks && field === 'podCIDR') continue;
    const cidr = cidrAt(network, field, fallbacks[field]);
    if (cidr) ranges.push({ field, cidr, isDefault: network[field] === undefined });
  }
  // Defaults are IPv4: when some range is left to its default, it sets the family, so the blame
  // lands on what the user wrote.
  const reference = ranges.find((r) => r.isDefault) ?? ranges[0];
  for (const r of ranges) {
    if (reference && r.cidr.family !== reference.cidr.family) {
      const what = `${reference.field}${reference.isDefault ? ' (the default)' : ''}`;
      const fix = reference.isDefault ? `; set all three for ${r.cidr.family}` : '';
      ctx.problems.push(
        fieldProblem(
          path(r.field),
          'cidrFamily',
          `is ${r.cidr.family} but ${what} is ${reference.cidr.family}: use one family${fix}`,
        ),
      );
    }
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i];
      const b = ranges[j];
      if (!a || !b || !cidrsOverlap(a.cidr, b.cidr)) continue;
      // Point at the one the user wrote; if both were written, at the later field.
      const [blame, other] = b.isDefault && !a.isDefault ? [a, b] : [b, a];
      const otherText = `${formatCidr(other.cidr)}${other.isDefault ? ' (the default)' : ''}`;
      ctx.problems.push(
        fieldProblem(path(blame.field), 'cidrOverlap', `overlaps spec.network.${other.field} ${otherText}`),
      );
    }
  }
  const byField = new Map(ranges.map((r) => [r.field, r]));
  const pod = byField.get('podCIDR');
  if (pod) {
    // A /24 (IPv4) or /64 (IPv6) per node, as kube-controller-manager allocates by default.
    const perNode = pod.cidr.family === 'IPv4' ? 24 : 64;
    if (pod.cidr.prefixLength > perNode) {
      ctx.problems.push(
        fieldProblem(
          path('podCIDR'),
          'cidrSize',
          `must be /${perNode} or larger: each node gets a /${perNode}`,
        ),
      );
    } else if (nodes > 0 && 2 ** Math.min(40, perNode - pod.cidr.prefixLength) < nodes) {
      const fits = 2 ** (perNode - pod.cidr.prefixLength);
      ctx.problems.push(
        fieldProblem(
          path('podCIDR'),
          'cidrSize',
          `holds ${fits} node ranges (/${perNode}) but the cluster has ${nodes} nodes`,
        ),
      );
    }
  }
  const service = byField.get('serviceCIDR');
  if (service) {
    const largest = service.cidr.family === 'IPv4' ? 12 : 108;
    if (service.cidr.prefixLength < largest) {
      ctx.problems.push(
        fieldProblem(path('serviceCIDR'), 'cidrSize', `must be /${largest} or smaller (Kubernetes' limit)`),
      );
    }
    if (eks && (service.cidr.prefixLength > 24 || !rfc1918.some((r) => within(service.cidr, r)))) {
      ctx.problems.push(
        fieldProblem(
          path('serviceCIDR'),
          'provider',
          'on eks must be a /12 to /24 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
        ),
      );
    }
  }
  const node = byField.get('nodeCIDR');
  if (node) {
    // Five addresses of a subnet are never usable (network, gateway, DHCP/DNS, reserved, broadcast).
    const usable = cidrSize(node.cidr) - 5n;
    if (usable < BigInt(nodes + 1)) {
      ctx.problems.push(
        fieldProblem(
          path('nodeCIDR'),
          'cidrSize',
          `has room for ${usable < 0n ? 0n : usable} addresses but needs ${nodes + 1} (nodes and the API)`,
        ),
      );
    }
    if (eks) {
      const subnets = int(rec(rec(rec(spec.provider).eks)).subnets) ?? 2;
      const split = Math.ceil(Math.log2(Math.max(1, subnets)));
      if (node.cidr.family !== 'IPv4' || node.cidr.prefixLength < 16 || node.cidr.prefixLength + split > 28) {
        ctx.problems.push(
          fieldProblem(
            path('nodeCIDR'),
            'provider',
            `on eks is the VPC range: IPv4, /16 or smaller, with room for ${subnets} subnets of at least /28`,
          ),
        );
      }
    }
  }
}

function rulesProvider(spec: Record<string, unknown>, ctx: Ctx): void {
  const provider = rec(spec.provider);
  if (ctx.provider === 'local') {
    const faults = rec(rec(provider.local).faults);
    const errorRate = typeof faults.errorRate === 'number' ? faults.errorRate : 0;
    const timeoutRate = typeof faults.timeoutRate === 'number' ? faults.timeoutRate : 0;
    if (
      errorRate >= 0 &&
      timeoutRate >= 0 &&
      errorRate <= 1 &&
      timeoutRate <= 1 &&
      errorRate + timeoutRate > 1
    ) {
      ctx.problems.push(
        fieldProblem(
          ['spec', 'provider', 'local', 'faults', 'timeoutRate'],
          'max',
          'must be <= 1 - errorRate: together they are a share of all calls',
        ),
      );
    }
  }
  if ((ctx.provider === 'openstack' || ctx.provider === 'eks') && spec.credentialsRef === undefined) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'credentialsRef'],
        'provider',
        `is required on ${ctx.provider}: name a Secret with the cloud credentials`,
      ),
    );
  }
  const zonesPath = ['spec', 'provider', ctx.provider ?? '', 'availabilityZones'];
  const member = rec(provider[ctx.provider ?? '']);
  const zones = Array.isArray(member.availabilityZones) ? member.availabilityZones : [];
  const seen = new Map<string, number>();
  zones.forEach((zone, i) => {
    if (typeof zone !== 'string') return;
    const first = seen.get(zone);
    if (first !== undefined) {
      ctx.problems.push(fieldProblem([...zonesPath, i], 'unique', `duplicates availabilityZones[${first}]`));
    } else seen.set(zone, i);
    const region = str(member.region);
    if (ctx.provider === 'eks' && region !== undefined && !zone.startsWith(region)) {
      ctx.problems.push(fieldProblem([...zonesPath, i], 'provider', `is not in region ${region}`));
    }
  });
}

function rulesVersion(spec: Record<string, unknown>, ctx: Ctx): void {
  const text = str(spec.kubernetesVersion);
  if (text === undefined || !parseKubernetesVersion(text)) return; // absent: default; malformed: the schema says so
  const support = checkKubernetesVersion(text);
  if (!support.supported) {
    ctx.problems.push(fieldProblem(['spec', 'kubernetesVersion'], 'versionSupported', support.reason));
  } else if (ctx.provider === 'eks' && parseKubernetesVersion(text)?.patch !== undefined) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'kubernetesVersion'],
        'provider',
        `must be MAJOR.MINOR on eks (Amazon picks the patch): ${support.row.minor}`,
      ),
    );
  }
}

function enabled(services: Record<string, unknown>, key: string): boolean {
  const e = rec(services[key]).enabled;
  return e === undefined ? true : e === true;
}

function rulesServicesAndAuth(spec: Record<string, unknown>, ctx: Ctx): void {
  const services = rec(spec.services);
  if (enabled(services, 'ssoProxy') && !enabled(services, 'kubernetesAuth')) {
    const path = services.ssoProxy === undefined ? ['spec', 'services'] : ['spec', 'services', 'ssoProxy'];
    ctx.problems.push(
      fieldProblem(
        path,
        'dependency',
        `${managedServices.ssoProxy.name} needs ${managedServices.kubernetesAuth.name} (its OIDC issuer); enable kubernetesAuth or disable ssoProxy`,
      ),
    );
  }
  const auth = rec(spec.auth);
  const ids = Array.isArray(auth.clusterAdminRoleIds) ? auth.clusterAdminRoleIds : [];
  const seen = new Map<unknown, number>();
  ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined && typeof id === 'string') {
      ctx.problems.push(
        fieldProblem(
          ['spec', 'auth', 'clusterAdminRoleIds', i],
          'unique',
          `duplicates clusterAdminRoleIds[${first}]`,
        ),
      );
    } else seen.set(id, i);
  });
  const identity = rec(auth.identity);
  const backend = str(identity.backend) ?? (ctx.provider === 'openstack' ? 'keystone' : 'local');
  if (
    backend === 'keystone' &&
    ctx.provider !== 'openstack' &&
    ctx.provider !== undefined &&
    identity.authURL === undefined
  ) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'auth', 'identity', 'authURL'],
        'dependency',
        `is required for the keystone backend on ${ctx.provider} (no OpenStack credentials to take it from)`,
      ),
    );
  }
  if (backend === 'local' && identity.authURL !== undefined) {
    ctx.problems.push(
      fieldProblem(
        ['spec', 'auth', 'identity', 'authURL'],
        'dependency',
        'is only used by the keystone backend',
        'key',
      ),
    );
  }
}

/** Cross-field rules on a Cluster-shaped value; safe on any input. */
export function clusterRules(value: unknown): FieldProblem[] {
  const spec = rec(rec(value).spec);
  const type = str(rec(spec.provider).type) ?? (spec.provider === undefined ? 'local' : undefined);
  const ctx: Ctx = {
    problems: [],
    provider: type === 'local' || type === 'openstack' || type === 'eks' ? type : undefined,
  };
  rulesControlPlane(spec, ctx);
  const workers = rulesNodePools(spec, ctx);
  const cpReplicas =
    ctx.provider === 'eks'
      ? 0
      : (int(rec(spec.controlPlane).replicas) ?? (ctx.provider === 'openstack' ? 3 : 1));
  rulesNetwork(spec, workers + cpReplicas, ctx);
  rulesProvider(spec, ctx);
  rulesVersion(spec, ctx);
  rulesServicesAndAuth(spec, ctx);
  return ctx.problems;
}

/**
 * Every problem with a Cluster object: schema and cross-field rules. Empty means valid. For the
 * API server's admission and for the bootstrap file.
 */
export function validateCluster(value: unknown): FieldProblem[] {
  const parsed = ClusterSchema.safeParse(value);
  const problems = parsed.success ? [] : zodProblems(parsed.error, value, ClusterSchema);
  const seen = new Set(problems.map((p) => p.path));
  // A field the schema already rejected is not checked again by a rule.
  for (const p of clusterRules(value)) if (!seen.has(p.path)) problems.push(p);
  return problems;
}
