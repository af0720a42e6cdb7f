// OpenAPI documents for the resources of one group version, shaped like kube-apiserver's
// /openapi/v3/apis/<group>/<version> (and, converted, /openapi/v2). Two clients read them:
//
// - kubectl apply/create/replace (1.27+) decide whether the server does field validation by looking,
//   in the group version's v3 document, for a PATCH operation whose x-kubernetes-group-version-kind
//   is the object's GVK and whose parameters include the query parameter `fieldValidation`
//   (cli-runtime resource/query_param_verifier_v3.go). When found they send fieldValidation=Strict
//   and skip client-side validation. For a CRD whose group version is absent, they check
//   Namespace's PATCH in /api/v1 instead. Every PATCH here therefore lists fieldValidation inline
//   (kubectl does not resolve v3 parameter $refs).
// - kubectl explain (1.27+) finds the GVK through the resource's paths and renders the component
//   schema whose x-kubernetes-group-version-kind list contains it.
//
// kubectl apply also uses a v3 PATCH operation that accepts application/strategic-merge-patch+json
// as permission to compute the strategic merge patch from the schemas' x-kubernetes-patch-strategy
// and x-kubernetes-patch-merge-key. Our schemas come from client-node's models, which carry no
// patch strategies, so built-in PATCH operations do not list that content type: kubectl then falls
// back to the patch metadata compiled into it (exactly upstream's), and still sends a strategic
// merge patch. Custom resources accept JSON and merge patches only, as upstream.
import { createHash } from 'node:crypto';
import type { FieldType, ModelIndex } from '../registry/models.ts';
import { definitionName } from '../registry/models.ts';
import type { JSONSchemaProps, ResourceInfo } from '../registry/types.ts';

type Schema = Record<string, unknown>;

export interface OpenAPIDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema> };
}

const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const intOrString = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const refPrefixV3 = '#/components/schemas/';

const specialDefinitions: Record<string, Schema> = {
  [`${metaV1}.Time`]: {
    description:
      'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.',
    type: 'string',
    format: 'date-time',
  },
  [`${metaV1}.MicroTime`]: {
    description: 'MicroTime is version of Time with microsecond level precision.',
    type: 'string',
    format: 'date-time',
  },
  // v3 describes it as oneOf integer/string with no type (kube-openapi OpenAPIV3OneOfTypes), which
  // is also why kubectl explain prints <IntOrString> for such fields.
  [intOrString]: {
    description:
      'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  },
  [`${metaV1}.Patch`]: {
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    type: 'object',
  },
};

/** Collects component schemas for models and everything they reference. */
class SchemaSet {
  readonly schemas: Record<string, Schema> = {};
  readonly #idx: ModelIndex;

  constructor(idx: ModelIndex) {
    this.#idx = idx;
  }

  ref(defName: string): Schema {
    return { $ref: `${refPrefixV3}${defName}` };
  }

  /** Adds a definition (and its dependencies); returns its name, or undefined if unknown. */
  addDefinition(defName: string): string | undefined {
    if (this.schemas[defName]) return defName;
    const special = specialDefinitions[defName];
    if (special) {
      this.schemas[defName] = { ...special };
      return defName;
    }
    const model = this.#idx.modelByDefinition(defName);
    if (!model) return undefined;
    const schema: Schema = { type: 'object' };
    this.schemas[defName] = schema; // before recursing, for cycles (JSONSchemaProps)
    const docs = this.#idx.docs(defName);
    if (docs?.description) schema.description = docs.description;
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const [field, type] of model.fields) {
      const fieldDocs = docs?.fields.get(field);
      properties[field] = this.#fieldSchema(type, fieldDocs?.description);
      if (fieldDocs?.required) required.push(field);
    }
    schema.properties = properties;
    if (required.length) schema.required = required;
    return defName;
  }

  #withDescription(s: Schema, description: string | undefined): Schema {
    return description ? { ...s, description } : s;
  }

  #refField(defName: string | undefined, description: string | undefined): Schema {
    if (!defName) return this.#withDescription({ type: 'object' }, description);
    return description ? { allOf: [this.ref(defName)], description } : this.ref(defName);
  }

  #fieldSchema(type: FieldType, description?: string): Schema {
    switch (type.t) {
      case 'string':
        return this.#withDescription(
          type.format ? { type: 'string', format: type.format } : { type: 'string' },
          description,
        );
      case 'integer':
        return this.#withDescription({ type: 'integer', format: type.format }, description);
      case 'number':
        return this.#withDescription(
          type.format ? { type: 'number', format: type.format } : { type: 'number' },
          description,
        );
      case 'boolean':
        return this.#withDescription({ type: 'boolean' }, description);
      case 'any':
        return this.#withDescription({ 'x-kubernetes-preserve-unknown-fields': true }, description);
      case 'time':
        return this.#refField(this.addDefinition(`${metaV1}.Time`), description);
      case 'microtime':
        return this.#refField(this.addDefinition(`${metaV1}.MicroTime`), description);
      case 'intorstring':
        return this.#refField(
          this.addDefinition('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
          description,
        );
      case 'array':
        return this.#withDescription({ type: 'array', items: this.#fieldSchema(type.items) }, description);
      case 'map':
        return this.#withDescription(
          { type: 'object', additionalProperties: this.#fieldSchema(type.values) },
          description,
        );
      case 'ref': {
        const model = this.#idx.model(type.model);
        return this.#refField(model?.defName ? this.addDefinition(model.defName) : undefined, description);
      }
    }
  }
}

