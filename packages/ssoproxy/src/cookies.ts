// Cookie header parsing and Set-Cookie rendering, just what the proxy needs.

export interface CookieOptions {
  path?: string;
  domain?: string;
  secure: boolean;
  maxAgeS?: number;
  sameSite?: 'Lax' | 'Strict';
}

/** Name/value pairs of a Cookie request header; the first occurrence of a name wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** Always HttpOnly; SameSite=Lax unless told otherwise (the callback is a top-level GET). */
export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`];
  if (o.domain) parts.push(`Domain=${o.domain}`);
  if (o.maxAgeS !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`);
    if (o.maxAgeS <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push(`SameSite=${o.sameSite ?? 'Lax'}`);
  return parts.join('; ');
}

/** The Cookie header without the named cookies (the proxy's own never reach an upstream). */
export function withoutCookies(
  header: string | undefined,
  drop: (name: string) => boolean,
): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => {
      const eq = p.indexOf('=');
      const name = (eq < 0 ? p : p.slice(0, eq)).trim();
      return p !== '' && !drop(name);
    });
  return kept.length ? kept.join('; ') : undefined;
}
