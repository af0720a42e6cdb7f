// What `kaasctl server` adds for browsers: the console at /console/ and, with --sso-proxy-config,
// the SSO proxy in the same process on its own port. Both are relying parties of the server's own
// OIDC issuer, registered before it starts; one sign-in at the issuer serves both (its session
// cookie is scoped to the host, which the proxy's port shares).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApiServer, ExtraRoute, KVStore } from '@kaas/apiserver';
import type { OidcClient } from '@kaas/auth';
import type { SsoProxy, SsoProxyConfig } from '@kaas/ssoproxy';
import { parseDocument } from 'yaml';
import type { SsoProxyInfo } from './console.ts';
import { createConsole } from './console.ts';
import { KvSessionStore } from './sso-session-store.ts';
import type { Log, ServerAuth } from './auth.ts';

export interface ConsoleSetupOptions {
  kv: KVStore;
  auth: ServerAuth;
  /** where clients' OIDC registrations go before auth.attach() starts the issuer */
  oidcClients: OidcClient[];
  pki: { caPem: string; caFile: string; certPem: string; keyPem: string };
  /** the host the API server's URL shows (127.0.0.1); the proxy listens there too */
  host: string;
  ssoProxyConfig?: string;
  /** default: the file's `listen`, else a free port */
  ssoProxyPort?: number;
  sessionTtlS?: number;
  log: Log;
}

export interface ConsoleSetup {
  route: ExtraRoute;
  /** after listen, before auth.attach(): starts the proxy and registers both clients */
  start(server: ApiServer, url: string): Promise<void>;
  /** lines for the start-up banner */
  summary(url: string): string[];
  close(): Promise<void>;
}

/** The proxy's cookie secret, made once and kept in the store: a restart keeps its sessions. */
async function storedSecret(kv: KVStore, key: string): Promise<string> {
  const { kv: cur } = await kv.get(key);
  if (cur) return cur.value;
  await kv.create(key, randomBytes(32).toString('base64url')).catch(() => undefined);
  return (await kv.get(key)).kv!.value;
}

/**
 * Loads the proxy's YAML with the server's defaults for what the file leaves out: the issuer
 * (this server's /oidc), its CA, TLS (the server's certificate), the client secret (random per
 * process; the client is registered in-process) and the cookie secret (kept in the store).
 */
export async function loadInServerSsoProxyConfig(
  file: string,
  o: {
    issuer: string;
    caPem: string;
    certPem: string;
    keyPem: string;
    listen?: string;
    cookieSecret: () => Promise<string>;
  },
): Promise<SsoProxyConfig> {
  const { parseSsoProxyConfigYaml } = await import('@kaas/ssoproxy');
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text);
  const has = (...path: string[]) => doc.hasIn(path);
  if (has('session', 'storePath'))
    throw new Error(
      `${file}: session.storePath is for \`kaasctl sso-proxy\` on its own; under kaasctl server the sessions live in the server's store: remove it`,
    );
  if (!doc.errors.length && doc.contents) {
    if (!has('oidc', 'issuer')) doc.setIn(['oidc', 'issuer'], o.issuer);
    if (!has('oidc', 'caFile') && !has('oidc', 'caPem')) doc.setIn(['oidc', 'caPem'], o.caPem);
    if (!has('tls')) doc.setIn(['tls'], { certPem: o.certPem, keyPem: o.keyPem });
  }
  const noClientSecret = !has('oidc', 'clientSecret') && !has('oidc', 'clientSecretFile');
  const noCookieSecrets = !has('cookie', 'secrets') && !has('cookie', 'secretsFile');
  return parseSsoProxyConfigYaml(doc.errors.length ? text : String(doc), file, {
    overrides: {
      ...(o.listen ? { listen: o.listen } : has('listen') ? {} : { listen: '127.0.0.1:0' }),
      ...(noClientSecret ? { clientSecret: randomBytes(24).toString('base64url') } : {}),
      ...(noCookieSecrets ? { cookieSecrets: [await o.cookieSecret()] } : {}),
    },
  });
}

/** The routes as the console shows them: where a browser opens each. */
export function ssoRouteUrls(config: SsoProxyConfig, publicUrl: string): { name: string; url: string }[] {
  const pub = new URL(publicUrl);
  return config.routes.map((r) => ({
    name: r.name,
    url: r.host
      ? `${pub.protocol}//${r.host}${/:\d+$/.test(r.host) || !pub.port ? '' : `:${pub.port}`}${r.pathPrefix}`
      : `${pub.origin}${r.pathPrefix}`,
  }));
}

export function setupConsole(o: ConsoleSetupOptions): ConsoleSetup {
  let proxy: SsoProxy | undefined;
  let sessions: KvSessionStore | undefined;
  let proxyInfo: SsoProxyInfo | undefined;
  const console_ = createConsole({
    kv: o.kv,
    tokens: o.auth.tokens,
    caPem: o.pki.caPem,
    caFile: o.pki.caFile,
    ...(o.sessionTtlS ? { sessionTtlS: o.sessionTtlS } : {}),
    ssoProxy: () => proxyInfo,
    log: o.log,
  });
  return {
    route: console_.route,
    async start(server, url) {
      if (o.ssoProxyConfig) {
        const { startSsoProxy, ssoProxyOidcClient } = await import('@kaas/ssoproxy');
        const config = await loadInServerSsoProxyConfig(o.ssoProxyConfig, {
          issuer: `${url}/oidc`,
          caPem: o.pki.caPem,
          certPem: o.pki.certPem,
          keyPem: o.pki.keyPem,
          ...(o.ssoProxyPort !== undefined
            ? { listen: `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.ssoProxyPort}` }
            : {}),
          cookieSecret: () => storedSecret(o.kv, '/kaas/sso-proxy/cookie-secret'),
        });
        // server-side sessions and sign-outs (back-channel logouts included) in the server's store:
        // they survive a restart and reach every server on the same etcd (sso-session-store.ts)
        sessions = new KvSessionStore(o.kv, { log: o.log });
        await sessions.start();
        proxy = await startSsoProxy(config, { log: o.log, store: sessions });
        o.oidcClients.push(ssoProxyOidcClient({ ...config, publicUrl: proxy.publicUrl }));
        proxyInfo = { url: proxy.publicUrl, routes: ssoRouteUrls(config, proxy.publicUrl) };
      }
      o.oidcClients.push(console_.oidcClient(url));
      const ids = o.oidcClients.map((c) => c.clientId);
      const dup = ids.find((id, i) => ids.indexOf(id) !== i);
      if (dup !== undefined)
        throw new Error(
          `--oidc-client: clientId ${JSON.stringify(dup)} is taken by this server's own console or SSO proxy; choose another`,
        );
      console_.attach(server, url, () => o.auth.oidc());
    },
    summary(url) {
      const out = [`console: ${url}/console/`];
      if (proxyInfo) {
        out.push(`SSO proxy: ${proxyInfo.url} (routes: ${proxyInfo.routes.map((r) => r.url).join(', ')})`);
      }
      return out;
    },
    async close() {
      console_.close();
      await proxy?.close();
      sessions?.close();
    },
  };
}
