// The proxy's own pages: server-rendered, no scripts, no external assets, no framing.
import type { ServerResponse } from 'node:http';

export function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}' +
  'button{font:inherit;padding:.3rem 1rem}code{background:#eee;padding:0 .2rem}';

export function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${htmlEscape(title)} - KaaS SSO</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${htmlEscape(title)}</h1>${body}</main></body></html>`
  );
}

export function signOutForm(label = 'Sign out'): string {
  return `<form method="post" action="/oauth2/sign_out"><button type="submit">${htmlEscape(label)}</button></form>`;
}

export function forbiddenPage(p: { user: string; route: string; groups: readonly string[] }): string {
  const yours = p.groups.length ? p.groups.map((g) => `<code>${htmlEscape(g)}</code>`).join(', ') : 'none';
  return page(
    'Access denied',
    `<p>You are signed in as <strong>${htmlEscape(p.user)}</strong>, but you do not have a role that ` +
      `may open <strong>${htmlEscape(p.route)}</strong>.</p>` +
      `<p>Your roles: ${yours}.</p>` +
      `<p>Ask an administrator for access, or sign in as another user.</p>${signOutForm('Sign out and switch user')}`,
  );
}

export function sendPage(
  res: ServerResponse,
  status: number,
  html: string,
  extra: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...extra });
  res.end(html);
}
