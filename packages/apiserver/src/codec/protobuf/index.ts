// Hedge: decode-only Kubernetes protobuf for the kinds kubectl's create generators send.
export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
}
type F = [name: string, type: string, repeated?: boolean];
const S: Record<string, Record<number, F>> = {
  Unknown: {
    1: ['typeMeta', 'TypeMeta'],
    2: ['raw', 'bytes'],
    3: ['contentEncoding', 'string'],
    4: ['contentType', 'string'],
  },
  TypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    4: ['selfLink', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['generation', 'int'],
    8: ['creationTimestamp', 'time'],
    9: ['deletionTimestamp', 'time'],
    10: ['deletionGracePeriodSeconds', 'int'],
    11: ['labels', 'map:string'],
    12: ['annotations', 'map:string'],
    13: ['ownerReferences', 'OwnerReference', true],
    14: ['finalizers', 'string', true],
  },
  OwnerReference: {
    1: ['kind', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['controller', 'bool'],
    7: ['blockOwnerDeletion', 'bool'],
  },
  Namespace: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'NamespaceSpec'],
    3: ['status', 'NamespaceStatus'],
  },
  NamespaceSpec: { 1: ['finalizers', 'string', true] },
  NamespaceStatus: { 1: ['phase', 'string'] },
  ConfigMap: {
    1: ['metadata', 'ObjectMeta'],
    2: ['data', 'map:string'],
    3: ['binaryData', 'map:bytes'],
    4: ['immutable', 'bool'],
  },
  Secret: {
    1: ['metadata', 'ObjectMeta'],
    2: ['data', 'map:bytes'],
    3: ['type', 'string'],
    4: ['stringData', 'map:string'],
    5: ['immutable', 'bool'],
  },
  ServiceAccount: {
    1: ['metadata', 'ObjectMeta'],
    2: ['secrets', 'ObjectReference', true],
    3: ['imagePullSecrets', 'LocalObjectReference', true],
    4: ['automountServiceAccountToken', 'bool'],
  },
  ObjectReference: {
    1: ['kind', 'string'],
    2: ['namespace', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['fieldPath', 'string'],
  },
  LocalObjectReference: { 1: ['name', 'string'] },
  Deployment: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'DeploymentSpec'], 3: ['status', 'Empty'] },
  DeploymentSpec: {
    1: ['replicas', 'int'],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    6: ['revisionHistoryLimit', 'int'],
    7: ['paused', 'bool'],
    9: ['progressDeadlineSeconds', 'int'],
  },
  DeploymentStrategy: { 1: ['type', 'string'] },
  LabelSelector: {
    1: ['matchLabels', 'map:string'],
    2: ['matchExpressions', 'LabelSelectorRequirement', true],
  },
  LabelSelectorRequirement: {
    1: ['key', 'string'],
    2: ['operator', 'string'],
    3: ['values', 'string', true],
  },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    2: ['containers', 'Container', true],
    3: ['restartPolicy', 'string'],
    6: ['dnsPolicy', 'string'],
    8: ['serviceAccountName', 'string'],
  },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'string', true],
    4: ['args', 'string', true],
    6: ['ports', 'ContainerPort', true],
    8: ['resources', 'Empty'],
    14: ['imagePullPolicy', 'string'],
  },
  ContainerPort: {
    1: ['name', 'string'],
    2: ['hostPort', 'int'],
    3: ['containerPort', 'int'],
    4: ['protocol', 'string'],
  },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', true], 3: ['roleRef', 'RoleRef'] },
  Subject: {
    1: ['kind', 'string'],
    2: ['apiGroup', 'string'],
    3: ['name', 'string'],
    4: ['namespace', 'string'],
  },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
  SelfSubjectAccessReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SelfSubjectAccessReviewSpec'] },
  SelfSubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'ResourceAttributes'],
    2: ['nonResourceAttributes', 'NonResourceAttributes'],
  },
  ResourceAttributes: {
    1: ['namespace', 'string'],
    2: ['verb', 'string'],
    3: ['group', 'string'],
    4: ['version', 'string'],
    5: ['resource', 'string'],
    6: ['subresource', 'string'],
    7: ['name', 'string'],
  },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', true] },
  ClusterRole: {
    1: ['metadata', 'ObjectMeta'],
    2: ['rules', 'PolicyRule', true],
    3: ['aggregationRule', 'AggregationRule'],
  },
  AggregationRule: { 1: ['clusterRoleSelectors', 'LabelSelector', true] },
  PolicyRule: {
    1: ['verbs', 'string', true],
    2: ['apiGroups', 'string', true],
    3: ['resources', 'string', true],
    4: ['resourceNames', 'string', true],
    5: ['nonResourceURLs', 'string', true],
  },
  Time: { 1: ['seconds', 'int'], 2: ['nanos', 'int'] },
  Empty: {},
};
const kinds: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'apps/v1/Deployment': 'Deployment',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
};

