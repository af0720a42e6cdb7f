// Hedge copy of a SQLite KVStore (kine-style log), kept outside the repo until needed.
import { DatabaseSync } from 'node:sqlite';
import type {
  KVStore,
  KeyValue,
  RangeOptions,
  RangeResult,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './kv.ts';
import { CompactedError, ConflictError, KeyExistsError, KeyNotFoundError } from './kv.ts';

interface Row {
  id: number;
  key: string;
  value: string;
  create_rev: number;
  prev_rev: number;
  deleted: number;
}

export class SqliteStore implements KVStore {
  readonly name = 'sqlite';
  readonly #db: DatabaseSync;
  #rev: number;
  #compacted: number;
  readonly #watchers = new Set<{
    prefix: string;
    opts: WatchOptions;
    closed: boolean;
    pending: WatchEvent[] | undefined;
  }>();
  #progress: NodeJS.Timeout | undefined;
  readonly #st: Record<string, ReturnType<DatabaseSync['prepare']>>;

  static open(path: string): SqliteStore {
    return new SqliteStore(path);
  }

  constructor(path: string) {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
      CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS log_key_id ON log(key, id);
      CREATE TABLE IF NOT EXISTS latest (key TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`);
    this.#db = db;
    this.#st = {
      get: db.prepare('SELECT l.* FROM latest t JOIN log l ON l.id = t.id WHERE t.key = ?'),
      ins: db.prepare(
        'INSERT INTO log(id, key, value, create_rev, prev_rev, deleted) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      up: db.prepare(
        'INSERT INTO latest(key, id) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET id = excluded.id',
      ),
      del: db.prepare('DELETE FROM latest WHERE key = ?'),
      range: db.prepare(
        'SELECT l.* FROM latest t JOIN log l ON l.id = t.id WHERE t.key >= ? AND t.key < ? AND t.key > ? ORDER BY t.key LIMIT ?',
      ),
      count: db.prepare('SELECT count(*) AS n FROM latest WHERE key >= ? AND key < ?'),
      rangeAt: db.prepare(
        `SELECT l.* FROM log l JOIN (SELECT key, max(id) AS id FROM log WHERE key >= ? AND key < ? AND key > ? AND id <= ? GROUP BY key) m ON l.id = m.id WHERE l.deleted = 0 ORDER BY l.key LIMIT ?`,
      ),
      since: db.prepare('SELECT * FROM log WHERE id > ? AND key >= ? AND key < ? ORDER BY id LIMIT 5000'),
      prevOf: db.prepare('SELECT * FROM log WHERE id = ?'),
      meta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
    };
    this.#rev = Number((db.prepare('SELECT max(id) AS m FROM log').get() as { m: number | null }).m ?? 0);
    this.#rev = Math.max(this.#rev, Number((this.#st.meta!.get('rev') as { v: number } | undefined)?.v ?? 0));
    this.#compacted = Number((this.#st.meta!.get('compacted') as { v: number } | undefined)?.v ?? 0);
  }

  #kv(r: Row): KeyValue {
    return { key: r.key, value: r.value, createRevision: r.create_rev, modRevision: r.id };
  }

  async get(key: string) {
    const r = this.#st.get!.get(key) as Row | undefined;
    return { kv: r ? this.#kv(r) : undefined, revision: this.#rev };
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const end = prefixEnd(prefix);
    const after = opts.startAfter ?? '';
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    let rows: Row[];
    let revision = this.#rev;
    if (opts.revision !== undefined && opts.revision < this.#rev) {
      if (opts.revision < this.#compacted) throw new CompactedError(opts.revision, this.#compacted);
      revision = opts.revision;
      rows = this.#st.rangeAt!.all(
        prefix,
        end,
        after,
        revision,
        limit === -1 ? -1 : limit + 1,
      ) as unknown as Row[];
    } else {
      rows = this.#st.range!.all(prefix, end, after, limit === -1 ? -1 : limit + 1) as unknown as Row[];
    }
    const more = limit !== -1 && rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map((r) => this.#kv(r)), revision, more };
  }

  async count(prefix: string) {
    return Number((this.#st.count!.get(prefix, prefixEnd(prefix)) as { n: number }).n);
  }

  #batch: { run: () => void; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #events: WatchEvent[] = [];

  /** Group commit: every write of one event-loop turn shares one transaction and one fsync. */
  #enqueue<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let out: T;
      this.#batch.push({
        run: () => {
          out = fn();
        },
        resolve: () => resolve(out),
        reject,
      });
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    const startRev = this.#rev;
    this.#db.exec('BEGIN IMMEDIATE');
    const ok: typeof batch = [];
    for (const b of batch) {
      this.#db.exec('SAVEPOINT w');
      const rev = this.#rev;
      const evs = this.#events.length;
      try {
        b.run();
        this.#db.exec('RELEASE w');
        ok.push(b);
      } catch (e) {
        this.#db.exec('ROLLBACK TO w');
        this.#db.exec('RELEASE w');
        this.#rev = rev;
        this.#events.length = evs;
        b.reject(e);
      }
    }
    try {
      this.#db.exec('COMMIT');
    } catch (e) {
      this.#rev = startRev;
      this.#events = [];
      for (const b of ok) b.reject(e);
      return;
    }
    const events = this.#events;
    this.#events = [];
    for (const b of ok) b.resolve();
    for (const w of this.#watchers) {
      if (w.closed) continue;
      const mine = events.filter((e) => e.kv.key.startsWith(w.prefix));
      if (mine.length) w.opts.onEvents(mine);
    }
  }

  #write(
    key: string,
    value: string,
    createRev: number,
    prev: KeyValue | undefined,
    deleted: boolean,
  ): number {
    const rev = ++this.#rev;
    this.#st.ins!.run(rev, key, value, createRev || rev, prev?.modRevision ?? 0, deleted ? 1 : 0);
    if (deleted) this.#st.del!.run(key);
    else this.#st.up!.run(key, rev);
    const kv: KeyValue = { key, value, createRevision: createRev || rev, modRevision: rev };
    this.#events.push(
      deleted
        ? { type: 'delete', kv: { ...prev!, modRevision: rev }, prevKv: prev }
        : { type: 'put', kv, prevKv: prev, created: !prev },
    );
    return rev;
  }

  create(key: string, value: string) {
    return this.#enqueue(() => {
      if (this.#st.get!.get(key)) throw new KeyExistsError(key);
      const rev = this.#write(key, value, 0, undefined, false);
      return { key, value, createRevision: rev, modRevision: rev };
    });
  }

  update(key: string, value: string, expected: number) {
    return this.#enqueue(() => {
      const cur = this.#st.get!.get(key) as Row | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (cur.id !== expected) throw new ConflictError(key, this.#kv(cur));
      const rev = this.#write(key, value, cur.create_rev, this.#kv(cur), false);
      return { key, value, createRevision: cur.create_rev, modRevision: rev };
    });
  }

  delete(key: string, expected?: number) {
    return this.#enqueue(() => {
      const cur = this.#st.get!.get(key) as Row | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (expected !== undefined && cur.id !== expected) throw new ConflictError(key, this.#kv(cur));
      const prev = this.#kv(cur);
      const rev = this.#write(key, cur.value, cur.create_rev, prev, true);
      return { prev, revision: rev };
    });
  }

  watch(prefix: string, opts: WatchOptions): WatchHandle {
    const w = { prefix, opts, closed: false, pending: undefined as WatchEvent[] | undefined };
    if (opts.afterRevision < this.#compacted) {
      setImmediate(() => opts.onError(new CompactedError(opts.afterRevision, this.#compacted)));
      return { close: () => undefined };
    }
    // Catch up synchronously from the log, then register: no write can interleave (single thread).
    const backlog: WatchEvent[] = [];
    let after = opts.afterRevision;
    for (;;) {
      const rows = this.#st.since!.all(after, prefix, prefixEnd(prefix)) as unknown as Row[];
      for (const r of rows) {
        const prevRow = r.prev_rev ? (this.#st.prevOf!.get(r.prev_rev) as Row | undefined) : undefined;
        const prev = prevRow ? this.#kv(prevRow) : undefined;
        backlog.push(
          r.deleted
            ? { type: 'delete', kv: { ...(prev ?? this.#kv(r)), modRevision: r.id }, prevKv: prev }
            : { type: 'put', kv: this.#kv(r), prevKv: prev, created: !prev },
        );
        after = r.id;
      }
      if (rows.length < 5000) break;
    }
    if (backlog.length) w.pending = backlog;
    this.#watchers.add(w);
    if (backlog.length)
      setImmediate(() => {
        const p = w.pending!;
        w.pending = undefined;
        if (!w.closed) opts.onEvents(p);
      });
    if (!this.#progress) {
      this.#progress = setInterval(() => {
        for (const x of this.#watchers) if (!x.closed) x.opts.onProgress?.(this.#rev);
      }, 1000);
      this.#progress.unref();
    }
    return {
      close: () => {
        w.closed = true;
        this.#watchers.delete(w);
      },
    };
  }

  async compact(revision: number) {
    const upTo = Math.min(revision, this.#rev);
    this.#db.exec('BEGIN IMMEDIATE');
    this.#db
      .prepare(
        'DELETE FROM log WHERE id <= ? AND id NOT IN (SELECT max(id) FROM log WHERE id <= ? GROUP BY key)',
      )
      .run(upTo, upTo);
    this.#db.prepare('DELETE FROM log WHERE id <= ? AND deleted = 1').run(upTo);
    this.#st.setMeta!.run('compacted', upTo);
    this.#st.setMeta!.run('rev', this.#rev);
    this.#db.exec('COMMIT');
    this.#compacted = Math.max(this.#compacted, upTo);
  }

  async currentRevision() {
    return this.#rev;
  }
  async compactedRevision() {
    return this.#compacted;
  }
  async close() {
    if (this.#progress) clearInterval(this.#progress);
    for (const w of this.#watchers) w.closed = true;
    this.#st.setMeta!.run('rev', this.#rev);
    this.#db.close();
  }
}

function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
