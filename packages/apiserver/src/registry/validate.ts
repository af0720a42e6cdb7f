// Write-time validation of any object in the registry: schema checks (kubernetes-models' compiled
// validators for built-in kinds, our structural validator for custom resources), unknown-field
// detection for fieldValidation=Strict/Warn, and the ObjectMeta rules upstream applies to every
// kind (apimachinery/pkg/api/validation/objectmeta.go) that the schemas do not carry.
import { childPath, fieldError, goValue, indexPath, jsonType } from './fielderrors.ts';
import type { AjvError, FieldType } from './models.ts';
import { definitionName, models, schemaValidator } from './models.ts';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  validateName,
} from './names.ts';
import { defaultCustomResource, pruneCustomResource, validateCustomResource } from './structural.ts';
import type { FieldCause, ResourceInfo } from './types.ts';

export { defaultCustomResource, pruneCustomResource, validateCustomResource } from './structural.ts';

/** The reason of unknown-field causes; the REST layer turns them into a 400 (Strict) or warnings. */
export const unknownFieldReason = 'FieldValueUnknown';

export interface ValidateOptions {
  /** Report fields the kind does not declare, as FieldValueUnknown causes. */
  strict: boolean;
  /**
   * Remove undeclared fields from `obj` in place (default true). Upstream drops them while
   * decoding, so a stored object never carries them, whatever fieldValidation says.
   */
  prune?: boolean;
}

export const totalAnnotationSizeLimitBytes = 256 * 1024;

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Every problem with `obj` as an instance of `info`: unknown fields (when opts.strict), schema
 * violations and metadata rules. Unless opts.prune is false, normalizes `obj` in place the way
 * upstream's decoding does: undeclared fields are pruned and, for custom resources, the schema's
 * defaults are applied before validation. Causes carry upstream's reasons and messages, e.g. {field: 'spec.replicas', reason:
 * 'FieldValueTypeInvalid', message: 'Invalid value: "string": spec.replicas in body must be of type
 * integer: "string"'}.
 */
export function validateObject(info: ResourceInfo, obj: unknown, opts: ValidateOptions): FieldCause[] {
  if (!isObject(obj)) {
    return [
      fieldError.typeInvalid(
        '',
        jsonType(obj),
        `body must be of type object: ${JSON.stringify(jsonType(obj))}`,
      ),
    ];
  }
  const prune = opts.prune ?? true;
  const causes: FieldCause[] = [];
  const unknown: string[] = [];
  if (info.custom) {
    unknown.push(...pruneCustomObject(info, obj, prune));
    if (prune) defaultCustomResource(info.custom.schema, obj);
  } else {
    const model = models().modelByDefinition(definitionName(info.group, info.version, info.kind));
    if (model) walkUnknown(model.name, obj, '', unknown, prune);
  }
  if (opts.strict) for (const f of unknown) causes.push(fieldError.unknown(f));

  if (!info.virtual) causes.push(...validateObjectMeta(info, obj.metadata));
  if (info.custom) {
    causes.push(...validateCustomResource(info.custom.schema, obj));
  } else {
    causes.push(...validateBuiltinSchema(info, obj));
    if (info.group === 'apiextensions.k8s.io' && info.kind === 'CustomResourceDefinition') {
      causes.push(...validateCRDSpec(obj));
    }
  }
  return causes;
}

function pruneCustomObject(info: ResourceInfo, obj: Record<string, any>, prune: boolean): string[] {
  const custom = info.custom!;
  const target = prune ? obj : structuredClone(obj);
  const dropped = pruneCustomResource(custom.schema, target, {
    preserveUnknownFields: custom.preserveUnknownFields,
  });
  if (isObject(target.metadata)) walkUnknown('V1ObjectMeta', target.metadata, 'metadata', dropped, true);
  return dropped;
}

/** Walks `value` along a client-node model, collecting (and optionally deleting) undeclared fields. */
function walkUnknown(
  modelName: string,
  value: Record<string, any>,
  path: string,
  out: string[],
  prune: boolean,
): void {
  const model = models().model(modelName);
  if (!model) return;
  for (const key of Object.keys(value)) {
    const type = model.fields.get(key);
    const p = childPath(path, key);
    if (!type) {
      out.push(p);
      if (prune) delete value[key];
      continue;
    }
    walkField(type, value[key], p, out, prune);
  }
}

