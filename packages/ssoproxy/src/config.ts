// The proxy's configuration: one zod schema for what startSsoProxy takes (secrets inline), and a
// YAML loader that also accepts *File fields for secrets and PEMs, reads them, and reports every
// problem with file:line:column. Environment overrides are applied by the command, not here.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { ANY_SIGNED_IN } from './routes.ts';
import type { Route } from './routes.ts';
import { MIN_SECRET_LENGTH } from './seal.ts';

const prefix = z
  .string()
  .regex(/^\/([^?#]*\/)?$/, "must start and end with '/' (or be '/') and hold no query")
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not hold dot segments');

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username;
  } catch {
    return false;
  }
}, 'must be an http(s) URL without query, fragment or credentials');

const groupList = z
  .array(z.string().min(1))
  .min(1, `must name at least one group (role ID), or '${ANY_SIGNED_IN}' for any signed-in user`);

export const routeSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (a-z, 0-9, -)'),
  host: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$|^\[[0-9a-f:]+\](:\d+)?$/i, 'must be a host name, optionally with :port')
    .optional(),
  pathPrefix: prefix.default('/'),
  upstream: httpUrl,
  allowedGroups: groupList,
  passAccessToken: z.boolean().default(false),
  stripPrefix: z.boolean().default(false),
  upstreamCaPem: z.string().optional(),
});

const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-f:]+\]|[a-z0-9.-]+):\d{1,5}$/i, 'must be HOST:PORT (port 0 = any free port)');

export const ssoProxyConfigSchema = z.strictObject({
  /** HOST:PORT to listen on */
  listen: listenSchema.default('127.0.0.1:4180'),
  /** the origin browsers use (behind a load balancer, its URL); default: the listening URL */
  publicUrl: httpUrl.refine((s) => new URL(s).pathname === '/', 'must be an origin (no path)').optional(),
  /** serve https directly; without it the proxy serves http (put TLS in front of it) */
  tls: z.strictObject({ certPem: z.string(), keyPem: z.string() }).optional(),
  oidc: z.strictObject({
    /** e.g. https://kaas.example:6443/oidc; discovered from <issuer>/.well-known/openid-configuration */
    issuer: httpUrl,
    clientId: z.string().min(1).default('sso-proxy'),
    clientSecret: z.string().min(16, 'must be at least 16 characters'),
    /** PEM of the CA that signed the issuer's certificate (default: the system's) */
    caPem: z.string().optional(),
    scopes: z.array(z.string()).default(['openid', 'profile', 'groups', 'offline_access']),
    /** refresh this long before the access or ID token expires */
    refreshBeforeExpiryS: z.number().int().min(0).default(60),
  }),
  cookie: z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, 'must be a cookie token (letters, digits, _ and -)')
        .default('_kaas_sso'),
      /** the first seals, all open (rotation) */
      secrets: z
        .array(z.string().min(MIN_SECRET_LENGTH, `must be >= ${MIN_SECRET_LENGTH} characters`))
        .min(1),
      /** share the session with sibling hosts (host routes): e.g. example.com */
      domain: z.string().optional(),
      secure: z.boolean().default(true),
      /** the longest a sign-in lasts at the proxy (refreshes do not extend it) */
      maxAgeS: z
        .number()
        .int()
        .min(60)
        .default(12 * 3600),
    })
    .check((ctx) => {
      if (ctx.value.name.length > 64)
        ctx.issues.push({
          code: 'custom',
          input: ctx.value.name,
          path: ['name'],
          message: 'at most 64 characters',
        });
    }),
  session: z
    .strictObject({
      /** auto: in the cookie while it fits in maxCookieBytes, else server-side */
      storage: z.enum(['auto', 'cookie', 'server']).default('auto'),
      maxCookieBytes: z.number().int().min(512).max(4096).default(4096),
      /**
       * `kaasctl sso-proxy` alone: a SQLite file for server-side sessions and sign-outs, so that
       * a restart keeps them (relative to the config file). Without it they live in memory.
       * Under `kaasctl server` they are in the server's store and this is refused.
       */
      storePath: z.string().min(1, 'must be a file path').optional(),
    })
    .default({ storage: 'auto', maxCookieBytes: 4096 }),
  routes: z.array(routeSchema).min(1, 'must have at least one route'),
});

/** What startSsoProxy takes (defaults optional). */
export type SsoProxyConfigInput = z.input<typeof ssoProxyConfigSchema>;
/** After defaults. */
export type SsoProxyConfig = z.output<typeof ssoProxyConfigSchema> & { routes: Route[] };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid sso-proxy config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** zod's words for a missing field are about types; say what the user needs to know */
function issueText(i: { message: string; code?: string }): string {
  return i.code === 'invalid_type' && /received undefined$/.test(i.message) ? 'is required' : i.message;
}

function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function crossChecks(c: z.output<typeof ssoProxyConfigSchema>): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  const seen = new Map<string, number>();
  c.routes.forEach((r, i) => {
    const prev = seen.get(r.name);
    if (prev !== undefined)
      out.push({ path: ['routes', i, 'name'], message: `duplicate of routes[${prev}]` });
    seen.set(r.name, i);
  });
  const keys = new Map<string, number>();
  c.routes.forEach((r, i) => {
    const key = `${r.host?.toLowerCase() ?? ''} ${r.pathPrefix}`;
    const prev = keys.get(key);
    if (prev !== undefined)
      out.push({ path: ['routes', i, 'pathPrefix'], message: `same host and pathPrefix as routes[${prev}]` });
    keys.set(key, i);
  });
  c.routes.forEach((r, i) => {
    if (r.pathPrefix.startsWith('/oauth2/') || r.pathPrefix === '/oauth2/')
      out.push({ path: ['routes', i, 'pathPrefix'], message: '/oauth2/ belongs to the proxy' });
  });
  return out;
}

