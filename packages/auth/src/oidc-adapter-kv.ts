// The OIDC issuer's state (browser sessions, interactions, grants, codes, refresh tokens, sign-ins)
// in the API server's own store (SQLite or etcd) under /kaas/auth/oidc/state/, so that a restart
// keeps people signed in and several servers on one etcd share one issuer. Outside /registry/:
// no Kubernetes API reaches it. Expiry is checked on every read and swept periodically (the KV
// has no TTLs of its own).
import type { KVStore, KeyValue } from '@kaas/apiserver';
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';
import { ConflictError, KeyNotFoundError } from '@kaas/apiserver';
import { del, put } from './kvstores.ts';

export const oidcStatePrefix = '/kaas/auth/oidc/state/';
const recordsPrefix = `${oidcStatePrefix}records/`;
const sessionUidPrefix = `${oidcStatePrefix}session-uids/`;
const userCodePrefix = `${oidcStatePrefix}user-codes/`;
const grantPrefix = `${oidcStatePrefix}grants/`;

/** The models whose records belong to a grant and go when the grant is revoked (as in memory). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

interface Stored {
  payload: AdapterPayload;
  /** epoch ms; null = no expiry */
  exp: number | null;
}

/** Index entries point at a record key and expire with it. */
interface IndexEntry {
  key: string;
  exp: number | null;
}

const seg = (s: string) => encodeURIComponent(s);

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

export interface KvOidcStoreOptions {
  now?: () => number;
}

/** One store for every model's adapter, as MemoryOidcStore, over a KVStore. */
export class KvOidcStore {
  readonly #kv: KVStore;
  readonly #now: () => number;

  constructor(kv: KVStore, opts: KvOidcStoreOptions = {}) {
    this.#kv = kv;
    this.#now = opts.now ?? Date.now;
  }

  /** An adapter factory for oidc-provider's `adapter` option (createOidcIssuer's `adapter`). */
  factory(): AdapterFactory {
    return (model: string) => new KvOidcAdapter(model, this);
  }

  #recordKey(model: string, id: string): string {
    return `${recordsPrefix}${seg(model)}/${seg(id)}`;
  }

  #live(exp: number | null): boolean {
    return exp === null || exp > this.#now();
  }

  async #read(key: string): Promise<Stored | undefined> {
    const { kv: cur } = await this.#kv.get(key);
    if (!cur) return undefined;
    const s = JSON.parse(cur.value) as Stored;
    if (!this.#live(s.exp)) return undefined;
    return s;
  }

  async get(model: string, id: string): Promise<AdapterPayload | undefined> {
    return (await this.#read(this.#recordKey(model, id)))?.payload;
  }

  async set(model: string, id: string, payload: AdapterPayload, expiresInS?: number): Promise<void> {
    const key = this.#recordKey(model, id);
    const exp = typeof expiresInS === 'number' ? this.#now() + expiresInS * 1000 : null;
    await put(this.#kv, key, JSON.stringify({ payload, exp } satisfies Stored));
    const entry = (): string => JSON.stringify({ key, exp } satisfies IndexEntry);
    if (model === 'Session' && typeof payload.uid === 'string')
      await put(this.#kv, `${sessionUidPrefix}${seg(payload.uid)}`, entry());
    if (typeof payload.userCode === 'string')
      await put(this.#kv, `${userCodePrefix}${seg(payload.userCode)}`, entry());
    if (GRANTABLE.has(model) && typeof payload.grantId === 'string')
      await put(this.#kv, `${grantPrefix}${seg(payload.grantId)}/${seg(model)}/${seg(id)}`, entry());
  }

  async #byIndex(indexKey: string): Promise<AdapterPayload | undefined> {
    const { kv: cur } = await this.#kv.get(indexKey);
    if (!cur) return undefined;
    const e = JSON.parse(cur.value) as IndexEntry;
    return (await this.#read(e.key))?.payload;
  }

  findBySessionUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#byIndex(`${sessionUidPrefix}${seg(uid)}`);
  }

  findByUserCode(code: string): Promise<AdapterPayload | undefined> {
    return this.#byIndex(`${userCodePrefix}${seg(code)}`);
  }

  async consume(model: string, id: string): Promise<void> {
    const key = this.#recordKey(model, id);
    for (let attempt = 0; attempt < 8; attempt++) {
      const { kv: cur } = await this.#kv.get(key);
      if (!cur) return;
      const s = JSON.parse(cur.value) as Stored;
      s.payload.consumed = Math.floor(this.#now() / 1000);
      try {
        await this.#kv.update(key, JSON.stringify(s), cur.modRevision);
        return;
      } catch (e) {
        if (e instanceof KeyNotFoundError) return;
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    throw new Error(`${key}: too many concurrent writers`);
  }

  async destroy(model: string, id: string): Promise<void> {
    const key = this.#recordKey(model, id);
    const { kv: cur } = await this.#kv.get(key);
    if (!cur) return;
    const p = (JSON.parse(cur.value) as Stored).payload;
    await del(this.#kv, key);
    if (model === 'Session' && typeof p.uid === 'string')
      await this.#dropIndex(`${sessionUidPrefix}${seg(p.uid)}`, key);
    if (typeof p.userCode === 'string') await this.#dropIndex(`${userCodePrefix}${seg(p.userCode)}`, key);
    if (typeof p.grantId === 'string')
      await del(this.#kv, `${grantPrefix}${seg(p.grantId)}/${seg(model)}/${seg(id)}`);
  }

  /** Only when the index still points at this record (a newer record may own it now). */
  async #dropIndex(indexKey: string, recordKey: string): Promise<void> {
    const { kv: cur } = await this.#kv.get(indexKey);
    if (cur && (JSON.parse(cur.value) as IndexEntry).key === recordKey) {
      try {
        await this.#kv.delete(indexKey, cur.modRevision);
      } catch (e) {
        if (!(e instanceof KeyNotFoundError || e instanceof ConflictError)) throw e;
      }
    }
  }

  async revokeGrant(grantId: string): Promise<void> {
    const prefix = `${grantPrefix}${seg(grantId)}/`;
    for (const item of await rangeAll(this.#kv, prefix)) {
      await del(this.#kv, (JSON.parse(item.value) as IndexEntry).key);
      await del(this.#kv, item.key);
    }
  }

  /** Deletes expired records and index entries; returns how many keys went. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const item of await rangeAll(this.#kv, oidcStatePrefix)) {
      const { exp } = JSON.parse(item.value) as { exp: number | null };
      if (this.#live(exp)) continue;
      try {
        await this.#kv.delete(item.key, item.modRevision);
        n++;
      } catch (e) {
        // rewritten since we read it (a refresh): it lives on
        if (!(e instanceof KeyNotFoundError || e instanceof ConflictError)) throw e;
      }
    }
    return n;
  }

  /** How many records (not index entries) are stored, expired ones included until swept. */
  count(): Promise<number> {
    return this.#kv.count(recordsPrefix);
  }
}

export class KvOidcAdapter implements Adapter {
  readonly model: string;
  readonly #store: KvOidcStore;

  constructor(model: string, store: KvOidcStore) {
    this.model = model;
    this.#store = store;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    return this.#store.set(this.model, id, payload, expiresIn);
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.#store.get(this.model, id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#store.findBySessionUid(uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#store.findByUserCode(userCode);
  }

  consume(id: string): Promise<void> {
    return this.#store.consume(this.model, id);
  }

  destroy(id: string): Promise<void> {
    return this.#store.destroy(this.model, id);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.#store.revokeGrant(grantId);
  }
}
