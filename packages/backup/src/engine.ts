// Backup and restore of one logical cluster of the embedded local cloud: every API object of the
// chosen namespaces (and the cluster-scoped ones they need) and the files of their volumes, to and
// from an S3 bucket in the format of archive.ts. Runs in the API server's process and reads and
// writes through the same code as kubectl (InProcessClient). Memory is bounded: a file goes up
// and comes down in parts of `partBytes`, with `concurrency` files at a time.
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, relative, resolve, sep, dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ApiServer, KObject, ResourceInfo } from '@kaas/apiserver';
import { decodeStored } from '@kaas/apiserver';
import { InProcessClient, ignoreNotFound, isAlreadyExists } from '@kaas/controllers';
import {
  archiveForm,
  canonicalJson,
  compareForm,
  compareSha,
  diffPaths,
  formatVersion,
  isControllerOwned,
  keys,
  restoreForm,
  restorePriority,
  sha256,
  skippedKinds,
  type ArchivedFile,
  type ArchivedObject,
  type ArchivedVolume,
  type Manifest,
} from './archive.ts';
import { S3Error, type S3Client } from './s3.ts';

export type Server = Pick<ApiServer, 'rest' | 'clusters'>;

export interface Progress {
  phase: 'objects' | 'volumes' | 'manifest' | 'restore' | 'verify';
  objects: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface EngineOptions {
  server: Server;
  s3: S3Client;
  /** the server's data dir: volumes live in <dataDir>/volumes/<cluster>/<pv> */
  dataDir: string;
  /** multipart part size; S3 wants at least 5 MiB */
  partBytes?: number;
  concurrency?: number;
  objectsPerChunk?: number;
  /** objects per list request (limit/continue) */
  pageSize?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** An error with a coded reason (the Cluster's vocabulary, plus what only backups have). */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function reasonOf(e: unknown): string {
  if (e instanceof BackupError || e instanceof S3Error) return e.reason;
  if ((e as Error)?.name === 'AbortError') return 'Interrupted';
  return 'Internal';
}

export function volumesDir(dataDir: string, cluster: string): string {
  return join(resolve(dataDir), 'volumes', cluster);
}

const defaults = { partBytes: 16 * 1024 * 1024, concurrency: 4, objectsPerChunk: 1000, pageSize: 500 };

/** Runs `fn` over `items` with at most `n` in flight; the first error stops the rest. */
async function pool<T>(
  items: readonly T[],
  n: number,
  fn: (t: T, i: number, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async (_: unknown, w: number) => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i, w);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed !== undefined) throw failed.e as Error;
}

// ---- what to back up ----

interface Listed {
  info: ResourceInfo;
  items: KObject[];
}

interface Kind {
  info: ResourceInfo;
  apiVersion: string;
}

/** The kinds archived: served, listable and creatable, preferred version only (nothing twice). */
async function archivedKinds(server: Server, cluster: string): Promise<Kind[]> {
  const state = await server.clusters.get(cluster);
  const out: Kind[] = [];
  for (const info of state.allResources()) {
    if (info.virtual || !info.verbs.includes('list') || !info.verbs.includes('create')) continue;
    if (state.registry.lookupPreferred(info.group, info.plural) !== info) continue;
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    if (skippedKinds.has(`${apiVersion}/${info.kind}`)) continue;
    out.push({ info, apiVersion });
  }
  return out;
}

/**
 * One kind's objects a page at a time (limit/continue, one consistent revision per kind): memory
 * holds a page, never the whole list.
 */
async function* listPages(
  server: Server,
  cluster: string,
  k: Kind,
  pageSize: number,
): AsyncGenerator<KObject[]> {
  let cont: string | undefined;
  do {
    const r = await server.rest.list(
      { cluster, info: k.info },
      { limit: pageSize, ...(cont ? { continue: cont } : {}) },
    );
    yield r.items.map(decodeStored).map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.info.kind }));
    cont = r.continue;
  } while (cont);
}

/**
 * Which objects a backup takes: the chosen namespaces' objects (seen first), then the
 * cluster-scoped ones they need — their Namespaces, the PersistentVolumes and StorageClasses of
 * their claims, the CRDs of their groups. It remembers only names, so it streams.
 */
