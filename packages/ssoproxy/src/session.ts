// What a sign-in keeps, and where: sealed in the cookie while it fits (<= maxCookieBytes for the
// whole Set-Cookie line, the limit browsers guarantee), else in a SessionStore with only a sealed
// reference in the cookie, as oauth2-proxy does with its Redis store.
import { randomBytes } from 'node:crypto';
import type { CookieOptions } from './cookies.ts';
import { serializeCookie } from './cookies.ts';
import { sidRevocationKey } from './logout.ts';
import type { Sealer } from './seal.ts';

export interface Session {
  /** random; names the session in the store and in the revocation list */
  id: string;
  sub: string;
  /** preferred_username, else sub */
  user: string;
  email?: string;
  groups: string[];
  /** the issuer's session id for this client (ID token `sid`): a back-channel logout names it */
  sid?: string;
  accessToken: string;
  refreshToken?: string;
  accessExpiresAtMs: number;
  idTokenExpiresAtMs: number;
  createdAtMs: number;
  /** the sign-in ends here whatever refreshes happen (cookie.maxAgeS after sign-in) */
  expiresAtMs: number;
}

export function newSessionId(): string {
  return randomBytes(24).toString('base64url');
}

/** Server-side sessions and the sign-outs of cookie-held ones. Implement it over a KV to share it. */
export interface SessionStore {
  get(id: string): Promise<Session | undefined>;
  set(session: Session): Promise<void>;
  delete(id: string): Promise<void>;
  /** a cookie-held session signed out: refused until untilMs, when the cookie expires anyway */
  revoke(id: string, untilMs: number): Promise<void>;
  isRevoked(id: string): Promise<boolean>;
}

export interface MemorySessionStoreOptions {
  now?: () => number;
  /** oldest entries are dropped beyond this (default 100,000) */
  maxEntries?: number;
}

/** One process's memory: a restart signs out server-side sessions and forgets sign-outs. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #revoked = new Map<string, number>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(o: MemorySessionStoreOptions = {}) {
    this.#now = o.now ?? Date.now;
    this.#max = o.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#sessions.size;
  }

  async get(id: string): Promise<Session | undefined> {
    const s = this.#sessions.get(id);
    if (s && s.expiresAtMs <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  async set(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    this.#sessions.set(session.id, session);
    this.#trim(this.#sessions);
  }

  async delete(id: string): Promise<void> {
    this.#sessions.delete(id);
  }

  async revoke(id: string, untilMs: number): Promise<void> {
    this.#revoked.set(id, untilMs);
    this.#trim(this.#revoked);
  }

  async isRevoked(id: string): Promise<boolean> {
    const until = this.#revoked.get(id);
    if (until === undefined) return false;
    if (until <= this.#now()) {
      this.#revoked.delete(id);
      return false;
    }
    return true;
  }

  #trim(map: Map<string, unknown>): void {
    // Maps iterate in insertion order: the first keys are the oldest
    for (const k of map.keys()) {
      if (map.size <= this.#max) break;
      map.delete(k);
    }
    // expired sessions go on the way
    const now = this.#now();
    for (const [k, v] of this.#sessions) if (v.expiresAtMs <= now) this.#sessions.delete(k);
  }
}

export type SessionStorage = 'auto' | 'cookie' | 'server';

export interface SessionCodecOptions {
  sealer: Sealer;
  store: SessionStore;
  cookieName: string;
  cookie: Omit<CookieOptions, 'maxAgeS'>;
  storage: SessionStorage;
  maxCookieBytes: number;
  now: () => number;
}

/** The sealed cookie payload: the session itself, or a reference to the store. */
type Sealed = { v: 1; s: Session } | { v: 1; ref: string };

export interface Encoded {
  setCookie: string;
  serverSide: boolean;
}

/** Opened cookie values kept, newest last (a Map keeps insertion order). */
const DECODED_CACHE_ENTRIES = 4096;

export class SessionCodec {
  readonly #o: SessionCodecOptions;
  /**
   * Cookie value -> the session sealed in it. A sealed value always opens to the same session, so
   * what is cached is only the decryption and the parse (most of a proxied request's own CPU);
   * expiry and revocation are still checked on every request.
   */
  readonly #opened = new Map<string, Session>();

  constructor(o: SessionCodecOptions) {
    this.#o = o;
  }

  /** The Set-Cookie header that carries `s`; stores it server-side when it does not fit. */
  async encode(s: Session): Promise<Encoded> {
    const o = this.#o;
    const maxAgeS = Math.max(1, Math.floor((s.expiresAtMs - o.now()) / 1000));
    const render = (payload: Sealed) =>
      serializeCookie(o.cookieName, o.sealer.seal(o.cookieName, JSON.stringify(payload)), {
        ...o.cookie,
        maxAgeS,
      });
    if (o.storage !== 'server') {
      const inline = render({ v: 1, s });
      if (o.storage === 'cookie' || Buffer.byteLength(inline) <= o.maxCookieBytes) {
        if (Buffer.byteLength(inline) > o.maxCookieBytes)
          throw new Error(
            `session cookie would be ${Buffer.byteLength(inline)} bytes (> ${o.maxCookieBytes}); use session.storage auto or server`,
          );
        return { setCookie: inline, serverSide: false };
      }
    }
    await o.store.set(s);
    return { setCookie: render({ v: 1, ref: s.id }), serverSide: true };
  }

  /** The live session a cookie value names, or undefined (forged, expired, signed out). */
  async decode(value: string | undefined): Promise<{ session: Session; serverSide: boolean } | undefined> {
    if (!value) return undefined;
    const o = this.#o;
    const cached = this.#opened.get(value);
    if (cached !== undefined) return this.#live(cached);
    const text = o.sealer.open(o.cookieName, value);
    if (text === undefined) return undefined;
    let payload: Sealed;
    try {
      payload = JSON.parse(text) as Sealed;
    } catch {
      return undefined;
    }
    if ('ref' in payload) {
      const s = await o.store.get(payload.ref);
      if (!s || s.expiresAtMs <= o.now() || (await this.#loggedOut(s))) return undefined;
      return { session: s, serverSide: true };
    }
    const s = payload.s;
    if (!s || typeof s.id !== 'string') return undefined;
    if (this.#opened.size >= DECODED_CACHE_ENTRIES) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(value, s);
    return this.#live(s);
  }

  async #live(s: Session): Promise<{ session: Session; serverSide: boolean } | undefined> {
    if (s.expiresAtMs <= this.#o.now()) return undefined;
    if (await this.#o.store.isRevoked(s.id)) return undefined;
    if (await this.#loggedOut(s)) return undefined;
    return { session: s, serverSide: false };
  }

  /** The issuer ended the browser session this one came from (back-channel logout). */
  async #loggedOut(s: Session): Promise<boolean> {
    return s.sid !== undefined && (await this.#o.store.isRevoked(sidRevocationKey(s.sid)));
  }

  clearCookie(): string {
    return serializeCookie(this.#o.cookieName, '', { ...this.#o.cookie, maxAgeS: 0 });
  }
}