/** Reverse-domain package of a custom resource group: stable.example.com -> com.example.stable. */
function customPackage(group: string): string {
  return group.split('.').reverse().join('.');
}

export function schemaName(info: ResourceInfo): string {
  return info.custom
    ? `${customPackage(info.group)}.${info.version}.${info.kind}`
    : definitionName(info.group, info.version, info.kind);
}

function gvk(group: string, version: string, kind: string): { group: string; kind: string; version: string } {
  return { group, kind, version };
}

function rewriteCustomSchema(s: JSONSchemaProps | undefined): Schema {
  return s
    ? (structuredClone(s) as Schema)
    : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
}

/** Adds the custom resource's schema (from its CRD) and its List schema. */
function addCustomSchemas(set: SchemaSet, info: ResourceInfo): void {
  const name = schemaName(info);
  const schema = rewriteCustomSchema(info.custom?.schema);
  const props = ((schema.properties as Record<string, Schema> | undefined) ??= {});
  set.addDefinition(`${metaV1}.ObjectMeta`);
  props.apiVersion = {
    description:
      'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
    type: 'string',
  };
  props.kind = {
    description:
      'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
    type: 'string',
  };
  props.metadata = {
    allOf: [set.ref(`${metaV1}.ObjectMeta`)],
    description:
      "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  };
  schema.type ??= 'object';
  schema['x-kubernetes-group-version-kind'] = [gvk(info.group, info.version, info.kind)];
  set.schemas[name] = schema;
  set.addDefinition(`${metaV1}.ListMeta`);
  set.schemas[`${customPackage(info.group)}.${info.version}.${info.listKind}`] = {
    description: `${info.listKind} is a list of ${info.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: props.apiVersion,
      kind: props.kind,
      items: {
        type: 'array',
        items: set.ref(name),
        description: `List of ${info.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
      },
      metadata: { allOf: [set.ref(`${metaV1}.ListMeta`)], description: 'Standard list metadata.' },
    },
    'x-kubernetes-group-version-kind': [gvk(info.group, info.version, info.listKind)],
  };
}

// --- operations

