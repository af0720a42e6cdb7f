// Strategic merge patch with the core types' merge keys: maps merge, null deletes, lists with a
// merge key merge element-wise, finalizers union, and the $patch / $retainKeys /
// $deleteFromPrimitiveList / $setElementOrder directives.
type J = any;
interface Rule {
  key?: string;
  primitive?: boolean;
}

function listRule(path: string[], kind: string): Rule | undefined {
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
      if (rule?.primitive) out[k] = [...new Set([...(Array.isArray(out[k]) ? out[k] : []), ...v])];
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

function mergeList(orig: J[], patch: J[], key: string, kind: string, path: string[]): J[] {
  const out = [...orig];
  for (const item of patch) {
    if (!isObj(item)) {
      out.push(item);
      continue;
    }
    const i = out.findIndex((o) => isObj(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], item, kind, path);
    else {
      const { $patch: _p, ...rest } = item;
      out.push(rest);
    }
  }
  return out;
}
