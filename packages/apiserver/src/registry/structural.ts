// Validation and pruning of custom resources against their CRD's openAPIV3Schema, as
// apiextensions-apiserver does it: kube-openapi's schema validator messages mapped to field errors
// (kubeOpenAPIResultToFieldErrors), and structural pruning of fields the schema does not declare.
import { childPath, fieldError, indexPath, jsonType } from './fielderrors.ts';
import type { FieldCause, JSONSchemaProps } from './types.ts';

const int32Min = -2147483648;
const int32Max = 2147483647;
const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const dateTimeRe = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const dateRe = /^\d{4}-\d{2}-\d{2}$/;
const uuidRe = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

const patternCache = new Map<string, RegExp | null>();

function compilePattern(p: string): RegExp | null {
  let re = patternCache.get(p);
  if (re === undefined) {
    try {
      re = new RegExp(p, 'u');
    } catch {
      re = null; // not an ECMAScript regex: upstream (RE2) would have rejected the CRD; skip the check
    }
    patternCache.set(p, re);
  }
  return re;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function typeMatches(type: string, value: unknown): boolean {
  const t = jsonType(value);
  return t === type || (type === 'number' && t === 'integer');
}

function checkFormat(schema: JSONSchemaProps, value: unknown, path: string, out: FieldCause[]): void {
  const f = schema.format;
  if (!f) return;
  const name = `${path} in body must be of type ${f}`;
  if (typeof value === 'number') {
    if (f === 'int32' && (value < int32Min || value > int32Max || !Number.isInteger(value))) {
      out.push(fieldError.invalid(path, value, name));
    } else if (f === 'int64' && !Number.isSafeInteger(value)) {
      out.push(fieldError.invalid(path, value, name));
    }
    return;
  }
  if (typeof value !== 'string') return;
  const ok =
    f === 'byte'
      ? base64Re.test(value)
      : f === 'date-time' || f === 'datetime'
        ? dateTimeRe.test(value) && !Number.isNaN(Date.parse(value))
        : f === 'date'
          ? dateRe.test(value)
          : f === 'uuid'
            ? uuidRe.test(value)
            : true;
  if (!ok) out.push(fieldError.invalid(path, value, `${name}: ${JSON.stringify(value)}`));
}

function validateValue(schema: JSONSchemaProps, value: unknown, path: string, out: FieldCause[]): void {
  const inBody = `${path} in body`;
  if (value === null || value === undefined) {
    if (schema.type && !schema.nullable)
      out.push(fieldError.typeInvalid(path, 'null', `${inBody} must be of type ${schema.type}: "null"`));
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      const t = jsonType(value);
      out.push(
        fieldError.typeInvalid(path, t, `${inBody} must be of type integer,string: ${JSON.stringify(t)}`),
      );
      return;
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    const t = jsonType(value);
    out.push(
      fieldError.typeInvalid(path, t, `${inBody} must be of type ${schema.type}: ${JSON.stringify(t)}`),
    );
    return;
  }
  checkFormat(schema, value, path, out);
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    out.push(fieldError.notSupported(path, value, schema.enum));
  }

  if (typeof value === 'number') {
    if (schema.maximum !== undefined) {
      const bad = schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum;
      if (bad) {
        const op = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
        out.push(fieldError.invalid(path, value, `${inBody} should be ${op} ${schema.maximum}`));
      }
    }
    if (schema.minimum !== undefined) {
      const bad = schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum;
      if (bad) {
        const op = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
        out.push(fieldError.invalid(path, value, `${inBody} should be ${op} ${schema.minimum}`));
      }
    }
    if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
      const q = value / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) {
        out.push(fieldError.invalid(path, value, `${inBody} should be a multiple of ${schema.multipleOf}`));
      }
    }
  } else if (typeof value === 'string') {
    if (schema.maxLength !== undefined && runeCount(value) > schema.maxLength) {
      out.push(fieldError.tooLong(path, schema.maxLength));
    }
    if (schema.minLength !== undefined && runeCount(value) < schema.minLength) {
      out.push(
        fieldError.invalid(path, value, `${inBody} should be at least ${schema.minLength} chars long`),
      );
    }
    if (schema.pattern !== undefined) {
      const re = compilePattern(schema.pattern);
      if (re && !re.test(value))
        out.push(fieldError.invalid(path, value, `${inBody} should match '${schema.pattern}'`));
    }
  } else if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      out.push(fieldError.tooMany(path, value.length, schema.maxItems));
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      out.push(
        fieldError.invalid(path, value.length, `${inBody} should have at least ${schema.minItems} items`),
      );
    }
    if (schema.uniqueItems) {
      for (let i = 1; i < value.length; i++) {
        if (value.slice(0, i).some((x) => deepEqual(x, value[i]))) {
          out.push(fieldError.duplicate(indexPath(path, i), value[i]));
        }
      }
    }
    if (schema.items) value.forEach((item, i) => validateValue(schema.items!, item, indexPath(path, i), out));
  } else if (isObject(value)) {
    validateObjectValue(schema, value, path, out);
  }

  validateCombinators(schema, value, path, out);
}

