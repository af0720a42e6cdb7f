// One logical cluster's resource table: the built-in kinds plus the kinds its
// CustomResourceDefinitions serve. Lookups are by URL coordinates (group, version, plural) and by
// type coordinates (apiVersion, kind); discovery reads groups and versions from here.
import { builtinResources } from './builtin.ts';
import type { CustomResourceVersion, JSONSchemaProps, PrinterColumn, ResourceInfo } from './types.ts';
import { allVerbs } from './types.ts';

export interface GroupVersions {
  group: string;
  /** Highest priority first (GA > beta > alpha, then by number), as upstream orders them. */
  versions: string[];
  preferredVersion: string;
}

/**
 * Upstream's /apis order for the groups we serve (genericapiserver's install order); groups that
 * come from CRDs follow, alphabetically.
 */
const builtinGroupOrder = [
  '',
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
];

const kubeVersion = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/**
 * Kubernetes' version priority (apimachinery version.CompareKubeAwareVersionStrings): negative
 * when `a` sorts first. GA before beta before alpha, higher numbers first; anything that is not a
 * Kubernetes version sorts after, alphabetically.
 */
export function compareKubeAwareVersions(a: string, b: string): number {
  const ma = kubeVersion.exec(a);
  const mb = kubeVersion.exec(b);
  if (!ma || !mb) {
    if (ma) return -1;
    if (mb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const rank = (m: RegExpExecArray) => (m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0);
  if (rank(ma) !== rank(mb)) return rank(mb) - rank(ma);
  if (Number(ma[1]) !== Number(mb[1])) return Number(mb[1]) - Number(ma[1]);
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

function resourceKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

function kindKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

function splitAPIVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export class ResourceRegistry {
  readonly #builtins: readonly ResourceInfo[];
  /** CRD name -> the infos it serves. */
  readonly #crds = new Map<string, ResourceInfo[]>();
  #byResource = new Map<string, ResourceInfo>();
  #byKind = new Map<string, ResourceInfo>();
  #groups: GroupVersions[] = [];
  #all: ResourceInfo[] = [];
  #revision = 0;

  constructor(builtins: readonly ResourceInfo[] = builtinResources) {
    this.#builtins = builtins;
    this.#rebuild();
  }

  /** Bumped on every change, so cached documents derived from the registry know to recompute. */
  get revision(): number {
    return this.#revision;
  }

  /**
   * Registers (or replaces) the kinds a CustomResourceDefinition serves and returns one info per
   * served version. Versions that would shadow a built-in resource are not served.
   */
  addCRD(crd: unknown): ResourceInfo[] {
    const infos = crdToResourceInfos(crd).filter(
      (i) =>
        !this.#builtins.some((b) => b.group === i.group && b.version === i.version && b.plural === i.plural),
    );
    const name = crdName(crd);
    if (!name) return [];
    this.#crds.set(name, infos);
    this.#rebuild();
    return infos;
  }

  removeCRD(name: string): boolean {
    const had = this.#crds.delete(name);
    if (had) this.#rebuild();
    return had;
  }

  lookup(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.#byResource.get(resourceKey(group, version, plural));
  }

  /** The resource in its group's preferred version, or in the highest-priority version that has it. */
  lookupPreferred(group: string, plural: string): ResourceInfo | undefined {
    const gv = this.#groups.find((g) => g.group === group);
    if (!gv) return undefined;
    const preferred = this.lookup(group, gv.preferredVersion, plural);
    if (preferred) return preferred;
    for (const v of gv.versions) {
      const r = this.lookup(group, v, plural);
      if (r) return r;
    }
    return undefined;
  }

  lookupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const { group, version } = splitAPIVersion(apiVersion);
    return this.#byKind.get(kindKey(group, version, kind));
  }

  all(): readonly ResourceInfo[] {
    return this.#all;
  }

  /** Served groups in discovery order, each with its versions and preferred version. */
  groups(): readonly GroupVersions[] {
    return this.#groups;
  }

  group(name: string): GroupVersions | undefined {
    return this.#groups.find((g) => g.group === name);
  }

  preferredVersion(group: string): string | undefined {
    return this.group(group)?.preferredVersion;
  }

  /** The resources of one group version, in registration order. */
  resources(group: string, version: string): ResourceInfo[] {
    return this.#all.filter((r) => r.group === group && r.version === version);
  }

  #rebuild(): void {
    const all = [...this.#builtins];
    for (const infos of this.#crds.values()) all.push(...infos);
    const byResource = new Map<string, ResourceInfo>();
    const byKind = new Map<string, ResourceInfo>();
    const versionsByGroup = new Map<string, Set<string>>();
    for (const r of all) {
      const rk = resourceKey(r.group, r.version, r.plural);
      if (byResource.has(rk)) continue; // first registration wins (built-ins come first)
      byResource.set(rk, r);
      const kk = kindKey(r.group, r.version, r.kind);
      if (!byKind.has(kk)) byKind.set(kk, r);
      let vs = versionsByGroup.get(r.group);
      if (!vs) versionsByGroup.set(r.group, (vs = new Set()));
      vs.add(r.version);
    }
    const groups: GroupVersions[] = [];
    for (const [group, vs] of versionsByGroup) {
      const versions = [...vs].sort(compareKubeAwareVersions);
      groups.push({ group, versions, preferredVersion: versions[0]! });
    }
    const order = (g: string) => {
      const i = builtinGroupOrder.indexOf(g);
      return i < 0 ? builtinGroupOrder.length : i;
    };
    groups.sort(
      (a, b) => order(a.group) - order(b.group) || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0),
    );
    this.#all = [...byResource.values()];
    this.#byResource = byResource;
    this.#byKind = byKind;
    this.#groups = groups;
    this.#revision++;
  }
}

function crdName(crd: unknown): string | undefined {
  const name = (crd as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' && name ? name : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out = v.filter((s): s is string => typeof s === 'string');
  return out.length ? out : undefined;
}

function printerColumns(v: unknown): PrinterColumn[] {
  if (!Array.isArray(v)) return [];
  const out: PrinterColumn[] = [];
  for (const c of v) {
    if (!c || typeof c.name !== 'string' || typeof c.jsonPath !== 'string') continue;
    const col: PrinterColumn = {
      name: c.name,
      type: typeof c.type === 'string' ? c.type : 'string',
      jsonPath: c.jsonPath,
    };
    if (typeof c.format === 'string') col.format = c.format;
    if (typeof c.description === 'string') col.description = c.description;
    if (typeof c.priority === 'number') col.priority = c.priority;
    out.push(col);
  }
  return out;
}

/**
 * The ResourceInfo rows for each served version of an apiextensions.k8s.io/v1
 * CustomResourceDefinition. Malformed definitions (no group, names or versions) serve nothing.
 */
export function crdToResourceInfos(crd: unknown): ResourceInfo[] {
  const name = crdName(crd);
  const spec = (crd as { spec?: any } | undefined)?.spec;
  const names = spec?.names;
  if (!name || !spec || typeof spec.group !== 'string' || !names || typeof names.plural !== 'string')
    return [];
  if (typeof names.kind !== 'string' || !Array.isArray(spec.versions)) return [];
  const namespaced = spec.scope !== 'Cluster';
  const infos: ResourceInfo[] = [];
  for (const v of spec.versions) {
    if (!v || typeof v.name !== 'string' || v.served !== true) continue;
    const custom: CustomResourceVersion = {
      crdName: name,
      storage: v.storage === true,
      printerColumns: printerColumns(v.additionalPrinterColumns),
    };
    const schema = v.schema?.openAPIV3Schema as JSONSchemaProps | undefined;
    if (schema && typeof schema === 'object') custom.schema = schema;
    if (spec.preserveUnknownFields === true) custom.preserveUnknownFields = true;
    if (v.deprecated === true) custom.deprecated = true;
    if (typeof v.deprecationWarning === 'string') custom.deprecationWarning = v.deprecationWarning;
    const info: ResourceInfo = {
      group: spec.group,
      version: v.name,
      kind: names.kind,
      listKind: typeof names.listKind === 'string' && names.listKind ? names.listKind : `${names.kind}List`,
      plural: names.plural,
      singular:
        typeof names.singular === 'string' && names.singular ? names.singular : names.kind.toLowerCase(),
      namespaced,
      verbs: allVerbs,
      protobuf: false,
      custom,
    };
    const shortNames = stringList(names.shortNames);
    if (shortNames) info.shortNames = shortNames;
    const categories = stringList(names.categories);
    if (categories) info.categories = categories;
    const sub = v.subresources;
    const subresources: ('status' | 'scale')[] = [];
    if (sub?.status && typeof sub.status === 'object') subresources.push('status');
    const scale = sub?.scale;
    if (scale && typeof scale.specReplicasPath === 'string' && typeof scale.statusReplicasPath === 'string') {
      subresources.push('scale');
      info.scale = { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath };
      if (typeof scale.labelSelectorPath === 'string') info.scale.labelSelectorPath = scale.labelSelectorPath;
    }
    if (subresources.length) info.subresources = subresources;
    const selectable = Array.isArray(v.selectableFields)
      ? v.selectableFields
          .map((f: any) => (typeof f?.jsonPath === 'string' ? f.jsonPath.replace(/^\./, '') : undefined))
          .filter((f: string | undefined): f is string => !!f)
      : [];
    if (selectable.length) info.fieldSelectors = selectable;
    infos.push(info);
  }
  return infos;
}
