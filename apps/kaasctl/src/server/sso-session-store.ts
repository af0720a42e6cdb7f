// The SSO proxy's SessionStore in the server's own store (SQLite or etcd) under /kaas/sso-proxy/,
// outside /registry/ (no Kubernetes API reaches it), so that a restart keeps server-side sessions
// and sign-outs, and several servers on one etcd share them.
//
// Revocation checks run on every proxied request, so they never read the store: the whole
// revocation list (bounded: an entry lives at most cookie.maxAgeS, 12 h by default) is held in
// memory, loaded at start and kept fresh by a watch. A revocation written by another server
// reaches this one as fast as the store delivers the watch event (etcd: milliseconds); if the
// watch breaks, the list is re-read and the watch resumed within retryMs (1 s), and it is re-read
// anyway every resyncMs (30 s), so a revocation takes effect everywhere within resyncMs at worst.
// The server that revokes sees its own revocation at once.
//
// The KV has no TTLs of its own: expiry is checked on every read and swept periodically, as
// KvOidcStore does.
import type { KVStore, KeyValue, WatchHandle } from '@kaas/apiserver';
import { ConflictError, KeyNotFoundError } from '@kaas/apiserver';
import { del, put } from '@kaas/auth';
import type { Session, SessionStore } from '@kaas/ssoproxy';

export const ssoStorePrefix = '/kaas/sso-proxy/';
const sessionsPrefix = `${ssoStorePrefix}sessions/`;
const revokedPrefix = `${ssoStorePrefix}revoked/`;

interface RevokedEntry {
  /** epoch ms; the entry is meaningless (and swept) after it */
  untilMs: number;
}

const seg = (s: string) => encodeURIComponent(s);

async function rangeAll(kv: KVStore, prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
  const items: KeyValue[] = [];
  let startAfter: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const r = await kv.range(prefix, { limit: 1000, startAfter, revision });
    revision = r.revision;
    items.push(...r.items);
    if (!r.more || r.items.length === 0) return { items, revision };
    startAfter = r.items[r.items.length - 1]!.key;
  }
}

export interface KvSessionStoreOptions {
  now?: () => number;
  /** after a watch error, re-read the list and watch again after this long (default 1 s) */
  retryMs?: number;
  /** re-read the whole revocation list this often whatever the watch says (default 30 s) */
  resyncMs?: number;
  /** delete expired sessions and revocations from the store this often (default 10 min) */
  sweepMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class KvSessionStore implements SessionStore {
  readonly #kv: KVStore;
  readonly #now: () => number;
  readonly #o: KvSessionStoreOptions;
  /** revocation id -> until (epoch ms), the whole list */
  readonly #revoked = new Map<string, number>();
  #watch: WatchHandle | undefined;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(kv: KVStore, o: KvSessionStoreOptions = {}) {
    this.#kv = kv;
    this.#now = o.now ?? Date.now;
    this.#o = o;
  }

