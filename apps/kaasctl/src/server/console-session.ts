// The console's server-side sessions, in the API server's own store under /kaas/console/sessions/.
// The browser holds only an opaque random id (the cookie). The store holds, under the id's SHA-256:
// who signed in, when the session ends, and the KaaS tokens minted for that user (one per cluster,
// since a token is bound to one audience), each sealed with a key derived from the id. So the store
// alone yields neither a session cookie nor a usable token, and a restart keeps people signed in.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import type { KVStore, KeyValue } from '@kaas/apiserver';
import { ConflictError, KeyExistsError, KeyNotFoundError } from '@kaas/apiserver';
import type { Authenticated, TokenService, UpstreamSession } from '@kaas/auth';

export const consoleSessionsPrefix = '/kaas/console/sessions/';
export const consoleLoginsPrefix = '/kaas/console/logins/';
/** <sha256(issuer session uid)>/<sha256(session id)>: which sessions a sign-out at the issuer ends */
export const consoleIssuerSessionsPrefix = '/kaas/console/issuer-sessions/';

/** At most this many clusters' tokens in one session (the oldest is revoked and dropped). */
const MAX_AUDIENCES = 32;

export interface ConsoleUser {
  /** the Kubernetes user name (local:alice) */
  name: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  backend: string;
}

interface SealedToken {
  id: string;
  sealed: string;
  expiresAtMs: number;
  mintedAtMs: number;
}

export interface SessionRecord {
  user: ConsoleUser;
  /** what the identity backend needs to re-check the user when a token is minted */
  upstream: Omit<UpstreamSession, 'secret'>;
  /** the upstream secret (keystone's token), sealed like the tokens (audience "upstream") */
  sealedSecret?: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** the issuer's browser session, ended on logout */
  issuerSessionUid?: string;
  tokens: Record<string, SealedToken>;
}

export type SessionLookup =
  | { ok: true; id: string; key: string; record: SessionRecord; modRevision: number }
  | { ok: false; reason: 'NotLoggedIn' | 'SessionExpired' };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function tokenKey(sessionId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionId, 'kaas-console', 'token-seal', 32));
}

function seal(sessionId: string, audience: string, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', tokenKey(sessionId), iv);
  c.setAAD(Buffer.from(audience));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
}