const queryParams: Record<string, Schema> = {
  pretty: {
    name: 'pretty',
    in: 'query',
    description: "If 'true', then the output is pretty printed.",
    schema: { type: 'string', uniqueItems: true },
  },
  dryRun: {
    name: 'dryRun',
    in: 'query',
    description:
      'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
    schema: { type: 'string', uniqueItems: true },
  },
  fieldManager: {
    name: 'fieldManager',
    in: 'query',
    description:
      'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.',
    schema: { type: 'string', uniqueItems: true },
  },
  fieldValidation: {
    name: 'fieldValidation',
    in: 'query',
    description:
      'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
    schema: { type: 'string', uniqueItems: true },
  },
  force: {
    name: 'force',
    in: 'query',
    description:
      'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
    schema: { type: 'boolean', uniqueItems: true },
  },
  gracePeriodSeconds: {
    name: 'gracePeriodSeconds',
    in: 'query',
    description: 'The duration in seconds before the object should be deleted.',
    schema: { type: 'integer', uniqueItems: true },
  },
  propagationPolicy: {
    name: 'propagationPolicy',
    in: 'query',
    description:
      "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'.",
    schema: { type: 'string', uniqueItems: true },
  },
  continue: {
    name: 'continue',
    in: 'query',
    description: 'The continue option should be set when retrieving more results from the server.',
    schema: { type: 'string', uniqueItems: true },
  },
  fieldSelector: {
    name: 'fieldSelector',
    in: 'query',
    description:
      'A selector to restrict the list of returned objects by their fields. Defaults to everything.',
    schema: { type: 'string', uniqueItems: true },
  },
  labelSelector: {
    name: 'labelSelector',
    in: 'query',
    description:
      'A selector to restrict the list of returned objects by their labels. Defaults to everything.',
    schema: { type: 'string', uniqueItems: true },
  },
  limit: {
    name: 'limit',
    in: 'query',
    description: 'limit is a maximum number of responses to return for a list call.',
    schema: { type: 'integer', uniqueItems: true },
  },
  resourceVersion: {
    name: 'resourceVersion',
    in: 'query',
    description: 'resourceVersion sets a constraint on what resource versions a request may be served from.',
    schema: { type: 'string', uniqueItems: true },
  },
  timeoutSeconds: {
    name: 'timeoutSeconds',
    in: 'query',
    description: 'Timeout for the list/watch call.',
    schema: { type: 'integer', uniqueItems: true },
  },
  watch: {
    name: 'watch',
    in: 'query',
    description:
      'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.',
    schema: { type: 'boolean', uniqueItems: true },
  },
};

function pathParam(name: string, description: string): Schema {
  return { name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } };
}

const namespaceParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects');