  /** Loads the revocation list and starts the watch, the resync and the sweep. */
  async start(): Promise<void> {
    await this.#resync();
    const every = (ms: number, f: () => Promise<unknown>, what: string) => {
      const t = setInterval(() => {
        f().catch((e: Error) =>
          this.#o.log?.('warn', `sso-proxy sessions: ${what} failed`, { error: e.message }),
        );
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#o.resyncMs ?? 30_000, () => this.#resync(), 'reading the revocation list');
    every(this.#o.sweepMs ?? 10 * 60_000, () => this.sweep(), 'sweeping expired entries');
  }

  close(): void {
    this.#stopped = true;
    this.#watch?.close();
    for (const t of this.#timers) clearInterval(t);
  }

  /** How many revocations this instance holds in memory (expired ones until the next sweep). */
  get revokedCount(): number {
    return this.#revoked.size;
  }

  /** Re-reads the list at one revision, then (re)starts the watch from that revision. */
  async #resync(): Promise<void> {
    const { items, revision } = await rangeAll(this.#kv, revokedPrefix);
    if (this.#stopped) return;
    const fresh = new Map<string, number>();
    for (const item of items)
      fresh.set(this.#idOf(item.key), (JSON.parse(item.value) as RevokedEntry).untilMs);
    // entries written by this process after the read started are kept (max of both)
    for (const [id, until] of this.#revoked)
      if ((fresh.get(id) ?? -1) < until && until > this.#now()) fresh.set(id, until);
    this.#revoked.clear();
    for (const [id, until] of fresh) this.#revoked.set(id, until);
    this.#watch?.close();
    this.#watch = this.#kv.watch(revokedPrefix, {
      afterRevision: revision,
      onEvents: (events) => {
        for (const e of events) {
          const id = this.#idOf(e.kv.key);
          // deletes are the sweep's, of expired entries only
          if (e.type === 'delete') this.#revoked.delete(id);
          else this.#remember(id, (JSON.parse(e.kv.value) as RevokedEntry).untilMs);
        }
      },
      onError: (err) => {
        this.#o.log?.('warn', 'sso-proxy sessions: revocation watch restarted', { error: err.message });
        this.#watch?.close();
        this.#watch = undefined;
        if (this.#stopped) return;
        const t = setTimeout(() => {
          this.#resync().catch((e: Error) =>
            this.#o.log?.('warn', 'sso-proxy sessions: reading the revocation list failed', {
              error: e.message,
            }),
          );
        }, this.#o.retryMs ?? 1000);
        t.unref();
      },
    });
  }

  #idOf(key: string): string {
    return decodeURIComponent(key.slice(revokedPrefix.length));
  }

  #remember(id: string, untilMs: number): void {
    if ((this.#revoked.get(id) ?? -1) < untilMs) this.#revoked.set(id, untilMs);
  }

  async get(id: string): Promise<Session | undefined> {
    const key = sessionsPrefix + seg(id);
    const { kv: cur } = await this.#kv.get(key);
    if (!cur) return undefined;
    const s = JSON.parse(cur.value) as Session;
    if (s.expiresAtMs > this.#now()) return s;
    await this.#deleteIfUnchanged(cur);
    return undefined;
  }

  async set(session: Session): Promise<void> {
    await put(this.#kv, sessionsPrefix + seg(session.id), JSON.stringify(session));
  }

  async delete(id: string): Promise<void> {
    await del(this.#kv, sessionsPrefix + seg(id));
  }

  async revoke(id: string, untilMs: number): Promise<void> {
    this.#remember(id, untilMs);
    await put(this.#kv, revokedPrefix + seg(id), JSON.stringify({ untilMs } satisfies RevokedEntry));
  }

  /** From memory only: no store read on the request path. */
  async isRevoked(id: string): Promise<boolean> {
    const until = this.#revoked.get(id);
    return until !== undefined && until > this.#now();
  }

  /** Deletes expired sessions and revocations from the store and memory; returns how many keys went. */
  async sweep(): Promise<number> {
    const now = this.#now();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
    let n = 0;
    for (const item of (await rangeAll(this.#kv, ssoStorePrefix)).items) {
      let expiresAtMs: number;
      if (item.key.startsWith(sessionsPrefix)) expiresAtMs = (JSON.parse(item.value) as Session).expiresAtMs;
      else if (item.key.startsWith(revokedPrefix))
        expiresAtMs = (JSON.parse(item.value) as RevokedEntry).untilMs;
      else continue; // the cookie secret and anything else that is not ours
      if (expiresAtMs > now) continue;
      if (await this.#deleteIfUnchanged(item)) n++;
    }
    return n;
  }

  async #deleteIfUnchanged(item: KeyValue): Promise<boolean> {
    try {
      await this.#kv.delete(item.key, item.modRevision);
      return true;
    } catch (e) {
      // rewritten since it was read (a refresh, a new revocation): it lives on
      if (e instanceof KeyNotFoundError || e instanceof ConflictError) return false;
      throw e;
    }
  }
}
