// Kubernetes' protobuf wire format for built-in kinds, driven by a field table generated from
// the upstream generated.proto files (tools/protobuf-schema/). A body is the 4 bytes `k8s\0`
// and a runtime.Unknown {typeMeta=1, raw=2, contentEncoding=3, contentType=4} whose raw is the
// object's own message. Field names in the .proto files are the JSON names; the few types with a
// custom JSON form (Time, Quantity, IntOrString, RawExtension, ...) are mapped here.
import schemaJson from './schema.json' with { type: 'json' };

type Label = 'o' | 'r' | 'm' | 'i';
type FieldRow = [number, string, string, Label];
interface Field {
  no: number;
  name: string;
  type: string;
  label: Label;
}
interface Message {
  name: string;
  byNo: Map<number, Field>;
  fields: Field[];
}

export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
}

const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const T = {
  time: `${meta}.Time`,
  microTime: `${meta}.MicroTime`,
  duration: `${meta}.Duration`,
  fieldsV1: `${meta}.FieldsV1`,
  quantity: 'k8s.io.apimachinery.pkg.api.resource.Quantity',
  intOrString: 'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  raw: 'k8s.io.apimachinery.pkg.runtime.RawExtension',
  unknown: 'k8s.io.apimachinery.pkg.runtime.Unknown',
  watchEvent: `${meta}.WatchEvent`,
};

const messages = new Map<string, Message>();
for (const [name, rows] of Object.entries(
  (schemaJson as unknown as { messages: Record<string, FieldRow[]> }).messages,
)) {
  const fields = rows.map(([no, fname, type, label]) => ({ no, name: fname, type, label }));
  messages.set(name, { name, fields, byNo: new Map(fields.map((f) => [f.no, f])) });
}

