// Hedge copy of an etcd KVStore over the etcd3 client (kept outside the repo until needed).
import { Etcd3 } from 'etcd3';
import type {
  KVStore,
  KeyValue,
  RangeOptions,
  RangeResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './kv.ts';
import { CompactedError, ConflictError, KeyExistsError, KeyNotFoundError, UnavailableError } from './kv.ts';

interface RawKV {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
}

const callTimeoutMs = 30_000;

export class EtcdStore implements KVStore {
  readonly name = 'etcd';
  readonly #c: Etcd3;
  readonly #prefix: string;
  #compacted = 0;

  static async connect(o: { endpoints: string[]; prefix?: string }): Promise<EtcdStore> {
    const s = new EtcdStore(o.endpoints, o.prefix ?? '');
    await s.currentRevision();
    return s;
  }

  constructor(endpoints: string[], prefix: string) {
    this.#c = new Etcd3({
      hosts: endpoints,
      dialTimeout: 5000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    });
    this.#prefix = prefix;
  }

  #k(key: string): Buffer {
    return Buffer.from(this.#prefix + key);
  }
  #kv(r: RawKV): KeyValue {
    return {
      key: r.key.toString().slice(this.#prefix.length),
      value: r.value.toString(),
      createRevision: Number(r.create_revision),
      modRevision: Number(r.mod_revision),
    };
  }
  async #call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      const m = (e as Error).message ?? '';
      if (/compacted/i.test(m)) throw new CompactedError(0, this.#compacted);
      if (e instanceof KeyExistsError || e instanceof KeyNotFoundError || e instanceof ConflictError) throw e;
      throw new UnavailableError(`etcd: ${m}`);
    }
  }

  async get(key: string) {
    const r = await this.#call(() => this.#c.kv.range({ key: this.#k(key) }));
    const kv = r.kvs[0] as RawKV | undefined;
    return { kv: kv ? this.#kv(kv) : undefined, revision: Number(r.header.revision) };
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const start =
      opts.startAfter !== undefined
        ? Buffer.concat([this.#k(opts.startAfter), Buffer.from([0])])
        : this.#k(prefix);
    const r = await this.#call(() =>
      this.#c.kv.range({
        key: start,
        range_end: prefixEnd(this.#k(prefix)),
        limit: opts.limit ?? 0,
        revision: opts.revision ?? 0,
      }),
    ).catch((e: unknown) => {
      if (e instanceof CompactedError && opts.revision !== undefined)
        throw new CompactedError(opts.revision, this.#compacted);
      throw e;
    });
    const items = (r.kvs as RawKV[]).map((x) => this.#kv(x));
    return {
      items,
      revision: Number(r.header.revision),
      more: r.more,
      remaining: r.more ? Number(r.count) - items.length : 0,
    };
  }

  async count(prefix: string) {
    const r = await this.#call(() =>
      this.#c.kv.range({ key: this.#k(prefix), range_end: prefixEnd(this.#k(prefix)), count_only: true }),
    );
    return Number(r.count);
  }

  async create(key: string, value: string) {
    const k = this.#k(key);
    const r = await this.#call(() =>
      this.#c.kv.txn({
        compare: [{ key: k, target: 'Version', result: 'Equal', version: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [],
      }),
    );
    if (!r.succeeded) throw new KeyExistsError(key);
    const rev = Number(r.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expected: number) {
    const k = this.#k(key);
    const r = await this.#call(() =>
      this.#c.kv.txn({
        compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expected }],
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!r.succeeded) {
      const cur = r.responses[0]?.response_range?.kvs?.[0] as RawKV | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      throw new ConflictError(key, this.#kv(cur));
    }
    const prev = r.responses[0]?.response_put?.prev_kv as RawKV | undefined;
    const rev = Number(r.header.revision);
    return { key, value, createRevision: prev ? Number(prev.create_revision) : rev, modRevision: rev };
  }

  async delete(key: string, expected?: number) {
    const k = this.#k(key);
    const compare =
      expected !== undefined
        ? [{ key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expected }]
        : [{ key: k, target: 'Version' as const, result: 'Greater' as const, version: 0 }];
    const r = await this.#call(() =>
      this.#c.kv.txn({
        compare,
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!r.succeeded) {
      const cur = r.responses[0]?.response_range?.kvs?.[0] as RawKV | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      throw new ConflictError(key, this.#kv(cur));
    }
    const prev = r.responses[0]?.response_delete_range?.prev_kvs?.[0] as RawKV | undefined;
    if (!prev) throw new KeyNotFoundError(key);
    return { prev: this.#kv(prev), revision: Number(r.header.revision) };
  }

  watch(prefix: string, opts: WatchOptions): WatchHandle {
    let closed = false;
    let watcher: { cancel(): Promise<void> } | undefined;
    let last = opts.afterRevision;
    const progress = setInterval(() => {
      if (!closed && opts.onProgress)
        void this.currentRevision().then(
          (r) => !closed && opts.onProgress!(Math.max(r, last)),
          () => undefined,
        );
    }, 1000);
    progress.unref();
    void this.#c
      .watch()
      .prefix(this.#k(prefix))
      .startRevision(String(opts.afterRevision + 1))
      .withPreviousKV()
      .create()
      .then(
        (w) => {
          if (closed) return void w.cancel();
          watcher = w;
          w.on('data', (res) => {
            if (closed) return;
            if (Number(res.compact_revision) > 0) {
              closed = true;
              opts.onError(new CompactedError(opts.afterRevision, Number(res.compact_revision) - 1));
              return;
            }
            const events: WatchEvent[] = [];
            for (const e of res.events) {
              const kv = this.#kv(e.kv);
              const prev = e.prev_kv ? this.#kv(e.prev_kv) : undefined;
              if (kv.modRevision <= last) continue;
              last = kv.modRevision;
              if (e.type === 'Delete')
                events.push({
                  type: 'delete',
                  kv: { ...(prev ?? kv), modRevision: kv.modRevision },
                  prevKv: prev,
                });
              else
                events.push({ type: 'put', kv, prevKv: prev, created: kv.createRevision === kv.modRevision });
            }
            if (events.length) opts.onEvents(events);
          });
          w.on('error', (err) => {
            if (closed) return;
            closed = true;
            // etcd cancels a watch whose start revision is compacted without a clear reason in
            // the client's error: probe the revision to tell compaction from an outage.
            void this.range(prefix, { revision: Math.max(1, last), limit: 1 }).then(
              () => opts.onError(new UnavailableError(`etcd watch: ${err.message}`)),
              (e: unknown) =>
                opts.onError(
                  e instanceof CompactedError
                    ? new CompactedError(opts.afterRevision, this.#compacted)
                    : new UnavailableError(`etcd watch: ${err.message}`),
                ),
            );
          });
        },
        (err: Error) => {
          if (!closed) {
            closed = true;
            opts.onError(
              /compacted/i.test(err.message)
                ? new CompactedError(opts.afterRevision, this.#compacted)
                : new UnavailableError(err.message),
            );
          }
        },
      );
    return {
      close: () => {
        closed = true;
        clearInterval(progress);
        void watcher?.cancel().catch(() => undefined);
      },
    };
  }

  async compact(revision: number) {
    await this.#call(() => this.#c.kv.compact({ revision, physical: true })).catch((e: unknown) => {
      if (!(e instanceof CompactedError)) throw e;
    });
    this.#compacted = Math.max(this.#compacted, revision);
  }

  async currentRevision() {
    const r = await this.#call(() => this.#c.kv.range({ key: Buffer.from([0]), limit: 1, count_only: true }));
    return Number(r.header.revision);
  }

  async compactedRevision() {
    return this.#compacted;
  }
  async close() {
    this.#c.close();
  }
}

function prefixEnd(k: Buffer): Buffer {
  const end = Buffer.from(k);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
