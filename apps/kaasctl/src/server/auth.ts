// kubernetes-auth inside `kaasctl server`: the identity backends chosen in config, the token
// service over the server's own store, the bearer authenticator in the API server's chain, the
// exchange and user routes, the TokenReview webhook for every cluster, the bootstrap `admin`
// and the seed's cluster-admin-rolebinding on the management cluster.
import type { ApiServer, Authenticator, ExtraRoute, KVStore } from '@kaas/apiserver';
import { clusterAdminRoleIdBinding } from '@kaas/apiserver';
import { randomBytes } from 'node:crypto';
import type { IdentityBackend, OidcClient, OidcIssuer } from '@kaas/auth';
import {
  ExchangeRateLimiter,
  KeystoneBackend,
  KeystoneClient,
  KvOidcStore,
  KvTokenStore,
  KvUserStore,
  LocalUsersBackend,
  TokenAuthenticator,
  TokenService,
  authRoutes,
  bearerAuthenticator,
  createOidcIssuer,
  cloudFromEnvironment,
  ensureBootstrapAdmin,
  redact,
  reviewToken,
  watchRevocations,
} from '@kaas/auth';
import { backchannelHint } from './oidc-relying-parties.ts';

export type AuthBackendName = 'local' | 'keystone';

export interface AuthFlags {
  /** identity backends, the first is the default for exchanges that name none */
  backends: AuthBackendName[];
  /** groups (local roles or keystone role IDs) bound to cluster-admin on the management cluster */
  adminRoleIds: string[];
  /** KAAS_ADMIN_PASSWORD */
  adminPassword?: string;
  /** keystone: where to find the service credentials (OS_CLOUD / OS_* variables) */
  env?: Record<string, string | undefined>;
  tokenTtlSeconds?: number;
  /** OIDC relying parties (the console, the SSO proxy) */
  oidcClients?: OidcClient[];
  /** the CA the issuer trusts when it calls relying parties back (back-channel logout) */
  oidcCaPem?: string;
  /** positive and negative cache TTL of token checks (default 10 s) */
  cacheTtlMs?: number;
}

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface ServerAuth {
  authenticators: Authenticator[];
  routes: ExtraRoute[];
  tokens: TokenService;
  authenticator: TokenAuthenticator;
  local: LocalUsersBackend | undefined;
  /**
   * After the API server is up: TokenReview, admin user, RBAC binding, and the OIDC issuer at
   * `${url}/oidc` (its URL is only known once the listener has its port).
   */
  attach(server: ApiServer, url: string): Promise<{ generatedAdminPassword?: string }>;
  /** the issuer, once attached */
  oidc(): OidcIssuer | undefined;
  close(): void;
}

export const defaultAdminRole = 'cluster-admins';

function keystoneBackend(env: Record<string, string | undefined>): KeystoneBackend {
  const cloud = cloudFromEnvironment(env);
  if (!cloud) {
    throw new Error(
      'the keystone identity backend needs the service credentials KaaS validates tokens with: set OS_CLOUD ' +
        '(an entry of clouds.yaml) or OS_AUTH_URL with OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME and the domains',
    );
  }
  const client = new KeystoneClient({
    authUrl: cloud.authUrl,
    ...(cloud.caBundle ? { caBundle: cloud.caBundle } : {}),
    insecure: cloud.insecure,
  });
  return new KeystoneBackend({
    client,
    serviceCredentials: cloud.credentials,
    ...(cloud.scope ? { serviceScope: cloud.scope } : {}),
  });
}