function walkField(type: FieldType, value: unknown, path: string, out: string[], prune: boolean): void {
  switch (type.t) {
    case 'ref':
      if (isObject(value)) walkUnknown(type.model, value, path, out, prune);
      return;
    case 'array':
      if (Array.isArray(value))
        value.forEach((v, i) => walkField(type.items, v, indexPath(path, i), out, prune));
      return;
    case 'map':
      if (isObject(value))
        for (const [k, v] of Object.entries(value)) walkField(type.values, v, childPath(path, k), out, prune);
      return;
    default:
      return;
  }
}

/** JSON pointer (/spec/containers/0/image) to a field path (spec.containers[0].image). */
function pointerToPath(root: unknown, pointer: string): { path: string; value: unknown } {
  let path = '';
  let cur: any = root;
  if (!pointer) return { path, value: cur };
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path = indexPath(path, Number(seg));
      cur = cur[Number(seg)];
    } else {
      path = childPath(path, seg);
      cur = cur?.[seg];
    }
  }
  return { path, value: cur };
}

function validateBuiltinSchema(info: ResourceInfo, obj: Record<string, any>): FieldCause[] {
  const validate = schemaValidator(definitionName(info.group, info.version, info.kind));
  if (!validate || validate(obj)) return [];
  return ajvToCauses(obj, validate.errors ?? []);
}

/** kubernetes-models' ajv errors, worded as kube-openapi words them. */
export function ajvToCauses(obj: unknown, errors: readonly AjvError[]): FieldCause[] {
  const out: FieldCause[] = [];
  // oneOf/anyOf (IntOrString, Quantity) report each failed branch first; fold them into one cause.
  const alternatives = new Map<string, string[]>();
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') alternatives.set(e.instancePath, []);
  }
  for (const e of errors) {
    if (e.keyword === 'type' && alternatives.has(e.instancePath))
      alternatives.get(e.instancePath)!.push(String(e.params.type));
  }
  for (const e of errors) {
    const { path, value } = pointerToPath(obj, e.instancePath);
    const inBody = `${path} in body`;
    switch (e.keyword) {
      case 'type': {
        if (alternatives.has(e.instancePath)) break;
        const t = jsonType(value);
        out.push(
          fieldError.typeInvalid(path, t, `${inBody} must be of type ${e.params.type}: ${JSON.stringify(t)}`),
        );
        break;
      }
      case 'oneOf':
      case 'anyOf': {
        const types = [...new Set(alternatives.get(e.instancePath))].sort().join(',');
        const t = jsonType(value);
        out.push(
          fieldError.typeInvalid(
            path,
            t,
            `${inBody} must be of type ${types || 'one of the alternatives'}: ${JSON.stringify(t)}`,
          ),
        );
        break;
      }
      case 'required':
        out.push(fieldError.required(childPath(path, String(e.params.missingProperty))));
        break;
      case 'enum':
        out.push(fieldError.notSupported(path, value, (e.params.allowedValues as unknown[]) ?? []));
        break;
      case 'format':
        out.push(
          fieldError.invalid(
            path,
            value,
            `${inBody} must be of type ${e.params.format}${typeof value === 'string' ? `: ${JSON.stringify(value)}` : ''}`,
          ),
        );
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        out.push(
          fieldError.invalid(
            path,
            value,
            `${inBody} should be less than${e.keyword === 'maximum' ? ' or equal to' : ''} ${e.params.limit}`,
          ),
        );
        break;
      case 'minimum':
      case 'exclusiveMinimum':
        out.push(
          fieldError.invalid(
            path,
            value,
            `${inBody} should be greater than${e.keyword === 'minimum' ? ' or equal to' : ''} ${e.params.limit}`,
          ),
        );
        break;
      case 'maxLength':
        out.push(fieldError.tooLong(path, Number(e.params.limit)));
        break;
      case 'minLength':
        out.push(
          fieldError.invalid(path, value, `${inBody} should be at least ${e.params.limit} chars long`),
        );
        break;
      case 'pattern':
        out.push(fieldError.invalid(path, value, `${inBody} should match '${e.params.pattern}'`));
        break;
      case 'maxItems':
        out.push(fieldError.tooMany(path, Array.isArray(value) ? value.length : -1, Number(e.params.limit)));
        break;
      case 'minItems':
        out.push(
          fieldError.invalid(
            path,
            Array.isArray(value) ? value.length : value,
            `${inBody} should have at least ${e.params.limit} items`,
          ),
        );
        break;
      default:
        out.push(fieldError.invalid(path, value, `${inBody} failed schema rule ${e.keyword}`));
    }
  }
  return out;
}