class R {
  p = 0;
  readonly b: Uint8Array;
  readonly end: number;
  constructor(b: Uint8Array, end: number) {
    this.b = b;
    this.end = end;
  }
  varint(): number {
    let x = 0,
      m = 1;
    for (let i = 0; i < 10; i++) {
      if (this.p >= this.end) throw new ProtobufDecodeError('truncated varint');
      const c = this.b[this.p++]!;
      x += (c & 0x7f) * m;
      if (c < 0x80) return x;
      m *= 128;
    }
    throw new ProtobufDecodeError('varint too long');
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.p + n > this.end) throw new ProtobufDecodeError('length-delimited field runs past the end');
    const out = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
}
const td = new TextDecoder('utf-8', { fatal: false });

function decodeMsg(type: string, b: Uint8Array, depth: number, path: string): any {
  if (depth > 64) throw new ProtobufDecodeError(`nested too deep at ${path}`);
  const fields = S[type];
  if (!fields) throw new ProtobufDecodeError(`no schema for ${type}`);
  const r = new R(b, b.length);
  const out: any = {};
  while (r.p < r.end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8),
      wt = tag & 7;
    const f = fields[no];
    if (!f) {
      if (wt === 0) r.varint();
      else if (wt === 2) r.bytes();
      else if (wt === 5) r.p += 4;
      else if (wt === 1) r.p += 8;
      else throw new ProtobufDecodeError(`wire type ${wt} at ${path}`);
      if (r.p > r.end) throw new ProtobufDecodeError(`truncated at ${path}`);
      continue;
    }
    const [name, ft, rep] = f;
    const at = `${path}.${name}`;
    let v: any;
    if (ft === 'int') {
      if (wt !== 0) throw new ProtobufDecodeError(`wrong wire type at ${at}`);
      v = r.varint();
      if (v > 2 ** 63) v -= 2 ** 64;
    } else if (ft === 'bool') {
      if (wt !== 0) throw new ProtobufDecodeError(`wrong wire type at ${at}`);
      v = r.varint() !== 0;
    } else {
      if (wt !== 2) throw new ProtobufDecodeError(`wrong wire type at ${at}`);
      const raw = r.bytes();
      if (ft === 'string') v = td.decode(raw);
      else if (ft === 'bytes') v = Buffer.from(raw).toString('base64');
      else if (ft === 'time') {
        const t = decodeMsg('Time', raw, depth + 1, at);
        v = new Date((t.seconds ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
      } else if (ft.startsWith('map:')) {
        const e = new R(raw, raw.length);
        let k = '',
          val: any = ft === 'map:bytes' ? '' : '';
        while (e.p < e.end) {
          const t2 = e.varint();
          const x = e.bytes();
          if (t2 >> 3 === 1) k = td.decode(x);
          else val = ft === 'map:bytes' ? Buffer.from(x).toString('base64') : td.decode(x);
        }
        (out[name] ??= {})[k] = val;
        continue;
      } else v = decodeMsg(ft, raw, depth + 1, at);
    }
    if (rep) (out[name] ??= []).push(v);
    else out[name] = v;
  }
  return out;
}

// Decode-only hedge: report no kind as encodable so responses are negotiated to JSON.
export function isProtobufKind(_apiVersion: string, _kind: string): boolean {
  return false;
}

export function decodeProtobuf(buf: Uint8Array): object {
  if (buf.length < 4 || buf[0] !== 0x6b || buf[1] !== 0x38 || buf[2] !== 0x73 || buf[3] !== 0)
    throw new ProtobufDecodeError('missing the k8s\\0 magic prefix');
  const u = decodeMsg('Unknown', buf.subarray(4), 0, 'Unknown');
  const apiVersion = u.typeMeta?.apiVersion ?? '',
    kind = u.typeMeta?.kind ?? '';
  const t = kinds[`${apiVersion}/${kind}`];
  if (!t) throw new ProtobufDecodeError(`protobuf is not supported for ${apiVersion}/${kind}: send JSON`);
  const obj = decodeMsg(t, Buffer.from(u.raw ?? '', 'base64'), 0, kind);
  return { apiVersion, kind, ...obj };
}

export function encodeProtobuf(_o: object): Uint8Array {
  throw new Error('protobuf responses are not supported');
}
export function encodeWatchEventFrame(_t: string, _o: object): Uint8Array {
  throw new Error('protobuf watch is not supported');
}