export async function setupAuth(kv: KVStore, flags: AuthFlags, log?: Log): Promise<ServerAuth> {
  if (!flags.backends.length) throw new Error('--auth-backend: name at least one of local, keystone');
  const userStore = new KvUserStore(kv);
  const local = flags.backends.includes('local') ? new LocalUsersBackend({ store: userStore }) : undefined;
  const backends: IdentityBackend[] = flags.backends.map((b) =>
    b === 'local' ? local! : keystoneBackend(flags.env ?? process.env),
  );
  const tokens = new TokenService({
    store: new KvTokenStore(kv),
    backends,
    ...(flags.tokenTtlSeconds ? { defaultTtlMs: flags.tokenTtlSeconds * 1000 } : {}),
  });
  const authenticator = new TokenAuthenticator({
    tokens,
    ...(flags.cacheTtlMs !== undefined
      ? { positiveTtlMs: flags.cacheTtlMs, negativeTtlMs: flags.cacheTtlMs }
      : {}),
  });
  // revocations made by other servers on the same store reach this cache at once
  const stopWatch = await watchRevocations(
    kv,
    (hashes) => {
      const set = new Set(hashes);
      authenticator.cache.deleteWhere((k) => set.has(k.slice(0, k.indexOf('|'))));
    },
    (msg, err) => log?.('warn', msg, { error: err.message }),
  );
  const purge = setInterval(() => {
    tokens
      .purgeExpired(3_600_000)
      .catch((e: Error) => log?.('warn', 'purging expired tokens failed', { error: e.message }));
  }, 10 * 60_000);
  purge.unref();
  const oidcState = new KvOidcStore(kv);
  const sweep = setInterval(() => {
    oidcState
      .sweep()
      .catch((e: Error) => log?.('warn', 'sweeping expired OIDC state failed', { error: e.message }));
  }, 10 * 60_000);
  sweep.unref();

  let server: ApiServer | undefined;
  let issuer: OidcIssuer | undefined;
  const oidcPrefix = '/oidc/';
  const routes: ExtraRoute[] = [
    {
      prefix: oidcPrefix,
      handle: async (req, res) => {
        if (issuer) return issuer.handle(req, res);
        res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1' }).end('starting\n');
      },
    },
    authRoutes({
      tokens,
      limiter: new ExchangeRateLimiter({}),
      defaultBackend: flags.backends[0]!,
      ...(local ? { local } : {}),
      clusterExists: async (name) => {
        if (name === 'root') return true;
        // a logical cluster exists once its namespaces were created (first use or a deploy)
        return (await kv.count(`/registry/core/namespaces/${name}/`)) > 0;
      },
      ...(log
        ? { log: (level, msg, fields) => log(level, msg, redact(fields) as Record<string, unknown>) }
        : {}),
    }),
  ];

  return {
    authenticators: [bearerAuthenticator(authenticator, log)],
    routes,
    tokens,
    authenticator,
    local,
    oidc: () => issuer,
    async attach(s, url) {
      server = s;
      issuer = await createOidcIssuer({
        issuer: `${url}${oidcPrefix.slice(0, -1)}`,
        backends,
        defaultBackend: flags.backends[0]!,
        clients: flags.oidcClients ?? [],
        ...(flags.oidcCaPem ? { caPem: flags.oidcCaPem } : {}),
        keyStore: kvJson(kv, `/kaas/auth/oidc/signing-keys`),
        // sessions, grants, codes and refresh tokens in the store: a restart signs nobody out
        adapter: oidcState.factory(),
        cookieKeys: [await cookieKey(kv)],
        // a failed call-back names the flag that fixes the usual cause (an untrusted certificate)
        ...(log ? { log: (level, msg, fields) => log(level, msg, backchannelHint(msg, fields)) } : {}),
      });
      // the webhook a kube-apiserver calls (--authentication-token-webhook-config-file pointing at
      // https://KAAS/clusters/NAME/apis/authentication.k8s.io/v1/tokenreviews): the URL's cluster
      // is the audience, so a token for another cluster is refused
      s.clusters.virtual.set('authentication.k8s.io/TokenReview', async (cluster, _info, body) =>
        reviewToken(body, { audience: cluster.name, authenticator }),
      );
      const binding = clusterAdminRoleIdBinding(flags.adminRoleIds);
      await ensureClusterRoleBinding(s, binding);
      let generatedAdminPassword: string | undefined;
      if (local) {
        const r = await ensureBootstrapAdmin(local, {
          ...(flags.adminPassword ? { password: flags.adminPassword } : {}),
          roles: [flags.adminRoleIds.find((id) => !id.includes(':')) ?? defaultAdminRole],
        });
        if (r.created) generatedAdminPassword = r.generatedPassword;
      }
      return generatedAdminPassword ? { generatedAdminPassword } : {};
    },
    close() {
      void issuer?.close();
      stopWatch();
      clearInterval(purge);
      clearInterval(sweep);
      authenticator.close();
      void server;
    },
  };
}

/** A JSON document at one key of the store (the issuer's signing keys). */
function kvJson<T>(kv: KVStore, key: string): { load(): Promise<T | undefined>; save(v: T): Promise<void> } {
  return {
    async load() {
      const { kv: cur } = await kv.get(key);
      return cur ? (JSON.parse(cur.value) as T) : undefined;
    },
    async save(v) {
      // first writer wins: two servers starting together end up with one key set
      await kv.create(key, JSON.stringify(v)).catch(() => undefined);
    },
  };
}

/** The secret that signs the issuer's cookies: made once, shared by every server on the store. */
async function cookieKey(kv: KVStore): Promise<string> {
  const key = '/kaas/auth/oidc/cookie-key';
  const { kv: cur } = await kv.get(key);
  if (cur) return cur.value;
  await kv.create(key, randomBytes(32).toString('base64url')).catch(() => undefined);
  return (await kv.get(key)).kv!.value;
}

/** Creates or updates the seed's binding so that the configured role IDs are its subjects. */
async function ensureClusterRoleBinding(
  s: ApiServer,
  binding: ReturnType<typeof clusterAdminRoleIdBinding>,
): Promise<void> {
  const root = await s.clusters.get('root');
  const info = root.resourceByKind('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding');
  if (!info) throw new Error('ClusterRoleBinding is not served');
  const scope = { cluster: 'root', info };
  try {
    await s.rest.create(scope, binding);
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
    await s.rest.guaranteedUpdate(scope, 'cluster-admin-rolebinding', (cur) => ({
      ...cur,
      subjects: binding.subjects,
    }));
  }
  s.clusters.rbacChanged('root');
}
