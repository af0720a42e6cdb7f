// The generated parts of docs/bootstrap.md: field tables walked from the schemas, and the tables
// of versions, services, rules and reasons. A test keeps the file equal to this output, so the
// reference cannot drift from the code.
import type { z } from 'zod';
import {
  ClusterSchema,
  defaultLocalMachineType,
  defaultPodCIDR,
  localMachineTypes,
  managedServiceKeys,
  managedServices,
  providerTypes,
} from './cluster.ts';
import { clusterConditionTypes, errorReasons, progressReasons } from './errorReasons.ts';
import { clusterPrinterColumns } from './kindsTable.ts';
import { kubernetesVersions } from './kubernetesVersions.ts';
import { toStructuralSchema, type JSONSchemaProps } from './openapi.ts';
import { validationRules } from './problems.ts';
import { SecretSchema, credentialKeys } from './secret.ts';
import { clusterRuleCatalog } from './validateCluster.ts';
import { defaultControlPlaneReplicas } from './withDefaults.ts';

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- |').join('')}`, ...rows.map(line)].join('\n');
}

function typeOf(s: JSONSchemaProps): string {
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
    return `map of string to ${typeOf(s.additionalProperties)}`;
  }
  if (s.type === 'object') return 'mapping';
  return s.type ?? 'any';
}

function range(min: number | undefined, max: number | undefined, unit: string): string | undefined {
  if (min !== undefined && max !== undefined)
    return min === max ? `exactly ${min}${unit}` : `${min} to ${max}${unit}`;
  if (min !== undefined) return `at least ${min}${unit}`;
  if (max !== undefined) return `at most ${max}${unit}`;
  return undefined;
}

function rulesOf(s: JSONSchemaProps): string {
  const rules: string[] = [];
  if (s.enum) rules.push(`one of ${s.enum.map((v) => code(String(v))).join(', ')}`);
  const numeric = range(s.minimum, s.maximum, '');
  if (numeric) rules.push(numeric);
  const length = range(s.minLength, s.maxLength, ' characters');
  if (length) rules.push(length);
  const items = range(s.minItems, s.maxItems, ' items');
  if (items) rules.push(items);
  if (s['x-kaas-format']) rules.push(s['x-kaas-format']);
  else if (s.pattern) rules.push(`matches ${code(s.pattern)}`);
  if (s.format === 'cidr') rules.push('a CIDR, no host bits set');
  if (s.format === 'uri') rules.push('a URL');
  if (s.format === 'date-time') rules.push('an RFC 3339 time');
  const keys = s['x-kubernetes-list-map-keys'];
  if (keys) rules.push(`unique by ${keys.join(', ')}`);
  return rules.join('; ');
}

function defaultOf(s: JSONSchemaProps): string {
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null) {
    // `{}` only means "the fields' own defaults apply"; say nothing.
    return Object.keys(s.default).length === 0 ? '' : code(JSON.stringify(s.default));
  }
  return code(typeof s.default === 'string' ? s.default : JSON.stringify(s.default));
}

interface Row {
  path: string;
  type: string;
  required: string;
  default: string;
  rules: string;
  description: string;
}

/** Which union members a property belongs to and is required in, from the oneOf branches. */
function membership(
  s: JSONSchemaProps,
): { tagKey: string; only: Map<string, string>; requiredIn: Map<string, string> } | undefined {
  if (!s.oneOf) return undefined;
  const tagKey = Object.keys(s.oneOf[0]?.properties ?? {})[0];
  if (!tagKey) return undefined;
  const only = new Map<string, string>();
  const requiredIn = new Map<string, string>();
  const all = Object.keys(s.properties ?? {});
  for (const branch of s.oneOf) {
    const tag = String(branch.properties?.[tagKey]?.enum?.[0]);
    const excluded = new Set((branch.not?.anyOf ?? []).flatMap((n) => n.required ?? []));
    for (const p of all) if (p !== tagKey && !excluded.has(p) && s.oneOf.length > 1) only.set(p, tag);
    for (const r of branch.required ?? []) requiredIn.set(r, tag);
  }
  return { tagKey, only, requiredIn };
}

function walk(s: JSONSchemaProps, prefix: string, rows: Row[]): void {
  const m = membership(s);
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    let required = s.required?.includes(name) ? 'yes' : '';
    const tag = m?.requiredIn.get(name);
    if (tag !== undefined) required = `when ${m?.tagKey} is ${tag}`;
    const only = m?.only.get(name);
    rows.push({
      path,
      type: typeOf(child),
      required,
      default: defaultOf(child),
      rules: [
        only !== undefined && tag === undefined ? `only when ${m?.tagKey} is ${only}` : '',
        rulesOf(child),
      ]
        .filter(Boolean)
        .join('; '),
      description: child.description ?? '',
    });
    if (child.type === 'object' && child.properties) walk(child, path, rows);
    if (child.type === 'array' && child.items?.type === 'object' && child.items.properties) {
      walk(child.items, `${path}[]`, rows);
    }
  }
}