class Selection {
  readonly #namespaces: readonly string[] | 'all';
  readonly #volumeNames = new Set<string>();
  readonly #classNames = new Set<string>();
  readonly #groups = new Set<string>();
  constructor(namespaces: readonly string[] | 'all') {
    this.#namespaces = namespaces;
  }
  #inNs(ns: string | undefined): boolean {
    return ns !== undefined && (this.#namespaces === 'all' || this.#namespaces.includes(ns));
  }
  namespaced(o: KObject): boolean {
    if (!this.#inNs(o.metadata.namespace)) return false;
    if (o.kind === 'PersistentVolumeClaim') {
      if (o.spec?.volumeName) this.#volumeNames.add(o.spec.volumeName);
      if (o.spec?.storageClassName) this.#classNames.add(o.spec.storageClassName);
    }
    this.#groups.add((o.apiVersion ?? '').split('/')[0]!);
    return true;
  }
  clusterScoped(o: KObject): boolean {
    const name = o.metadata.name ?? '';
    switch (o.kind) {
      case 'Namespace':
        return this.#inNs(name);
      case 'PersistentVolume':
        return this.#volumeNames.has(name);
      case 'StorageClass':
        return this.#classNames.has(name);
      case 'CustomResourceDefinition':
        return this.#groups.has(o.spec?.group);
      default:
        return false;
    }
  }
}

/** The objects of the chosen namespaces and the cluster-scoped ones they need (from whole lists). */
export function selectObjects(listed: Listed[], namespaces: readonly string[] | 'all'): KObject[] {
  const sel = new Selection(namespaces);
  const chosen: KObject[] = [];
  for (const { info, items } of listed)
    if (info.namespaced) chosen.push(...items.filter((o) => sel.namespaced(o)));
  for (const { info, items } of listed)
    if (!info.namespaced) chosen.push(...items.filter((o) => sel.clusterScoped(o)));
  return chosen;
}

async function walk(
  dir: string,
  base = dir,
): Promise<{ path: string; abs: string; size: number; mode: number }[]> {
  const out: { path: string; abs: string; size: number; mode: number }[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(abs, base)));
    else if (e.isFile()) {
      const st = await lstat(abs);
      out.push({
        path: relative(base, abs).split(sep).join('/'),
        abs,
        size: st.size,
        mode: st.mode & 0o7777,
      });
    }
    // symlinks, sockets, devices: not volume data a pod wrote; left out (docs/backups.md)
  }
  return out;
}

/** The directory of a PV when it lies in this cluster's volumes directory; nothing else is read. */
function ownedVolumePath(dataDir: string, cluster: string, pv: KObject): string | undefined {
  const p = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  if (!p) return undefined;
  const abs = resolve(p);
  const base = volumesDir(dataDir, cluster) + sep;
  return abs.startsWith(base) ? abs : undefined;
}

// ---- upload ----

