// Opaque bearer tokens: kaas_ + 256 random bits in base64url. The store keeps only SHA-256 of a
// token, the identity it was issued to, its audience (one cluster), expiry, revocation, and what
// the backend needs to re-check the identity. A secret part of that (keystone's token) is sealed
// with AES-256-GCM under a key derived from the bearer token itself: a copy of the store is
// useless without the tokens.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Authenticated, Credentials, Identity, IdentityBackend, UpstreamSession } from './identity.ts';

export const TOKEN_PREFIX = 'kaas_';
const TOKEN_BYTES = 32;
/** kaas_ + 43 base64url characters (256 bits, no padding) */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 43;
const TOKEN_SHAPE = /^kaas_[A-Za-z0-9_-]{43}$/;

/** Cheap shape check: junk never reaches the store, let alone an upstream. */
export function isWellFormedToken(s: unknown): s is string {
  // the last character of 43 base64url chars for 32 bytes carries 2 padding bits: must be 0
  return (
    typeof s === 'string' && s.length === TOKEN_LENGTH && TOKEN_SHAPE.test(s) && /[AEIMQUYcgkosw048]$/.test(s)
  );
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** hex SHA-256: a 256-bit random token needs no salt or slow hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time equality of two hex digests. */
export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && ba.length > 0 && timingSafeEqual(ba, bb);
}

// ---------------------------------------------------------------- sealing

const SEAL_VERSION = 'v1';

function sealKey(token: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(token), Buffer.from('kaas-auth/seal'), Buffer.from('upstream-secret'), 32),
  );
}

/** Encrypts `plaintext` for storage next to the token; `aad` binds it to the record. */
export function sealSecret(token: string, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey(token), iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return [
    SEAL_VERSION,
    iv.toString('base64url'),
    ct.toString('base64url'),
    c.getAuthTag().toString('base64url'),
  ].join('.');
}

