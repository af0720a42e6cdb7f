// zod schema -> a structural OpenAPI v3 schema, as a CustomResourceDefinition's openAPIV3Schema
// must be (apiextensions.k8s.io/v1): every node typed, no $ref, no `const`, no
// additionalProperties beside properties, and unions expressed as one object whose members are
// chosen by value validations (oneOf) over the same properties.
import { z } from 'zod';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps we emit. */
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
  pattern?: string;
  default?: unknown;
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  /** Ours, for docs only (toStructuralSchema with notes): what a pattern means in words. */
  'x-kaas-format'?: string;
}

type Json = Record<string, unknown>;

const SAFE = Number.MAX_SAFE_INTEGER;

function isObj(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A union whose members are objects told apart by one property with a single enum value. */
function discriminatorOf(members: Json[]): string | undefined {
  const first = members[0];
  if (!first || !isObj(first.properties)) return undefined;
  for (const key of Object.keys(first.properties)) {
    const ok = members.every((m) => {
      const p = isObj(m.properties) ? m.properties[key] : undefined;
      return (
        isObj(p) &&
        Array.isArray(p.enum) &&
        p.enum.length === 1 &&
        Array.isArray(m.required) &&
        m.required.includes(key)
      );
    });
    if (ok) return key;
  }
  return undefined;
}

function mergeUnion(node: Json, members: Json[]): Json {
  const key = discriminatorOf(members);
  if (!key) {
    // Unions of plain values (1 | 3) become one enum; anything else is not structural.
    const values = members.flatMap((m) => (Array.isArray(m.enum) ? m.enum : []));
    const types = new Set(members.map((m) => m.type));
    if (values.length === members.length && types.size === 1) {
      const { anyOf: _a, oneOf: _o, ...rest } = node;
      return { ...rest, type: [...types][0], enum: values };
    }
    throw new Error('union without a discriminator cannot be made structural');
  }
  const properties: Json = {};
  const tags: unknown[] = [];
  const branches: Json[] = [];
  const memberFields = members.map((m) => Object.keys(m.properties as Json).filter((p) => p !== key));
  members.forEach((m, i) => {
    const props = m.properties as Json;
    const tag = ((props[key] as Json).enum as unknown[])[0];
    tags.push(tag);
    for (const [name, schema] of Object.entries(props)) {
      if (name === key) continue;
      // A member's default would be applied whatever the tag, then break the branch: drop it.
      const { default: _d, ...rest } = schema as Json;
      properties[name] = rest;
    }
    const own = memberFields[i] ?? [];
    const others = memberFields.flatMap((f, j) => (j === i ? [] : f)).filter((f) => !own.includes(f));
    const required = ((m.required as string[] | undefined) ?? []).filter((r) => r !== key);
    const branch: Json = { properties: { [key]: { enum: [tag] } } };
    if (required.length > 0) branch.required = required;
    if (others.length > 0) branch.not = { anyOf: others.map((o) => ({ required: [o] })) };
    branches.push(branch);
  });
  const tagSchema = { ...((members[0]?.properties as Json)[key] as Json), enum: tags };
  const { anyOf: _a, oneOf: _o, ...rest } = node;
  return {
    ...rest,
    type: 'object',
    properties: { [key]: tagSchema, ...properties },
    required: [key],
    oneOf: branches,
  };
}

function structural(node: unknown, atRoot: boolean, keepNotes: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => structural(n, false, keepNotes));
  if (!isObj(node)) return node;
  let n: Json = { ...node };
  delete n.$schema;
  if (!keepNotes) for (const k of Object.keys(n)) if (k.startsWith('x-kaas-')) delete n[k];
  delete n.propertyNames;
  if (n.additionalProperties === false) delete n.additionalProperties;
  if ('const' in n) {
    n.enum = [n.const];
    delete n.const;
  }
  if (n.type === 'integer') {
    if (n.minimum === -SAFE) delete n.minimum;
    if (n.maximum === SAFE) delete n.maximum;
  }
  // zod adds its own RFC 3339 regex; `format: date-time` already says it (and RE2 differs).
  if (n.format === 'date-time') delete n.pattern;
  const union = (n.oneOf ?? n.anyOf) as Json[] | undefined;
  if (
    Array.isArray(union) &&
    union.every((m) => isObj(m) && (m.type === 'object' || Array.isArray(m.enum)))
  ) {
    n = mergeUnion(n, union);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(n)) {
    if (k === 'properties' && isObj(v)) {
      out.properties = Object.fromEntries(
        Object.entries(v).map(([name, s]) => {
          // The server owns metadata and the type identifiers: CRDs may not constrain them.
          if (atRoot && !keepNotes && name === 'metadata') return [name, { type: 'object' }];
          if (atRoot && !keepNotes && (name === 'apiVersion' || name === 'kind'))
            return [name, { type: 'string' }];
          return [name, structural(s, false, keepNotes)];
        }),
      );
    } else if (k === 'default' || k === 'enum') out[k] = v;
    else out[k] = structural(v, false, keepNotes);
  }
  return out;
}

/**
 * The structural OpenAPI v3 schema of a kind, for a CRD's openAPIV3Schema. `notes` keeps our own
 * `x-kaas-*` annotations (human descriptions of patterns) for the docs; a CRD must not have them.
 */
export function toStructuralSchema(schema: z.ZodType, options: { notes?: boolean } = {}): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'throw' });
  return structural(json, true, options.notes === true) as JSONSchemaProps;
}
