// Server-side apply (PATCH application/apply-patch+yaml): the applied configuration is merged into
// the live object and every field it names is recorded as owned by its field manager in
// metadata.managedFields (FieldsV1). A field another manager owns with a different value is a
// conflict (409 naming the managers) unless the request forces, which takes the field over; a
// field the manager applied before and no longer applies is removed unless someone else owns it.
//
// Lists merge as upstream's structured merge does for the core types: by the merge keys of
// strategic.ts (containers and env by name, ...), finalizers as a set, every other list atomic
// (owned and replaced whole). Only apply requests record ownership: other writes (PUT, the
// other patch types) keep managedFields as they are (docs/patch.md says what that changes).
import { errors, StatusError } from '../errors.ts';
import { listRule } from './strategic.ts';

type J = any;

export const applyPatchType = 'application/apply-patch+yaml';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
  kind: string;
  /** RFC 3339 timestamp for the manager's entry when its fields change */
  now: string;
  /** the kind has a status subresource: status is not the applier's through the main resource */
  ignoreStatus: boolean;
}

export interface FieldConflict {
  manager: string;
  /** ".spec.replicas", ".spec.template.spec.containers[name=\"app\"].image" */
  field: string;
}

const isObj = (v: unknown): v is Record<string, J> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Metadata the server owns: never part of what an applier manages. */
const serverMeta = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

// A field path is a list of FieldsV1 segments: "f:name", "k:{\"name\":\"app\"}", "v:\"x\"".
// Sets hold paths joined with \u0001; a path ending in a list element's segment stands for the
// element itself (FieldsV1's ".").
const SEP = '\u0001';

/** The field paths an object sets, as server-side apply counts them. */
export function fieldSet(obj: J, kind: string, ignoreStatus: boolean): Set<string> {
  const out = new Set<string>();
  if (!isObj(obj)) return out;
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind' || (k === 'status' && ignoreStatus)) continue;
    const v = obj[k];
    if (k === 'metadata' && isObj(v)) {
      for (const mk of Object.keys(v))
        if (!serverMeta.has(mk)) walk(v[mk], `f:metadata${SEP}f:${mk}`, ['metadata', mk], kind, out);
      continue;
    }
    walk(v, `f:${k}`, [k], kind, out);
  }
  return out;
}

// `path` is the joined path so far; `names` the field names (a stack: pushed and popped) that
// listRule needs. Applied on every object of every pass, so it avoids copies.
function walk(v: J, path: string, names: string[], kind: string, out: Set<string>): void {
  if (isObj(v)) {
    const keys = Object.keys(v);
    if (keys.length > 0) {
      for (const k of keys) {
        names.push(k);
        walk(v[k], `${path}${SEP}f:${k}`, names, kind, out);
        names.pop();
      }
      return;
    }
  } else if (Array.isArray(v)) {
    const rule = listRule(names, kind);
    if (rule?.primitive) {
      for (const x of v) out.add(`${path}${SEP}v:${JSON.stringify(x)}`);
      return;
    }
    const key = rule?.key;
    if (key && v.every((x) => isObj(x) && x[key] !== undefined)) {
      for (const el of v as Record<string, J>[]) {
        const es = `${path}${SEP}k:${JSON.stringify({ [key]: el[key] })}`;
        out.add(es);
        for (const k of Object.keys(el)) {
          names.push(k);
          walk(el[k], `${es}${SEP}f:${k}`, names, kind, out);
          names.pop();
        }
      }
      return;
    }
  }
  out.add(path); // a scalar, an empty map, an atomic list: owned whole
}

/** FieldsV1 (the wire form in managedFields) of a set of paths. */
export function toFieldsV1(set: ReadonlySet<string>): Record<string, unknown> {
  const root: Record<string, J> = {};
  for (const p of [...set].sort()) {
    let node = root;
    const segs = p.split(SEP);
    for (const s of segs) node = node[s] ??= {};
    if (segs[segs.length - 1]!.startsWith('k:') && Object.keys(node).length === 0) node['.'] = {};
  }
  // an element with fields of its own is still a member itself: "." beside them
  const mark = (node: Record<string, J>, segs: string[]) => {
    for (const [k, c] of Object.entries(node)) {
      if (k === '.') continue;
      const path = [...segs, k];
      if (Object.keys(c).length > 0 && set.has(path.join(SEP))) c['.'] = {};
      mark(c, path);
    }
  };
  mark(root, []);
  return root;
}

/** The set of paths of a FieldsV1 tree. */
export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (node: unknown, path: string) => {
    if (!isObj(node)) return;
    const keys = Object.keys(node);
    if (path && (keys.length === 0 || keys.includes('.'))) out.add(path);
    for (const k of keys) if (k !== '.') visit(node[k], path ? `${path}${SEP}${k}` : k);
  };
  visit(tree, '');
  return out;
}