/** The ObjectMeta rules of ValidateObjectMetaAccessor, for create and update alike. */
export function validateObjectMeta(info: ResourceInfo, meta: unknown): FieldCause[] {
  const out: FieldCause[] = [];
  if (!isObject(meta)) {
    out.push(fieldError.required('metadata.name', 'name or generateName is required'));
    return out;
  }
  const format = info.nameFormat ?? 'subdomain';
  if (typeof meta.generateName === 'string' && meta.generateName) {
    for (const msg of validateName(format, meta.generateName, true)) {
      out.push(fieldError.invalid('metadata.generateName', meta.generateName, msg));
    }
  }
  if (typeof meta.name !== 'string' || meta.name === '') {
    // Upstream generates the name before validating; callers that validate first still pass.
    const generated = typeof meta.generateName === 'string' && meta.generateName !== '';
    if (!generated) out.push(fieldError.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of validateName(format, meta.name, false))
      out.push(fieldError.invalid('metadata.name', meta.name, msg));
  }
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (info.namespaced) {
    if (!ns) out.push(fieldError.required('metadata.namespace'));
    else for (const msg of isDNS1123Label(ns)) out.push(fieldError.invalid('metadata.namespace', ns, msg));
  } else if (ns) {
    out.push(fieldError.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    out.push(
      fieldError.invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'),
    );
  }
  out.push(...validateLabels(meta.labels, 'metadata.labels'));
  out.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  out.push(...validateOwnerReferences(meta.ownerReferences, 'metadata.ownerReferences'));
  out.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  return out;
}

/**
 * ValidateObjectMetaAccessorUpdate's rules, beyond what validateObjectMeta checks on the new object:
 * identity fields are immutable, generation never goes back, and no finalizer may be added once
 * deletion has started.
 */
export function validateObjectMetaUpdate(meta: unknown, old: unknown): FieldCause[] {
  const out: FieldCause[] = [];
  if (!isObject(meta) || !isObject(old)) return out;
  if (old.deletionTimestamp) {
    const before = new Set<unknown>(Array.isArray(old.finalizers) ? old.finalizers : []);
    const added = (Array.isArray(meta.finalizers) ? meta.finalizers : [])
      .filter((f: unknown) => !before.has(f))
      .sort();
    if (added.length) {
      out.push(
        fieldError.forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f: unknown) => JSON.stringify(f)).join(', ')}}`,
        ),
      );
    }
  }
  if (
    typeof meta.generation === 'number' &&
    typeof old.generation === 'number' &&
    meta.generation < old.generation
  ) {
    out.push(fieldError.invalid('metadata.generation', meta.generation, 'must not be decremented'));
  }
  for (const f of [
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ] as const) {
    const a = meta[f] ?? '';
    const b = old[f] ?? '';
    if (a !== b) out.push(fieldError.invalid(`metadata.${f}`, meta[f] ?? '', 'field is immutable'));
  }
  return out;
}

export function validateLabels(labels: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!isObject(labels)) return out;
  for (const [k, v] of Object.entries(labels)) {
    for (const msg of isQualifiedName(k)) out.push(fieldError.invalid(field, k, msg));
    if (typeof v === 'string')
      for (const msg of isValidLabelValue(v)) out.push(fieldError.invalid(field, v, msg));
  }
  return out;
}

export function validateAnnotations(annotations: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!isObject(annotations)) return out;
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    // The rule is QualifiedName except that case doesn't matter.
    for (const msg of isQualifiedName(k.toLowerCase())) out.push(fieldError.invalid(field, k, msg));
    total += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (total > totalAnnotationSizeLimitBytes)
    out.push(fieldError.tooLong(field, totalAnnotationSizeLimitBytes));
  return out;
}

function validateOwnerReferences(refs: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!Array.isArray(refs)) return out;
  let controller = '';
  for (const ref of refs) {
    if (!isObject(ref)) continue;
    const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : '';
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version)
      out.push(fieldError.invalid(`${field}.apiVersion`, apiVersion, 'version must not be empty'));
    if (!ref.kind) out.push(fieldError.invalid(`${field}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) out.push(fieldError.invalid(`${field}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) out.push(fieldError.invalid(`${field}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (apiVersion === 'v1' && ref.kind === 'Event') {
      out.push(fieldError.invalid(field, ref, '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref.controller === true) {
      const name = `${String(ref.kind)}/${String(ref.name)}`;
      if (controller) {
        out.push(
          fieldError.invalid(
            field,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${name}`,
          ),
        );
      } else {
        controller = name;
      }
    }
  }
  return out;
}

function validateFinalizers(finalizers: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!Array.isArray(finalizers)) return out;
  for (const f of finalizers) {
    if (typeof f === 'string')
      for (const msg of isQualifiedName(f)) out.push(fieldError.invalid(field, f, msg));
  }
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    out.push(
      fieldError.invalid(field, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'),
    );
  }
  return out;
}

/** The CustomResourceDefinition rules the registry relies on (apiextensions validation.go, a subset). */
function validateCRDSpec(crd: Record<string, any>): FieldCause[] {
  const out: FieldCause[] = [];
  const spec = crd.spec;
  if (!isObject(spec)) return out; // the schema already reports spec as required
  const group = typeof spec.group === 'string' ? spec.group : '';
  if (!group) out.push(fieldError.required('spec.group'));
  else if (isDNS1123Subdomain(group).length)
    out.push(fieldError.invalid('spec.group', group, isDNS1123Subdomain(group).join(',')));
  else if (group.split('.').length < 2)
    out.push(fieldError.invalid('spec.group', group, 'should be a domain with at least one dot'));

  if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') {
    if (!spec.scope) out.push(fieldError.required('spec.scope'));
    else out.push(fieldError.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  }

  const names = isObject(spec.names) ? spec.names : {};
  for (const n of ['plural', 'singular', 'kind', 'listKind'] as const) {
    if (n !== 'singular' && n !== 'listKind' && !names[n]) out.push(fieldError.required(`spec.names.${n}`));
  }
  if (typeof names.plural === 'string' && names.plural) {
    for (const msg of isDNS1035Label(names.plural))
      out.push(fieldError.invalid('spec.names.plural', names.plural, msg));
  }
  if (typeof names.singular === 'string' && names.singular) {
    for (const msg of isDNS1035Label(names.singular))
      out.push(fieldError.invalid('spec.names.singular', names.singular, msg));
  }
  if (typeof names.kind === 'string' && names.kind && names.kind === names.listKind) {
    out.push(
      fieldError.invalid('spec.names.listKind', names.listKind, 'kind and listKind cannot be the same'),
    );
  }

  const name = crd.metadata?.name;
  if (typeof name === 'string' && name && names.plural && group && name !== `${names.plural}.${group}`) {
    out.push(fieldError.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }

  const versions: unknown[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    out.push(fieldError.required('spec.versions', 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  let storage = 0;
  versions.forEach((v, i) => {
    if (!isObject(v)) return;
    const path = indexPath('spec.versions', i);
    if (v.storage === true) storage++;
    if (typeof v.name === 'string') {
      if (seen.has(v.name))
        out.push(
          fieldError.invalid('spec.versions', goVersions(versions), 'must contain unique version names'),
        );
      seen.add(v.name);
      const errs = isDNS1035Label(v.name);
      if (errs.length) out.push(fieldError.invalid(`${path}.name`, v.name, errs.join(',')));
    }
    const schema = v.schema?.openAPIV3Schema;
    if (!isObject(schema)) {
      if (spec.preserveUnknownFields !== true) {
        out.push(fieldError.required(`${path}.schema.openAPIV3Schema`, 'schemas are required'));
      }
    } else if (schema.type !== 'object') {
      const field = `${path}.schema.openAPIV3Schema.type`;
      if (!schema.type) out.push(fieldError.required(field, 'must not be empty at the root'));
      else out.push(fieldError.invalid(field, schema.type, 'must be object at the root'));
    }
  });
  if (versions.length && storage !== 1) {
    out.push(
      fieldError.invalid(
        'spec.versions',
        goVersions(versions),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  return out;
}

/** The versions, named, for messages that print the whole list. */
function goVersions(versions: unknown[]): string {
  return versions.map((v) => (isObject(v) ? String(v.name) : goValue(v))).join(',');
}