function operationGroup(group: string): string {
  if (group === '') return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

function camel(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface OpContext {
  info: ResourceInfo;
  set: SchemaSet;
}

function responses(schemaRef: Schema, codes: string[], protobuf: boolean): Schema {
  const content: Record<string, Schema> = {
    'application/json': { schema: schemaRef },
    'application/yaml': { schema: schemaRef },
  };
  if (protobuf) content['application/vnd.kubernetes.protobuf'] = { schema: schemaRef };
  const out: Record<string, Schema> = {};
  for (const code of codes)
    out[code] = { description: code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK', content };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

function op(
  ctx: OpContext,
  spec: {
    action: string;
    id: string;
    description: string;
    params: Schema[];
    kind?: { group: string; version: string; kind: string };
    body?: Schema;
    response: Schema;
    codes: string[];
  },
): Schema {
  const { info } = ctx;
  const o: Schema = {
    tags: [`${camel(operationGroup(info.group))}_${info.version}`],
    description: spec.description,
    operationId: spec.id,
    parameters: spec.params,
    responses: responses(spec.response, spec.codes, info.protobuf),
    'x-kubernetes-action': spec.action,
    'x-kubernetes-group-version-kind': spec.kind ?? gvk(info.group, info.version, info.kind),
  };
  if (spec.body) o.requestBody = spec.body;
  return o;
}

function jsonBody(ref: Schema): Schema {
  return { content: { '*/*': { schema: ref } }, required: true };
}

function patchBody(set: SchemaSet): Schema {
  set.addDefinition(`${metaV1}.Patch`);
  const ref = set.ref(`${metaV1}.Patch`);
  const types = [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
  ];
  const content: Record<string, Schema> = {};
  for (const t of types) content[t] = { schema: ref };
  return { content, required: true };
}

function resourcePaths(ctx: OpContext, paths: Record<string, Record<string, unknown>>): void {
  const { info, set } = ctx;
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const gv = `${operationGroup(info.group)}${pascal(info.version)}`;
  const nsPart = info.namespaced ? 'Namespaced' : '';
  const self = set.ref(schemaName(info));
  const listRef = set.ref(
    info.custom
      ? `${customPackage(info.group)}.${info.version}.${info.listKind}`
      : definitionName(info.group, info.version, info.listKind),
  );
  if (!info.custom) {
    set.addDefinition(definitionName(info.group, info.version, info.listKind));
  }
  set.addDefinition(`${metaV1}.Status`);
  set.addDefinition(`${metaV1}.DeleteOptions`);
  const status = set.ref(`${metaV1}.Status`);
  const verbs = new Set(info.verbs);
  const collection = info.namespaced
    ? `${prefix}/namespaces/{namespace}/${info.plural}`
    : `${prefix}/${info.plural}`;
  const item = `${collection}/{name}`;
  const nameParam = pathParam('name', `name of the ${info.kind}`);
  const scopeParams = info.namespaced ? [namespaceParam] : [];
  const writeParams = [queryParams.dryRun!, queryParams.fieldManager!, queryParams.fieldValidation!];
  const listParams = [
    queryParams.continue!,
    queryParams.fieldSelector!,
    queryParams.labelSelector!,
    queryParams.limit!,
    queryParams.resourceVersion!,
    queryParams.timeoutSeconds!,
    queryParams.watch!,
  ];

  const coll: Record<string, unknown> = {};
  if (verbs.has('list')) {
    coll.get = op(ctx, {
      action: 'list',
      id: `list${gv}${nsPart}${info.kind}`,
      description: `list or watch objects of kind ${info.kind}`,
      params: listParams,
      response: listRef,
      codes: ['200'],
    });
  }
  if (verbs.has('create')) {
    coll.post = op(ctx, {
      action: 'post',
      id: `create${gv}${nsPart}${info.kind}`,
      description: `create a ${info.kind}`,
      params: writeParams,
      body: jsonBody(self),
      response: self,
      codes: ['200', '201', '202'],
    });
  }
  if (verbs.has('deletecollection')) {
    coll.delete = op(ctx, {
      action: 'deletecollection',
      id: `deletecollection${gv}${nsPart}${info.kind}`,
      description: `delete collection of ${info.kind}`,
      params: [
        ...listParams,
        queryParams.dryRun!,
        queryParams.gracePeriodSeconds!,
        queryParams.propagationPolicy!,
      ],
      body: { content: { '*/*': { schema: set.ref(`${metaV1}.DeleteOptions`) } } },
      response: status,
      codes: ['200'],
    });
  }
  if (Object.keys(coll).length)
    paths[collection] = { ...coll, parameters: [...scopeParams, queryParams.pretty] };

  if (info.namespaced && verbs.has('list')) {
    paths[`${prefix}/${info.plural}`] = {
      get: op(ctx, {
        action: 'list',
        id: `list${gv}${info.kind}ForAllNamespaces`,
        description: `list or watch objects of kind ${info.kind}`,
        params: listParams,
        response: listRef,
        codes: ['200'],
      }),
      parameters: [queryParams.pretty],
    };
  }

  const one: Record<string, unknown> = {};
  if (verbs.has('get')) {
    one.get = op(ctx, {
      action: 'get',
      id: `read${gv}${nsPart}${info.kind}`,
      description: `read the specified ${info.kind}`,
      params: [],
      response: self,
      codes: ['200'],
    });
  }
  if (verbs.has('update')) {
    one.put = op(ctx, {
      action: 'put',
      id: `replace${gv}${nsPart}${info.kind}`,
      description: `replace the specified ${info.kind}`,
      params: writeParams,
      body: jsonBody(self),
      response: self,
      codes: ['200', '201'],
    });
  }
  if (verbs.has('patch')) {
    one.patch = op(ctx, {
      action: 'patch',
      id: `patch${gv}${nsPart}${info.kind}`,
      description: `partially update the specified ${info.kind}`,
      params: [...writeParams, queryParams.force!],
      body: patchBody(set),
      response: self,
      codes: ['200', '201'],
    });
  }
  if (verbs.has('delete')) {
    one.delete = op(ctx, {
      action: 'delete',
      id: `delete${gv}${nsPart}${info.kind}`,
      description: `delete a ${info.kind}`,
      params: [queryParams.dryRun!, queryParams.gracePeriodSeconds!, queryParams.propagationPolicy!],
      body: { content: { '*/*': { schema: set.ref(`${metaV1}.DeleteOptions`) } } },
      response: status,
      codes: ['200', '202'],
    });
  }
  if (Object.keys(one).length)
    paths[item] = { ...one, parameters: [nameParam, ...scopeParams, queryParams.pretty] };

  for (const sub of info.subresources ?? []) {
    const isScale = sub === 'scale';
    const kind = isScale ? gvk('autoscaling', 'v1', 'Scale') : undefined;
    const subRef = isScale
      ? set.ref(set.addDefinition('io.k8s.api.autoscaling.v1.Scale') ?? 'io.k8s.api.autoscaling.v1.Scale')
      : self;
    const suffix = pascal(sub);
    const subOps: Record<string, unknown> = {
      get: op(ctx, {
        action: 'get',
        id: `read${gv}${nsPart}${info.kind}${suffix}`,
        description: `read ${sub} of the specified ${info.kind}`,
        params: [],
        response: subRef,
        codes: ['200'],
        ...(kind ? { kind } : {}),
      }),
      put: op(ctx, {
        action: 'put',
        id: `replace${gv}${nsPart}${info.kind}${suffix}`,
        description: `replace ${sub} of the specified ${info.kind}`,
        params: writeParams,
        body: jsonBody(subRef),
        response: subRef,
        codes: ['200', '201'],
        ...(kind ? { kind } : {}),
      }),
      patch: op(ctx, {
        action: 'patch',
        id: `patch${gv}${nsPart}${info.kind}${suffix}`,
        description: `partially update ${sub} of the specified ${info.kind}`,
        params: [...writeParams, queryParams.force!],
        body: patchBody(set),
        response: subRef,
        codes: ['200', '201'],
        ...(kind ? { kind } : {}),
      }),
    };
    paths[`${item}/${sub}`] = { ...subOps, parameters: [nameParam, ...scopeParams, queryParams.pretty] };
  }

  if (info.group === '' && info.plural === 'namespaces') {
    paths[`${prefix}/namespaces/{name}/finalize`] = {
      put: op(ctx, {
        action: 'put',
        id: `replace${gv}NamespaceFinalize`,
        description: 'replace finalize of the specified Namespace',
        params: writeParams,
        body: jsonBody(self),
        response: self,
        codes: ['200', '201'],
      }),
      parameters: [nameParam, queryParams.pretty],
    };
  }
}

/** The v3 document for one group version's resources. */
export function groupVersionDocument(
  idx: ModelIndex,
  resources: readonly ResourceInfo[],
  opts: { kubernetesVersion: string },
): OpenAPIDocument {
  const set = new SchemaSet(idx);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const info of resources) {
    if (info.custom) addCustomSchemas(set, info);
    else {
      const name = set.addDefinition(schemaName(info));
      if (name) {
        const kinds = (set.schemas[name]!['x-kubernetes-group-version-kind'] as object[] | undefined) ?? [];
        kinds.push(gvk(info.group, info.version, info.kind));
        set.schemas[name]!['x-kubernetes-group-version-kind'] = kinds;
      }
    }
    resourcePaths({ info, set }, paths);
  }
  const sorted: Record<string, Schema> = {};
  for (const k of Object.keys(set.schemas).sort()) sorted[k] = set.schemas[k]!;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: opts.kubernetesVersion },
    paths,
    components: { schemas: sorted },
  };
}

/** Upstream's ?hash= value: upper-case hex SHA-512 of the serialized document. */
export function documentHash(json: string): string {
  return createHash('sha512').update(json).digest('hex').toUpperCase();
}

// --- v2

function toV2Schema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toV2Schema);
  if (!s || typeof s !== 'object') return s;
  const src = s as Schema;
  // v2 has no allOf-with-description idiom upstream: a described ref is a plain $ref.
  if (Array.isArray(src.allOf) && src.allOf.length === 1 && !src.properties && !src.type) {
    const inner = src.allOf[0] as Schema;
    if (typeof inner.$ref === 'string') {
      const out: Schema = { $ref: inner.$ref.replace(refPrefixV3, '#/definitions/') };
      if (src.description) out.description = src.description;
      return out;
    }
  }
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace(refPrefixV3, '#/definitions/') : toV2Schema(v);
  }
  return out;
}

