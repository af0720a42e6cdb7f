// Users and tokens kept in the API server's own store (SQLite or etcd), outside /registry/, so
// no Kubernetes API reaches them: only the routes in http.ts, which check RBAC first. Several
// servers on one etcd share them; a revocation on one server reaches the others' caches through
// a watch (watchRevocations), not after a TTL.
import type { KVStore, KeyValue } from '@kaas/apiserver';
import { ConflictError, KeyExistsError, KeyNotFoundError } from '@kaas/apiserver';
import type { LocalUser, UserStore } from './identity.ts';
import type { TokenRecord, TokenStore } from './tokens.ts';

export const authPrefix = '/kaas/auth/';
const usersPrefix = `${authPrefix}users/`;
const tokensPrefix = `${authPrefix}tokens/`;
const tokenIdsPrefix = `${authPrefix}token-ids/`;

async function rangeAll(kv: KVStore, prefix: string): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  let startAfter: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const r = await kv.range(prefix, { limit: 1000, startAfter, revision });
    revision = r.revision;
    out.push(...r.items);
    if (!r.more || r.items.length === 0) return out;
    startAfter = r.items[r.items.length - 1]!.key;
  }
}

/** Writes `value` at `key` whatever is there (create, else compare-and-swap on what was read). */
export async function put(kv: KVStore, key: string, value: string): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const { kv: cur } = await kv.get(key);
    try {
      if (!cur) await kv.create(key, value);
      else await kv.update(key, value, cur.modRevision);
      return;
    } catch (e) {
      if (!(e instanceof KeyExistsError || e instanceof ConflictError || e instanceof KeyNotFoundError))
        throw e;
    }
  }
  throw new Error(`${key}: too many concurrent writers`);
}

/** Deletes `key`; false when it was not there. */
export async function del(kv: KVStore, key: string): Promise<boolean> {
  try {
    await kv.delete(key);
    return true;
  } catch (e) {
    if (e instanceof KeyNotFoundError) return false;
    throw e;
  }
}

export class KvUserStore implements UserStore {
  readonly #kv: KVStore;

  constructor(kv: KVStore) {
    this.#kv = kv;
  }

  async get(name: string): Promise<LocalUser | undefined> {
    const { kv } = await this.#kv.get(usersPrefix + name);
    return kv ? (JSON.parse(kv.value) as LocalUser) : undefined;
  }

  async put(user: LocalUser): Promise<void> {
    await put(this.#kv, usersPrefix + user.name, JSON.stringify(user));
  }

  /** Creates only when absent: two servers bootstrapping `admin` at once keep one hash. */
  async create(user: LocalUser): Promise<boolean> {
    try {
      await this.#kv.create(usersPrefix + user.name, JSON.stringify(user));
      return true;
    } catch (e) {
      if (e instanceof KeyExistsError) return false;
      throw e;
    }
  }

  async delete(name: string): Promise<boolean> {
    return del(this.#kv, usersPrefix + name);
  }

  async list(): Promise<LocalUser[]> {
    return (await rangeAll(this.#kv, usersPrefix)).map((kv) => JSON.parse(kv.value) as LocalUser);
  }
}

/**
 * Records keyed by the token's hash (the hot path: one get per cache miss), plus an id -> hash
 * index for revocation and listing by id. The record is written before the index, so a crash in
 * between leaves an unlisted record that still expires; never an index to nothing.
 */
export class KvTokenStore implements TokenStore {
  readonly #kv: KVStore;

  constructor(kv: KVStore) {
    this.#kv = kv;
  }

  async put(r: TokenRecord): Promise<void> {
    await put(this.#kv, tokensPrefix + r.hash, JSON.stringify(r));
    await put(this.#kv, tokenIdsPrefix + r.id, r.hash);
  }

  async getByHash(hash: string): Promise<TokenRecord | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    const { kv } = await this.#kv.get(tokensPrefix + hash);
    return kv ? (JSON.parse(kv.value) as TokenRecord) : undefined;
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const { kv } = await this.#kv.get(tokenIdsPrefix + id);
    return kv ? this.getByHash(kv.value) : undefined;
  }

  async list(filter: { backend?: string; uid?: string } = {}): Promise<TokenRecord[]> {
    return (await rangeAll(this.#kv, tokensPrefix))
      .map((kv) => JSON.parse(kv.value) as TokenRecord)
      .filter(
        (r) =>
          (filter.backend === undefined || r.backend === filter.backend) &&
          (filter.uid === undefined || r.uid === filter.uid),
      );
  }

  async revoke(id: string, atMs: number): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const { kv: idx } = await this.#kv.get(tokenIdsPrefix + id);
      if (!idx) return false;
      const { kv: cur } = await this.#kv.get(tokensPrefix + idx.value);
      if (!cur) return false;
      const r = JSON.parse(cur.value) as TokenRecord;
      if (r.revokedAtMs !== undefined) return true;
      r.revokedAtMs = atMs;
      try {
        await this.#kv.update(cur.key, JSON.stringify(r), cur.modRevision);
        return true;
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    throw new Error(`token ${id}: too many concurrent writers`);
  }

  async deleteExpired(beforeMs: number): Promise<number> {
    let n = 0;
    for (const kv of await rangeAll(this.#kv, tokensPrefix)) {
      const r = JSON.parse(kv.value) as TokenRecord;
      if (r.expiresAtMs > beforeMs) continue;
      await del(this.#kv, tokenIdsPrefix + r.id);
      if (await del(this.#kv, kv.key)) n++;
    }
    return n;
  }
}

/**
 * Calls `onRevoked` with the hashes of tokens revoked or deleted by any server sharing the store.
 * Starts from the current revision; returns a stop function.
 */
export async function watchRevocations(
  kv: KVStore,
  onRevoked: (hashes: string[]) => void,
  log?: (msg: string, err: Error) => void,
): Promise<() => void> {
  let handle: { close(): void } | undefined;
  let stopped = false;
  const start = async () => {
    const rev = await kv.currentRevision();
    if (stopped) return;
    handle = kv.watch(tokensPrefix, {
      afterRevision: rev,
      onEvents: (events) => {
        const hashes: string[] = [];
        for (const e of events) {
          const hash = e.kv.key.slice(tokensPrefix.length);
          if (e.type === 'delete') hashes.push(hash);
          else if ((JSON.parse(e.kv.value) as TokenRecord).revokedAtMs !== undefined) hashes.push(hash);
        }
        if (hashes.length) onRevoked(hashes);
      },
      onError: (err) => {
        // history compacted or the store hiccuped: resume from now; entries revoked in the gap
        // expire from the cache within its TTL
        log?.('token revocation watch restarted', err);
        handle?.close();
        if (!stopped) setTimeout(() => void start().catch(() => {}), 1000).unref();
      },
    });
  };
  await start();
  return () => {
    stopped = true;
    handle?.close();
  };
}
