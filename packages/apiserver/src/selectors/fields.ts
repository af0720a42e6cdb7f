// Field selectors as apimachinery/pkg/fields parses them (=, ==, != terms ANDed by commas, with
// \, \= \\ escapes), restricted per kind to the fields upstream indexes (the registry's
// fieldSelectors), and the values those fields have (pkg/registry/*/strategy.go ToSelectableFields).
import { errors } from '../errors.ts';
import type { ResourceInfo } from '../registry/types.ts';

export interface FieldRequirement {
  field: string;
  op: '=' | '==' | '!=';
  value: string;
}

const termOperators = ['!=', '==', '='] as const;

function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function splitTerm(term: string): FieldRequirement | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=')
        throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=')
      throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Field labels every kind supports. */
export const metadataFields = ['metadata.name', 'metadata.namespace'] as const;

/**
 * Parses a fieldSelector query parameter into ANDed requirements (sorted as upstream sorts the
 * terms). With `info`, each field must be one the kind supports; otherwise a 400 with upstream's
 * message: "field label not supported: X" for kinds with their own field labels, and
 * `"X" is not a known field selector: only "metadata.name", "metadata.namespace"` for the rest.
 */
export function parseFieldSelector(s: string, info?: ResourceInfo): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  try {
    for (const part of splitTerms(s).sort()) {
      if (part === '') continue;
      const r = splitTerm(part);
      if (!r) throw new Error(`invalid selector: '${s}'; can't understand '${part}'`);
      r.value = unescapeValue(r.value);
      reqs.push(r);
    }
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
  if (info) for (const r of reqs) assertFieldSupported(info, r.field);
  return reqs;
}

export function assertFieldSupported(info: ResourceInfo, field: string): void {
  if ((metadataFields as readonly string[]).includes(field)) return;
  if (info.fieldSelectors?.includes(field)) return;
  if (info.fieldSelectors?.length) throw errors.badRequest(`field label not supported: ${field}`);
  throw errors.badRequest(
    `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
  );
}

function scalarString(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function lookup(obj: any, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[p];
  }
  return cur;
}

function groupOf(obj: any, info?: Pick<ResourceInfo, 'group' | 'kind'>): { group: string; kind: string } {
  if (info) return { group: info.group, kind: info.kind };
  const apiVersion = typeof obj?.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return {
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    kind: typeof obj?.kind === 'string' ? obj.kind : '',
  };
}

/**
 * The value a field selector compares for `path` on `obj`, as upstream computes it: defaults
 * applied where the Go field is not a pointer (spec.unschedulable -> "false"), renamed fields
 * mapped (Job status.successful is status.succeeded), everything rendered as a string. The kind
 * comes from `info`, or else from the object's apiVersion and kind.
 */
export function fieldValue(obj: unknown, path: string, info?: Pick<ResourceInfo, 'group' | 'kind'>): string {
  const o = obj as any;
  const { group, kind } = groupOf(o, info);
  if (group === '') {
    switch (`${kind}/${path}`) {
      case 'Pod/spec.hostNetwork':
        return String(o?.spec?.hostNetwork === true);
      case 'Pod/status.podIP':
      case 'Pod/status.podIPs':
        // Upstream indexes the first of status.podIPs (it mirrors status.podIP).
        return scalarString(o?.status?.podIPs?.[0]?.ip ?? o?.status?.podIP);
      case 'Node/spec.unschedulable':
        return String(o?.spec?.unschedulable === true);
      case 'ReplicationController/status.replicas':
        return String(o?.status?.replicas ?? 0);
      case 'Event/source':
        return scalarString(o?.source?.component || o?.reportingComponent);
      case 'Event/reportingComponent':
        return scalarString(o?.reportingComponent);
    }
  } else if (group === 'batch' && kind === 'Job' && path === 'status.successful') {
    return String(o?.status?.succeeded ?? 0);
  } else if (group === 'apps' && kind === 'ReplicaSet' && path === 'status.replicas') {
    return String(o?.status?.replicas ?? 0);
  }
  return scalarString(lookup(o, path));
}

/** True when `obj` satisfies every requirement. */
export function fieldSelectorMatches(
  reqs: readonly FieldRequirement[],
  obj: unknown,
  info?: Pick<ResourceInfo, 'group' | 'kind'>,
): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field, info) === r.value) !== (r.op === '!='));
}
