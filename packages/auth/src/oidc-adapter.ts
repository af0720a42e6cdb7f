// Storage for the OIDC issuer's state (sessions, interactions, grants, codes, tokens, sign-ins)
// behind oidc-provider's Adapter interface, so that a KV-backed adapter can replace this one
// without touching the issuer. In memory: a restart signs everyone out, and two API server
// replicas do not share it.
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** The models whose records belong to a grant and go when the grant is revoked. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

interface Entry {
  payload: AdapterPayload;
  /** epoch ms; Infinity when the record has no expiry */
  expiresAtMs: number;
}

/**
 * One store shared by every model's adapter: records keyed `<model>:<id>`, plus the three
 * secondary indexes oidc-provider asks for (session uid, user code, grant members).
 */
export class MemoryOidcStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sessionUids = new Map<string, string>();
  readonly #userCodes = new Map<string, string>();
  readonly #grants = new Map<string, Set<string>>();
  readonly #now: () => number;
  #writes = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** An adapter factory for oidc-provider's `adapter` option. */
  factory(): AdapterFactory {
    return (model: string) => new MemoryOidcAdapter(model, this);
  }

  get(key: string): AdapterPayload | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAtMs <= this.#now()) {
      this.delete(key);
      return undefined;
    }
    return structuredClone(e.payload);
  }

  set(key: string, payload: AdapterPayload, expiresInS: number | undefined, model: string): void {
    this.delete(key);
    const expiresAtMs = typeof expiresInS === 'number' ? this.#now() + expiresInS * 1000 : Infinity;
    this.#entries.set(key, { payload: structuredClone(payload), expiresAtMs });
    if (model === 'Session' && typeof payload.uid === 'string') this.#sessionUids.set(payload.uid, key);
    if (typeof payload.userCode === 'string') this.#userCodes.set(payload.userCode, key);
    if (GRANTABLE.has(model) && typeof payload.grantId === 'string') {
      const members = this.#grants.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      this.#grants.set(payload.grantId, members);
    }
    if (++this.#writes % 1000 === 0) this.sweep();
  }

  update(key: string, change: (p: AdapterPayload) => void): void {
    const e = this.#entries.get(key);
    if (e) change(e.payload);
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    const p = e.payload;
    if (typeof p.uid === 'string' && this.#sessionUids.get(p.uid) === key) this.#sessionUids.delete(p.uid);
    if (typeof p.userCode === 'string' && this.#userCodes.get(p.userCode) === key)
      this.#userCodes.delete(p.userCode);
    if (typeof p.grantId === 'string') {
      const members = this.#grants.get(p.grantId);
      members?.delete(key);
      if (members?.size === 0) this.#grants.delete(p.grantId);
    }
  }

  keyBySessionUid(uid: string): string | undefined {
    return this.#sessionUids.get(uid);
  }

  keyByUserCode(code: string): string | undefined {
    return this.#userCodes.get(code);
  }

  revokeGrant(grantId: string): void {
    for (const key of [...(this.#grants.get(grantId) ?? [])]) this.delete(key);
    this.#grants.delete(grantId);
  }

  /** Drops expired records (also done every 1000 writes). */
  sweep(): void {
    const now = this.#now();
    for (const [k, e] of this.#entries) if (e.expiresAtMs <= now) this.delete(k);
  }

  clear(): void {
    this.#entries.clear();
    this.#sessionUids.clear();
    this.#userCodes.clear();
    this.#grants.clear();
  }
}

export class MemoryOidcAdapter implements Adapter {
  readonly model: string;
  readonly #store: MemoryOidcStore;

  constructor(model: string, store: MemoryOidcStore) {
    this.model = model;
    this.#store = store;
  }

  #key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    this.#store.set(this.#key(id), payload, expiresIn, this.model);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#store.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const key = this.#store.keyBySessionUid(uid);
    return key === undefined ? undefined : this.#store.get(key);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const key = this.#store.keyByUserCode(userCode);
    return key === undefined ? undefined : this.#store.get(key);
  }

  async consume(id: string): Promise<void> {
    const consumed = Math.floor(Date.now() / 1000);
    this.#store.update(this.#key(id), (p) => {
      p.consumed = consumed;
    });
  }

  async destroy(id: string): Promise<void> {
    this.#store.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#store.revokeGrant(grantId);
  }
}
