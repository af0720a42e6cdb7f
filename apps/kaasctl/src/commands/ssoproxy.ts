// `kaasctl sso-proxy --config FILE`: the SSO proxy on its own, in the foreground. It signs users
// in at the KaaS OpenID Connect issuer and proxies the managed UIs, each with its own groups.
import { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, loadSsoProxyConfig, ssoProxyOidcClient, startSsoProxy } from '@kaas/ssoproxy';
import type { ConfigOverrides } from '@kaas/ssoproxy';
import { SqliteStore } from '@kaas/apiserver';
import { KvSessionStore } from '../server/sso-session-store.ts';

interface Flags {
  config: string;
  listen?: string;
  publicUrl?: string;
  printClient?: boolean;
  check?: boolean;
}

/** Secrets may come from the environment rather than the file (file < env < flags). */
function envOverrides(env: NodeJS.ProcessEnv): ConfigOverrides {
  const secrets = env.KAAS_SSO_PROXY_COOKIE_SECRETS?.split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    ...(env.KAAS_SSO_PROXY_CLIENT_SECRET ? { clientSecret: env.KAAS_SSO_PROXY_CLIENT_SECRET } : {}),
    ...(secrets?.length ? { cookieSecrets: secrets } : {}),
  };
}

export async function runSsoProxy(flags: Flags, signal?: AbortSignal): Promise<number> {
  let config;
  try {
    config = await loadSsoProxyConfig(flags.config, {
      overrides: {
        ...envOverrides(process.env),
        ...(flags.listen ? { listen: flags.listen } : {}),
        ...(flags.publicUrl ? { publicUrl: flags.publicUrl } : {}),
      },
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 3;
    }
    console.error(`error: ${flags.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 1;
  }
  if (flags.check) {
    console.log(`${flags.config}: valid (${config.routes.length} routes)`);
    return 0;
  }
  if (flags.printClient) {
    if (!config.publicUrl) {
      console.error('error: --print-client needs publicUrl (in the file or --public-url)');
      return 3;
    }
    const { clientSecret: _secret, ...client } = ssoProxyOidcClient({
      ...config,
      publicUrl: config.publicUrl,
    });
    console.log(stringify({ ...client, clientSecret: '<oidc.clientSecret from the config>' }).trimEnd());
    return 0;
  }
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) =>
    console.error(JSON.stringify({ level, msg, ...fields }));
  // session.storePath: sessions and sign-outs in a SQLite file of the proxy's own, kept across
  // restarts (the same store kaasctl server gives its proxy); otherwise in memory
  let kv: SqliteStore | undefined;
  let sessions: KvSessionStore | undefined;
  if (config.session.storePath) {
    try {
      kv = SqliteStore.open(config.session.storePath);
    } catch (e) {
      console.error(
        `error: session.storePath ${config.session.storePath}: ${(e as Error).message} (a writable file path, or remove the setting to keep sessions in memory)`,
      );
      return 1;
    }
    sessions = new KvSessionStore(kv, { log });
    await sessions.start();
  }
  const proxy = await startSsoProxy(config, { log, ...(sessions ? { store: sessions } : {}) });
  console.log(`KaaS SSO proxy listening on ${proxy.url} (public URL ${proxy.publicUrl})`);
  console.log(`issuer: ${config.oidc.issuer}, client: ${config.oidc.clientId}`);
  console.log(
    `sessions: ${config.session.storePath ? `${config.session.storePath} (kept across restarts)` : 'in memory (set session.storePath to keep them across restarts)'}`,
  );
  for (const r of config.routes)
    console.log(
      `  route ${r.name}: ${r.host ?? '*'}${r.pathPrefix} -> ${r.upstream} (groups: ${r.allowedGroups.join(', ')})`,
    );
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  console.log('shutting down');
  await proxy.close();
  sessions?.close();
  await kv?.close();
  return 0;
}

export function ssoProxyCommand(): Command {
  return new Command('sso-proxy')
    .description('Run the SSO proxy: one OpenID Connect sign-in for every managed UI, with per-route groups.')
    .requiredOption('--config <file>', 'the proxy configuration (YAML; see docs/sso-proxy.md)')
    .option('--listen <host:port>', 'override `listen` from the file')
    .option('--public-url <url>', 'override `publicUrl` from the file (the origin browsers use)')
    .option('--check', 'validate the configuration (and read its files), then exit')
    .option(
      '--print-client',
      'print the OIDC client registration the issuer needs for this proxy (redirect URIs), then exit',
    )
    .addHelpText(
      'after',
      `
Examples:
  # Validate a configuration: every problem with file:line:column, exit code 3 when invalid
  kaasctl sso-proxy --config sso-proxy.yaml --check

  # What to register at the issuer for this proxy; with kaasctl server: fill in clientSecret, then
  # kaasctl server --oidc-client sso-client.yaml --oidc-backchannel-ca <the CA of this proxy's TLS cert>
  kaasctl sso-proxy --config sso-proxy.yaml --print-client > sso-client.yaml

  # Run it; secrets from the environment instead of the file
  KAAS_SSO_PROXY_CLIENT_SECRET=... KAAS_SSO_PROXY_COOKIE_SECRETS="$(openssl rand -base64 48)" \\
    kaasctl sso-proxy --config sso-proxy.yaml --listen 0.0.0.0:4180

A minimal sso-proxy.yaml:
  listen: 127.0.0.1:4180
  publicUrl: https://sso.example.com:4180
  tls: { certFile: tls.crt, keyFile: tls.key }
  oidc:
    issuer: https://kaas.example.com:6443/oidc
    clientId: sso-proxy
    clientSecretFile: client-secret
    caFile: .kaas/pki/ca.crt
  cookie:
    secretsFile: cookie-secrets      # one secret (>= 32 characters) a line; the first seals
  routes:
    - name: prometheus
      pathPrefix: /prometheus/
      upstream: http://127.0.0.1:9090
      allowedGroups: [ROLE_ID]       # '*' = any signed-in user
  session:
    storePath: sso-sessions.db       # sessions and sign-outs survive a restart (default: memory)

Environment:
  KAAS_SSO_PROXY_CLIENT_SECRET    overrides oidc.clientSecret(File)
  KAAS_SSO_PROXY_COOKIE_SECRETS   overrides cookie.secrets(File): comma- or newline-separated

Exit codes: 0 stopped by a signal or --check/--print-client done, 1 error, 3 invalid configuration.`,
    )
    .action(async (opts: Flags) => {
      process.exitCode = await runSsoProxy(opts);
    });
}
