// Headers to and from upstreams. The identity headers are the proxy's alone: whatever a client
// sends under those names is dropped before the proxy adds its own, so an upstream can trust them
// (as long as only the proxy can reach it).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Dropped from every client request, whatever the route. */
export const IDENTITY_HEADERS: readonly string[] = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'authorization',
  'forwarded',
];
export const IDENTITY_HEADER_PREFIXES: readonly string[] = ['x-auth-request-'];

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isIdentityHeader(name: string): boolean {
  const n = name.toLowerCase();
  return IDENTITY_HEADERS.includes(n) || IDENTITY_HEADER_PREFIXES.some((p) => n.startsWith(p));
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const c = headers.connection;
  const list = Array.isArray(c) ? c.join(',') : (c ?? '');
  return new Set(
    list
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

export interface Identity {
  user: string;
  email?: string;
  groups: readonly string[];
}

export interface UpstreamRequestHeaderOptions {
  identity: Identity;
  /** set when the route passes the access token */
  accessToken?: string;
  /** the Cookie header with the proxy's own cookies already removed */
  cookie: string | undefined;
  clientAddress: string | undefined;
  /** of the origin the browser used */
  proto: 'http' | 'https';
  host: string;
  /** keep `Connection: upgrade` + `Upgrade` (websockets) */
  upgrade: boolean;
}

/** Header values may not hold control characters; claims come from the issuer, but be sure. */
function clean(v: string): string {
  return v.replace(/[\u0000-\u001f\u007f]/g, '');
}

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  o: UpstreamRequestHeaderOptions,
): OutgoingHttpHeaders {
  const dropAlso = connectionTokens(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || dropAlso.has(n) || isIdentityHeader(n)) continue;
    if (n === 'cookie' || n === 'host' || n.startsWith('x-forwarded-')) continue;
    out[n] = value;
  }
  if (o.upgrade && incoming.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = incoming.upgrade;
  }
  if (o.cookie) out.cookie = o.cookie;
  const priorFor = incoming['x-forwarded-for'];
  const chain = [...(Array.isArray(priorFor) ? priorFor : priorFor ? [priorFor] : [])];
  if (o.clientAddress) chain.push(o.clientAddress);
  if (chain.length) out['x-forwarded-for'] = chain.join(', ');
  out['x-forwarded-proto'] = o.proto;
  out['x-forwarded-host'] = clean(o.host);
  out['x-forwarded-user'] = clean(o.identity.user);
  if (o.identity.email) out['x-forwarded-email'] = clean(o.identity.email);
  out['x-forwarded-groups'] = clean(o.identity.groups.join(','));
  if (o.accessToken) out.authorization = `Bearer ${clean(o.accessToken)}`;
  return out;
}

/** Upstream response headers for the client: no hop-by-hop, and never one of our cookies. */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  isOurCookie: (name: string) => boolean,
): OutgoingHttpHeaders {
  const dropAlso = connectionTokens(upstream);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || dropAlso.has(n)) continue;
    if (n === 'set-cookie') {
      const list = (Array.isArray(value) ? value : [String(value)]).filter((c) => {
        const eq = c.indexOf('=');
        return !isOurCookie((eq < 0 ? c : c.slice(0, eq)).trim());
      });
      if (list.length) out[n] = list;
      continue;
    }
    out[n] = value;
  }
  return out;
}
