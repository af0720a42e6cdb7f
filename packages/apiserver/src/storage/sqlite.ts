// The embedded KVStore: a kine-style revision log in one SQLite file (node:sqlite), owned by one
// process. Every write appends one row whose id is its revision; `latest` points at the newest
// live row of each key. Writes of one event-loop turn share one transaction and one fsync (group
// commit) while each keeps its own revision.
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
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

interface Row {
  id: number;
  key: string;
  value: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
}

type Write =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; expected: number }
  | { op: 'delete'; key: string; expected: number | undefined };

interface Pending {
  write: Write;
  resolve(this: void, v: unknown): void;
  reject(this: void, e: unknown): void;
}

interface Watcher {
  prefix: string;
  end: string | Uint8Array;
  opts: WatchOptions;
  closed: boolean;
  /** Every event with a revision <= delivered has been handed to onEvents (or queued for it). */
  delivered: number;
  /** Reading history from the log; live events are ignored meanwhile (the log has them). */
  catchingUp: boolean;
  queue: WatchEvent[];
  scheduled: boolean;
  /** Events were delivered since the last progress tick. */
  busy: boolean;
}

/** Writes per transaction; the rest of a burst goes into the next one. */
const maxBatch = 4096;
/** Log ids scanned per catch-up step, so a watch far behind does not block the event loop. */
const catchUpWindow = 4096;
/** Log ids handled per compaction transaction. */
const compactWindow = 8192;
const progressIntervalMs = 1000;
const checkpointIntervalMs = 200;
/** WAL pages before the writing connection checkpoints itself (the checkpointer fell behind). */
const walBackstopPages = 16384;

/**
 * Copies the WAL back into the database file from a worker thread, on its own connection, so
 * that checkpoints (page copies and the database file's fsync) do not stall the event loop.
 * PASSIVE checkpoints never block writers.
 */