const scalar = new Set(['string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'double', 'float']);
const metaKinds = new Set([
  'Status',
  'DeleteOptions',
  'WatchEvent',
  'Table',
  'PartialObjectMetadata',
  'PartialObjectMetadataList',
  'APIResourceList',
]);

/** The protobuf message of a kind, when it has one. */
export function messageFor(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (metaKinds.has(kind) && (group === '' || group === 'meta.k8s.io') && messages.has(`${meta}.${kind}`))
    return `${meta}.${kind}`;
  if (group.endsWith('.k8s.io') && !/^[a-z]+(\.authorization|\.apiserver)?\.k8s\.io$/.test(group))
    return undefined;
  if (group === 'apiextensions.k8s.io' || group === 'apiregistration.k8s.io') return undefined;
  const pkg = group === '' ? 'core' : group.split('.')[0]!;
  const name = `k8s.io.api.${pkg}.${version}.${kind}`;
  return messages.has(name) ? name : undefined;
}

export function isProtobufKind(apiVersion: string, kind: string): boolean {
  return messageFor(apiVersion, kind) !== undefined;
}

// ---------- decoding ----------

const maxDepth = 100;
const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos: number;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(path: string): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufDecodeError(`truncated varint at ${path}`);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new ProtobufDecodeError(`varint longer than 10 bytes at ${path}`);
  }
  bytes(path: string): Uint8Array {
    const n = this.varint(path);
    if (n > this.end - this.pos) throw new ProtobufDecodeError(`length ${n} runs past the end at ${path}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number, path: string): void {
    if (wire === 0) this.varint(path);
    else if (wire === 2) this.bytes(path);
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (n > this.end - this.pos) throw new ProtobufDecodeError(`truncated fixed field at ${path}`);
      this.pos += n;
    } else throw new ProtobufDecodeError(`unsupported wire type ${wire} at ${path}`);
  }
}

function signed64(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v;
}

function signed32(v: number): number {
  const x = v % 2 ** 32;
  return x >= 2 ** 31 ? x - 2 ** 32 : x;
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new ProtobufDecodeError(`time out of range: ${seconds}s`);
  const base = d.toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let rest = Math.abs(ns);
  const h = Math.floor(rest / 3.6e12);
  rest -= h * 3.6e12;
  const m = Math.floor(rest / 6e10);
  rest -= m * 6e10;
  const s = rest / 1e9;
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${Number(s.toFixed(9))}s`;
  return (neg ? '-' : '') + out;
}

function decodeSpecial(type: string, bytes: Uint8Array, depth: number, path: string): unknown {
  const raw = decodeMessage(type, bytes, depth, path, true);
  switch (type) {
    case T.time:
      return rfc3339(Number(raw.seconds ?? 0), 0, false);
    case T.microTime:
      return rfc3339(Number(raw.seconds ?? 0), Number(raw.nanos ?? 0), true);
    case T.duration:
      return goDuration(Number(raw.duration ?? 0));
    case T.quantity:
      return raw.string ?? '';
    case T.intOrString:
      return Number(raw.type ?? 0) === 1
        ? typeof raw.strVal === 'string'
          ? raw.strVal
          : ''
        : Number(raw.intVal ?? 0);
    case T.raw:
    case T.fieldsV1: {
      const b = (raw.raw ?? raw.Raw) as Uint8Array | undefined;
      if (!b || b.length === 0) return type === T.fieldsV1 ? {} : null;
      try {
        return JSON.parse(utf8.decode(b));
      } catch {
        throw new ProtobufDecodeError(
          `${path}: embedded object is not JSON (nested protobuf objects are not accepted here)`,
        );
      }
    }
    default:
      return raw;
  }
}

const specials = new Set<string>([
  T.time,
  T.microTime,
  T.duration,
  T.quantity,
  T.intOrString,
  T.raw,
  T.fieldsV1,
]);

function isExtraValue(type: string): boolean {
  return type.endsWith('.ExtraValue');
}

function decodeValue(
  f: Field,
  r: Reader,
  wire: number,
  depth: number,
  path: string,
  rawBytes: boolean,
): unknown {
  const t = f.type;
  if (t === 'string' || t === 'bytes' || !scalar.has(t)) {
    if (wire !== 2) throw new ProtobufDecodeError(`${path}: wire type ${wire} for a length-delimited field`);
    const b = r.bytes(path);
    if (t === 'string') return utf8.decode(b);
    if (t === 'bytes') return rawBytes ? b : Buffer.from(b).toString('base64');
    if (specials.has(t)) return decodeSpecial(t, b, depth + 1, path);
    if (isExtraValue(t)) return (decodeMessage(t, b, depth + 1, path) as { items?: string[] }).items ?? [];
    return decodeMessage(t, b, depth + 1, path);
  }
  if (t === 'double' || t === 'float') {
    const n = t === 'double' ? 8 : 4;
    if (wire !== (t === 'double' ? 1 : 5) || r.end - r.pos < n)
      throw new ProtobufDecodeError(`${path}: bad ${t}`);
    const dv = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, n);
    r.pos += n;
    return t === 'double' ? dv.getFloat64(0, true) : dv.getFloat32(0, true);
  }
  if (wire !== 0) throw new ProtobufDecodeError(`${path}: wire type ${wire} for a varint field`);
  const v = r.varint(path);
  if (t === 'bool') return v !== 0;
  if (t === 'int32') return signed32(v);
  if (t === 'int64') return signed64(v);
  return v;
}

function decodeMessage(
  type: string,
  bytes: Uint8Array,
  depth: number,
  path: string,
  rawBytes = false,
): Record<string, unknown> {
  if (depth > maxDepth) throw new ProtobufDecodeError(`nested deeper than ${maxDepth} at ${path}`);
  const msg = messages.get(type);
  if (!msg) throw new ProtobufDecodeError(`no protobuf schema for ${type}`);
  const out: Record<string, unknown> = {};
  const r = new Reader(bytes);
  while (r.pos < r.end) {
    const tag = r.varint(path);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    const f = msg.byNo.get(no);
    if (!f) {
      r.skip(wire, path);
      continue;
    }
    const at = `${path}.${f.name}`;
    if (f.label === 'm') {
      if (wire !== 2) throw new ProtobufDecodeError(`${at}: map entry with wire type ${wire}`);
      const entry = new Reader(r.bytes(at));
      let key = '';
      let value: unknown = f.type === 'string' ? '' : undefined;
      while (entry.pos < entry.end) {
        const et = entry.varint(at);
        const en = Math.floor(et / 8);
        if (en === 1) key = utf8.decode(entry.bytes(at));
        else if (en === 2)
          value = decodeValue({ ...f, label: 'o' }, entry, et & 7, depth, `${at}[${key}]`, false);
        else entry.skip(et & 7, at);
      }
      const m = (out[f.name] ??= {}) as Record<string, unknown>;
      m[key] = value ?? (f.type === 'bytes' ? '' : {});
      continue;
    }
    if (f.label === 'r') {
      const list = (out[f.name] ??= []) as unknown[];
      // Packed repeated scalars are accepted as well as one tag per element.
      if (wire === 2 && scalar.has(f.type) && f.type !== 'string' && f.type !== 'bytes') {
        const inner = new Reader(r.bytes(at));
        while (inner.pos < inner.end)
          list.push(
            decodeValue(f, inner, f.type === 'double' ? 1 : f.type === 'float' ? 5 : 0, depth, at, false),
          );
      } else list.push(decodeValue(f, r, wire, depth, at, rawBytes));
      continue;
    }
    const v = decodeValue(f, r, wire, depth, at, rawBytes);
    if (f.label === 'i' && v && typeof v === 'object') Object.assign(out, v);
    else out[f.name] = v;
  }
  return out;
}

function parseUnknown(buf: Uint8Array): { apiVersion: string; kind: string; raw: Uint8Array } {
  if (buf.length < 4 || buf[0] !== 0x6b || buf[1] !== 0x38 || buf[2] !== 0x73 || buf[3] !== 0) {
    throw new ProtobufDecodeError('the body does not start with the k8s\\0 protobuf magic');
  }
  const u = decodeMessage(T.unknown, buf.subarray(4), 0, 'Unknown', true) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
    contentEncoding?: string;
  };
  if (u.contentEncoding)
    throw new ProtobufDecodeError(`content encoding ${JSON.stringify(u.contentEncoding)} is not supported`);
  return {
    apiVersion: u.typeMeta?.apiVersion ?? '',
    kind: u.typeMeta?.kind ?? '',
    raw: u.raw ?? new Uint8Array(),
  };
}

