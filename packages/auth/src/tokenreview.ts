// The TokenReview webhook (authentication.k8s.io/v1 and v1beta1) as kube-apiserver's
// --authentication-token-webhook-config-file sends it, and the cached authenticator behind it.
//
// Order of checks for a review: body shape -> token shape (junk stops here, nothing is looked
// up) -> cache (positive and definite-negative answers, with TTLs) -> one shared lookup per
// token at a time (store, then the backend's re-check upstream). An upstream failure is
// answered "not authenticated" with status.error and is never cached: fail closed.
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { SingleflightCache } from './cache.ts';
import type { Identity } from './identity.ts';
import { redactString } from './redact.ts';
import { hashToken, isWellFormedToken, REJECT_MESSAGES } from './tokens.ts';
import type { RejectReason, TokenService, VerifyResult } from './tokens.ts';

export const TOKENREVIEW_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const;
export type TokenReviewVersion = (typeof TOKENREVIEW_VERSIONS)[number];

export interface TokenReviewUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface TokenReview {
  apiVersion: TokenReviewVersion;
  kind: 'TokenReview';
  metadata: { creationTimestamp: null };
  /** the token is never echoed back */
  spec: { audiences?: string[] };
  status: {
    authenticated: boolean;
    user?: TokenReviewUser;
    audiences?: string[];
    error?: string;
  };
}

export type AuthResult =
  | { authenticated: true; identity: Identity; audience: string; expiresAtMs: number }
  | { authenticated: false; reason: RejectReason; message: string };

export interface TokenAuthenticatorOptions {
  tokens: TokenService;
  clock?: Clock;
  /** how long a positive answer is reused before the upstream is asked again; default 10 s */
  positiveTtlMs?: number;
  /** how long a definite negative is reused; default 10 s */
  negativeTtlMs?: number;
  maxEntries?: number;
}

/**
 * Bearer token -> identity for one audience, with the cache. Revocations through the same
 * TokenService drop their cache entries at once; the upstream's revocations (a role removed in
 * keystone) are seen when the positive entry expires.
 */
export class TokenAuthenticator {
  readonly tokens: TokenService;
  readonly cache: SingleflightCache<AuthResult>;
  readonly #clock: Clock;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #unsubscribe: () => void;

  constructor(opts: TokenAuthenticatorOptions) {
    this.tokens = opts.tokens;
    this.#clock = opts.clock ?? systemClock;
    this.#positiveTtlMs = opts.positiveTtlMs ?? 10_000;
    this.#negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.cache = new SingleflightCache<AuthResult>({
      clock: this.#clock,
      ...(opts.maxEntries !== undefined ? { maxEntries: opts.maxEntries } : {}),
    });
    this.#unsubscribe = this.tokens.onRevoke((hashes) => {
      const set = new Set(hashes);
      this.cache.deleteWhere((k) => set.has(k.slice(0, k.indexOf('|'))));
    });
  }

  close(): void {
    this.#unsubscribe();
  }

  /** Definite answers are returned; an upstream failure throws (the caller fails closed). */
  async authenticate(token: string, audience: string): Promise<AuthResult> {
    if (!isWellFormedToken(token)) return reject('malformed');
    const key = `${hashToken(token)}|${audience}`;
    return this.cache.get(key, async () => {
      const v: VerifyResult = await this.tokens.verify(token, { audience });
      if (!v.ok) return { value: reject(v.reason), ttlMs: this.#negativeTtlMs };
      // a positive answer never outlives the token
      const ttlMs = Math.min(this.#positiveTtlMs, v.expiresAtMs - this.#clock.now());
      return {
        value: {
          authenticated: true,
          identity: v.identity,
          audience: v.audience,
          expiresAtMs: v.expiresAtMs,
        },
        ttlMs,
      };
    });
  }
}

function reject(reason: RejectReason): AuthResult {
  return { authenticated: false, reason, message: REJECT_MESSAGES[reason] };
}

// ---------------------------------------------------------------- the webhook body

/** Bodies bigger than this are refused unparsed (our tokens are 48 characters). */
export const MAX_TOKENREVIEW_BYTES = 64 * 1024;
const MAX_TOKEN_LENGTH = 8 * 1024;
const MAX_AUDIENCES = 32;

class BadReview extends Error {}

interface ParsedReview {
  apiVersion: TokenReviewVersion;
  token: string;
  audiences: string[] | undefined;
}

function parseBody(body: unknown): unknown {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > MAX_TOKENREVIEW_BYTES) throw new BadReview(`body larger than ${MAX_TOKENREVIEW_BYTES} bytes`);
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new BadReview('body is not JSON');
    }
  }
  return body;
}

