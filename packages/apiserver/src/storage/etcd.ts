// The HA KVStore: etcd v3 through the `etcd3` client. Keys live under an optional prefix; every
// write is one etcd transaction, so revisions are etcd's own.
import { Etcd3, GRPCDeadlineExceededError, isRecoverableError } from 'etcd3';
import type { IKeyValue, IOptions, IWatchResponse, Watcher } from 'etcd3';
import type {
  KVStore,
  KeyValue,
  RangeOptions,
  RangeResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './kv.ts';
import {
  CompactedError,
  ConflictError,
  KeyExistsError,
  KeyNotFoundError,
  StorageError,
  UnavailableError,
} from './kv.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the members, e.g. http://127.0.0.1:2379; calls spread over them. */
  endpoints: string[];
  /** Prepended to every key; keys outside it are invisible. */
  prefix?: string;
  /**
   * Budget for one store call, retries included (default 5 s). A write in flight when the leader
   * dies waits for etcd's own ~7 s request timeout otherwise; with a 1 s election timeout a new
   * leader takes writes after 1-2 s, so failing (UnavailableError) at 5 s lets callers retry
   * sooner. With 2 of 3 members dead every call fails after this long.
   */
  timeoutMs?: number;
  /** How long a watch may stay disconnected before it fails with UnavailableError (default 10 s). */
  watchReconnectMs?: number;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A policy that runs the call once. The client's default retries every recoverable error three
 * times, which for a transaction whose reply was lost turns success into "exists" or "conflict";
 * EtcdStore retries itself, writes only when the request cannot have reached etcd.
 */
const once = {
  execute: (fn: (ctx: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as Policy;

/** The request never left this process, or etcd refused it before proposing: safe to resend. */
const notSent =
  /No connection established|ECONNREFUSED|Failed to connect|etcdserver: no leader|too many requests/i;
/** The connection to that member is gone (refused, reset, dropped). */
const connectionLost =
  /No connection established|ECONNREFUSED|ECONNRESET|Connection dropped|Failed to connect/i;

/**
 * Per member: after a connection failure, skip the member for a while so calls go to the
 * others at once (the client tries the next member when a policy refuses to call). Timeouts do
 * not count: during an election every member times out, and none should be skipped for it.
 */
function hostBreaker(skipMs: number): Policy {
  let skipUntil = 0;
  return {
    execute: async (fn: (ctx: { signal: AbortSignal }) => unknown) => {
      if (Date.now() < skipUntil)
        throw new Error('No connection established (member skipped after a connection failure)');
      try {
        return await fn({ signal: new AbortController().signal });
      } catch (e) {
        if (e instanceof Error && connectionLost.test(e.message)) skipUntil = Date.now() + skipMs;
        throw e;
      }
    },
  } as unknown as Policy;
}

const compactedMsg = /required revision has been compacted/;
const futureMsg = /required revision is a future revision/;

const progressIntervalMs = 1000;

export class EtcdStore implements KVStore {
  readonly name = 'etcd';
  readonly #c: Etcd3;
  readonly #prefix: Buffer;
  readonly #timeoutMs: number;
  readonly #watchReconnectMs: number;
  readonly #watches = new Set<() => void>();
  #compacted = 0;

  /** Connects and checks that the cluster answers (UnavailableError if it does not). */
  static async connect(o: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(o);
    try {
      await s.currentRevision();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  constructor(o: EtcdStoreOptions) {
    if (!o.endpoints.length) throw new StorageError('etcd: no endpoints');
    this.#prefix = Buffer.from(o.prefix ?? '');
    this.#timeoutMs = o.timeoutMs ?? 5_000;
    this.#watchReconnectMs = o.watchReconnectMs ?? 10_000;
    this.#c = new Etcd3({
      hosts: o.endpoints,
      faultHandling: { global: once, host: () => hostBreaker(1000) },
      grpcOptions: {
        // Finds a silently dead member (partition, frozen VM) under a long-lived watch stream.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
    });
  }

  #key(key: string): Buffer {
    return Buffer.concat([this.#prefix, Buffer.from(key)]);
  }

  #kv(r: IKeyValue): KeyValue {
    return {
      key: r.key.subarray(this.#prefix.length).toString(),
      value: r.value.toString(),
      createRevision: Number(r.create_revision),
      modRevision: Number(r.mod_revision),
    };
  }

  /** [start, end) of every key under `prefix` (both zero bytes = the whole keyspace). */
  #bounds(prefix: string): { start: Buffer; end: Buffer } {
    const start = this.#key(prefix);
    return start.length ? { start, end: prefixEnd(start) } : { start: zero, end: zero };
  }

  /**
   * Runs `f` with a deadline within the call's budget. Reads retry any transient failure; writes
   * retry only failures that prove the request was not applied, and otherwise fail with
   * UnavailableError (outcome unknown), never with a misleading exists/conflict.
   */
  async #call<T>(kind: 'read' | 'write', f: (deadline: Date) => Promise<T>): Promise<T> {
    const until = Date.now() + this.#timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await f(new Date(until));
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        if (compactedMsg.test(err.message) || futureMsg.test(err.message)) throw err;
        const retriable = kind === 'read' ? transient(err) : notSent.test(err.message);
        const waitMs = Math.min(25 * 2 ** attempt, 500);
        if (!retriable || Date.now() + waitMs >= until) {
          const why =
            err instanceof GRPCDeadlineExceededError ? `no answer in ${this.#timeoutMs} ms` : err.message;
          throw new UnavailableError(`etcd ${kind}: ${why}`);
        }
        await sleep(waitMs);
      }
    }
  }

  async get(key: string) {
    const r = await this.#call('read', (deadline) => this.#c.kv.range({ key: this.#key(key) }, { deadline }));
    const kv = r.kvs[0];
    return { kv: kv ? this.#kv(kv) : undefined, revision: Number(r.header.revision) };
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const { start, end } = this.#bounds(prefix);
    let from = start;
    if (opts.startAfter !== undefined) {
      const after = Buffer.concat([this.#key(opts.startAfter), zero]);
      if (Buffer.compare(after, from) > 0) from = after;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const revision = opts.revision && opts.revision > 0 ? opts.revision : 0;
    const r = await this.#call('read', (deadline) =>
      this.#c.kv.range({ key: from, range_end: end, limit, revision }, { deadline }),
    ).catch((e: unknown) => this.#mapReadError(e, revision));
    const items = r.kvs.map((x) => this.#kv(x));
    return {
      items,
      // etcd's header carries the current revision even for a read at an older one.
      revision: revision || Number(r.header.revision),
      more: r.more,
      remaining: Math.max(0, Number(r.count) - items.length),
    };
  }

  async #mapReadError(e: unknown, revision: number): Promise<never> {
    const m = e instanceof Error ? e.message : String(e);
    if (compactedMsg.test(m)) throw new CompactedError(revision, await this.compactedRevision());
    if (futureMsg.test(m)) throw new UnavailableError(`etcd: revision ${revision} is in the future`);
    throw e;
  }

  async count(prefix: string) {
    const { start, end } = this.#bounds(prefix);
    const r = await this.#call('read', (deadline) =>
      this.#c.kv.range({ key: start, range_end: end, count_only: true }, { deadline }),
    );
    return Number(r.count);
  }

  async create(key: string, value: string) {
    const k = this.#key(key);
    const r = await this.#call('write', (deadline) =>
      this.#c.kv.txn(
        {
          compare: [{ key: k, target: 'Version', result: 'Equal', version: 0 }],
          success: [{ request_put: { key: k, value: Buffer.from(value) } }],
          failure: [],
        },
        { deadline },
      ),
    );
    if (!r.succeeded) throw new KeyExistsError(key);
    const rev = Number(r.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number) {
    const k = this.#key(key);
    const r = await this.#call('write', (deadline) =>
      this.#c.kv.txn(
        {
          // Version > 0 too: etcd's mod_revision of a missing key is 0, and put would create it.
          compare: [
            { key: k, target: 'Version', result: 'Greater', version: 0 },
            { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
          ],
          success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        { deadline },
      ),
    );
    if (!r.succeeded) throw this.#refusal(key, r.responses[0]?.response_range?.kvs[0]);
    const prev = r.responses[0]?.response_put?.prev_kv;
    const rev = Number(r.header.revision);
    return { key, value, createRevision: prev ? Number(prev.create_revision) : rev, modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number) {
    const k = this.#key(key);
    const compare: {
      key: Buffer;
      target: 'Version' | 'Mod';
      result: 'Greater' | 'Equal';
      version?: number;
      mod_revision?: number;
    }[] = [{ key: k, target: 'Version', result: 'Greater', version: 0 }];
    if (expectedModRevision !== undefined)
      compare.push({ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision });
    const r = await this.#call('write', (deadline) =>
      this.#c.kv.txn(
        {
          compare,
          success: [{ request_delete_range: { key: k, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        { deadline },
      ),
    );
    if (!r.succeeded) throw this.#refusal(key, r.responses[0]?.response_range?.kvs[0]);
    const prev = r.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new KeyNotFoundError(key);
    return { prev: this.#kv(prev), revision: Number(r.header.revision) };
  }

  #refusal(key: string, current: IKeyValue | undefined): StorageError {
    return current ? new ConflictError(key, this.#kv(current)) : new KeyNotFoundError(key);
  }

  /**
   * An etcd watch from `afterRevision`: etcd replays history then streams, in revision order.
   * The watch starts at afterRevision itself (events there are dropped) so that etcd refuses it
   * exactly when a read at afterRevision would be refused. Reconnects resume after the last
   * delivered revision. onProgress reports revisions that etcd's progress notifications vouch
   * for (etcd's --experimental-watch-progress-notify-interval) or the last delivered one.
   */
  watch(prefix: string, opts: WatchOptions): WatchHandle {
    let closed = false; // no more deliveries
    let userClosed = false; // no more callbacks at all
    let last = opts.afterRevision;
    let busy = false;
    let offline: NodeJS.Timeout | undefined;
    const { start, end } = this.#bounds(prefix);
    const w: Watcher = this.#c
      .watch()
      .inRange({ start, end })
      .startRevision(String(Math.max(1, last)))
      .withPreviousKV()
      .watcher();
    const stop = () => {
      closed = true;
      clearInterval(progress);
      clearTimeout(offline);
      this.#watches.delete(close);
      void w.cancel().catch(() => undefined);
    };
    const close = () => {
      userClosed = true;
      stop();
    };
    const report = (err: Error) => {
      if (!userClosed) opts.onError(err);
    };
    const fail = (err: Error) => {
      if (closed) return;
      stop();
      report(err);
    };
    const progress = setInterval(() => {
      if (closed) return;
      if (!busy && opts.onProgress) opts.onProgress(last);
      busy = false;
    }, progressIntervalMs);
    progress.unref();
    this.#watches.add(close);

    w.on('data', (res: IWatchResponse) => {
      if (closed) return;
      const floor = last;
      const events: WatchEvent[] = [];
      for (const e of res.events) {
        const rev = Number(e.kv.mod_revision);
        if (rev <= floor) continue;
        last = Math.max(last, rev);
        const prev = e.prev_kv ? this.#kv(e.prev_kv) : undefined;
        if (e.type === 'Delete') {
          const kv = prev
            ? { ...prev, modRevision: rev }
            : { key: this.#kv(e.kv).key, value: '', createRevision: 0, modRevision: rev };
          events.push({ type: 'delete', kv, prevKv: prev });
        } else {
          events.push({ type: 'put', kv: this.#kv(e.kv), prevKv: prev, created: e.kv.version === '1' });
        }
      }
      // An empty, non-created response is a progress notification: etcd has sent every event
      // up to the header's revision.
      if (!res.events.length) last = Math.max(last, Number(res.header.revision));
      if (!events.length) return;
      busy = true;
      try {
        opts.onEvents(events);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    w.on('disconnected', () => {
      // The client would resume from the last header revision + 1, which can be past events it
      // never delivered; resume from what was delivered instead.
      w.request.start_revision = String(Math.max(1, last));
      offline ??= setTimeout(
        () => fail(new UnavailableError(`etcd watch: disconnected for ${this.#watchReconnectMs} ms`)),
        this.#watchReconnectMs,
      );
    });
    w.on('connected', () => {
      clearTimeout(offline);
      offline = undefined;
    });
    w.on('error', (err: Error) => {
      if (closed) return;
      stop();
      // etcd cancels a watch whose start is compacted, and the client passes on no reason: ask
      // for the compacted revision to tell compaction from anything else.
      const unavailable = new UnavailableError(`etcd watch: ${err.message}`);
      void this.compactedRevision().then(
        (compacted) =>
          report(Math.max(1, last) < compacted ? new CompactedError(last, compacted) : unavailable),
        () => report(unavailable),
      );
    });
    return { close };
  }

  /**
   * Compacts etcd's history at `revision` (clamped to the current revision) and waits until it
   * is physically done. etcd compacts its whole keyspace, not only this store's prefix.
   */
  async compact(revision: number): Promise<void> {
    let target = revision;
    for (let i = 0; i < 2; i++) {
      try {
        await this.#call('read', (deadline) =>
          this.#c.kv.compact({ revision: target, physical: true }, { deadline }),
        );
        this.#compacted = Math.max(this.#compacted, target);
        return;
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        if (compactedMsg.test(m)) return; // already compacted at or past it
        if (!futureMsg.test(m)) throw e;
        target = await this.currentRevision();
      }
    }
  }

  async currentRevision() {
    const r = await this.#call('read', (deadline) =>
      this.#c.kv.range({ key: zero, limit: 1, count_only: true }, { deadline }),
    );
    return Number(r.header.revision);
  }

  /**
   * etcd does not publish its compacted revision: find it by bisection over reads at a
   * revision (about log2(current) requests, only between the last known value and now).
   */
  async compactedRevision() {
    let hi = await this.currentRevision(); // readable
    let lo = Math.max(1, this.#compacted);
    if (await this.#readableAt(lo)) {
      hi = lo;
    } else {
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await this.#readableAt(mid)) hi = mid;
        else lo = mid;
      }
    }
    // hi is the oldest readable revision: etcd's compaction revision (1 means never compacted).
    this.#compacted = hi > 1 ? Math.max(this.#compacted, hi) : this.#compacted;
    return this.#compacted;
  }

  async #readableAt(revision: number): Promise<boolean> {
    try {
      await this.#call('read', (deadline) =>
        this.#c.kv.range({ key: zero, revision, count_only: true }, { deadline }),
      );
      return true;
    } catch (e) {
      if (compactedMsg.test(e instanceof Error ? e.message : '')) return false;
      throw e;
    }
  }

  async close() {
    for (const stop of [...this.#watches]) stop();
    this.#c.close();
  }
}

const zero = Buffer.from([0]);

function transient(e: Error): boolean {
  return (
    isRecoverableError(e) ||
    connectionLost.test(e.message) ||
    /etcdserver: (request timed out|leader changed|no leader|too many requests)/.test(e.message)
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The smallest key above every key with this (non-empty) prefix, as etcd's clientv3.GetPrefixRangeEnd. */
function prefixEnd(k: Buffer): Buffer {
  const end = Buffer.from(k);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return zero;
}