/** Fields Go sends as "" for an unset non-pointer string; "" stays only where it means something. */
const meaningfulEmpty = new Set(['storageClassName', 'value', 'namespace']);

function dropEmptyStrings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmptyStrings);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (x === '' && !meaningfulEmpty.has(k)) delete o[k];
      else if (x && typeof x === 'object') dropEmptyStrings(x);
    }
  }
  return v;
}

export function decodeProtobuf(buf: Uint8Array): object {
  const { apiVersion, kind, raw } = parseUnknown(buf);
  const type = messageFor(apiVersion, kind);
  if (!type)
    throw new ProtobufDecodeError(
      `no protobuf form for ${apiVersion || '(no apiVersion)'}/${kind || '(no kind)'}: send it as JSON`,
    );
  const obj = decodeMessage(type, raw, 0, kind);
  dropEmptyStrings(obj);
  return { apiVersion, kind, ...obj };
}

// ---------- encoding ----------

class Writer {
  chunks: number[] = [];
  varint(v: number): void {
    let n = v < 0 ? 2 ** 64 + v : v;
    while (n >= 128) {
      this.chunks.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.chunks.push(n);
  }
  tag(no: number, wire: number): void {
    this.varint(no * 8 + wire);
  }
  bytes(no: number, b: Uint8Array): void {
    this.tag(no, 2);
    this.varint(b.length);
    for (const x of b) this.chunks.push(x);
  }
  out(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

const utf8e = new TextEncoder();

function parseTime(s: unknown): { seconds: number; nanos: number } {
  const ms = Date.parse(String(s));
  if (Number.isNaN(ms)) return { seconds: 0, nanos: 0 };
  const frac = /\.(\d+)/.exec(String(s))?.[1] ?? '';
  return { seconds: Math.floor(ms / 1000), nanos: Number(frac.padEnd(9, '0').slice(0, 9)) };
}

function parseGoDuration(s: unknown): number {
  const re = /(-?[\d.]+)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let m: RegExpExecArray | null;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
  while ((m = re.exec(String(s)))) total += Number(m[1]) * unit[m[2]!]!;
  return Math.round(total);
}

function encodeSpecial(type: string, v: unknown): Uint8Array {
  const w = new Writer();
  switch (type) {
    case T.time:
    case T.microTime: {
      const t = parseTime(v);
      if (t.seconds) {
        w.tag(1, 0);
        w.varint(t.seconds);
      }
      if (type === T.microTime && t.nanos) {
        w.tag(2, 0);
        w.varint(t.nanos);
      }
      break;
    }
    case T.duration:
      w.tag(1, 0);
      w.varint(parseGoDuration(v));
      break;
    case T.quantity:
      w.bytes(1, utf8e.encode(String(v)));
      break;
    case T.intOrString:
      if (typeof v === 'number') {
        w.tag(1, 0);
        w.varint(0);
        w.tag(2, 0);
        w.varint(v);
      } else {
        w.tag(1, 0);
        w.varint(1);
        w.bytes(3, utf8e.encode(String(v)));
      }
      break;
    case T.raw:
    case T.fieldsV1:
      w.bytes(1, utf8e.encode(JSON.stringify(v)));
      break;
  }
  return w.out();
}

function encodeScalar(w: Writer, f: Field, v: unknown): void {
  switch (f.type) {
    case 'string':
      w.bytes(f.no, utf8e.encode(String(v)));
      return;
    case 'bytes':
      w.bytes(f.no, Buffer.from(String(v), 'base64'));
      return;
    case 'bool':
      w.tag(f.no, 0);
      w.varint(v ? 1 : 0);
      return;
    case 'double': {
      w.tag(f.no, 1);
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      for (const x of b) w.chunks.push(x);
      return;
    }
    case 'float': {
      w.tag(f.no, 5);
      const b = Buffer.alloc(4);
      b.writeFloatLE(Number(v));
      for (const x of b) w.chunks.push(x);
      return;
    }
    default:
      w.tag(f.no, 0);
      w.varint(Math.trunc(Number(v)));
  }
}

function encodeField(w: Writer, f: Field, v: unknown, depth: number): void {
  if (scalar.has(f.type)) return encodeScalar(w, f, v);
  if (specials.has(f.type)) return w.bytes(f.no, encodeSpecial(f.type, v));
  if (isExtraValue(f.type)) return w.bytes(f.no, encodeMessage(f.type, { items: v }, depth + 1));
  w.bytes(f.no, encodeMessage(f.type, v as Record<string, unknown>, depth + 1));
}

function encodeMessage(type: string, obj: Record<string, unknown>, depth = 0): Uint8Array {
  if (depth > maxDepth) throw new Error(`object nested deeper than ${maxDepth}`);
  const msg = messages.get(type);
  if (!msg) throw new Error(`no protobuf schema for ${type}`);
  const w = new Writer();
  for (const f of msg.fields) {
    if (f.label === 'i') {
      const inner = encodeMessage(f.type, obj, depth + 1);
      if (inner.length) w.bytes(f.no, inner);
      continue;
    }
    const v = obj?.[f.name];
    if (v === undefined || v === null) continue;
    if (f.label === 'r') {
      for (const item of v as unknown[]) encodeField(w, f, item, depth);
    } else if (f.label === 'm') {
      // Kubernetes sorts map keys so encodings are deterministic.
      for (const key of Object.keys(v).sort()) {
        const e = new Writer();
        e.bytes(1, utf8e.encode(key));
        encodeField(e, { ...f, no: 2, label: 'o' }, (v as Record<string, unknown>)[key], depth);
        w.bytes(f.no, e.out());
      }
    } else {
      encodeField(w, f, v, depth);
    }
  }
  return w.out();
}

function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const tm = new Writer();
  tm.bytes(1, utf8e.encode(apiVersion));
  tm.bytes(2, utf8e.encode(kind));
  const u = new Writer();
  u.bytes(1, tm.out());
  u.bytes(2, raw);
  u.bytes(3, new Uint8Array());
  u.bytes(4, new Uint8Array());
  const body = u.out();
  const out = new Uint8Array(body.length + 4);
  out.set([0x6b, 0x38, 0x73, 0], 0);
  out.set(body, 4);
  return out;
}

function typeMeta(obj: object): { apiVersion: string; kind: string } {
  const o = obj as { apiVersion?: unknown; kind?: unknown };
  return {
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
    kind: typeof o.kind === 'string' ? o.kind : '',
  };
}

/** Encodes an object of a protobuf kind; fields the schema does not know cannot travel and are dropped. */
export function encodeProtobuf(obj: object): Uint8Array {
  const { apiVersion, kind } = typeMeta(obj);
  const type = messageFor(apiVersion, kind);
  if (!type) throw new Error(`no protobuf form for ${apiVersion}/${kind}`);
  return envelope(apiVersion, kind, encodeMessage(type, obj as Record<string, unknown>));
}

/**
 * One frame of a protobuf watch stream: a 4-byte big-endian length, then a meta/v1 WatchEvent
 * message (no envelope: the stream serializer is raw) whose object is the enveloped object.
 */
export function encodeWatchEventFrame(type: string, obj: object): Uint8Array {
  const { apiVersion, kind } = typeMeta(obj);
  const inner = messageFor(apiVersion, kind) ? encodeProtobuf(obj) : utf8e.encode(JSON.stringify(obj));
  const rawExt = new Writer();
  rawExt.bytes(1, inner);
  const ev = new Writer();
  ev.bytes(1, utf8e.encode(type));
  ev.bytes(2, rawExt.out());
  const body = ev.out();
  const frame = new Uint8Array(body.length + 4);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, 4);
  return frame;
}

/** Reads one watch frame back (tests, and clients of our own). */
export function decodeWatchEventFrame(frame: Uint8Array): { type: string; object: object } {
  if (frame.length < 4) throw new ProtobufDecodeError('truncated watch frame');
  const len = new DataView(frame.buffer, frame.byteOffset).getUint32(0, false);
  if (len > frame.length - 4) throw new ProtobufDecodeError('watch frame length runs past the end');
  const r = new Reader(frame, 4, 4 + len);
  let type = '';
  let objBytes: Uint8Array | undefined;
  while (r.pos < r.end) {
    const tag = r.varint('WatchEvent');
    if (tag >> 3 === 1) type = utf8.decode(r.bytes('WatchEvent.type'));
    else if (tag >> 3 === 2) {
      const inner = new Reader(r.bytes('WatchEvent.object'));
      while (inner.pos < inner.end) {
        const t2 = inner.varint('RawExtension');
        if (t2 >> 3 === 1) objBytes = inner.bytes('RawExtension.raw');
        else inner.skip(t2 & 7, 'RawExtension');
      }
    } else r.skip(tag & 7, 'WatchEvent');
  }
  if (!objBytes) throw new ProtobufDecodeError('watch event without an object');
  return { type, object: decodeProtobuf(objBytes) };
}
