// Turns a URL into what the request is about, the way kube-apiserver's RequestInfoFactory does.
import { errors } from '../errors.ts';

export const rootCluster = 'root';

export type RequestKind = 'resource' | 'discovery' | 'nonresource';

export interface RequestInfo {
  cluster: string;
  kind: RequestKind;
  /** Path below the logical-cluster prefix, e.g. /api/v1/pods. */
  path: string;
  verb: string;
  /** 'api' for the legacy core group, 'apis' for named groups. */
  prefix?: 'api' | 'apis';
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

const clusterName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseRequest(method: string, rawPath: string, query: URLSearchParams): RequestInfo {
  let path = rawPath;
  let cluster = rootCluster;
  if (path.startsWith('/clusters/')) {
    const rest = path.slice('/clusters/'.length);
    const slash = rest.indexOf('/');
    cluster = slash === -1 ? rest : rest.slice(0, slash);
    path = slash === -1 ? '/' : rest.slice(slash);
    if (!clusterName.test(cluster)) {
      throw errors.badRequest(
        `invalid logical cluster name ${JSON.stringify(cluster)}: must be a DNS-1123 label`,
      );
    }
  }
  const parts = path.split('/').filter((p) => p !== '');
  const info: RequestInfo = {
    cluster,
    kind: 'nonresource',
    path,
    verb: method.toLowerCase(),
    group: '',
    version: '',
  };
  const head = parts[0];
  if (head !== 'api' && head !== 'apis') return info;
  info.prefix = head;
  let i = 1;
  if (head === 'apis') {
    if (parts.length === 1) return { ...info, kind: 'discovery' };
    info.group = decodeURIComponent(parts[1] ?? '');
    i = 2;
  }
  if (parts.length <= i) return { ...info, kind: 'discovery' };
  info.version = decodeURIComponent(parts[i] ?? '');
  i++;
  if (parts.length <= i) return { ...info, kind: 'discovery' };

  let rest = parts.slice(i).map(decodeURIComponent);
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    info.namespace = rest[1];
    rest = rest.slice(2);
  }
  info.kind = 'resource';
  info.resource = rest[0];
  if (rest.length >= 2) info.name = rest[1];
  if (rest.length >= 3) info.subresource = rest.slice(2).join('/');
  if (rest.length === 0 || rest.length > 3) throw errors.notFound({ group: info.group, resource: path });

  const watch = watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      info.verb = watch ? 'watch' : info.name !== undefined ? 'get' : 'list';
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name !== undefined ? 'delete' : 'deletecollection';
      break;
    default:
      throw errors.methodNotAllowed(method, path);
  }
  return info;
}