function validateObjectValue(
  schema: JSONSchemaProps,
  value: Record<string, unknown>,
  path: string,
  out: FieldCause[],
): void {
  const keys = Object.keys(value);
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
    out.push(fieldError.tooMany(path, keys.length, schema.maxProperties));
  }
  if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
    out.push(
      fieldError.invalid(
        path,
        keys.length,
        `${path} in body should have at least ${schema.minProperties} properties`,
      ),
    );
  }
  for (const r of schema.required ?? []) {
    if (value[r] === undefined) out.push(fieldError.required(childPath(path, r)));
  }
  const props = schema.properties;
  const additional = schema.additionalProperties;
  for (const k of keys) {
    const sub = props?.[k];
    if (sub) validateValue(sub, value[k], childPath(path, k), out);
    else if (isObject(additional)) validateValue(additional, value[k], childPath(path, k), out);
  }
}

function passes(schema: JSONSchemaProps, value: unknown, path: string): boolean {
  const tmp: FieldCause[] = [];
  validateValue(schema, value, path, tmp);
  return tmp.length === 0;
}

function validateCombinators(schema: JSONSchemaProps, value: unknown, path: string, out: FieldCause[]): void {
  for (const s of schema.allOf ?? []) validateValue(s, value, path, out);
  if (schema.anyOf && !schema.anyOf.some((s) => passes(s, value, path))) {
    out.push(fieldError.invalid(path, value, `${path} in body must validate at least one schema (anyOf)`));
  }
  if (schema.oneOf && schema.oneOf.filter((s) => passes(s, value, path)).length !== 1) {
    out.push(
      fieldError.invalid(path, value, `${path} in body must validate one and only one schema (oneOf)`),
    );
  }
  if (schema.not && passes(schema.not, value, path)) {
    out.push(fieldError.invalid(path, value, `${path} in body must not validate the schema (not)`));
  }
}

/** Root fields every object keeps whatever its schema says; metadata is checked as ObjectMeta. */
const typeMetaFields = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Validates a custom resource against its version's openAPIV3Schema. The root's apiVersion, kind
 * and metadata are skipped here: they are type and object metadata, checked by the caller.
 */
export function validateCustomResource(schema: JSONSchemaProps | undefined, obj: unknown): FieldCause[] {
  const out: FieldCause[] = [];
  if (!schema) return out;
  if (!isObject(obj)) {
    out.push(
      fieldError.typeInvalid(
        '',
        jsonType(obj),
        `body must be of type object: ${JSON.stringify(jsonType(obj))}`,
      ),
    );
    return out;
  }
  const root: JSONSchemaProps = { ...schema };
  if (root.properties) {
    root.properties = Object.fromEntries(
      Object.entries(root.properties).filter(([k]) => !typeMetaFields.has(k)),
    );
  }
  if (root.required) root.required = root.required.filter((k) => !typeMetaFields.has(k));
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!typeMetaFields.has(k)) rest[k] = v;
  validateValue(root, rest, '', out);
  return out;
}

/**
 * Drops the fields a structural schema does not declare, in place, and returns their paths
 * (`spec.foo`, `spec.items[0].bar`), as upstream prunes custom resources on every write. Fields
 * under x-kubernetes-preserve-unknown-fields are kept. metadata is left to the caller.
 */
export function pruneCustomResource(
  schema: JSONSchemaProps | undefined,
  obj: Record<string, unknown>,
  opts: { preserveUnknownFields?: boolean } = {},
): string[] {
  const dropped: string[] = [];
  if (!schema || opts.preserveUnknownFields) return dropped;
  pruneObject(schema, obj, '', dropped, true);
  return dropped;
}

function pruneValue(schema: JSONSchemaProps, value: unknown, path: string, dropped: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => pruneValue(schema.items!, v, indexPath(path, i), dropped));
    return;
  }
  if (isObject(value))
    pruneObject(schema, value, path, dropped, schema['x-kubernetes-embedded-resource'] === true);
}

function pruneObject(
  schema: JSONSchemaProps,
  obj: Record<string, unknown>,
  path: string,
  dropped: string[],
  keepTypeMeta: boolean,
): void {
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const props = schema.properties;
  const additional = schema.additionalProperties;
  for (const k of Object.keys(obj)) {
    if (keepTypeMeta && typeMetaFields.has(k)) continue;
    const sub = props?.[k];
    if (sub) pruneValue(sub, obj[k], childPath(path, k), dropped);
    else if (isObject(additional)) pruneValue(additional, obj[k], childPath(path, k), dropped);
    else if (!preserve && additional !== true) {
      dropped.push(childPath(path, k));
      delete obj[k];
    }
  }
}

/**
 * Fills in the schema's `default`s where fields are absent (or null and not nullable), in place,
 * as apiextensions-apiserver does when decoding a custom resource. Defaults apply inside objects
 * that exist (or were just defaulted) and inside every array item and map value.
 */
export function defaultCustomResource(
  schema: JSONSchemaProps | undefined,
  obj: Record<string, unknown>,
): void {
  if (schema) defaultObject(schema, obj);
}

function defaultValue(schema: JSONSchemaProps, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const v of value) defaultValue(schema.items, v);
  } else if (isObject(value)) {
    defaultObject(schema, value);
  }
}

function defaultObject(schema: JSONSchemaProps, obj: Record<string, unknown>): void {
  for (const [k, sub] of Object.entries(schema.properties ?? {})) {
    const missing = obj[k] === undefined || (obj[k] === null && !sub.nullable);
    if (missing && sub.default !== undefined) obj[k] = structuredClone(sub.default);
    if (obj[k] !== undefined && obj[k] !== null) defaultValue(sub, obj[k]);
  }
  const additional = schema.additionalProperties;
  if (isObject(additional)) {
    for (const [k, v] of Object.entries(obj)) if (!schema.properties?.[k]) defaultValue(additional, v);
  }
}