/** ".spec.template.spec.containers[name=\"app\"].image", as upstream prints a path. */
export function printPath(path: string): string {
  return path
    .split(SEP)
    .map((s) => {
      const body = s.slice(2);
      if (s.startsWith('f:')) return `.${body}`;
      if (s.startsWith('v:')) return `[${body}]`;
      if (s.startsWith('k:'))
        return `[${Object.entries(JSON.parse(body) as Record<string, unknown>)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      return s;
    })
    .join('');
}

/** A list element's or set value's own path: owning it is owning its existence, not a value. */
const isMembership = (p: string) => {
  const last = p.slice(p.lastIndexOf(SEP) + 1);
  return last.startsWith('k:') || last.startsWith('v:');
};

/** The value at a path (undefined when absent); a list element's own path gives the element. */
function valueAt(obj: J, path: string): J {
  let cur = obj;
  for (const s of path.split(SEP)) {
    if (cur === undefined || cur === null) return undefined;
    const body = s.slice(2);
    if (s.startsWith('f:')) cur = isObj(cur) ? cur[body] : undefined;
    else if (s.startsWith('k:')) {
      const [k, v] = Object.entries(JSON.parse(body) as Record<string, unknown>)[0]!;
      cur = Array.isArray(cur) ? cur.find((e) => isObj(e) && jsonEqual(e[k], v)) : undefined;
    } else if (s.startsWith('v:')) {
      const v = JSON.parse(body) as unknown;
      cur = Array.isArray(cur) && cur.some((e) => jsonEqual(e, v)) ? v : undefined;
    } else return undefined;
  }
  return cur;
}

/** Removes the field at a path. */
function removeAt(obj: J, path: string): void {
  const segs = path.split(SEP);
  const last = segs.pop()!;
  const parent = segs.length ? valueAt(obj, segs.join(SEP)) : obj;
  const body = last.slice(2);
  if (last.startsWith('f:') && isObj(parent)) delete parent[body];
  else if (Array.isArray(parent)) {
    const at = last.startsWith('k:')
      ? (() => {
          const [k, v] = Object.entries(JSON.parse(body) as Record<string, unknown>)[0]!;
          return parent.findIndex((e) => isObj(e) && jsonEqual(e[k], v));
        })()
      : parent.findIndex((e) => jsonEqual(e, JSON.parse(body)));
    if (at >= 0) parent.splice(at, 1);
    // a keyed list left empty goes too, as a list nobody sets
    if (parent.length === 0 && segs.length) {
      const last2 = segs[segs.length - 1]!;
      const grand = segs.length > 1 ? valueAt(obj, segs.slice(0, -1).join(SEP)) : obj;
      if (last2.startsWith('f:') && isObj(grand)) delete grand[last2.slice(2)];
    }
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length &&
    ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** Merges `config` into `live` the way apply does: maps by key, keyed lists by element, sets by value. */
function merge(live: J, config: J, names: string[], kind: string): J {
  if (isObj(config)) {
    const out: Record<string, J> = isObj(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(config)) out[k] = merge(out[k], v, [...names, k], kind);
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const rule = listRule(names, kind);
    if (rule?.primitive) return [...live, ...config.filter((x) => !live.some((y) => jsonEqual(x, y)))];
    const key = rule?.key;
    if (key && config.every((x) => isObj(x) && x[key] !== undefined)) {
      const out = [...live];
      for (const el of config) {
        const i = out.findIndex((e) => isObj(e) && jsonEqual(e[key], el[key]));
        if (i >= 0) out[i] = merge(out[i], el, names, kind);
        else out.push(el);
      }
      return out;
    }
  }
  return structuredClone(config);
}

function conflictError(
  kind: string,
  name: string,
  conflicts: FieldConflict[],
  apiVersion: string,
): StatusError {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const parts = [...byManager].map(
    ([m, fields]) =>
      `conflict${fields.length > 1 ? 's' : ''} with "${m}" using ${apiVersion}:\n- ${fields.join('\n- ')}`,
  );
  const n = conflicts.length;
  return new StatusError(
    409,
    'Conflict',
    `Apply failed with ${n} conflict${n > 1 ? 's' : ''}: ${parts.join('\n')}`,
    {
      kind,
      name,
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with "${c.manager}" using ${apiVersion}`,
        field: c.field,
      })),
    },
  );
}

/**
 * Whether applying `config` to `live` as `opts.fieldManager` would change nothing: the manager
 * already owns exactly the fields the configuration sets, and each has the configured value.
 * Cheap (no copies): for appliers that re-apply often and mostly find nothing to do.
 */