/** The field table of a kind's schema, one row per field. */
export function fieldTable(schema: z.ZodType, skip: readonly string[] = []): string {
  const rows: Row[] = [];
  walk(toStructuralSchema(schema, { notes: true }), '', rows);
  const kept = rows.filter((r) => !skip.some((s) => r.path === s || r.path.startsWith(`${s}.`)));
  return table(
    ['Field', 'Type', 'Required', 'Default', 'Rules', 'Description'],
    kept.map((r) => [code(r.path), r.type, r.required, r.default, r.rules, r.description]),
  );
}

/** Server-owned fields that never appear in a bootstrap file. */
const serverOwned = [
  'status',
  'metadata.uid',
  'metadata.resourceVersion',
  'metadata.generation',
  'metadata.creationTimestamp',
  'metadata.deletionTimestamp',
  'metadata.finalizers',
];

/** Every generated section of docs/bootstrap.md, by marker name. */
export function bootstrapReferenceSections(): Record<string, string> {
  return {
    'fields:Cluster': fieldTable(ClusterSchema, serverOwned),
    'fields:Secret': fieldTable(SecretSchema, serverOwned),
    'status:Cluster': fieldTable(ClusterSchema.shape.status.unwrap()),
    'provider-defaults': table(
      ['Field', ...providerTypes.map(code)],
      [
        [
          code('spec.controlPlane.replicas'),
          ...providerTypes.map((p) => {
            const n = defaultControlPlaneReplicas[p];
            return n === undefined ? 'no control plane' : String(n);
          }),
        ],
        [
          code('spec.network.podCIDR'),
          ...providerTypes.map((p) => (p === 'eks' ? 'none' : code(defaultPodCIDR))),
        ],
        [
          code('spec.auth.identity.backend'),
          ...providerTypes.map((p) => code(p === 'openstack' ? 'keystone' : 'local')),
        ],
        [
          'machine type of the control plane',
          ...providerTypes.map(
            (p) =>
              ({
                local: code(defaultLocalMachineType),
                openstack: code('spec.provider.openstack.flavors.controlPlane'),
                eks: 'none',
              })[p],
          ),
        ],
        [
          'machine type of a pool without machineType',
          ...providerTypes.map(
            (p) =>
              ({
                local: code(defaultLocalMachineType),
                openstack: code('spec.provider.openstack.flavors.workers'),
                eks: code('spec.provider.eks.instanceType'),
              })[p],
          ),
        ],
      ],
    ),
    'cross-field': table(
      ['Rule', 'Fields', 'What'],
      clusterRuleCatalog.map((r) => [code(r.rule), r.fields.map(code).join(', '), r.summary]),
    ),
    rules: table(
      ['Rule', 'Meaning'],
      Object.entries(validationRules).map(([rule, meaning]) => [code(rule), meaning]),
    ),
    versions: table(
      ['Minor', 'Newest patch', 'Default'],
      kubernetesVersions.map((v) => [v.minor, v.latestPatch, v.default ? 'yes' : '']),
    ),
    services: table(
      ['Key under spec.services', 'Service', 'What'],
      managedServiceKeys.map((k) => [code(k), managedServices[k].name, managedServices[k].summary]),
    ),
    'machine-types': table(
      ['Size', 'vCPUs', 'Memory GiB'],
      Object.entries(localMachineTypes).map(([size, m]) => [
        code(size),
        String(m.vcpus),
        String(m.memoryGiB),
      ]),
    ),
    credentials: table(
      ['Provider', 'Keys of the credentials Secret'],
      providerTypes.map((p) => [code(p), credentialKeys[p]]),
    ),
    conditions: table(
      ['Condition', 'True when'],
      Object.entries(clusterConditionTypes).map(([t, what]) => [code(t), what]),
    ),
    reasons: table(
      ['Reason', 'Error', 'You can fix it', 'KaaS retries', 'Meaning'],
      [
        ...Object.entries(errorReasons).map(([r, e]) => [
          code(r),
          'yes',
          e.userFixable ? 'yes' : 'no',
          e.retryable ? 'yes' : 'no',
          e.summary,
        ]),
        ...Object.entries(progressReasons).map(([r, what]) => [code(r), 'no', '', '', what]),
      ],
    ),
    columns: table(
      ['Column', 'From', 'Shown'],
      [
        ['NAME', code('.metadata.name'), 'always'],
        ...clusterPrinterColumns.map((c) => [
          c.name.toUpperCase(),
          code(c.jsonPath),
          c.priority ? 'with -o wide' : 'always',
        ]),
      ],
    ),
  };
}

const begin = (name: string): string => `<!-- BEGIN GENERATED ${name} -->`;
const end = (name: string): string => `<!-- END GENERATED ${name} -->`;

/**
 * `doc` with every generated section replaced by the current output. Sections are fenced by
 * BEGIN/END markers; prettier leaves them alone.
 */
export function applyGeneratedSections(doc: string, sections: Record<string, string>): string {
  let out = doc;
  for (const [name, body] of Object.entries(sections)) {
    const start = out.indexOf(begin(name));
    const stop = out.indexOf(end(name));
    if (start < 0 || stop < start) throw new Error(`docs/bootstrap.md has no section ${name}`);
    const block = `${begin(name)}\n<!-- prettier-ignore-start -->\n${body}\n<!-- prettier-ignore-end -->\n`;
    out = out.slice(0, start) + block + out.slice(stop);
  }
  return out;
}
