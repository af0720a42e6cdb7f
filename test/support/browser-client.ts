// Enough of a browser for the console's and the SSO proxy's integration tests: cookies kept by
// host and path (not port, as browsers do), nothing followed by itself, and a sign-in walk that
// posts the issuer's form when it shows one.
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import { fetch as undiciFetch } from 'undici';

export interface Cookie {
  host: string;
  path: string;
  name: string;
  value: string;
  raw: string;
}

export interface Res {
  status: number;
  location: string | null;
  body: string;
  url: URL;
  headers: Headers;
}

export class Browser {
  cookies: Cookie[] = [];
  /** every response, for the header checks */
  seen: Res[] = [];
  /** the base URL relative requests go to, and the TLS agent (the KaaS CA); read on every request */
  readonly #where: () => { base: string; dispatcher: Agent };

  constructor(where: () => { base: string; dispatcher: Agent }) {
    this.#where = where;
  }

  async request(
    url: string | URL,
    init: {
      method?: string;
      form?: Record<string, string>;
      headers?: Record<string, string>;
      body?: string;
    } = {},
  ): Promise<Res> {
    const { base, dispatcher } = this.#where();
    const u = new URL(url, base);
    const cookie = this.cookies
      .filter((c) => c.host === u.hostname && u.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const res = await undiciFetch(u, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      dispatcher,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: u.origin } : {}),
        ...init.headers,
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    for (const h of res.headers.getSetCookie()) this.#store(u, h);
    const r = {
      status: res.status,
      location: res.headers.get('location'),
      body: await res.text(),
      url: u,
      headers: res.headers as unknown as Headers,
    };
    this.seen.push(r);
    return r;
  }

  #store(u: URL, header: string): void {
    const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
    this.cookies = this.cookies.filter((c) => !(c.host === u.hostname && c.name === name && c.path === path));
    const expired = attrs.some((a) => /^max-age=0$/i.test(a));
    if (!expired && value !== '') this.cookies.push({ host: u.hostname, path, name, value, raw: header });
  }

  cookie(name: string): Cookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }
}

export function formAction(html: string): string {
  const m = /<form method="post" action="([^"]+)"/.exec(html);
  assert.ok(m, `no sign-in form in: ${html.slice(0, 300)}`);
  return m[1]!.replace(/&amp;/g, '&');
}

/** What the issuer's sign-in form gets: user name, password, and backend, project... */
export interface SignInUser {
  name: string;
  password: string;
  /** default local */
  backend?: string;
  /** keystone */
  project?: string;
  /** keystone: the user's domain name (default: the form's empty field, "Default") */
  domain?: string;
  /** keystone: the project's domain name when it is not the user's */
  projectDomain?: string;
}

/**
 * From `start` on `origin` through the issuer back to `callbackPath` on `origin`; posts the
 * sign-in form when the issuer shows it. Returns the callback's answer and whether a password
 * was typed.
 */
export async function signIn(
  b: Browser,
  start: string,
  user: SignInUser | undefined,
  origin: string,
  callbackPath = '/console/callback',
): Promise<{ callback: Res; typedPassword: boolean; authUrl: URL }> {
  let r = await b.request(new URL(start, origin));
  assert.equal(r.status, 302, r.body.slice(0, 300));
  const authUrl = new URL(r.location!, r.url);
  let typedPassword = false;
  for (let hop = 0; hop < 12; hop++) {
    const next = r.location ? new URL(r.location, r.url) : undefined;
    if (next && next.origin === origin && next.pathname === callbackPath) {
      return { callback: await b.request(next), typedPassword, authUrl };
    }
    if (next) {
      r = await b.request(next);
      continue;
    }
    assert.equal(r.status, 200, `stuck at ${r.url.href}: ${r.status} ${r.body.slice(0, 300)}`);
    assert.ok(user, 'the issuer asked for a password where none was expected');
    typedPassword = true;
    r = await b.request(new URL(formAction(r.body), r.url), {
      method: 'POST',
      form: {
        backend: user.backend ?? 'local',
        username: user.name,
        password: user.password,
        ...(user.project ? { project: user.project } : {}),
        ...(user.domain ? { domain: user.domain } : {}),
        ...(user.projectDomain ? { project_domain: user.projectDomain } : {}),
      },
    });
  }
  throw new Error('too many redirects');
}
