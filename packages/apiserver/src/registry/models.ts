// What we know about each built-in type's JSON shape, from the packages we already depend on:
// @kubernetes/client-node's generated models give every type's fields and their types
// (attributeTypeMap), kubernetes-models gives the OpenAPI definition names (its schema file names)
// and, in its .d.ts files, upstream's field descriptions and which fields are required.
//
// Everything here is loaded lazily and synchronously on first use (require of ES modules, Node
// 22.12+), because validation is synchronous and most processes never need all of it. The loaded
// data is immutable and derived from node_modules, so one copy per process is shared by every
// cluster's registry.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** A field's type, reduced to what strict decoding and OpenAPI generation need. */
export type FieldType =
  | { t: 'string'; format?: string }
  | { t: 'integer'; format: string }
  | { t: 'number'; format?: string }
  | { t: 'boolean' }
  | { t: 'any' }
  | { t: 'time' }
  | { t: 'microtime' }
  | { t: 'intorstring' }
  | { t: 'array'; items: FieldType }
  | { t: 'map'; values: FieldType }
  | { t: 'ref'; model: string };

export interface Model {
  /** client-node class name, e.g. V1DeploymentSpec. */
  name: string;
  /** OpenAPI definition name, e.g. io.k8s.api.apps.v1.DeploymentSpec (undefined if unknown). */
  defName: string | undefined;
  /** JSON field name -> type, in declaration order. */
  fields: Map<string, FieldType>;
}

interface ClientNodeAttribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

export interface ModelDocs {
  description?: string;
  fields: Map<string, { description?: string; required: boolean }>;
}

