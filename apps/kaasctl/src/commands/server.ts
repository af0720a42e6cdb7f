import { Command, Option } from 'commander';
import { runServer } from '../server/run.ts';

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the KaaS management plane (Kubernetes-compatible API server) in the foreground.')
    .option('--data-dir <dir>', 'where state, certificates and kubeconfigs live', './.kaas')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:6443')
    .addOption(
      new Option('--storage <backend>', 'storage backend').choices(['sqlite', 'etcd']).default('sqlite'),
    )
    .option('--etcd-endpoints <urls>', 'comma-separated etcd endpoints (with --storage etcd)')
    .option(
      '--auth-backend <names>',
      'identity backends for bearer tokens: local, keystone or local,keystone (the first is the default)',
      'local',
    )
    .option(
      '--admin-role-id <id>',
      'a group (local role or keystone role ID) that gets cluster-admin on the management cluster; repeatable',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--token-ttl <duration>', 'lifetime of issued tokens (default 1h, at most 12h)')
    .option(
      '--token-cache-ttl <duration>',
      'how long a token check is reused before the identity provider is asked again (default 10s)',
    )
    .option(
      '--sso-proxy-config <file>',
      "also run the SSO proxy (docs/sso-proxy.md) in this process, registered with this server's issuer",
    )
    .option(
      '--sso-proxy-port <port>',
      "the SSO proxy's port (default: the file's listen, else any free port)",
    )
    .option('--console-session-ttl <duration>', 'how long a console sign-in lasts (default 8h)')
    .option(
      '--oidc-client <file>',
      "register a relying party that runs elsewhere (a standalone kaasctl sso-proxy) with this server's OIDC issuer: the YAML `kaasctl sso-proxy --print-client` prints, with its clientSecret(File); repeatable",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--oidc-backchannel-ca <file>',
      "a PEM bundle of CAs the issuer trusts when it POSTs back-channel logout tokens to relying parties (beside this server's own CA, enough for the in-process console and SSO proxy); repeatable",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--openstack-cloud <name>',
      "build openstack Clusters in this clouds.yaml cloud: the operator's own project (users' credentials are never used)",
    )
    .option(
      '--openstack-ccm-cloud <name>',
      "the clouds.yaml cloud (an application credential, never a password) every openstack Cluster's nodes' cloud controller manager and cinder CSI use (default: an application credential per Cluster, made and deleted with it)",
    )
    .option(
      '--kaas-url <url>',
      "KaaS's URL as the openstack Clusters' nodes reach it (their kube-apiserver's TokenReview webhook); default: the URL the server prints, which is loopback when listening on 0.0.0.0",
    )
    .addHelpText(
      'after',
      `
Examples:
  # Start with the embedded SQLite store in ./.kaas and use it with kubectl:
  kaasctl server
  kubectl --kubeconfig .kaas/admin.kubeconfig get namespaces

  # Serve on all interfaces, keep state elsewhere:
  kaasctl server --listen 0.0.0.0:6443 --data-dir /var/lib/kaas

  # Store everything in an etcd cluster (several servers can share it):
  kaasctl server --storage etcd --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379

  # The console at https://127.0.0.1:6443/console/ and the SSO proxy for the managed UIs beside it:
  kaasctl server --sso-proxy-config sso-proxy.yaml --sso-proxy-port 4180

  # A standalone SSO proxy (its own host and TLS certificate) as a client of this server's issuer,
  # with single logout: the issuer calls its /oauth2/backchannel_logout, trusting proxy-ca.crt:
  kaasctl sso-proxy --config sso-proxy.yaml --print-client > sso-client.yaml   # then set clientSecret
  kaasctl server --oidc-client sso-client.yaml --oidc-backchannel-ca proxy-ca.crt

  # Users sign in with keystone; holders of a keystone role ID administer the management API.
  # The service credentials that validate tokens come from clouds.yaml (OS_CLOUD) or OS_* variables:
  OS_CLOUD=mycloud kaasctl server --auth-backend keystone --admin-role-id 9fe2ff9ee4384b1894a90878d3e92bab

Environment:
  KAAS_ADMIN_PASSWORD   password of the local user "admin" created on first start (else one is
                        generated and printed once)
  OS_CLOUD, OS_AUTH_URL, OS_*   keystone service credentials (with --auth-backend keystone)`,
    )
    .action(
      async (opts: {
        dataDir: string;
        listen: string;
        storage: 'sqlite' | 'etcd';
        etcdEndpoints?: string;
        authBackend?: string;
        adminRoleId?: string[];
        tokenTtl?: string;
        tokenCacheTtl?: string;
        ssoProxyConfig?: string;
        ssoProxyPort?: string;
        consoleSessionTtl?: string;
        oidcClient?: string[];
        oidcBackchannelCa?: string[];
        openstackCloud?: string;
        openstackCcmCloud?: string;
        kaasUrl?: string;
      }) => {
        process.exitCode = await runServer(opts);
      },
    );
}
