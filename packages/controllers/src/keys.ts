// Work-queue and cache keys: `<cluster>/<namespace>/<name>` for namespaced objects and
// `<cluster>/<name>` for cluster-scoped ones. None of the three parts may contain '/', so a key
// parses back without knowing the resource.

export interface ObjectKey {
  cluster: string;
  namespace?: string;
  name: string;
}

export function formatKey(k: ObjectKey): string {
  return k.namespace ? `${k.cluster}/${k.namespace}/${k.name}` : `${k.cluster}/${k.name}`;
}

export function parseObjectKey(key: string): ObjectKey {
  const parts = key.split('/');
  if (parts.length === 3 && parts.every(Boolean)) {
    const [cluster, namespace, name] = parts as [string, string, string];
    return { cluster, namespace, name };
  }
  if (parts.length === 2 && parts.every(Boolean)) {
    const [cluster, name] = parts as [string, string];
    return { cluster, name };
  }
  throw new Error(`invalid object key ${JSON.stringify(key)}: want <cluster>/[<namespace>/]<name>`);
}