/** Validates a config object; throws ConfigError with every problem. */
export function parseSsoProxyConfig(input: unknown): SsoProxyConfig {
  const r = ssoProxyConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${pathText(i.path)}: ${issueText(i)}`));
  const extra = crossChecks(r.data);
  if (extra.length) throw new ConfigError(extra.map((p) => `${pathText(p.path)}: ${p.message}`));
  return r.data;
}

// ------------------------------------------------------------------ YAML files

/** Fields of the file that name a file to read instead of an inline value. */
const FILE_FIELDS: { path: string[]; to: string; list?: boolean }[] = [
  { path: ['oidc', 'clientSecretFile'], to: 'clientSecret' },
  { path: ['oidc', 'caFile'], to: 'caPem' },
  { path: ['cookie', 'secretsFile'], to: 'secrets', list: true },
  { path: ['tls', 'certFile'], to: 'certPem' },
  { path: ['tls', 'keyFile'], to: 'keyPem' },
];

function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path as (string | number)[], true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${line}:${col}`;
    }
    path = path.slice(0, -1);
  }
  return '1:1';
}

/** Layered over the file (file < env < flags): the command fills these from KAAS_SSO_PROXY_* and flags. */
export interface ConfigOverrides {
  listen?: string;
  publicUrl?: string;
  clientSecret?: string;
  cookieSecrets?: string[];
}

export interface LoadOptions {
  /** reads the *File fields (default: fs, relative to the config file's directory) */
  readText?: (path: string) => Promise<string>;
  overrides?: ConfigOverrides;
}

function applyOverrides(obj: Record<string, unknown>, o: ConfigOverrides | undefined): void {
  if (!o) return;
  const section = (k: string): Record<string, unknown> => {
    const v = obj[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    obj[k] = fresh;
    return fresh;
  };
  if (o.listen !== undefined) obj.listen = o.listen;
  if (o.publicUrl !== undefined) obj.publicUrl = o.publicUrl;
  if (o.clientSecret !== undefined) {
    const oidc = section('oidc');
    delete oidc.clientSecretFile;
    oidc.clientSecret = o.clientSecret;
  }
  if (o.cookieSecrets !== undefined) {
    const cookie = section('cookie');
    delete cookie.secretsFile;
    cookie.secrets = o.cookieSecrets;
  }
}

/**
 * Reads a YAML config: `clientSecretFile`, `caFile`, `cookie.secretsFile` (one secret a line),
 * `tls.certFile`/`keyFile` are read and replaced by their contents; `routes[].upstreamCaFile`
 * likewise. Problems carry `file:line:column`.
 */
export async function loadSsoProxyConfig(file: string, o: LoadOptions = {}): Promise<SsoProxyConfig> {
  const text = await readFile(file, 'utf8');
  return parseSsoProxyConfigYaml(text, file, o);
}

export async function parseSsoProxyConfigYaml(
  text: string,
  file: string,
  o: LoadOptions = {},
): Promise<SsoProxyConfig> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `${file}:${line}:${col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 50 });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError([`${file}:1:1: must be a mapping`]);
  const base = dirname(resolve(file));
  const readText = o.readText ?? ((p: string) => readFile(resolve(base, p), 'utf8'));
  const problems: string[] = [];
  const obj = raw as Record<string, unknown>;
  applyOverrides(obj, o.overrides);
  const session = obj.session as Record<string, unknown> | undefined;
  if (session && typeof session === 'object' && typeof session.storePath === 'string' && session.storePath)
    session.storePath = resolve(base, session.storePath);
  const fileRefs: {
    path: PropertyKey[];
    parent: Record<string, unknown>;
    key: string;
    to: string;
    list: boolean;
  }[] = [];
  for (const f of FILE_FIELDS) {
    const parent = f.path
      .slice(0, -1)
      .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], obj);
    const key = f.path[f.path.length - 1]!;
    if (parent && typeof parent === 'object' && key in parent)
      fileRefs.push({
        path: f.path,
        parent: parent as Record<string, unknown>,
        key,
        to: f.to,
        list: !!f.list,
      });
  }
  if (Array.isArray(obj.routes)) {
    obj.routes.forEach((r: unknown, i) => {
      if (r && typeof r === 'object' && 'upstreamCaFile' in r)
        fileRefs.push({
          path: ['routes', i, 'upstreamCaFile'],
          parent: r,
          key: 'upstreamCaFile',
          to: 'upstreamCaPem',
          list: false,
        });
    });
  }
  for (const ref of fileRefs) {
    const name = ref.parent[ref.key];
    delete ref.parent[ref.key];
    const where = `${file}:${locate(doc, lines, ref.path)}`;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${where}: ${pathText(ref.path)}: must be a file path`);
      continue;
    }
    if (ref.to in ref.parent) {
      problems.push(`${where}: ${pathText(ref.path)}: give ${ref.key} or ${ref.to}, not both`);
      continue;
    }
    try {
      const content = await readText(name);
      ref.parent[ref.to] = ref.list
        ? content
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter(Boolean)
        : ref.to === 'clientSecret'
          ? content.trim()
          : content;
    } catch (e) {
      // the path is not a secret; the content never appears in messages
      problems.push(
        `${where}: ${pathText(ref.path)}: cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  if (problems.length) throw new ConfigError(problems);
  try {
    return parseSsoProxyConfig(obj);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const r = ssoProxyConfigSchema.safeParse(obj);
    const issues = r.success ? crossChecks(r.data) : r.error.issues;
    throw new ConfigError(
      issues.map((i) => `${file}:${locate(doc, lines, i.path)}: ${pathText(i.path)}: ${issueText(i)}`),
    );
  }
}
