// Strategic merge patch with the core types' merge keys: maps merge, null deletes, lists with a
// merge key merge element-wise, finalizers union, and the $patch / $retainKeys /
// $deleteFromPrimitiveList / $setElementOrder directives.
type J = any;
interface Rule {
  key?: string;
  primitive?: boolean;
}

export function listRule(path: string[], kind: string): Rule | undefined {
  const f = path[path.length - 1]!;
  const parent = path[path.length - 2];
  switch (f) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
    case 'env':
      return { key: 'name' };
    case 'ports':
      return kind === 'Service' && path.length === 2 ? { key: 'port' } : { key: 'containerPort' };
    case 'volumeMounts':
      return { key: 'mountPath' };
    case 'volumeDevices':
      return { key: 'devicePath' };
    case 'hostAliases':
      return { key: 'ip' };
    case 'topologySpreadConstraints':
      return { key: 'topologyKey' };
    case 'conditions':
      return parent === 'status' ? { key: 'type' } : undefined;
    case 'addresses':
      return parent === 'status' && kind === 'Node' ? { key: 'type' } : undefined;
    case 'finalizers':
      return parent === 'metadata' ? { primitive: true } : undefined;
    case 'ownerReferences':
      return parent === 'metadata' ? { key: 'uid' } : undefined;
    case 'podCIDRs':
      return kind === 'Node' && parent === 'spec' ? { primitive: true } : undefined;
    case 'podIPs':
    case 'hostIPs':
      return parent === 'status' ? { key: 'ip' } : undefined;
    case 'secrets':
      return kind === 'ServiceAccount' && path.length === 1 ? { key: 'name' } : undefined;
    default:
      return undefined;
  }
}

const isObj = (v: J) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function strategicMergePatch(orig: J, patch: J, kind: string, path: string[] = []): J {
  if (!isObj(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return rest;
  }
  if (patch.$patch === 'delete') return undefined;
  const out: J = isObj(orig) ? { ...orig } : {};
  const retain: string[] | undefined = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x: J) => !(v as J[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const p = [...path, k];
    if (Array.isArray(v)) {
      const rule = listRule(p, kind);
      if (rule?.primitive) out[k] = mergePrimitives(Array.isArray(out[k]) ? out[k] : [], v);
      else if (rule?.key) out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, rule.key, kind, p);
      else out[k] = v;
      const order = patch[`$setElementOrder/${k}`];
      if (Array.isArray(order) && rule?.key && Array.isArray(out[k])) {
        const pos = new Map(order.map((o: J, i: number) => [String(o[rule.key!]), i]));
        out[k] = [...out[k]].sort(
          (a: J, b: J) => (pos.get(String(a[rule.key!])) ?? 1e9) - (pos.get(String(b[rule.key!])) ?? 1e9),
        );
      }
      continue;
    }
    if (isObj(v)) {
      const r = strategicMergePatch(out[k], v, kind, p);
      if (r === undefined) delete out[k];
      else out[k] = r;
      continue;
    }
    out[k] = v;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function mergePrimitives(orig: J[], patch: J[]): J[] {
  const wrap = (xs: J[]) => xs.map((v) => ({ v }));
  return mergeList(wrap(orig), wrap([...new Set(patch)]), 'v', '', []).map((x: { v: J }) => x.v);
}

function mergeList(orig: J[], patch: J[], key: string, kind: string, path: string[]): J[] {
  const index = new Map<unknown, number>();
  orig.forEach((o, i) => isObj(o) && index.set(o[key], i));
  const touched = new Set<number>();
  const fromPatch: { item: J; serverIndex: number }[] = [];
  for (const item of patch) {
    if (!isObj(item)) {
      fromPatch.push({ item, serverIndex: -1 });
      continue;
    }
    const i = index.get(item[key]);
    if (i !== undefined) touched.add(i);
    if (item.$patch === 'delete') continue;
    if (i !== undefined)
      fromPatch.push({ item: strategicMergePatch(orig[i], item, kind, path), serverIndex: i });
    else {
      const { $patch: _p, ...rest } = item;
      fromPatch.push({ item: rest, serverIndex: -1 });
    }
  }
  const serverOnly = orig.map((item, i) => ({ item, i })).filter((x) => !touched.has(x.i));
  // Upstream's order: patch elements in patch order, server-only elements in server order,
  // interleaved by server position; elements new to the server go first.
  const out: J[] = [];
  let a = 0;
  let b = 0;
  while (a < serverOnly.length && b < fromPatch.length) {
    const p = fromPatch[b]!;
    if (p.serverIndex !== -1 && serverOnly[a]!.i < p.serverIndex) out.push(serverOnly[a++]!.item);
    else out.push(fromPatch[b++]!.item);
  }
  while (a < serverOnly.length) out.push(serverOnly[a++]!.item);
  while (b < fromPatch.length) out.push(fromPatch[b++]!.item);
  return out;
}