/** undefined when the token or aad do not match (tampered or wrong token). */
export function openSecret(token: string, sealed: string, aad: string): string | undefined {
  const [v, iv, ct, tag] = sealed.split('.');
  if (v !== SEAL_VERSION || iv === undefined || ct === undefined || tag === undefined) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', sealKey(token), Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- store

export interface TokenRecord {
  /** public handle (listing, revocation by id); not a secret */
  id: string;
  /** hex SHA-256 of the bearer token */
  hash: string;
  /** the one cluster the token is for */
  audience: string;
  backend: string;
  username: string;
  uid: string;
  createdAtMs: number;
  expiresAtMs: number;
  revokedAtMs?: number;
  /** the backend's session, with `secret` replaced by its sealed form */
  session: Omit<UpstreamSession, 'secret'> & { sealedSecret?: string };
}

export interface TokenStore {
  put(record: TokenRecord): Promise<void>;
  getByHash(hash: string): Promise<TokenRecord | undefined>;
  get(id: string): Promise<TokenRecord | undefined>;
  list(filter?: { backend?: string; uid?: string }): Promise<TokenRecord[]>;
  /** sets revokedAtMs; false when not found */
  revoke(id: string, atMs: number): Promise<boolean>;
  /** removes records that expired at or before `beforeMs`; returns how many */
  deleteExpired(beforeMs: number): Promise<number>;
}

export class MemoryTokenStore implements TokenStore {
  readonly #byHash = new Map<string, TokenRecord>();
  readonly #byId = new Map<string, TokenRecord>();

  async put(r: TokenRecord): Promise<void> {
    const copy = structuredClone(r);
    this.#byHash.set(r.hash, copy);
    this.#byId.set(r.id, copy);
  }

  async getByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = this.#byHash.get(hash);
    return r ? structuredClone(r) : undefined;
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const r = this.#byId.get(id);
    return r ? structuredClone(r) : undefined;
  }

  async list(filter: { backend?: string; uid?: string } = {}): Promise<TokenRecord[]> {
    return [...this.#byId.values()]
      .filter(
        (r) =>
          (filter.backend === undefined || r.backend === filter.backend) &&
          (filter.uid === undefined || r.uid === filter.uid),
      )
      .map((r) => structuredClone(r));
  }

  async revoke(id: string, atMs: number): Promise<boolean> {
    const r = this.#byId.get(id);
    if (!r) return false;
    r.revokedAtMs ??= atMs;
    return true;
  }

  async deleteExpired(beforeMs: number): Promise<number> {
    let n = 0;
    for (const r of this.#byId.values()) {
      if (r.expiresAtMs <= beforeMs) {
        this.#byId.delete(r.id);
        this.#byHash.delete(r.hash);
        n++;
      }
    }
    return n;
  }
}

// ---------------------------------------------------------------- service

export type RejectReason =
  | 'malformed'
  | 'unknown'
  | 'expired'
  | 'revoked'
  | 'wrong-audience'
  | 'upstream-revoked'
  | 'backend-unavailable';

export type VerifyResult =
  | { ok: true; identity: Identity; tokenId: string; audience: string; expiresAtMs: number }
  | { ok: false; reason: RejectReason };

export const REJECT_MESSAGES: Record<RejectReason, string> = {
  malformed: 'not a KaaS token',
  unknown: 'unknown token',
  expired: 'token expired',
  revoked: 'token revoked',
  'wrong-audience': 'token is for another cluster',
  'upstream-revoked': 'the identity provider no longer accepts this user',
  'backend-unavailable': 'the identity backend that issued this token is not configured',
};

export interface IssuedToken {
  /** the bearer token: shown to the user once, never stored */
  token: string;
  id: string;
  audience: string;
  expiresAt: Date;
  identity: Identity;
}

export interface TokenServiceOptions {
  store: TokenStore;
  backends: readonly IdentityBackend[];
  clock?: Clock;
  /** default 1 h */
  defaultTtlMs?: number;
  /** upper bound for a requested TTL; default 12 h */
  maxTtlMs?: number;
}

/** Called with the hashes of tokens that were just revoked (caches drop them). */
export type RevocationListener = (hashes: string[]) => void;

export class TokenService {
  readonly store: TokenStore;
  readonly #backends: Map<string, IdentityBackend>;
  readonly #clock: Clock;
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #listeners = new Set<RevocationListener>();

  constructor(opts: TokenServiceOptions) {
    this.store = opts.store;
    this.#backends = new Map(opts.backends.map((b) => [b.name, b]));
    this.#clock = opts.clock ?? systemClock;
    this.#defaultTtlMs = opts.defaultTtlMs ?? 3_600_000;
    this.#maxTtlMs = opts.maxTtlMs ?? 12 * 3_600_000;
  }

  backend(name: string): IdentityBackend | undefined {
    return this.#backends.get(name);
  }

  onRevoke(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Credentials -> bearer token for `audience`, through the named backend. */
  async exchange(
    credentials: Credentials,
    opts: { backend: string; audience: string; ttlMs?: number },
  ): Promise<IssuedToken> {
    const backend = this.#backends.get(opts.backend);
    if (!backend) throw new Error(`identity backend "${opts.backend}" is not configured`);
    const auth = await backend.authenticate(credentials);
    return this.issue(auth, {
      audience: opts.audience,
      ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    });
  }

  /** Issues a token for an identity the backend just authenticated. */
  async issue(auth: Authenticated, opts: { audience: string; ttlMs?: number }): Promise<IssuedToken> {
    if (!opts.audience) throw new Error('audience: required');
    if (!this.#backends.has(auth.identity.backend))
      throw new Error(`identity backend "${auth.identity.backend}" is not configured`);
    const now = this.#clock.now();
    const ttl = Math.min(opts.ttlMs ?? this.#defaultTtlMs, this.#maxTtlMs);
    if (!(ttl > 0)) throw new Error('ttlMs: must be > 0');
    // never outlive what the upstream granted (keystone's token expiry)
    const upstreamLimit = auth.identity.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    const expiresAtMs = Math.min(now + ttl, upstreamLimit);
    if (expiresAtMs <= now) throw new Error('the upstream session has already expired');
    const token = generateToken();
    const id = randomBytes(12).toString('base64url');
    const { secret, ...session } = auth.session;
    const record: TokenRecord = {
      id,
      hash: hashToken(token),
      audience: opts.audience,
      backend: auth.identity.backend,
      username: auth.identity.username,
      uid: auth.identity.uid,
      createdAtMs: now,
      expiresAtMs,
      session: {
        ...session,
        ...(secret !== undefined ? { sealedSecret: sealSecret(token, secret, id) } : {}),
      },
    };
    await this.store.put(record);
    return { token, id, audience: opts.audience, expiresAt: new Date(expiresAtMs), identity: auth.identity };
  }

  /**
   * Checks a bearer token for `audience` and re-checks the identity with its backend. Definite
   * answers are returned; an unreachable upstream throws UpstreamError (the caller fails closed).
   */
  async verify(token: string, opts: { audience: string }): Promise<VerifyResult> {
    if (!isWellFormedToken(token)) return { ok: false, reason: 'malformed' };
    const hash = hashToken(token);
    const rec = await this.store.getByHash(hash);
    // the store found it by hash; compare again in constant time in case a store matches loosely
    if (!rec || !hashesEqual(rec.hash, hash)) return { ok: false, reason: 'unknown' };
    if (rec.revokedAtMs !== undefined) return { ok: false, reason: 'revoked' };
    if (rec.expiresAtMs <= this.#clock.now()) return { ok: false, reason: 'expired' };
    if (rec.audience !== opts.audience) return { ok: false, reason: 'wrong-audience' };
    const backend = this.#backends.get(rec.backend);
    if (!backend) return { ok: false, reason: 'backend-unavailable' };
    const { sealedSecret, ...rest } = rec.session;
    let session: UpstreamSession = rest;
    if (sealedSecret !== undefined) {
      const secret = openSecret(token, sealedSecret, rec.id);
      if (secret === undefined) return { ok: false, reason: 'unknown' };
      session = { ...rest, secret };
    }
    const identity = await backend.revalidate(session);
    if (identity === 'revoked') return { ok: false, reason: 'upstream-revoked' };
    if (identity.uid !== rec.uid) return { ok: false, reason: 'upstream-revoked' };
    return { ok: true, identity, tokenId: rec.id, audience: rec.audience, expiresAtMs: rec.expiresAtMs };
  }

  async revoke(id: string): Promise<boolean> {
    const rec = await this.store.get(id);
    if (!rec) return false;
    await this.store.revoke(id, this.#clock.now());
    this.#notify([rec.hash]);
    return true;
  }

  /** Revokes by the bearer token itself (a user logging out). */
  async revokeToken(token: string): Promise<boolean> {
    if (!isWellFormedToken(token)) return false;
    const rec = await this.store.getByHash(hashToken(token));
    return rec ? this.revoke(rec.id) : false;
  }

  /** Revokes every live token of a user; returns how many. */
  async revokeUser(backend: string, uid: string): Promise<number> {
    const now = this.#clock.now();
    const live = (await this.store.list({ backend, uid })).filter(
      (r) => r.revokedAtMs === undefined && r.expiresAtMs > now,
    );
    for (const r of live) await this.store.revoke(r.id, now);
    if (live.length > 0) this.#notify(live.map((r) => r.hash));
    return live.length;
  }

  async list(filter?: { backend?: string; uid?: string }): Promise<Omit<TokenRecord, 'hash' | 'session'>[]> {
    return (await this.store.list(filter)).map(({ hash: _h, session: _s, ...r }) => r);
  }

  /** Drops records that expired more than `graceMs` ago. */
  async purgeExpired(graceMs = 0): Promise<number> {
    return this.store.deleteExpired(this.#clock.now() - graceMs);
  }

  #notify(hashes: string[]): void {
    for (const l of this.#listeners) l(hashes);
  }
}