async function uploadFile(
  o: EngineOptions & { partBytes: number },
  abs: string,
  size: number,
  key: string,
  progress: (n: number) => void,
  /** this worker's part buffer, reused file after file: memory stays at workers x partBytes */
  part: Buffer,
): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(abs, 'r');
  try {
    if (size <= o.partBytes) {
      const buf = part.subarray(0, size);
      let off = 0;
      while (off < size) {
        const { bytesRead } = await fh.read(buf, off, size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      const body = buf.subarray(0, off);
      hash.update(body);
      await o.s3.putObject(key, body);
      progress(off);
      return hash.digest('hex');
    }
    const uploadId = await o.s3.createMultipartUpload(key);
    try {
      const etags: string[] = [];
      const buf = part;
      let pos = 0;
      for (;;) {
        o.signal?.throwIfAborted();
        let filled = 0;
        while (filled < buf.length) {
          const { bytesRead } = await fh.read(buf, filled, buf.length - filled, pos + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        if (filled === 0 && etags.length > 0) break;
        const part = buf.subarray(0, filled);
        hash.update(part);
        etags.push(await o.s3.uploadPart(key, uploadId, etags.length + 1, part));
        pos += filled;
        progress(filled);
        if (filled < buf.length) break;
      }
      await o.s3.completeMultipartUpload(key, uploadId, etags);
    } catch (e) {
      await o.s3.abortMultipartUpload(key, uploadId);
      throw e;
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

export interface BackupRequest {
  namespace: string;
  name: string;
  uid?: string;
  /** the logical cluster */
  cluster: string;
  namespaces: readonly string[] | 'all';
  /** key prefix in the bucket (archive.ts backupRoot) */
  root: string;
}

export interface BackupResult {
  manifest: Manifest;
  manifestKey: string;
  manifestSha256: string;
  manifestBytes: number;
}

/**
 * Writes the archive, the manifest last, then reads the manifest back and checks its sha256:
 * only then is the backup complete. An interrupted run leaves no manifest, so nothing in the
 * bucket claims to be a backup.
 */
export async function runBackup(opts: EngineOptions, req: BackupRequest): Promise<BackupResult> {
  const o = { ...defaults, ...opts };
  const startedAt = new Date().toISOString();
  await o.s3.headBucket();
  // an earlier attempt of the same backup may have left parts: start clean
  await deletePrefix(o.s3, req.root);
  // objects: listed a page at a time, written as gzip ndjson chunks as they fill; what stays in
  // memory is one chunk, the manifest's entries and the few objects the volume plan needs
  const chunks: Manifest['chunks'] = [];
  const archived: ArchivedObject[] = [];
  let objectBytes = 0;
  let lines: string[] = [];
  const flush = async () => {
    if (!lines.length) return;
    o.signal?.throwIfAborted();
    const raw = Buffer.from(lines.join('\n') + '\n');
    objectBytes += raw.length;
    const body = gzipSync(raw);
    const k = keys.objects(req.root, chunks.length);
    await o.s3.putObject(k, body, 'application/gzip');
    chunks.push({ key: k, sha256: sha256(body), bytes: body.length, objects: lines.length });
    lines = [];
  };
  const claims: KObject[] = [];
  const pvs = new Map<string, KObject>();
  const add = async (obj: KObject) => {
    const a = archiveForm(obj);
    const line = canonicalJson(a);
    archived.push({
      apiVersion: obj.apiVersion!,
      kind: obj.kind!,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      name: obj.metadata.name!,
      sha256: sha256(line),
      compareSha256: compareSha(a),
      chunk: chunks.length,
      restore: !isControllerOwned(obj),
    });
    lines.push(line);
    if (obj.kind === 'PersistentVolumeClaim' && obj.apiVersion === 'v1') claims.push(obj);
    if (obj.kind === 'PersistentVolume' && obj.apiVersion === 'v1') pvs.set(obj.metadata.name!, obj);
    if (lines.length >= o.objectsPerChunk) await flush();
  };
  const selection = new Selection(req.namespaces);
  const kinds = await archivedKinds(o.server, req.cluster);
  // namespaced kinds first: the cluster-scoped objects chosen are those they need
  for (const k of [...kinds.filter((x) => x.info.namespaced), ...kinds.filter((x) => !x.info.namespaced)])
    for await (const page of listPages(o.server, req.cluster, k, o.pageSize))
      for (const obj of page)
        if (k.info.namespaced ? selection.namespaced(obj) : selection.clusterScoped(obj)) await add(obj);
  await flush();

  // the volume plan, so the progress total is known before any upload
  const plan: { vol: ArchivedVolume; files: { path: string; abs: string; size: number; mode: number }[] }[] =
    [];
  for (const claim of claims) {
    const pv = pvs.get(claim.spec?.volumeName);
    if (!pv) continue;
    const dir = ownedVolumePath(o.dataDir, req.cluster, pv);
    if (!dir) continue;
    const files = await walk(dir);
    plan.push({
      vol: {
        persistentVolume: pv.metadata.name!,
        claim: { namespace: claim.metadata.namespace!, name: claim.metadata.name! },
        files: [],
        bytes: files.reduce((n, f) => n + f.size, 0),
      },
      files,
    });
  }
  const bytesTotal = plan.reduce((n, p) => n + p.vol.bytes, 0);
  let bytesDone = 0;
  const report = (phase: Progress['phase']) =>
    o.onProgress?.({ phase, objects: archived.length, bytesDone, bytesTotal });
  report('objects');

  // volume files, `concurrency` at a time, each in parts
  const jobs = plan.flatMap((p, v) => p.files.map((f, i) => ({ p, v, f, i })));
  for (const p of plan) p.vol.files = new Array<ArchivedFile>(p.files.length);
  let lastReport = 0;
  const parts = Array.from({ length: o.concurrency }, () => Buffer.allocUnsafe(o.partBytes));
  await pool(jobs, o.concurrency, async ({ p, v, f, i }, _, worker) => {
    o.signal?.throwIfAborted();
    const k = keys.file(req.root, v, i);
    const digest = await uploadFile(
      o,
      f.abs,
      f.size,
      k,
      (n) => {
        bytesDone += n;
        if (Date.now() - lastReport > 500) {
          lastReport = Date.now();
          report('volumes');
        }
      },
      parts[worker]!,
    );
    p.vol.files[i] = { path: f.path, size: f.size, mode: f.mode, sha256: digest, key: k };
  });
  report('volumes');

  const volumes = plan.map((p) => p.vol);
  const manifest: Manifest = {
    formatVersion,
    kind: 'KaaSBackup',
    backup: { namespace: req.namespace, name: req.name, ...(req.uid ? { uid: req.uid } : {}) },
    cluster: req.cluster,
    includedNamespaces: req.namespaces === 'all' ? ['*'] : [...req.namespaces],
    startedAt,
    completedAt: new Date().toISOString(),
    chunks,
    objects: archived,
    volumes,
    totals: {
      objects: archived.length,
      volumes: volumes.length,
      files: volumes.reduce((n, v) => n + v.files.length, 0),
      objectBytes,
      volumeBytes: bytesTotal,
    },
  };
  o.signal?.throwIfAborted();
  const body = Buffer.from(JSON.stringify(manifest));
  const manifestSha256 = sha256(body);
  const manifestKey = keys.manifest(req.root);
  await o.s3.putObject(manifestKey, body, 'application/json');
  const back = await o.s3.getObject(manifestKey);
  if (sha256(back) !== manifestSha256) {
    await o.s3.deleteObject(manifestKey);
    throw new BackupError(
      'ChecksumMismatch',
      `the manifest read back from ${o.s3.where} differs from what was written (${manifestKey}); the backup is not complete`,
    );
  }
  report('manifest');
  return { manifest, manifestKey, manifestSha256, manifestBytes: body.length };
}

function key(o: KObject): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export async function deletePrefix(s3: S3Client, prefix: string): Promise<number> {
  for (const u of await s3.listMultipartUploads(prefix).catch(() => []))
    await s3.abortMultipartUpload(u.key, u.uploadId);
  const listed = await s3.list(prefix);
  // the manifest first: a half-deleted backup must never look complete
  listed.sort((a, b) => Number(b.key.endsWith('manifest.json')) - Number(a.key.endsWith('manifest.json')));
  await pool(listed, 8, (x) => s3.deleteObject(x.key));
  return listed.length;
}

// ---- read back ----

/** The manifest, checked against the sha256 the Backup recorded (when it has one). */
export async function readManifest(s3: S3Client, root: string, expectSha256?: string): Promise<Manifest> {
  const k = keys.manifest(root);
  let body: Buffer;
  try {
    body = await s3.getObject(k);
  } catch (e) {
    if (e instanceof S3Error && e.code === 'NoSuchKey')
      throw new BackupError(
        'NotFound',
        `no complete backup at ${k} in ${s3.where}: its manifest is missing (an interrupted or deleted backup)`,
      );
    throw e;
  }
  if (expectSha256 && sha256(body) !== expectSha256)
    throw new BackupError(
      'ChecksumMismatch',
      `${k} in ${s3.where}: sha256 ${sha256(body)}, the Backup recorded ${expectSha256}`,
    );
  const m = JSON.parse(body.toString('utf8')) as Manifest;
  if (m.formatVersion !== formatVersion)
    throw new BackupError(
      'InvalidSpec',
      `${k}: archive format ${m.formatVersion}; this KaaS reads format ${formatVersion}`,
    );
  return m;
}

const entryKey = (a: { apiVersion?: string; kind?: string; namespace?: string; name?: string }) =>
  `${a.apiVersion}/${a.kind}/${a.namespace ?? ''}/${a.name}`;

/**
 * The objects of one chunk, the chunk checked against the manifest's sha256 and each line against
 * its object's: a chunk at a time is all a restore or a verify holds.
 */
async function readChunk(
  s3: S3Client,
  m: Manifest,
  chunk: number,
): Promise<{ a: ArchivedObject; obj: KObject }[]> {
  const c = m.chunks[chunk]!;
  const body = await s3.getObject(c.key);
  if (sha256(body) !== c.sha256)
    throw new BackupError(
      'ChecksumMismatch',
      `${c.key} in ${s3.where}: sha256 ${sha256(body)}, the manifest says ${c.sha256}`,
    );
  const byKey = new Map<string, KObject>();
  for (const line of gunzipSync(body).toString('utf8').split('\n')) {
    if (!line) continue;
    const obj = JSON.parse(line) as KObject;
    byKey.set(key(obj), obj);
  }
  return m.objects
    .filter((a) => a.chunk === chunk)
    .map((a) => {
      const obj = byKey.get(entryKey(a));
      if (!obj || sha256(canonicalJson(obj)) !== a.sha256)
        throw new BackupError(
          'ChecksumMismatch',
          `object ${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}: missing from ${c.key} or its sha256 differs from the manifest`,
        );
      return { a, obj };
    });
}

/** Reads every chunk once and checks it, holding none: a restore writes nothing from a bad archive. */
async function checkObjects(s3: S3Client, m: Manifest): Promise<void> {
  for (let c = 0; c < m.chunks.length; c++) await readChunk(s3, m, c);
}

/** Every archived object, each line checked against the manifest (all in memory: for small archives and tests). */
export async function readObjects(s3: S3Client, m: Manifest): Promise<Map<string, KObject>> {
  const out = new Map<string, KObject>();
  for (let c = 0; c < m.chunks.length; c++)
    for (const { a, obj } of await readChunk(s3, m, c)) out.set(entryKey(a), obj);
  return out;
}

/** Downloads one file into `dest`, streaming, and returns its sha256. */
async function downloadFile(s3: S3Client, k: string, dest: string, mode: number): Promise<string> {
  await mkdir(dirname(dest), { recursive: true });
  const fh = await open(dest, 'w', mode);
  const hash = createHash('sha256');
  try {
    const reader = (await s3.getObjectStream(k)).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      await fh.write(value);
    }
  } finally {
    await fh.close();
  }
  await chmod(dest, mode);
  return hash.digest('hex');
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  return hash.digest('hex');
}

// ---- restore ----

export interface RestoreRequest {
  root: string;
  manifestSha256?: string;
  /** the logical cluster to restore into */
  target: string;
  /** a subset of the backup's namespaces; undefined: all of them */
  namespaces?: readonly string[];
}

export interface RestoreResult {
  manifest: Manifest;
  created: number;
  skipped: number;
  files: number;
  bytes: number;
  /** objects that exist in the target and were left as they are */
  existing: string[];
  failures: { object: string; message: string }[];
}

function wanted(
  m: Manifest,
  req: RestoreRequest,
): (a: { namespace?: string; kind: string; name: string }) => boolean {
  if (!req.namespaces) return () => true;
  const ns = new Set(req.namespaces);
  const claimsPv = new Set(m.volumes.filter((v) => ns.has(v.claim.namespace)).map((v) => v.persistentVolume));
  return (a) =>
    a.namespace !== undefined
      ? ns.has(a.namespace)
      : a.kind === 'Namespace'
        ? ns.has(a.name)
        : a.kind === 'PersistentVolume'
          ? claimsPv.has(a.name)
          : true;
}

/**
 * Writes the volume data, then the objects (namespaces first, claims after their volumes).
 * Objects that already exist are left alone and counted (as Velero does); files are checked
 * against their sha256 while they are written.
 */
export async function runRestore(opts: EngineOptions, req: RestoreRequest): Promise<RestoreResult> {
  const o = { ...defaults, ...opts };
  await o.s3.headBucket();
  const m = await readManifest(o.s3, req.root, req.manifestSha256);
  await checkObjects(o.s3, m);
  const want = wanted(m, req);
  const client = new InProcessClient(o.server);
  await o.server.clusters.get(req.target);
  const volRoot = volumesDir(o.dataDir, req.target);
  const res: RestoreResult = {
    manifest: m,
    created: 0,
    skipped: 0,
    files: 0,
    bytes: 0,
    existing: [],
    failures: [],
  };

  // volume data first, for the volumes whose PersistentVolume the target does not have yet
  const bytesTotal = m.volumes
    .filter((v) => want({ kind: 'PersistentVolume', name: v.persistentVolume }))
    .reduce((n, v) => n + v.bytes, 0);
  const files: { f: ArchivedFile; dir: string }[] = [];
  for (const v of m.volumes) {
    if (!want({ kind: 'PersistentVolume', name: v.persistentVolume })) continue;
    const exists = await client
      .get({ cluster: req.target, apiVersion: 'v1', kind: 'PersistentVolume', name: v.persistentVolume })
      .then(() => true)
      .catch(ignoreNotFound);
    if (exists) continue;
    const dir = join(volRoot, v.persistentVolume);
    await mkdir(dir, { recursive: true });
    for (const f of v.files) files.push({ f, dir });
  }
  await pool(files, o.concurrency, async ({ f, dir }) => {
    o.signal?.throwIfAborted();
    const dest = resolve(dir, f.path);
    if (!dest.startsWith(dir + sep))
      throw new BackupError('InvalidSpec', `file ${f.path} of the archive points outside its volume`);
    const digest = await downloadFile(o.s3, f.key, dest, f.mode);
    if (digest !== f.sha256)
      throw new BackupError(
        'ChecksumMismatch',
        `${f.key} in ${o.s3.where} (${f.path}): sha256 ${digest}, the manifest says ${f.sha256}`,
      );
    res.files++;
    res.bytes += f.size;
    o.onProgress?.({ phase: 'restore', objects: res.created, bytesDone: res.bytes, bytesTotal });
  });

  const todo = m.objects.filter((a) => a.restore && want(a));
  const ctx = { volumePath: (pv: string) => join(volRoot, pv) };
  // one priority level at a time, inside a level in parallel; each level reads the chunks that
  // hold its objects, one chunk at a time (a chunk is re-read for each level it holds: chunks are
  // small and this keeps memory at one chunk)
  const levels = new Map<number, Set<number>>();
  for (const a of todo) {
    const p = restorePriority(a.apiVersion, a.kind);
    levels.set(p, (levels.get(p) ?? new Set()).add(a.chunk));
  }
  for (const level of [...levels.keys()].sort((a, b) => a - b)) {
    for (const chunk of [...levels.get(level)!].sort((a, b) => a - b)) {
      const items = (await readChunk(o.s3, m, chunk)).filter(
        ({ a }) => a.restore && want(a) && restorePriority(a.apiVersion, a.kind) === level,
      );
      await pool(items, 8, async ({ a, obj: archivedObj }) => {
        o.signal?.throwIfAborted();
        const id = `${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}`;
        const obj = restoreForm(archivedObj, ctx) as KObject;
        try {
          await client.create(req.target, obj);
          res.created++;
        } catch (e) {
          if (isAlreadyExists(e)) {
            res.skipped++;
            res.existing.push(id);
          } else res.failures.push({ object: id, message: (e as Error).message });
        }
      });
    }
    o.onProgress?.({ phase: 'restore', objects: res.created, bytesDone: res.bytes, bytesTotal });
  }
  return res;
}

// ---- verify ----

export interface Difference {
  /** backup: the restored copy differs from the archive; cluster: the live cluster differs from the backup */
  against: 'backup' | 'cluster';
  kind: string;
  namespace?: string;
  name: string;
  /** a volume file's path, for file differences */
  path?: string;
  message: string;
}

export interface VerifyResult {
  scratchCluster: string;
  objectsCompared: number;
  filesCompared: number;
  differences: Difference[];
  restore: Omit<RestoreResult, 'archived'>;
}

/**
 * Restores into a scratch logical cluster, then compares every restored object (compare form)
 * and every file's sha256 with the archive, and the live cluster with the archive (what changed
 * since the backup). The scratch cluster and its volumes are deleted afterwards, also on failure.
 */
export async function runVerify(
  opts: EngineOptions,
  req: Omit<RestoreRequest, 'target'> & { source: string; scratch: string },
): Promise<VerifyResult> {
  const o = { ...defaults, ...opts };
  const client = new InProcessClient(o.server);
  const differences: Difference[] = [];
  const diff = (d: Difference) => differences.push(d);
  try {
    const r = await runRestore(o, {
      root: req.root,
      target: req.scratch,
      ...(req.manifestSha256 ? { manifestSha256: req.manifestSha256 } : {}),
      ...(req.namespaces ? { namespaces: req.namespaces } : {}),
    });
    const restore = r;
    const m = r.manifest;
    const want = wanted(m, { ...req, target: req.scratch });
    let objectsCompared = 0;
    for (const f of r.failures) {
      const [kind, ref] = f.object.split(' ');
      const [ns, name] = ref!.includes('/') ? ref!.split('/') : [undefined, ref];
      diff({
        against: 'backup',
        kind: kind!,
        ...(ns ? { namespace: ns } : {}),
        name: name!,
        message: `not restored: ${f.message}`,
      });
    }
    const get = (cluster: string, a: ArchivedObject) =>
      client
        .get({ cluster, apiVersion: a.apiVersion, kind: a.kind, namespace: a.namespace, name: a.name })
        .then((x) => ({ ...x, apiVersion: a.apiVersion, kind: a.kind }))
        .catch(ignoreNotFound);
    // a chunk at a time: the archive's objects are never all in memory
    for (let chunk = 0; chunk < m.chunks.length; chunk++) {
      const items = m.objects.some((a) => a.chunk === chunk && a.restore && want(a))
        ? (await readChunk(o.s3, m, chunk)).filter(({ a }) => a.restore && want(a))
        : [];
      await pool(items, 8, async ({ a, obj: archivedObj }) => {
        const ref = { kind: a.kind, ...(a.namespace ? { namespace: a.namespace } : {}), name: a.name };
        const want = compareForm(archivedObj);
        const restored = await get(req.scratch, a);
        objectsCompared++;
        if (!restored) {
          if (
            !r.failures.some((f) => f.object === `${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}`)
          )
            diff({ against: 'backup', ...ref, message: 'missing after restore' });
        } else if (compareSha(archiveForm(restored)) !== a.compareSha256) {
          diff({
            against: 'backup',
            ...ref,
            message: `restored copy differs at ${diffPaths(want, compareForm(archiveForm(restored))).join(', ')}`,
          });
        }
        const live = await get(req.source, a);
        if (!live)
          diff({
            against: 'cluster',
            ...ref,
            message: `deleted from cluster ${req.source} since the backup`,
          });
        else if (compareSha(archiveForm(live)) !== a.compareSha256)
          diff({
            against: 'cluster',
            ...ref,
            message: `changed in cluster ${req.source} since the backup at ${diffPaths(want, compareForm(archiveForm(live))).join(', ')}`,
          });
      });
    }
    let filesCompared = 0;
    const scratchRoot = volumesDir(o.dataDir, req.scratch);
    for (const v of m.volumes) {
      if (!want({ kind: 'PersistentVolume', name: v.persistentVolume })) continue;
      const ref = { kind: 'PersistentVolumeClaim', namespace: v.claim.namespace, name: v.claim.name };
      const liveDir = join(volumesDir(o.dataDir, req.source), v.persistentVolume);
      const liveFiles = new Map((await walk(liveDir)).map((f) => [f.path, f]));
      for (const f of v.files) {
        filesCompared++;
        const restored = await hashFile(join(scratchRoot, v.persistentVolume, f.path)).catch(() => undefined);
        if (restored !== f.sha256)
          diff({
            against: 'backup',
            ...ref,
            path: f.path,
            message: restored
              ? `restored file's sha256 ${restored} differs from the archive's ${f.sha256}`
              : 'file missing after restore',
          });
        const lf = liveFiles.get(f.path);
        liveFiles.delete(f.path);
        const liveSha = lf ? await hashFile(lf.abs) : undefined;
        if (liveSha === undefined)
          diff({
            against: 'cluster',
            ...ref,
            path: f.path,
            message: `file deleted from the volume since the backup`,
          });
        else if (liveSha !== f.sha256)
          diff({
            against: 'cluster',
            ...ref,
            path: f.path,
            message: `file changed since the backup (sha256 ${liveSha}, archived ${f.sha256})`,
          });
      }
      for (const extra of liveFiles.keys())
        diff({
          against: 'cluster',
          ...ref,
          path: extra,
          message: 'file added to the volume since the backup',
        });
    }
    differences.sort((a, b) =>
      a.against + a.kind + (a.namespace ?? '') + a.name + (a.path ?? '') <
      b.against + b.kind + (b.namespace ?? '') + b.name + (b.path ?? '')
        ? -1
        : 1,
    );
    return { scratchCluster: req.scratch, objectsCompared, filesCompared, differences, restore };
  } finally {
    await o.server.clusters.deleteCluster(req.scratch).catch(() => undefined);
    await rm(volumesDir(o.dataDir, req.scratch), { recursive: true, force: true });
  }
}