export function applyIsNoOp(
  live: J,
  config: J,
  opts: Pick<ApplyOptions, 'fieldManager' | 'kind' | 'ignoreStatus'>,
): boolean {
  if (!isObj(live) || !isObj(config)) return false;
  const entry = ((live.metadata?.managedFields ?? []) as ManagedFieldsEntry[]).find(
    (e) => e.manager === opts.fieldManager && e.operation === 'Apply' && !e.subresource,
  );
  if (!entry || entry.apiVersion !== config.apiVersion) return false;
  const owned = fromFieldsV1(entry.fieldsV1);
  const mine = fieldSet(config, opts.kind, opts.ignoreStatus);
  if (owned.size !== mine.size) return false;
  for (const p of mine) {
    if (!owned.has(p)) return false;
    if (isMembership(p) ? valueAt(live, p) === undefined : !jsonEqual(valueAt(config, p), valueAt(live, p)))
      return false;
  }
  return true;
}

/**
 * The object after `config` is applied to `live` (undefined when the object is new) by
 * `opts.fieldManager`, with managedFields updated. Throws 409 on conflicts unless forced.
 */
export function serverSideApply(live: J, config: J, opts: ApplyOptions): J {
  if (!isObj(config)) throw errors.badRequest('an apply patch must be an object');
  if (!opts.fieldManager)
    throw errors.badRequest('fieldManager is required for apply requests: add ?fieldManager=NAME to the URL');
  const apiVersion = String(config.apiVersion ?? '');
  const cfg = structuredClone(config);
  delete cfg.metadata?.managedFields;
  delete cfg.metadata?.resourceVersion;
  if (opts.ignoreStatus) delete cfg.status;
  const mine = fieldSet(cfg, opts.kind, opts.ignoreStatus);
  const entries: ManagedFieldsEntry[] = structuredClone(
    (live?.metadata?.managedFields ?? []) as ManagedFieldsEntry[],
  );
  const isMine = (e: ManagedFieldsEntry) =>
    e.manager === opts.fieldManager && e.operation === 'Apply' && !e.subresource;
  const prev = entries.find(isMine);
  const prevSet = prev ? fromFieldsV1(prev.fieldsV1) : new Set<string>();
  const others = entries.filter((e) => !isMine(e)).map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));

  const base = live ? structuredClone(live) : {};
  const conflicts: FieldConflict[] = [];
  const taken: { set: Set<string>; path: string }[] = [];
  for (const o of others) {
    // the same manager's own Update entries never conflict with its apply (upstream)
    if (o.e.manager === opts.fieldManager) continue;
    for (const p of mine)
      if (o.set.has(p) && !isMembership(p) && !jsonEqual(valueAt(cfg, p), valueAt(base, p))) {
        conflicts.push({ manager: o.e.manager, field: printPath(p) });
        taken.push({ set: o.set, path: p });
      }
  }
  if (conflicts.length && !opts.force)
    throw conflictError(opts.kind, String(cfg.metadata?.name ?? ''), conflicts, apiVersion);
  // forced: the conflicting fields become this manager's alone; equal values stay shared
  if (opts.force) for (const t of taken) t.set.delete(t.path);

  // what this manager applied before and applies no more goes, unless another manager owns it
  const ownedByOthers = (p: string) => others.some((o) => o.set.has(p));
  const dropped = [...prevSet].filter((p) => !mine.has(p) && !ownedByOthers(p));
  // shallowest first: an element goes with its fields (whose paths then find nothing)
  dropped.sort((a, b) => a.split(SEP).length - b.split(SEP).length);
  for (const p of dropped) removeAt(base, p);

  const merged = merge(base, cfg, [], opts.kind) as Record<string, J>;
  const next: ManagedFieldsEntry[] = [];
  for (const o of others) {
    if (o.set.size === 0) continue;
    next.push(o.set.size === fromFieldsV1(o.e.fieldsV1).size ? o.e : { ...o.e, fieldsV1: toFieldsV1(o.set) });
  }
  const unchanged = prev && prevSet.size === mine.size && [...mine].every((p) => prevSet.has(p));
  const entry: ManagedFieldsEntry = {
    manager: opts.fieldManager,
    operation: 'Apply',
    apiVersion,
    time: unchanged && prev?.time ? prev.time : opts.now,
    fieldsType: 'FieldsV1',
    fieldsV1: unchanged ? prev.fieldsV1 : toFieldsV1(mine),
  };
  // the applier's entry keeps its place: a no-op apply must leave the object byte-identical
  const at = entries.findIndex(isMine);
  const ordered = at >= 0 ? [...next.slice(0, at), entry, ...next.slice(at)] : [...next, entry];
  merged.metadata = { ...merged.metadata, managedFields: ordered };
  return merged;
}
