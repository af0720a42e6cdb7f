// The console's only way out: the contract's endpoints under /console/ (docs/console.md). Every
// Kubernetes call goes through /console/k8s/<apiPath>, where the backend adds the session user's
// token, so the API server applies that user's RBAC. A 401 means the session is gone: back to
// the login page with the path the user was on.

export interface SessionInfo {
  user: { name: string; groups: string[]; extra?: Record<string, unknown> };
  csrfToken: string;
  expiresAt: string;
  serverUrl: string;
  /** `kaasctl auth login` for this user (backend, user name, keystone project) */
  loginCommand?: string;
}

export interface ServerInfo {
  serverUrl: string;
  loginCommand: string;
  ssoProxyUrl: string | null;
  ssoRoutes: { name: string; url: string }[];
}

/** A failed call: the HTTP status and the Kubernetes Status (or contract error) it carried. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Where /console/login sends the user back to: the page they are on. */
export function loginUrl(): string {
  const back = location.pathname + location.search;
  return `/console/login?return=${encodeURIComponent(back.startsWith('/console/') ? back : '/console/')}`;
}

function expired(): never {
  location.assign(loginUrl());
  throw new ApiError(401, 'SessionExpired', 'the session has expired; signing in again');
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { reason?: string; code?: string | number; message?: string };
    const reason = body.reason ?? (typeof body.code === 'string' ? body.code : res.statusText);
    return new ApiError(res.status, reason, body.message ?? text);
  } catch {
    return new ApiError(res.status, res.statusText, text || `HTTP ${res.status}`);
  }
}

/** A call to the contract's endpoints; JSON in and out. */
export async function call<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const method = (init.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') headers.set('X-CSRF-Token', csrfToken);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
    body = JSON.stringify(init.json);
  }
  headers.set('Accept', 'application/json');
  const res = await fetch(path, { ...init, method, headers, body, credentials: 'same-origin' });
  if (res.status === 401) expired();
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** A Kubernetes API path (`/api/v1/...`, `/apis/...`, `/clusters/NAME/...`) through the session proxy. */
export function k8s<T>(apiPath: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  return call<T>(`/console/k8s${apiPath}`, init);
}

/** The session, or null when nobody is signed in. */
export async function loadSession(): Promise<SessionInfo | null> {
  const res = await fetch('/console/api/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw await errorOf(res);
  const s = (await res.json()) as SessionInfo;
  setCsrfToken(s.csrfToken);
  return s;
}

export async function logout(): Promise<void> {
  const r = await call<{ next?: string }>('/console/logout', { method: 'POST' });
  location.assign(r.next ?? '/console/');
}

export { errorOf };
