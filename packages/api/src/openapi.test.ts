import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { crdFor, kindInfo, kindsTable } from './kindsTable.ts';
import type { JSONSchemaProps } from './openapi.ts';
import { parseBootstrap } from './parseBootstrap.ts';

const cluster = kindInfo('Cluster');
assert.ok(cluster);
const schema = cluster.custom.schema;

const junctors = ['allOf', 'anyOf', 'oneOf', 'not'] as const;

/** apiextensions' structural-schema rules, the ones our generator could break. */
function structuralViolations(s: JSONSchemaProps, path: string, inJunctor: boolean, out: string[]): void {
  const raw = s as Record<string, unknown>;
  for (const bad of ['$ref', '$schema', 'definitions', '$defs', 'const', 'nullable', 'propertyNames']) {
    if (bad in raw) out.push(`${path}: has ${bad}`);
  }
  for (const key of Object.keys(raw)) if (key.startsWith('x-kaas-')) out.push(`${path}: has ${key}`);
  if (inJunctor) {
    for (const bad of ['type', 'description', 'default', 'additionalProperties', 'items']) {
      if (bad in raw) out.push(`${path}: ${bad} inside a junctor`);
    }
  } else {
    const needsType = s.properties || s.items || s.additionalProperties || s.enum || s.pattern;
    if (needsType && !s.type) out.push(`${path}: no type`);
    if (s.type === undefined && !inJunctor && path !== '') out.push(`${path}: no type`);
  }
  if (s.properties && s.additionalProperties !== undefined)
    out.push(`${path}: properties and additionalProperties`);
  if (s.additionalProperties === false) out.push(`${path}: additionalProperties false`);
  if (s.pattern !== undefined) {
    // RE2 has no lookaround and no backreferences.
    if (/\(\?[=!<]|\\[1-9]/.test(s.pattern)) out.push(`${path}: pattern not RE2: ${s.pattern}`);
    assert.doesNotThrow(() => new RegExp(s.pattern as string), path);
  }
  const listKeys = s['x-kubernetes-list-map-keys'];
  if (listKeys) {
    if (s['x-kubernetes-list-type'] !== 'map') out.push(`${path}: list-map-keys without list-type map`);
    for (const k of listKeys)
      if (!s.items?.required?.includes(k)) out.push(`${path}: map key ${k} not required`);
  }
  for (const j of junctors) {
    const v = s[j];
    const list = Array.isArray(v) ? v : v ? [v] : [];
    for (const [i, sub] of list.entries()) {
      for (const p of Object.keys(sub.properties ?? {})) {
        if (!s.properties?.[p]) out.push(`${path}.${j}[${i}]: property ${p} not in the structural part`);
      }
      structuralViolations(sub, `${path}.${j}[${i}]`, true, out);
    }
  }
  for (const [name, child] of Object.entries(s.properties ?? {}))
    structuralViolations(child, `${path}.${name}`, inJunctor, out);
  if (s.items) structuralViolations(s.items, `${path}[]`, inJunctor, out);
  if (typeof s.additionalProperties === 'object')
    structuralViolations(s.additionalProperties, `${path}{}`, inJunctor, out);
}

/** A small OpenAPI validator: enough of the CRD semantics to check our schema agrees with zod. */
function violations(value: unknown, s: JSONSchemaProps, path = '', junctor = false): string[] {
  const out: string[] = [];
  const t = s.type;
  const actual = Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'number' && Number.isInteger(value)
        ? 'integer'
        : typeof value;
  if (t && !(t === actual || (t === 'number' && actual === 'integer')))
    return [`${path}: ${actual} is not ${t}`];
  if (s.enum && !s.enum.includes(value)) out.push(`${path}: not in enum`);
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${path}: < minimum`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${path}: > maximum`);
  }
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) out.push(`${path}: too short`);
    if (s.maxLength !== undefined && value.length > s.maxLength) out.push(`${path}: too long`);
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(value)) out.push(`${path}: pattern`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) out.push(`${path}: too few items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) out.push(`${path}: too many items`);
    if (s.items)
      value.forEach((v, i) => out.push(...violations(v, s.items as JSONSchemaProps, `${path}[${i}]`)));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in obj)) out.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      const child =
        s.properties?.[k] ??
        (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (child) out.push(...violations(v, child, `${path}.${k}`));
      // Junctors only validate; unknown fields are the structural part's business (pruning).
      else if (!junctor && s.properties && !s['x-kubernetes-preserve-unknown-fields'])
        out.push(`${path}.${k}: unknown (pruned)`);
    }
  }
  if (s.oneOf) {
    const matching = s.oneOf.filter((b) => violations(value, b, path, true).length === 0).length;
    if (matching !== 1) out.push(`${path}: matches ${matching} of oneOf`);
  }
  if (s.not && violations(value, s.not, path, true).length === 0) out.push(`${path}: matches not`);
  if (s.anyOf && !s.anyOf.some((b) => violations(value, b, path, true).length === 0))
    out.push(`${path}: matches no anyOf`);
  return out;
}

test('the Cluster CRD schema is structural', () => {
  const out: string[] = [];
  structuralViolations(schema, '', false, out);
  assert.deepEqual(out, []);
  assert.deepEqual(schema.properties?.metadata, { type: 'object' });
  assert.deepEqual(schema.properties?.apiVersion, { type: 'string' });
});

test('defaults in the CRD schema are valid against their own schema', () => {
  const checked: string[] = [];
  const walk = (s: JSONSchemaProps, path: string): void => {
    if (s.default !== undefined) {
      assert.deepEqual(violations(s.default, s, path), [], path);
      checked.push(path);
    }
    for (const [k, c] of Object.entries(s.properties ?? {})) walk(c, `${path}.${k}`);
    if (s.items) walk(s.items, `${path}[]`);
  };
  walk(schema, '');
  for (const p of [
    '.spec.provider',
    '.spec.network.serviceCIDR',
    '.spec.nodePools[].replicas',
    '.spec.kubernetesVersion',
  ]) {
    assert.ok(checked.includes(p), `no default at ${p}`);
  }
  // A union member must not carry a default: it would be applied whatever the provider.
  assert.equal(schema.properties?.spec?.properties?.provider?.properties?.local?.default, undefined);
});

test('the examples, as created, pass the CRD schema', () => {
  for (const file of ['bootstrap.yaml', 'openstack.yaml', 'eks.yaml']) {
    const text = readFileSync(new URL(`../../../examples/${file}`, import.meta.url), 'utf8');
    const { objects, problems } = parseBootstrap(text, file);
    assert.deepEqual(problems, [], file);
    const clusters = objects.filter((o) => o.kind === 'Cluster');
    assert.equal(clusters.length, 1, file);
    for (const c of clusters) assert.deepEqual(violations(c, schema), [], file);
  }
});

test('the CRD schema rejects what the zod schema rejects, where OpenAPI can say it', () => {
  const base = (): Record<string, any> => ({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'demo' },
    spec: { provider: { type: 'local' }, nodePools: [{ name: 'w' }], auth: { clusterAdminRoleIds: ['a'] } },
  });
  const cases: { name: string; edit: (c: Record<string, any>) => void; ok: boolean }[] = [
    { name: 'valid', edit: () => {}, ok: true },
    { name: 'replicas 0', edit: (c) => (c.spec.nodePools[0].replicas = 0), ok: false },
    { name: 'bad provider type', edit: (c) => (c.spec.provider.type = 'gcp'), ok: false },
    {
      name: 'openstack without its block',
      edit: (c) => (c.spec.provider = { type: 'openstack' }),
      ok: false,
    },
    {
      name: 'local with the eks block',
      edit: (c) => (c.spec.provider = { type: 'local', eks: { region: 'us-east-1' } }),
      ok: false,
    },
    {
      name: 'eks with its block',
      edit: (c) => (c.spec.provider = { type: 'eks', eks: { region: 'us-east-1' } }),
      ok: true,
    },
    { name: 'pool name pattern', edit: (c) => (c.spec.nodePools[0].name = 'W_1'), ok: false },
    { name: 'no pools', edit: (c) => (c.spec.nodePools = []), ok: false },
    { name: 'missing auth', edit: (c) => delete c.spec.auth, ok: false },
    { name: 'version pattern', edit: (c) => (c.spec.kubernetesVersion = 'latest'), ok: false },
    {
      name: 'enabled not boolean',
      edit: (c) => (c.spec.services = { logging: { enabled: 'no' } }),
      ok: false,
    },
  ];
  for (const c of cases) {
    const obj = base();
    c.edit(obj);
    assert.equal(
      violations(obj, schema).length === 0,
      c.ok,
      `${c.name}: ${violations(obj, schema).join(', ')}`,
    );
  }
});

test('kindsTable registers Cluster as a namespaced kind with status and printer columns', () => {
  assert.deepEqual(
    kindsTable.map((k) => k.kind),
    ['Cluster', 'Backup', 'Restore', 'BackupSchedule'],
  );
  const { group, version, kind, listKind, plural, singular, namespaced, shortNames, subresources } = cluster;
  assert.deepEqual(
    { group, version, kind, listKind, plural, singular, namespaced, shortNames, subresources },
    {
      group: 'kaas.dev',
      version: 'v1alpha1',
      kind: 'Cluster',
      listKind: 'ClusterList',
      plural: 'clusters',
      singular: 'cluster',
      namespaced: true,
      shortNames: ['kc'],
      subresources: ['status'],
    },
  );
  assert.equal(cluster.custom.crdName, 'clusters.kaas.dev');
  const always = cluster.custom.printerColumns.filter((c) => !c.priority).map((c) => c.name.toUpperCase());
  assert.deepEqual(['NAME', ...always], ['NAME', 'PROVIDER', 'VERSION', 'READY', 'NODES', 'AGE']);
  assert.equal(cluster.custom.printerColumns.find((c) => c.name === 'Age')?.type, 'date');
});

test('crdFor builds an apiextensions.k8s.io/v1 CRD', () => {
  const crd = crdFor(cluster) as Record<string, any>;
  assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
  assert.equal(crd.metadata.name, 'clusters.kaas.dev');
  assert.equal(crd.spec.scope, 'Namespaced');
  assert.deepEqual(crd.spec.names.categories, ['kaas']);
  const v = crd.spec.versions[0];
  assert.equal(v.name, 'v1alpha1');
  assert.equal(v.storage, true);
  assert.deepEqual(v.subresources, { status: {} });
  assert.equal(v.schema.openAPIV3Schema, schema);
  assert.equal(v.additionalPrinterColumns.length, cluster.custom.printerColumns.length);
});