function parseReview(raw: unknown): ParsedReview {
  const body = parseBody(raw);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadReview('body: must be a JSON object');
  const b = body as Record<string, unknown>;
  if (!TOKENREVIEW_VERSIONS.includes(b.apiVersion as TokenReviewVersion))
    throw new BadReview(`apiVersion: must be one of ${TOKENREVIEW_VERSIONS.join(', ')}`);
  if (b.kind !== 'TokenReview') throw new BadReview('kind: must be TokenReview');
  const spec = b.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw new BadReview('spec: must be an object');
  const s = spec as Record<string, unknown>;
  if (typeof s.token !== 'string' || s.token.length === 0)
    throw new BadReview('spec.token: must be a non-empty string');
  if (s.token.length > MAX_TOKEN_LENGTH)
    throw new BadReview(`spec.token: longer than ${MAX_TOKEN_LENGTH} characters`);
  let audiences: string[] | undefined;
  if (s.audiences !== undefined && s.audiences !== null) {
    if (
      !Array.isArray(s.audiences) ||
      s.audiences.length > MAX_AUDIENCES ||
      !s.audiences.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 1024)
    )
      throw new BadReview(`spec.audiences: must be at most ${MAX_AUDIENCES} non-empty strings`);
    audiences = s.audiences as string[];
  }
  return { apiVersion: b.apiVersion as TokenReviewVersion, token: s.token, audiences };
}

function versionOf(raw: unknown): TokenReviewVersion {
  const v = (raw as { apiVersion?: unknown } | null)?.apiVersion;
  return TOKENREVIEW_VERSIONS.includes(v as TokenReviewVersion)
    ? (v as TokenReviewVersion)
    : 'authentication.k8s.io/v1';
}

function response(
  apiVersion: TokenReviewVersion,
  audiences: string[] | undefined,
  status: TokenReview['status'],
): TokenReview {
  return {
    apiVersion,
    kind: 'TokenReview',
    metadata: { creationTimestamp: null },
    spec: audiences ? { audiences } : {},
    status,
  };
}

export interface ReviewOptions {
  /** the cluster this webhook answers for: tokens bound to another cluster are refused */
  audience: string;
  authenticator: TokenAuthenticator;
}

/**
 * Answers one TokenReview. Never throws: a malformed body or an upstream failure is an
 * unauthenticated review with status.error. `body` may be the parsed JSON or the raw bytes.
 *
 * Audiences: when the request names audiences (kube-apiserver sends its --api-audiences) and
 * one of them is this cluster's, status.audiences is [it]; otherwise status.audiences is left
 * empty, which kube-apiserver reads as "valid for the API server's own audiences".
 */
export async function reviewToken(body: unknown, opts: ReviewOptions): Promise<TokenReview> {
  let req: ParsedReview;
  try {
    req = parseReview(body);
  } catch (e) {
    const message = e instanceof BadReview ? e.message : 'unreadable body';
    return response(versionOf(body), undefined, {
      authenticated: false,
      error: `malformed TokenReview: ${message}`,
    });
  }
  let result: AuthResult;
  try {
    result = await opts.authenticator.authenticate(req.token, opts.audience);
  } catch (e) {
    const detail = e instanceof Error ? redactString(e.message) : 'unknown error';
    return response(req.apiVersion, req.audiences, {
      authenticated: false,
      error: `identity provider unavailable, try again: ${detail}`,
    });
  }
  if (!result.authenticated) {
    // a wrong token is a plain "no": status.error is for failures to decide
    return response(req.apiVersion, req.audiences, { authenticated: false });
  }
  const id = result.identity;
  return response(req.apiVersion, req.audiences, {
    authenticated: true,
    user: { username: id.username, uid: id.uid, groups: [...id.groups], extra: structuredClone(id.extra) },
    ...(req.audiences?.includes(result.audience) ? { audiences: [result.audience] } : {}),
  });
}