function parseType(type: string, format: string): FieldType {
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return { t: 'array', items: parseType(arr[1]!, format) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { t: 'map', values: parseType(map[1]!, format) };
  switch (type) {
    case 'string':
      return format ? { t: 'string', format } : { t: 'string' };
    case 'number':
      if (format === 'int32' || format === 'int64') return { t: 'integer', format };
      return format ? { t: 'number', format } : { t: 'number' };
    case 'boolean':
      return { t: 'boolean' };
    case 'Date':
      return { t: 'time' };
    case 'V1MicroTime':
      return { t: 'microtime' };
    case 'IntOrString':
      return { t: 'intorstring' };
    case 'any':
    case 'object':
      return { t: 'any' };
    default:
      return { t: 'ref', model: type };
  }
}

/** OpenAPI package of an API group, as upstream names its definitions. */
export function packageOfGroup(group: string): string {
  if (group === '') return 'io.k8s.api.core';
  if (group === 'apiextensions.k8s.io') return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions';
  if (group === 'apiregistration.k8s.io') return 'io.k8s.kube-aggregator.pkg.apis.apiregistration';
  return `io.k8s.api.${group.split('.')[0]!}`;
}

export function definitionName(group: string, version: string, kind: string): string {
  return `${packageOfGroup(group)}.${version}.${kind}`;
}

/** kubernetes-models names its schema modules after the definition: io.k8s.api.apps.v1.X -> IoK8sApiAppsV1X. */
export function schemaModuleName(defName: string): string {
  return defName
    .split('.')
    .map((seg) =>
      seg
        .split('-')
        .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
        .join(''),
    )
    .join('');
}

interface DefEntry {
  defName: string;
  /** Group token as client-node uses it to disambiguate, e.g. 'Core', 'Events', 'Apiextensions'. */
  token: string;
}

const versionRe = 'V\\d+(?:alpha\\d+|beta\\d+)?';
const schemaFilePatterns: {
  re: RegExp;
  def: (m: RegExpExecArray) => string;
  token: (m: RegExpExecArray) => string;
}[] = [
  {
    re: new RegExp(`^IoK8sApi([A-Z][a-z0-9]*)(${versionRe})([A-Z]\\w*)$`),
    def: (m) => `io.k8s.api.${m[1]!.toLowerCase()}.${m[2]!.toLowerCase()}.${m[3]!}`,
    token: (m) => m[1]!,
  },
  {
    re: new RegExp(`^IoK8sApiextensionsApiserverPkgApisApiextensions(${versionRe})([A-Z]\\w*)$`),
    def: (m) => `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${m[1]!.toLowerCase()}.${m[2]!}`,
    token: () => 'Apiextensions',
  },
  {
    re: new RegExp(`^IoK8sKubeAggregatorPkgApisApiregistration(${versionRe})([A-Z]\\w*)$`),
    def: (m) => `io.k8s.kube-aggregator.pkg.apis.apiregistration.${m[1]!.toLowerCase()}.${m[2]!}`,
    token: () => 'Apiregistration',
  },
  {
    re: new RegExp(`^IoK8sApimachineryPkgApisMeta(${versionRe})([A-Z]\\w*)$`),
    def: (m) => `io.k8s.apimachinery.pkg.apis.meta.${m[1]!.toLowerCase()}.${m[2]!}`,
    token: () => 'Meta',
  },
];

/** Where a definition's .d.ts (with descriptions) lives inside kubernetes-models. */
function docsPath(
  defName: string,
  modelsRoot: string,
  apimachineryRoot: string,
  groupDirs: string[],
): string | undefined {
  const parts = defName.split('.');
  const kind = parts[parts.length - 1]!;
  const version = parts[parts.length - 2]!;
  if (defName.startsWith('io.k8s.apimachinery.pkg.apis.meta.'))
    return join(apimachineryRoot, 'apis/meta', version, `${kind}.d.ts`);
  let pkg: string;
  if (defName.startsWith('io.k8s.api.')) pkg = parts[3]!;
  else if (defName.startsWith('io.k8s.apiextensions-apiserver.')) pkg = 'apiextensions';
  else if (defName.startsWith('io.k8s.kube-aggregator.')) pkg = 'apiregistration';
  else return undefined;
  const dir = pkg === 'core' ? 'v1' : groupDirs.find((d) => d.split('.')[0] === pkg);
  if (!dir) return undefined;
  return pkg === 'core'
    ? join(modelsRoot, 'v1', `${kind}.d.ts`)
    : join(modelsRoot, dir, version, `${kind}.d.ts`);
}

const typeMetaDescriptions: Record<string, string> = {
  apiVersion:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
  kind: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
};

/** Parses upstream's descriptions and required markers out of a kubernetes-models interface file. */
export function parseModelDocs(text: string): ModelDocs {
  const docs: ModelDocs = { fields: new Map() };
  const lines = text.split('\n');
  let pending: string[] | undefined;
  let block: string[] | undefined;
  let inInterface = false;
  for (const line of lines) {
    if (block) {
      if (/^\s*\*\/\s*$/.test(line)) {
        pending = block;
        block = undefined;
      } else {
        block.push(line.replace(/^\s*\* ?/, ''));
      }
      continue;
    }
    if (/^\s*\/\*\*\s*$/.test(line)) {
      block = [];
      continue;
    }
    if (!inInterface) {
      if (/^export interface I\w+(?: extends [\w, ]+)? \{/.test(line)) {
        inInterface = true;
        if (pending) docs.description = pending.join('\n').trim();
      }
      pending = undefined;
      continue;
    }
    if (/^\}/.test(line)) break;
    const field = /^ {4}"([^"]+)"(\?)?:/.exec(line);
    if (field) {
      const name = field[1]!;
      // kubernetes-models requires apiVersion and kind on top-level kinds; upstream's schemas do not.
      const typeMeta = name === 'apiVersion' || name === 'kind';
      const entry: { description?: string; required: boolean } = { required: field[2] !== '?' && !typeMeta };
      const description = pending
        ? pending.join('\n').trim()
        : typeMeta
          ? typeMetaDescriptions[name]
          : undefined;
      if (description) entry.description = description;
      docs.fields.set(name, entry);
    }
    pending = undefined;
  }
  return docs;
}

export class ModelIndex {
  readonly #models = new Map<string, Model>();
  readonly #byDef = new Map<string, string>();
  readonly #docs = new Map<string, ModelDocs | null>();
  readonly #modelsRoot: string;
  readonly #apimachineryRoot: string;
  readonly #groupDirs: string[];