function toV2Operation(o: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'requestBody' || k === 'responses' || k === 'parameters') continue;
    out[k] = v;
  }
  const params: Schema[] = ((o.parameters as Schema[] | undefined) ?? []).map((p) => {
    const { schema, ...rest } = p;
    return { ...rest, ...(schema as Schema) };
  });
  const body = o.requestBody as
    { content?: Record<string, { schema: unknown }>; required?: boolean } | undefined;
  if (body?.content) {
    const first = Object.values(body.content)[0];
    params.unshift({
      name: 'body',
      in: 'body',
      required: body.required ?? false,
      schema: toV2Schema(first?.schema),
    });
    out.consumes = Object.keys(body.content);
  }
  out.parameters = params;
  const res: Schema = {};
  for (const [code, r] of Object.entries((o.responses as Record<string, Schema>) ?? {})) {
    const content = r.content as Record<string, { schema: unknown }> | undefined;
    const first = content ? Object.values(content)[0] : undefined;
    res[code] = first
      ? { description: r.description, schema: toV2Schema(first.schema) }
      : { description: r.description };
    if (content) out.produces = Object.keys(content);
  }
  out.responses = res;
  return out;
}

/** Swagger 2.0 from v3 documents (kubectl before 1.27 read /openapi/v2 for explain and validation). */
export function toSwagger2(docs: readonly OpenAPIDocument[], kubernetesVersion: string): object {
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const doc of docs) {
    for (const [name, s] of Object.entries(doc.components.schemas)) {
      // v2 has no oneOf: IntOrString is a string with format int-or-string there.
      definitions[name] ??=
        name === intOrString
          ? { description: s.description, type: 'string', format: 'int-or-string' }
          : toV2Schema(s);
    }
    for (const [p, item] of Object.entries(doc.paths)) {
      const out: Record<string, unknown> = {};
      for (const [method, o] of Object.entries(item)) {
        if (method === 'parameters') {
          out.parameters = (o as Schema[]).map((x) => {
            const { schema, ...rest } = x;
            return { ...rest, ...(schema as Schema) };
          });
        } else out[method] = toV2Operation(o as Schema);
      }
      paths[p] = out;
    }
  }
  const sortedDefs: Record<string, unknown> = {};
  for (const k of Object.keys(definitions).sort()) sortedDefs[k] = definitions[k];
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: kubernetesVersion },
    paths,
    definitions: sortedDefs,
  };
}