function unseal(sessionId: string, audience: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const d = createDecipheriv('aes-256-gcm', tokenKey(sessionId), raw.subarray(0, 12));
    d.setAAD(Buffer.from(audience));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The CSRF token of a session: derived from its id, so it is bound to it and never stored. */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('kaas-console-csrf').digest('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

/** the sealed upstream secret's associated data; cluster names cannot take this form */
const UPSTREAM_AAD = 'upstream:';

const CACHE_MS = 1000;
const CACHE_MAX = 10_000;

/** A session id has this shape; anything else in the cookie is not looked up. */
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export interface PendingLogin {
  verifier: string;
  nonce: string;
  returnTo: string;
  expiresAtMs: number;
}

export class ConsoleSessions {
  readonly #kv: KVStore;
  readonly #tokens: TokenService;
  /** re-checks the user before a token is minted; undefined = the user is gone or disabled */
  readonly #revalidate: (u: SessionRecord, upstream: UpstreamSession) => Promise<Authenticated | undefined>;
  readonly #now: () => number;
  readonly #minting = new Map<string, Promise<string>>();
  /**
   * Lookups and opened tokens reused for CACHE_MS: a console page fires bursts of API calls, and
   * each would otherwise read the store and open a token. Dropped at once on this server's own
   * changes; a logout on another server sharing the store shows here within CACHE_MS.
   */
  readonly #cache = new Map<
    string,
    { at: number; lookup: Extract<SessionLookup, { ok: true }>; opened: Map<string, string> }
  >();

  constructor(o: {
    kv: KVStore;
    tokens: TokenService;
    revalidate: (u: SessionRecord, upstream: UpstreamSession) => Promise<Authenticated | undefined>;
    now?: () => number;
  }) {
    this.#kv = o.kv;
    this.#tokens = o.tokens;
    this.#revalidate = o.revalidate;
    this.#now = o.now ?? Date.now;
  }

  /** `secret`: the upstream's (keystone's token), kept sealed under the new session's id */
  async create(
    r: Omit<SessionRecord, 'tokens' | 'createdAtMs' | 'sealedSecret'>,
    secret?: string,
  ): Promise<{ id: string; record: SessionRecord }> {
    const id = randomBytes(32).toString('base64url');
    const record: SessionRecord = {
      ...r,
      ...(secret !== undefined ? { sealedSecret: seal(id, UPSTREAM_AAD, secret) } : {}),
      createdAtMs: this.#now(),
      tokens: {},
    };
    await this.#kv.create(consoleSessionsPrefix + sha256(id), JSON.stringify(record));
    if (r.issuerSessionUid)
      await this.#kv.create(
        `${consoleIssuerSessionsPrefix}${sha256(r.issuerSessionUid)}/${sha256(id)}`,
        JSON.stringify({ expiresAtMs: r.expiresAtMs }),
      );
    return { id, record };
  }

  /**
   * Single logout: the issuer's browser session `uid` ended (a sign-out elsewhere), so every
   * console session that came from it ends too, tokens revoked. Returns how many.
   */
  async endIssuerSession(uid: string): Promise<number> {
    let n = 0;
    for (const item of await rangeAll(this.#kv, `${consoleIssuerSessionsPrefix}${sha256(uid)}/`)) {
      const key = consoleSessionsPrefix + item.key.slice(item.key.lastIndexOf('/') + 1);
      const { kv: cur } = await this.#kv.get(key);
      if (cur) {
        await this.#deleteKey(key, JSON.parse(cur.value) as SessionRecord, '');
        n++;
      }
      await this.#kv.delete(item.key).catch((e: unknown) => {
        if (!(e instanceof KeyNotFoundError)) throw e;
      });
    }
    return n;
  }

  async lookup(id: string | undefined): Promise<SessionLookup> {
    if (id === undefined || id === '') return { ok: false, reason: 'NotLoggedIn' };
    if (!ID_RE.test(id)) return { ok: false, reason: 'SessionExpired' };
    const key = consoleSessionsPrefix + sha256(id);
    const hit = this.#cache.get(key);
    if (hit && this.#now() - hit.at < CACHE_MS && hit.lookup.id === id) {
      if (hit.lookup.record.expiresAtMs > this.#now()) return hit.lookup;
      this.#cache.delete(key);
    }
    const { kv: cur } = await this.#kv.get(key);
    if (!cur) return { ok: false, reason: 'SessionExpired' };
    const record = JSON.parse(cur.value) as SessionRecord;
    if (record.expiresAtMs <= this.#now()) {
      await this.#deleteKey(key, record, id);
      return { ok: false, reason: 'SessionExpired' };
    }
    const found = { ok: true as const, id, key, record, modRevision: cur.modRevision };
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, { at: this.#now(), lookup: found, opened: new Map() });
    return found;
  }

  /**
   * The session user's bearer token for one cluster: the one minted earlier while it has more
   * than a minute left, else a new one (re-checking the user first) that ends with the session.
   */
  async tokenFor(s: Extract<SessionLookup, { ok: true }>, audience: string): Promise<string | undefined> {
    const have = s.record.tokens[audience];
    if (have && have.expiresAtMs - this.#now() > 60_000) {
      const opened = this.#cache.get(s.key)?.opened;
      const cached = opened?.get(audience);
      if (cached) return cached;
      const t = unseal(s.id, audience, have.sealed);
      if (t) {
        opened?.set(audience, t);
        return t;
      }
    }
    const flight = `${s.key}|${audience}`;
    let p = this.#minting.get(flight);
    if (!p) {
      p = this.#mint(s, audience).finally(() => this.#minting.delete(flight));
      this.#minting.set(flight, p);
    }
    return p.catch((e: Error) => {
      if (e.message === 'revoked') return undefined;
      throw e;
    });
  }

  async #mint(s: Extract<SessionLookup, { ok: true }>, audience: string): Promise<string> {
    let upstream: UpstreamSession = s.record.upstream;
    if (s.record.sealedSecret !== undefined) {
      const secret = unseal(s.id, UPSTREAM_AAD, s.record.sealedSecret);
      if (secret === undefined) throw new Error('revoked');
      upstream = { ...upstream, secret };
    }
    const auth = await this.#revalidate(s.record, upstream);
    if (!auth) throw new Error('revoked');
    const issued = await this.#tokens.issue(auth, {
      audience,
      ttlMs: Math.max(1000, s.record.expiresAtMs - this.#now()),
    });
    const entry: SealedToken = {
      id: issued.id,
      sealed: seal(s.id, audience, issued.token),
      expiresAtMs: issued.expiresAt.getTime(),
      mintedAtMs: this.#now(),
    };
    const dropped: string[] = [];
    await this.#modify(s.key, (rec) => {
      rec.tokens[audience] = entry;
      const auds = Object.keys(rec.tokens).sort(
        (a, b) => rec.tokens[a]!.mintedAtMs - rec.tokens[b]!.mintedAtMs,
      );
      while (auds.length > MAX_AUDIENCES) {
        const a = auds.shift()!;
        dropped.push(rec.tokens[a]!.id);
        delete rec.tokens[a];
      }
    });
    for (const id of dropped) await this.#tokens.revoke(id).catch(() => false);
    return issued.token;
  }

  async #modify(key: string, change: (r: SessionRecord) => void): Promise<void> {
    this.#cache.delete(key);
    for (let attempt = 0; attempt < 8; attempt++) {
      const { kv: cur } = await this.#kv.get(key);
      if (!cur) throw new Error('revoked');
      const rec = JSON.parse(cur.value) as SessionRecord;
      change(rec);
      try {
        await this.#kv.update(key, JSON.stringify(rec), cur.modRevision);
        // a lookup between the first delete and the write may have cached the old record
        this.#cache.delete(key);
        return;
      } catch (e) {
        if (e instanceof KeyNotFoundError) throw new Error('revoked');
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    throw new Error(`${key}: too many concurrent writers`);
  }

  /** Drops one cluster's token from the session (the API refused it). */
  async forget(s: Extract<SessionLookup, { ok: true }>, audience: string): Promise<void> {
    await this.#modify(s.key, (rec) => {
      delete rec.tokens[audience];
    });
  }

  /** Logout: the session's tokens are revoked and the record goes. */
  async delete(s: Extract<SessionLookup, { ok: true }>): Promise<void> {
    await this.#deleteKey(s.key, s.record, s.id);
  }

  async #deleteKey(key: string, record: SessionRecord, _id: string): Promise<void> {
    this.#cache.delete(key);
    for (const t of Object.values(record.tokens)) await this.#tokens.revoke(t.id).catch(() => false);
    try {
      await this.#kv.delete(key);
    } catch (e) {
      if (!(e instanceof KeyNotFoundError)) throw e;
    }
  }

  // ------------------------------------------------------------ sign-ins under way

  /** Keyed by the state's hash; the browser holds the state in a short-lived cookie. */
  async putLogin(state: string, login: PendingLogin): Promise<void> {
    await this.#kv.create(consoleLoginsPrefix + sha256(state), JSON.stringify(login));
  }

  /** One use: the record is deleted as it is read. */
  async takeLogin(state: string): Promise<PendingLogin | undefined> {
    const key = consoleLoginsPrefix + sha256(state);
    const { kv: cur } = await this.#kv.get(key);
    if (!cur) return undefined;
    try {
      await this.#kv.delete(key, cur.modRevision);
    } catch {
      return undefined; // taken by a concurrent callback
    }
    const login = JSON.parse(cur.value) as PendingLogin;
    return login.expiresAtMs > this.#now() ? login : undefined;
  }

  /** Drops ended sessions (revoking their tokens) and abandoned sign-ins; returns how many. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const prefix of [consoleSessionsPrefix, consoleLoginsPrefix, consoleIssuerSessionsPrefix]) {
      for (const item of await rangeAll(this.#kv, prefix)) {
        const v = JSON.parse(item.value) as { expiresAtMs: number };
        if (v.expiresAtMs > this.#now()) continue;
        if (prefix === consoleSessionsPrefix)
          for (const t of Object.values((v as SessionRecord).tokens ?? {}))
            await this.#tokens.revoke(t.id).catch(() => false);
        try {
          await this.#kv.delete(item.key, item.modRevision);
          n++;
        } catch (e) {
          if (!(e instanceof KeyNotFoundError || e instanceof ConflictError || e instanceof KeyExistsError))
            throw e;
        }
      }
    }
    return n;
  }
}

async function rangeAll(kv: KVStore, prefix: string): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  let startAfter: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const r = await kv.range(prefix, { limit: 500, startAfter, revision });
    revision = r.revision;
    out.push(...r.items);
    if (!r.more || r.items.length === 0) return out;
    startAfter = r.items[r.items.length - 1]!.key;
  }
}