const checkpointerSource = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout=100');
const run = () => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); run(); db.close(); parentPort.close(); });
`;

/** Keys sort by their UTF-8 bytes (SQLite's BINARY collation), as in etcd. */
export class SqliteStore implements KVStore {
  readonly name = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #st: ReturnType<typeof prepare>;
  #rev: number;
  #compacted: number;
  #closed = false;
  #batch: Pending[] = [];
  readonly #watchers = new Set<Watcher>();
  #progress: NodeJS.Timeout | undefined;
  #compacting: Promise<void> = Promise.resolve();
  readonly #checkpointer: Worker | undefined;
  readonly #checkpointerExited: Promise<unknown> = Promise.resolve();

  /** Opens (creating if needed) the store at `path`; ':memory:' for a throwaway store. */
  static open(path: string): SqliteStore {
    const db = new DatabaseSync(path);
    const inMemory = path === ':memory:' || path.startsWith('file::memory:') || path === '';
    return new SqliteStore(db, { checkpointPath: inMemory ? undefined : path });
  }

  /** Takes over `db` (creating the schema); with `checkpointPath`, a worker thread checkpoints that file. */
  constructor(db: DatabaseSync, opts: { checkpointPath?: string } = {}) {
    this.#db = db;
    migrate(db);
    if (opts.checkpointPath) {
      this.#checkpointer = new Worker(checkpointerSource, {
        eval: true,
        workerData: { path: opts.checkpointPath, intervalMs: checkpointIntervalMs },
      });
      this.#checkpointerExited = new Promise((r) => this.#checkpointer!.once('exit', r));
      // Without it the writing connection's own checkpoints (the backstop) still bound the WAL.
      this.#checkpointer.on('error', () => undefined);
      this.#checkpointer.unref();
    }
    this.#st = prepare(db);
    const maxId = (this.#st.maxId.get() as { m: number | null }).m ?? 0;
    this.#rev = Math.max(maxId, this.#meta('rev'));
    this.#compacted = this.#meta('compacted');
  }

  #meta(k: string): number {
    return (this.#st.meta.get(k) as { v: number } | undefined)?.v ?? 0;
  }

  async get(key: string) {
    this.#open();
    const r = this.#st.get.get(key) as Row | undefined;
    return { kv: r ? toKV(r) : undefined, revision: this.#rev };
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.#open();
    const end = prefixEnd(prefix);
    const after = opts.startAfter ?? '';
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const sqlLimit = limit ? limit + 1 : -1;
    let revision = this.#rev;
    let rows: Row[];
    if (opts.revision && opts.revision > 0 && opts.revision < this.#rev) {
      if (opts.revision < this.#compacted) throw new CompactedError(opts.revision, this.#compacted);
      revision = opts.revision;
      rows = this.#st.rangeAt.all(prefix, end, after, revision, sqlLimit) as unknown as Row[];
    } else {
      if (opts.revision && opts.revision > this.#rev)
        throw new UnavailableError(`revision ${opts.revision} is in the future (current ${this.#rev})`);
      rows = this.#st.range.all(prefix, end, after, sqlLimit) as unknown as Row[];
    }
    const more = limit > 0 && rows.length > limit;
    if (more) rows.pop();
    return { items: rows.map(toKV), revision, more };
  }

  async count(prefix: string) {
    this.#open();
    return (this.#st.count.get(prefix, prefixEnd(prefix)) as { n: number }).n;
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.#enqueue({ op: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#enqueue({ op: 'update', key, value, expected: expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<{ prev: KeyValue; revision: number }> {
    return this.#enqueue({ op: 'delete', key, expected: expectedModRevision });
  }

  #enqueue<T>(write: Write): Promise<T> {
    if (this.#closed) return Promise.reject(new UnavailableError('sqlite store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ write, resolve, reject });
      // setImmediate, not a microtask: requests parsed in the same poll phase join the batch.
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** Group commit: one transaction, one fsync, one revision per write. */
  #flush(): void {
    const batch = this.#batch.splice(0, maxBatch);
    if (this.#batch.length) setImmediate(() => this.#flush());
    if (!batch.length) return;
    if (this.#closed) {
      for (const p of batch) p.reject(new UnavailableError('sqlite store is closed'));
      return;
    }
    const results: { p: Pending; ok: boolean; value: unknown }[] = [];
    const events: WatchEvent[] = [];
    let rev = this.#rev;
    try {
      this.#st.begin.run();
      try {
        for (const p of batch) {
          // Checks run before any statement of the write, so a refused write changes nothing.
          const checked = this.#check(p.write);
          if (checked instanceof StorageError) {
            results.push({ p, ok: false, value: checked });
            continue;
          }
          rev++;
          const { value, event } = this.#apply(p.write, checked, rev);
          events.push(event);
          results.push({ p, ok: true, value });
        }
        this.#st.commit.run();
      } catch (e) {
        if (this.#db.isTransaction) this.#st.rollback.run();
        throw e;
      }
    } catch (e) {
      // A failed statement or commit: nothing of the batch was stored.
      const err = new UnavailableError(`sqlite: ${(e as Error).message}`);
      for (const p of batch) p.reject(err);
      return;
    }
    this.#rev = rev;
    for (const r of results) (r.ok ? r.p.resolve : r.p.reject)(r.value);
    if (events.length) this.#fanOut(events);
  }

  #check(w: Write): Row | undefined | StorageError {
    const cur = this.#st.get.get(w.key) as Row | undefined;
    if (w.op === 'create') return cur ? new KeyExistsError(w.key) : undefined;
    if (!cur) return new KeyNotFoundError(w.key);
    if (w.expected !== undefined && cur.id !== w.expected) return new ConflictError(w.key, toKV(cur));
    return cur;
  }

  #apply(w: Write, cur: Row | undefined, rev: number): { value: unknown; event: WatchEvent } {
    const prev = cur ? toKV(cur) : undefined;
    if (w.op === 'delete') {
      const c = cur!;
      this.#st.insert.run(rev, w.key, c.value, c.create_revision, c.id, 1);
      this.#st.unsetLatest.run(w.key);
      return {
        value: { prev, revision: rev },
        event: { type: 'delete', kv: { ...prev!, modRevision: rev }, prevKv: prev },
      };
    }
    const createRevision = cur ? cur.create_revision : rev;
    this.#st.insert.run(rev, w.key, w.value, createRevision, cur?.id ?? 0, 0);
    this.#st.setLatest.run(w.key, rev);
    const kv: KeyValue = { key: w.key, value: w.value, createRevision, modRevision: rev };
    return { value: kv, event: { type: 'put', kv, prevKv: prev, created: !cur } };
  }

  #fanOut(events: WatchEvent[]): void {
    // Watchers sharing a prefix share one filtering pass.
    const byPrefix = new Map<string, WatchEvent[]>();
    for (const w of this.#watchers) {
      if (w.closed || w.catchingUp) continue;
      let mine = byPrefix.get(w.prefix);
      if (!mine) {
        mine = w.prefix ? events.filter((e) => e.kv.key.startsWith(w.prefix)) : events;
        byPrefix.set(w.prefix, mine);
      }
      if (!mine.length) continue;
      for (const e of mine) if (e.kv.modRevision > w.delivered) w.queue.push(e);
      w.delivered = Math.max(w.delivered, mine.at(-1)!.kv.modRevision);
      this.#schedule(w);
    }
  }

  #schedule(w: Watcher): void {
    if (w.scheduled || w.closed) return;
    w.scheduled = true;
    setImmediate(() => this.#deliver(w));
  }

  /** One delivery step: a catch-up window from the log, or the queued live events. */
  #deliver(w: Watcher): void {
    w.scheduled = false;
    if (w.closed) return;
    if (w.catchingUp) {
      if (w.delivered < this.#compacted) {
        this.#fail(w, new CompactedError(w.delivered, this.#compacted));
        return;
      }
      const to = Math.min(w.delivered + catchUpWindow, this.#rev);
      const rows = this.#st.since.all(w.delivered, to, w.prefix, w.end) as unknown as Row[];
      for (const r of rows) w.queue.push(this.#event(r));
      w.delivered = to;
      // The log holds every committed write up to #rev: from here on, live fan-out continues it.
      if (to >= this.#rev) w.catchingUp = false;
      else this.#schedule(w);
    }
    if (!w.queue.length) return;
    const events = w.queue;
    w.queue = [];
    w.busy = true;
    try {
      w.opts.onEvents(events);
    } catch (e) {
      this.#fail(w, e instanceof Error ? e : new Error(String(e)));
    }
  }

  #event(r: Row): WatchEvent {
    const prevRow = r.prev_revision ? (this.#st.byId.get(r.prev_revision) as Row | undefined) : undefined;
    const prev = prevRow ? toKV(prevRow) : undefined;
    if (r.deleted) {
      const kv = prev
        ? { ...prev, modRevision: r.id }
        : { key: r.key, value: r.value, createRevision: r.create_revision, modRevision: r.id };
      return { type: 'delete', kv, prevKv: prev };
    }
    return { type: 'put', kv: toKV(r), prevKv: prev, created: !prev };
  }

  #fail(w: Watcher, err: Error): void {
    w.closed = true;
    this.#watchers.delete(w);
    try {
      w.opts.onError(err);
    } catch {
      // The watcher is gone either way; a throwing onError must not break other watchers.
    }
  }

  watch(prefix: string, opts: WatchOptions): WatchHandle {
    const w: Watcher = {
      prefix,
      end: prefixEnd(prefix),
      opts,
      closed: false,
      delivered: opts.afterRevision,
      catchingUp: opts.afterRevision < this.#rev,
      queue: [],
      scheduled: false,
      busy: false,
    };
    if (this.#closed) {
      queueMicrotask(() => this.#fail(w, new UnavailableError('sqlite store is closed')));
      return { close: () => undefined };
    }
    if (opts.afterRevision < this.#compacted) {
      const err = new CompactedError(opts.afterRevision, this.#compacted);
      queueMicrotask(() => this.#fail(w, err));
      return { close: () => (w.closed = true) };
    }
    this.#watchers.add(w);
    if (w.catchingUp) this.#schedule(w);
    this.#startProgress();
    return {
      close: () => {
        w.closed = true;
        this.#watchers.delete(w);
      },
    };
  }

  #startProgress(): void {
    if (this.#progress) return;
    this.#progress = setInterval(() => {
      for (const w of this.#watchers) {
        if (w.closed || w.catchingUp || w.scheduled || w.queue.length) continue;
        const busy = w.busy;
        w.busy = false;
        // Everything committed so far has been handed over: the current revision is safe to resume from.
        w.delivered = Math.max(w.delivered, this.#rev);
        if (busy || !w.opts.onProgress) continue;
        try {
          w.opts.onProgress(w.delivered);
        } catch (e) {
          this.#fail(w, e instanceof Error ? e : new Error(String(e)));
        }
      }
      if (!this.#watchers.size && this.#progress) {
        clearInterval(this.#progress);
        this.#progress = undefined;
      }
    }, progressIntervalMs);
    this.#progress.unref();
  }

  /**
   * Discards superseded rows and deletes at or below `revision` (clamped to the current
   * revision; at or below the compacted revision it does nothing). The compacted revision is
   * recorded first, so reads and watches below it fail with CompactedError instead of seeing
   * partial history while the rows go, a window at a time.
   */
  async compact(revision: number): Promise<void> {
    this.#open();
    const run = this.#compacting.then(() => this.#compact(revision));
    this.#compacting = run.catch(() => undefined);
    return run;
  }

  async #compact(revision: number): Promise<void> {
    const upTo = Math.min(revision, this.#rev);
    const from = this.#compacted;
    if (upTo <= from) return;
    this.#compacted = upTo;
    this.#st.setMeta.run('compacted', upTo);
    this.#st.setMeta.run('rev', this.#rev);
    for (let lo = from; lo < upTo; lo += compactWindow) {
      if (this.#closed) return;
      const hi = Math.min(lo + compactWindow, upTo);
      this.#st.begin.run();
      try {
        this.#st.compactSuperseded.run(lo, hi);
        this.#st.compactDeletes.run(lo, hi);
        this.#st.commit.run();
      } catch (e) {
        if (this.#db.isTransaction) this.#st.rollback.run();
        throw new UnavailableError(`sqlite compaction: ${(e as Error).message}`);
      }
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async currentRevision() {
    return this.#rev;
  }

  /** Reads below this revision fail with CompactedError; 0 when nothing was compacted. */
  async compactedRevision() {
    return this.#compacted;
  }

  async close() {
    if (this.#closed) return;
    // Let queued writes commit: their callers were promised an answer.
    while (this.#batch.length) this.#flush();
    await this.#compacting;
    this.#closed = true;
    if (this.#progress) clearInterval(this.#progress);
    for (const w of this.#watchers) w.closed = true;
    this.#watchers.clear();
    // A delete at the head leaves no row behind after compaction: keep the revision explicitly.
    this.#st.setMeta.run('rev', this.#rev);
    if (this.#checkpointer) {
      this.#checkpointer.ref(); // keep the process alive until the worker has closed its connection
      this.#checkpointer.postMessage('close');
      await this.#checkpointerExited;
    }
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new UnavailableError('sqlite store is closed');
  }
}

function toKV(r: Row): KeyValue {
  return { key: r.key, value: r.value, createRevision: r.create_revision, modRevision: r.id };
}

/**
 * The smallest string above every key with `prefix`. For '' there is none: a BLOB sorts after
 * every TEXT value in SQLite, so it bounds the whole keyspace.
 */
function prefixEnd(prefix: string): string | Uint8Array {
  const cps = [...prefix];
  while (cps.length) {
    const cp = cps.pop()!.codePointAt(0)!;
    if (cp < 0x10ffff) {
      const next = cp === 0xd7ff ? 0xe000 : cp + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return new Uint8Array([0xff]);
}

/** Creates or upgrades the schema; sets WAL with an fsync per commit. */
function migrate(db: DatabaseSync): void {
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
    PRAGMA wal_autocheckpoint=${walBackstopPages}; PRAGMA journal_size_limit=${walBackstopPages * 4096};
    PRAGMA cache_size=-65536;`);
  const cols = db.prepare('PRAGMA table_info(log)').all() as { name: string }[];
  // Files written before the columns were renamed.
  if (cols.some((c) => c.name === 'create_rev')) {
    db.exec(`ALTER TABLE log RENAME COLUMN create_rev TO create_revision;
      ALTER TABLE log RENAME COLUMN prev_rev TO prev_revision;`);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS log (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      create_revision INTEGER NOT NULL,
      prev_revision INTEGER NOT NULL,
      deleted INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS log_key_id ON log(key, id);
    CREATE TABLE IF NOT EXISTS latest (key TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`);
}

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  const cols = 'l.id, l.key, l.value, l.create_revision, l.prev_revision, l.deleted';
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    maxId: p('SELECT max(id) AS m FROM log'),
    meta: p('SELECT v FROM meta WHERE k = ?'),
    setMeta: p('INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
    get: p(`SELECT ${cols} FROM latest t JOIN log l ON l.id = t.id WHERE t.key = ?`),
    byId: p(`SELECT ${cols} FROM log l WHERE l.id = ?`),
    insert: p(
      'INSERT INTO log(id, key, value, create_revision, prev_revision, deleted) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    setLatest: p('INSERT INTO latest(key, id) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET id = excluded.id'),
    unsetLatest: p('DELETE FROM latest WHERE key = ?'),
    range: p(
      `SELECT ${cols} FROM latest t JOIN log l ON l.id = t.id
       WHERE t.key >= ?1 AND t.key < ?2 AND t.key > ?3 ORDER BY t.key LIMIT ?4`,
    ),
    // MVCC read: per key, the newest row at or below the revision, unless it is a delete.
    // Walks log_key_id in key order and stops at the limit.
    rangeAt: p(
      `SELECT ${cols} FROM log l
       WHERE l.key >= ?1 AND l.key < ?2 AND l.key > ?3 AND l.id <= ?4 AND l.deleted = 0
         AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.id > l.id AND n.id <= ?4)
       ORDER BY l.key LIMIT ?5`,
    ),
    count: p('SELECT count(*) AS n FROM latest WHERE key >= ? AND key < ?'),
    since: p(
      `SELECT ${cols} FROM log l WHERE l.id > ?1 AND l.id <= ?2 AND l.key >= ?3 AND l.key < ?4 ORDER BY l.id`,
    ),
    // For each write in the window, every older row of its key is superseded.
    compactSuperseded: p(
      `DELETE FROM log WHERE id IN (
         SELECT o.id FROM log w JOIN log o ON o.key = w.key AND o.id < w.id
         WHERE w.id > ?1 AND w.id <= ?2)`,
    ),
    compactDeletes: p('DELETE FROM log WHERE id > ?1 AND id <= ?2 AND deleted = 1'),
  };
}
