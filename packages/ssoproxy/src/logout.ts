// OpenID Connect Back-Channel Logout 1.0, the relying party's half: the issuer POSTs a signed
// logout token when a browser session ends (a sign-out in the console, or at the issuer itself),
// and the proxy stops honouring every session that came from that issuer session (its `sid`).
// The token is the only credential of that request, so it is checked as the spec's section 2.6
// says: signature from the issuer's JWKS, iss, aud, iat, the logout event, a sid, and no nonce.
import { errors as joseErrors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutTokenClaims {
  sid: string;
  sub?: string;
}

export class LogoutTokenError extends Error {
  override readonly name = 'LogoutTokenError';
}

export async function verifyLogoutToken(
  token: string,
  o: { issuer: string; clientId: string; keys: JWTVerifyGetKey; now: () => number; maxAgeS?: number },
): Promise<LogoutTokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, o.keys, {
      issuer: o.issuer,
      audience: o.clientId,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requiredClaims: ['iat'],
      currentDate: new Date(o.now()),
      // a logout token is used at once; an old one is a replay
      maxTokenAge: `${o.maxAgeS ?? 300}s`,
      clockTolerance: 30,
    }));
  } catch (e) {
    if (e instanceof joseErrors.JOSEError) throw new LogoutTokenError(`logout token: ${e.message}`);
    throw e;
  }
  const events = payload.events as Record<string, unknown> | undefined;
  if (typeof events !== 'object' || events === null || !(BACKCHANNEL_LOGOUT_EVENT in events))
    throw new LogoutTokenError('logout token: no back-channel logout event');
  if ('nonce' in payload) throw new LogoutTokenError('logout token: must not carry a nonce');
  // the proxy registers backchannel_logout_session_required: a token without sid is not for it
  if (typeof payload.sid !== 'string' || payload.sid === '')
    throw new LogoutTokenError('logout token: no sid');
  return { sid: payload.sid, ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}) };
}

/** Where a signed-out issuer session is recorded in the SessionStore's revocation list. */
export function sidRevocationKey(sid: string): string {
  return `sid:${sid}`;
}
