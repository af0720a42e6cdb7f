// How API objects sit in the key-value store. Keys put the resource before the logical cluster so
// that one prefix watch sees a resource across every cluster (controllers of the local cloud and
// the garbage collector use that), and one prefix lists it inside one cluster:
//   /registry/<group|core>/<plural>/<cluster>/<namespace>/<name>   (namespaced)
//   /registry/<group|core>/<plural>/<cluster>/<name>               (cluster-scoped)
// Values are the object's JSON without metadata.resourceVersion, which is the key's modRevision.
import type { KeyValue } from '../storage/kv.ts';
import type { ResourceInfo } from '../registry/types.ts';

export type KObject = Record<string, any> & {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
};

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const registryRoot = '/registry/';

export function resourcePrefix(
  info: Pick<ResourceInfo, 'group' | 'plural'>,
  cluster?: string,
  namespace?: string,
): string {
  let p = `${registryRoot}${info.group || 'core'}/${info.plural}/`;
  if (cluster !== undefined) {
    p += `${cluster}/`;
    if (namespace !== undefined) p += `${namespace}/`;
  }
  return p;
}

export function objectKey(
  info: ResourceInfo,
  cluster: string,
  namespace: string | undefined,
  name: string,
): string {
  return info.namespaced
    ? `${resourcePrefix(info, cluster)}${namespace ?? ''}/${name}`
    : `${resourcePrefix(info, cluster)}${name}`;
}

export interface ParsedKey {
  group: string;
  plural: string;
  cluster: string;
  namespace?: string;
  name: string;
}

export function parseKey(key: string): ParsedKey | undefined {
  if (!key.startsWith(registryRoot)) return undefined;
  const parts = key.slice(registryRoot.length).split('/');
  if (parts.length === 4) {
    const [g, plural, cluster, name] = parts as [string, string, string, string];
    return { group: g === 'core' ? '' : g, plural, cluster, name };
  }
  if (parts.length === 5) {
    const [g, plural, cluster, namespace, name] = parts as [string, string, string, string, string];
    return { group: g === 'core' ? '' : g, plural, cluster, namespace, name };
  }
  return undefined;
}

const metaKey = '"metadata":{';

/** The stored JSON with resourceVersion spliced in: no parse needed on the list fast path. */
export function withResourceVersion(kv: KeyValue): string {
  const v = kv.value;
  const i = v.indexOf(metaKey);
  if (i < 0) return v;
  const at = i + metaKey.length;
  const sep = v.charCodeAt(at) === 125 /* } */ ? '' : ',';
  return `${v.slice(0, at)}"resourceVersion":"${kv.modRevision}"${sep}${v.slice(at)}`;
}

export function decodeStored(kv: KeyValue): KObject {
  const obj = JSON.parse(kv.value) as KObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** Canonical stored form: apiVersion, kind, metadata first (metadata without resourceVersion). */
export function encodeStored(obj: KObject): string {
  const { apiVersion, kind, metadata, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = metadata;
  return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
}

export function nowRFC3339(clock: () => number): string {
  return new Date(Math.floor(clock() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const generateChars = 'bcdfghjklmnpqrstvwxz2456789';
export function generateSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += generateChars[Math.floor(Math.random() * generateChars.length)];
  return s;
}

/** Deep equality over JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a).filter((k) => (a as any)[k] !== undefined);
  const bk = Object.keys(b).filter((k) => (b as any)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!jsonEqual((a as any)[k], (b as any)[k])) return false;
  return true;
}

/** Depth of a parsed JSON value, computed iteratively so hostile input cannot overflow the stack. */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > maxDepth) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v))
      if (typeof c === 'object' && c !== null) stack.push([c, d + 1]);
  }
  return false;
}