  constructor() {
    const all = require('@kubernetes/client-node/dist/gen/models/all.js') as Record<string, unknown>;
    this.#modelsRoot = dirname(fileURLToPath(import.meta.resolve('kubernetes-models')));
    this.#apimachineryRoot = dirname(fileURLToPath(import.meta.resolve('@kubernetes-models/apimachinery')));
    this.#groupDirs = readdirSync(this.#modelsRoot).filter((d) => !d.startsWith('_') && !d.includes('.json'));
    const defs = new Map<string, DefEntry[]>();
    const addDefs = (dir: string) => {
      for (const f of readdirSync(dir)) {
        if (!f.endsWith('.js')) continue;
        const base = f.slice(0, -3);
        for (const p of schemaFilePatterns) {
          const m = p.re.exec(base);
          if (!m) continue;
          const defName = p.def(m);
          const key = defName.split('.').slice(-2).join('.'); // version.Kind
          const list = defs.get(key) ?? [];
          list.push({ defName, token: p.token(m) });
          defs.set(key, list);
          break;
        }
      }
    };
    addDefs(join(this.#modelsRoot, '_schemas'));
    addDefs(join(this.#apimachineryRoot, '_schemas'));

    for (const [name, cls] of Object.entries(all)) {
      const attrs = (cls as { attributeTypeMap?: ClientNodeAttribute[] } | undefined)?.attributeTypeMap;
      if (!Array.isArray(attrs)) continue;
      const fields = new Map<string, FieldType>();
      for (const a of attrs) fields.set(a.baseName, parseType(a.type, a.format));
      const defName = resolveDefName(name, defs);
      this.#models.set(name, { name, defName, fields });
      if (defName && !this.#byDef.has(defName)) this.#byDef.set(defName, name);
    }
  }

  model(name: string): Model | undefined {
    return this.#models.get(name);
  }

  modelByDefinition(defName: string): Model | undefined {
    const name = this.#byDef.get(defName);
    return name === undefined ? undefined : this.#models.get(name);
  }

  /** Upstream descriptions and required fields, or undefined when no .d.ts is found for it. */
  docs(defName: string): ModelDocs | undefined {
    let d = this.#docs.get(defName);
    if (d === undefined) {
      d = null;
      const path = docsPath(defName, this.#modelsRoot, this.#apimachineryRoot, this.#groupDirs);
      if (path) {
        try {
          d = parseModelDocs(readFileSync(path, 'utf8'));
        } catch {
          d = null; // no docs for this type: schemas still carry types, just no descriptions
        }
      }
      this.#docs.set(defName, d);
    }
    return d ?? undefined;
  }
}

function resolveDefName(clientName: string, defs: Map<string, DefEntry[]>): string | undefined {
  if (clientName === 'VersionInfo') return 'io.k8s.apimachinery.pkg.version.Info';
  const m = new RegExp(`^([A-Z][a-z]+)?(${versionRe})([A-Z]\\w*)$`).exec(clientName);
  if (!m) return undefined;
  const candidates = defs.get(`${m[2]!.toLowerCase()}.${m[3]!}`);
  if (!candidates?.length) return undefined;
  if (m[1]) return candidates.find((c) => c.token === m[1])?.defName;
  if (candidates.length === 1) return candidates[0]!.defName;
  // Unprefixed but ambiguous: client-node only prefixes on clashes it knows of; prefer core, then meta.
  return (
    candidates.find((c) => c.token === 'Core') ??
    candidates.find((c) => c.token === 'Meta') ??
    candidates[0]!
  ).defName;
}

let shared: ModelIndex | undefined;

/** The process-wide model index, built on first use (about 200 ms). */
export function models(): ModelIndex {
  return (shared ??= new ModelIndex());
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, any>;
}

const validators = new Map<string, Validator | null>();

/** kubernetes-models' compiled validator for a definition, loaded on first use. */
export function schemaValidator(defName: string): Validator | undefined {
  let v = validators.get(defName);
  if (v === undefined) {
    v = null;
    try {
      const url = import.meta.resolve(`kubernetes-models/_schemas/${schemaModuleName(defName)}`);
      v = (require(fileURLToPath(url)) as { validate: Validator }).validate;
    } catch {
      v = null; // kind not in kubernetes-models: structural checks still run, schema checks do not
    }
    validators.set(defName, v);
  }
  return v ?? undefined;
}
