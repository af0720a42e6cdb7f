// Which upstream a request goes to, whether the signed-in user may go there, and which URLs are
// safe to return to after signing in. Pure functions: tested with tables.

export interface Route {
  name: string;
  /** match the Host header (case-insensitive; without a port here, any port) */
  host?: string;
  /** '/' or '/prefix/'; matched on segment boundaries, the longest wins */
  pathPrefix: string;
  /** http(s)://host:port[/base] */
  upstream: string;
  /** any of these groups (role IDs) from the ID token's `groups` claim; '*' = any signed-in user */
  allowedGroups: string[];
  /** send `Authorization: Bearer <access token>` upstream */
  passAccessToken: boolean;
  /** remove pathPrefix before forwarding (the upstream does not know it is mounted) */
  stripPrefix: boolean;
  /** PEM of the CA that signed an https upstream */
  upstreamCaPem?: string;
}

export const ANY_SIGNED_IN = '*';

function hostMatches(routeHost: string, requestHost: string): boolean {
  const want = routeHost.toLowerCase();
  const got = requestHost.toLowerCase();
  if (want === got) return true;
  // a route host without a port matches that host on any port
  if (want.includes(':') && !want.startsWith('[')) return false;
  if (want.startsWith('[') && want.includes(']:')) return false;
  return got.replace(/:\d+$/, '') === want;
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(`${bare}/`);
}

/** Host routes before host-less ones, then the longest prefix. */
export function matchRoute(routes: readonly Route[], host: string, path: string): Route | undefined {
  let best: Route | undefined;
  let bestScore = -1;
  for (const r of routes) {
    if (r.host !== undefined && !hostMatches(r.host, host)) continue;
    if (!prefixMatches(r.pathPrefix, path)) continue;
    const score = (r.host ? 1_000_000 : 0) + r.pathPrefix.length;
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

export function isAllowed(route: Pick<Route, 'allowedGroups'>, groups: readonly string[]): boolean {
  if (route.allowedGroups.includes(ANY_SIGNED_IN)) return true;
  return route.allowedGroups.some((g) => groups.includes(g));
}

/**
 * Paths the proxy refuses rather than route: a dot segment (plain or percent-encoded) or a
 * backslash could make the upstream resolve a path that another route (other groups) owns.
 */
export function isUnsafePath(path: string): boolean {
  if (!path.startsWith('/')) return true;
  if (path.includes('\\') || /%5c/i.test(path)) return true;
  for (const seg of path.split('/')) {
    let decoded = seg;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return true;
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/')) return true;
  }
  return false;
}

/**
 * The return URL after sign-in: a relative path on this origin, or undefined. Refuses absolute
 * and scheme-relative URLs (`//evil`, `/\evil`), control characters and our own endpoints.
 */
export function safeReturnPath(rd: string | null | undefined): string | undefined {
  if (rd === null || rd === undefined || rd === '') return undefined;
  if (rd.length > 2048) return undefined;
  if (!rd.startsWith('/') || rd.startsWith('//')) return undefined;
  if (/[\\\u0000-\u001f\u007f]/.test(rd)) return undefined;
  // the same check as a browser would do: it must resolve to the same origin and the same path
  const base = new URL('https://origin.invalid');
  let u: URL;
  try {
    u = new URL(rd, base);
  } catch {
    return undefined;
  }
  if (u.origin !== base.origin) return undefined;
  if (u.pathname.startsWith('/oauth2/')) return '/';
  return `${u.pathname}${u.search}`;
}

/** upstream URL -> its path without the trailing slash; parsed once, not on every request */
const basePaths = new Map<string, string>();

/** The request target to send upstream for a request path (+ query) on `route`. */
export function upstreamPath(route: Route, pathAndQuery: string): string {
  let rest = pathAndQuery;
  if (route.stripPrefix && route.pathPrefix !== '/') {
    rest = rest.slice(route.pathPrefix.replace(/\/$/, '').length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  let basePath = basePaths.get(route.upstream);
  if (basePath === undefined) {
    basePath = new URL(route.upstream).pathname.replace(/\/$/, '');
    // config is finite, but a long-lived process given many configs (tests) must not grow forever
    if (basePaths.size >= 1024) basePaths.clear();
    basePaths.set(route.upstream, basePath);
  }
  return `${basePath}${rest}`;
}
