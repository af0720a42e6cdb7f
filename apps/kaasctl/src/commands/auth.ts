// `kaasctl auth login|token|revoke|list` and `kaasctl user create|list|set|delete`: the client
// side of kubernetes-auth. login exchanges credentials for a token per cluster and writes a
// kubeconfig whose exec plugin is `kaasctl auth token`, which kubectl runs before each call.
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { renderKubeconfig } from '@kaas/apiserver';
import type { Endpoint } from '../client.ts';
import {
  ApiError,
  defaultKubeconfig,
  endpointFromKubeconfig,
  endpointFromUrl,
  exitCodes,
  reportError,
  requestJson,
} from '../client.ts';
import { outputOption, printData, printTable } from '../output.ts';
import { promptHidden, readStdin } from '../prompt.ts';
import { findToken, forgetToken, kaasHome, storeToken } from '../tokencache.ts';

const kaasctlBin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/kaasctl');

interface EndpointFlags {
  server?: string;
  caFile?: string;
  kubeconfig: string;
}

/** --server/--ca-file, else the server and CA of the kubeconfig (the one `npm start` writes). */
async function endpoint(o: EndpointFlags): Promise<{ ep: Endpoint; caPem: string }> {
  if (o.server) {
    const ep = await endpointFromUrl(o.server, o.caFile);
    return { ep, caPem: typeof ep.options.ca === 'string' ? ep.options.ca : '' };
  }
  const full = await endpointFromKubeconfig(o.kubeconfig);
  const ca = full.options.ca;
  const caPem = typeof ca === 'string' ? ca : Buffer.isBuffer(ca) ? ca.toString('utf8') : '';
  if (o.caFile) return { ep: await endpointFromUrl(full.server, o.caFile), caPem };
  // the exchange needs no client credentials: send none
  return { ep: { server: full.server, options: { ...(caPem ? { ca: caPem } : {}) } }, caPem };
}

function addEndpointOptions(c: Command): Command {
  return c
    .option('--server <url>', 'the KaaS server (default: the server in --kubeconfig)')
    .option('--ca-file <path>', "PEM file of the server's CA (default: the CA in --kubeconfig)")
    .option('--kubeconfig <path>', 'kubeconfig to take the server and CA from', defaultKubeconfig);
}

interface CredentialFlags {
  username?: string;
  passwordStdin?: boolean;
  backend?: string;
  project?: string;
  userDomain?: string;
  projectDomain?: string;
  applicationCredentialId?: string;
}

function addCredentialOptions(c: Command): Command {
  return c
    .option('-u, --username <name>', 'user name (local users: admin, alice; keystone: the keystone user)')
    .option('--password-stdin', 'read the password (or application credential secret) from stdin')
    .addOption(
      new Option('--backend <name>', "identity backend (default: the server's first)").choices([
        'local',
        'keystone',
      ]),
    )
    .option('--project <name>', 'keystone: the project to scope to')
    .option('--user-domain <name>', 'keystone: the user\'s domain (default "Default")')
    .option('--project-domain <name>', "keystone: the project's domain (default: the user's)")
    .option('--application-credential-id <id>', 'keystone: sign in with this application credential');
}

/** The credentials object of the exchange, from flags, KAAS_PASSWORD or a prompt. */
async function credentials(o: CredentialFlags, interactive: boolean): Promise<Record<string, string>> {
  let secret = o.passwordStdin ? await readStdin() : process.env.KAAS_PASSWORD;
  if (o.applicationCredentialId) {
    secret ??= process.env.KAAS_APPLICATION_CREDENTIAL_SECRET;
    secret ??= interactive ? await promptHidden('application credential secret: ') : undefined;
    if (!secret)
      throw new ApiError(
        0,
        'the application credential secret: pass --password-stdin or set KAAS_APPLICATION_CREDENTIAL_SECRET',
      );
    return { type: 'application-credential', id: o.applicationCredentialId, secret };
  }
  if (!o.username) throw new ApiError(0, '--username: required (or --application-credential-id)');
  secret ??= interactive ? await promptHidden(`password for ${o.username}: `) : undefined;
  if (!secret)
    throw new ApiError(
      0,
      `no password for ${o.username}: pass --password-stdin, set KAAS_PASSWORD, or run in a terminal`,
    );
  return {
    type: 'password',
    username: o.username,
    password: secret,
    ...(o.userDomain ? { userDomain: o.userDomain } : {}),
    ...(o.project ? { project: o.project } : {}),
    ...(o.projectDomain ? { projectDomain: o.projectDomain } : {}),
  };
}

interface IssuedToken {
  id: string;
  token: string;
  cluster: string;
  username: string;
  groups: string[];
  expiresAt: string;
}

async function exchange(ep: Endpoint, cluster: string, o: CredentialFlags, creds: Record<string, string>) {
  const t = (await requestJson(ep, 'POST', '/auth/v1/tokens', {
    cluster,
    ...(o.backend ? { backend: o.backend } : {}),
    credentials: creds,
  })) as IssuedToken;
  await storeToken({
    server: ep.server,
    cluster: t.cluster,
    username: o.username ?? t.username,
    id: t.id,
    token: t.token,
    expiresAt: t.expiresAt,
  });
  return t;
}

function clusterUrl(server: string, cluster: string): string {
  return cluster === 'root' ? server : `${server}/clusters/${cluster}`;
}

function execArgs(server: string, caFile: string | undefined, cluster: string, o: CredentialFlags): string[] {
  return [
    'auth',
    'token',
    '--server',
    server,
    ...(caFile ? ['--ca-file', resolve(caFile)] : []),
    '--cluster',
    cluster,
    ...(o.username ? ['--username', o.username] : []),
    ...(o.backend ? ['--backend', o.backend] : []),
    ...(o.project ? ['--project', o.project] : []),
    ...(o.userDomain ? ['--user-domain', o.userDomain] : []),
    ...(o.projectDomain ? ['--project-domain', o.projectDomain] : []),
    ...(o.applicationCredentialId ? ['--application-credential-id', o.applicationCredentialId] : []),
  ];
}

/** A kubeconfig for one cluster that gets its token from `kaasctl auth token`. */
export function execKubeconfig(opts: {
  server: string;
  caPem: string;
  caFile?: string;
  cluster: string;
  creds: CredentialFlags;
}): string {
  return renderKubeconfig({
    server: clusterUrl(opts.server, opts.cluster),
    caPem: opts.caPem,
    clusterName: `kaas-${opts.cluster}`,
    userName: `kaas-${opts.cluster}-${opts.creds.username ?? 'user'}`,
    exec: {
      command: kaasctlBin,
      args: execArgs(opts.server, opts.caFile, opts.cluster, opts.creds),
      interactiveMode: 'IfAvailable',
    },
  });
}

export function authCommand(): Command {
  const auth = new Command('auth').description(
    'Sign in with your identity (local users or keystone) and get bearer tokens for clusters.',
  );

  addCredentialOptions(addEndpointOptions(auth.command('login')))
    .description('Exchange your credentials for a token per cluster and write a kubeconfig that uses it.')
    .option(
      '--cluster <name>',
      'cluster the token is for (repeatable; "root" is the management API)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option(
      '--write-kubeconfig <path>',
      'where to write the kubeconfig (default ~/.kaas/<cluster>.kubeconfig)',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  # The bootstrap admin of a server started with \`npm start\` (server and CA from .kaas/admin.kubeconfig):
  kaasctl auth login --username admin
  kubectl --kubeconfig ~/.kaas/root.kubeconfig get namespaces

  # A keystone user, for the cluster "demo", password from a file:
  kaasctl auth login --server https://kaas.example:6443 --ca-file ca.pem --backend keystone \\
    --username alice --project team-a --cluster demo --password-stdin < password.txt

  # A keystone user of a domain other than Default (the project is looked up in the same domain
  # unless --project-domain names another):
  kaasctl auth login --server https://kaas.example:6443 --ca-file ca.pem --backend keystone \\
    --user-domain engineering --username alice --project team-a --password-stdin < password.txt

Exit codes: 0 ok, 2 usage, 4 server unreachable, 5 credentials refused.`,
    )
    .action(
      async (
        o: EndpointFlags & CredentialFlags & { cluster?: string[]; writeKubeconfig?: string; output: string },
      ) => {
        try {
          const { ep, caPem } = await endpoint(o);
          const creds = await credentials(o, true);
          const out: Record<string, unknown>[] = [];
          for (const cluster of o.cluster?.length ? o.cluster : ['root']) {
            const t = await exchange(ep, cluster, o, creds);
            const path =
              o.writeKubeconfig && (o.cluster?.length ?? 1) === 1
                ? o.writeKubeconfig
                : join(kaasHome(), `${cluster}.kubeconfig`);
            await mkdir(dirname(path), { recursive: true, mode: 0o700 });
            await writeFile(
              path,
              execKubeconfig({
                server: ep.server,
                caPem,
                ...(o.caFile ? { caFile: o.caFile } : {}),
                cluster,
                creds: o,
              }),
              { mode: 0o600 },
            );
            out.push({
              cluster,
              username: t.username,
              groups: t.groups,
              expiresAt: t.expiresAt,
              tokenId: t.id,
              kubeconfig: path,
            });
          }
          if (o.output !== 'table') return printData(out, o.output);
          for (const r of out) {
            console.log(
              `signed in to ${String(r.cluster)} as ${String(r.username)} (groups: ${(r.groups as string[]).join(', ') || 'none'}) until ${String(r.expiresAt)}`,
            );
            console.log(`  kubectl --kubeconfig ${String(r.kubeconfig)} get namespaces`);
          }
        } catch (e) {
          process.exitCode = reportError(e);
        }
      },
    );

  addCredentialOptions(addEndpointOptions(auth.command('token')))
    .description(
      'Print an ExecCredential for kubectl (the exec plugin in KaaS kubeconfigs), from the cache or a new exchange.',
    )
    .requiredOption('--cluster <name>', 'cluster the token is for')
    .addHelpText(
      'after',
      `
kubectl runs this itself through the kubeconfig that \`kaasctl auth login\` writes. A cached token is
used until a minute before it expires; then it signs in again with KAAS_PASSWORD (or
KAAS_APPLICATION_CREDENTIAL_SECRET), or asks on the terminal.

Example:
  kaasctl auth token --cluster demo | jq -r .status.token`,
    )
    .action(async (o: EndpointFlags & CredentialFlags & { cluster: string }) => {
      try {
        const { ep } = await endpoint(o);
        let t: { token: string; expiresAt: string } | undefined = await findToken(
          ep.server,
          o.cluster,
          o.username,
        );
        if (!t) {
          try {
            t = await exchange(ep, o.cluster, o, await credentials(o, true));
          } catch (e) {
            if (e instanceof ApiError && e.status === 0 && !/reach/.test(e.message))
              throw new ApiError(
                0,
                `no valid token for cluster ${o.cluster}: run "kaasctl auth login --cluster ${o.cluster}" (${e.message})`,
                { exitCode: exitCodes.denied },
              );
            throw e;
          }
        }
        // kubectl says which version it wants in KUBERNETES_EXEC_INFO
        let apiVersion = 'client.authentication.k8s.io/v1';
        try {
          const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO ?? '{}') as { apiVersion?: string };
          if (info.apiVersion === 'client.authentication.k8s.io/v1beta1') apiVersion = info.apiVersion;
        } catch {
          // not run by kubectl
        }
        console.log(
          JSON.stringify({
            apiVersion,
            kind: 'ExecCredential',
            spec: { interactive: false },
            status: { token: t.token, expirationTimestamp: t.expiresAt },
          }),
        );
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  addEndpointOptions(auth.command('revoke'))
    .description('Revoke a token: your cached one for --cluster (log out), or any by --id (needs the right).')
    .option('--cluster <name>', 'revoke your cached token for this cluster', 'root')
    .option('--id <tokenId>', 'revoke the token with this id (kaasctl auth list shows ids)')
    .addHelpText(
      'after',
      `
Examples:
  kaasctl auth revoke --cluster demo          # log out of demo
  kaasctl auth revoke --id Zk3x9Q...          # an administrator ends someone's token`,
    )
    .action(async (o: EndpointFlags & { cluster: string; id?: string }) => {
      try {
        if (o.id) {
          const ep = await endpointFromKubeconfig(o.kubeconfig);
          await requestJson(ep, 'DELETE', `/auth/v1/tokens/${encodeURIComponent(o.id)}`);
          console.log(`token ${o.id} revoked`);
          return;
        }
        const { ep } = await endpoint(o);
        const cached = await forgetToken(ep.server, o.cluster);
        if (!cached) {
          console.error(`no cached token for cluster ${o.cluster} on ${ep.server}; nothing to revoke`);
          process.exitCode = exitCodes.failed;
          return;
        }
        await requestJson(ep, 'DELETE', '/auth/v1/tokens/self', undefined, {
          Authorization: `Bearer ${cached.token}`,
        }).catch((e: unknown) => {
          // already expired or revoked: the server forgot it too
          if (!(e instanceof ApiError && e.status === 401)) throw e;
        });
        console.log(`token ${cached.id} for cluster ${o.cluster} revoked and removed from the cache`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  auth
    .command('list')
    .description("List tokens: everyone's with the right (get /auth/v1/tokens), else your own.")
    .option('--kubeconfig <path>', 'credentials to ask with', defaultKubeconfig)
    .addOption(outputOption())
    .action(async (o: { kubeconfig: string; output: string }) => {
      try {
        const list = (await requestJson(
          await endpointFromKubeconfig(o.kubeconfig),
          'GET',
          '/auth/v1/tokens',
        )) as {
          items: {
            id: string;
            username: string;
            audience: string;
            backend: string;
            expiresAtMs: number;
            revokedAtMs?: number;
          }[];
        };
        if (o.output !== 'table') return printData(list, o.output);
        printTable([
          ['ID', 'USER', 'CLUSTER', 'BACKEND', 'EXPIRES', 'STATE'],
          ...list.items.map((t) => [
            t.id,
            t.username,
            t.audience,
            t.backend,
            new Date(t.expiresAtMs).toISOString(),
            t.revokedAtMs ? 'revoked' : t.expiresAtMs < Date.now() ? 'expired' : 'active',
          ]),
        ]);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
  return auth;
}

export function userCommand(): Command {
  const user = new Command('user').description('Manage local users (the embedded identity backend).');
  const kube = (c: Command) =>
    c.option('--kubeconfig <path>', 'credentials of an administrator', defaultKubeconfig);
  const roles = (v: string, p: string[] = []) => [...p, v];

  kube(user.command('create'))
    .description('Create a local user; the password is read from stdin or generated and printed once.')
    .argument('<name>', 'user name: lowercase letters, digits, . _ @ -')
    .option('--role <role>', 'a role (becomes a Kubernetes group); repeatable', roles)
    .option('--password-stdin', 'read the password from stdin (at least 12 characters)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  kaasctl user create alice --role developers          # prints a generated password once
  echo 'correct horse battery' | kaasctl user create bob --role cluster-admins --password-stdin
  kubectl create rolebinding dev --clusterrole edit --group developers -n default`,
    )
    .action(
      async (
        name: string,
        o: { kubeconfig: string; role?: string[]; passwordStdin?: boolean; output: string },
      ) => {
        try {
          const { randomBytes } = await import('node:crypto');
          const generated = o.passwordStdin ? undefined : randomBytes(18).toString('base64url');
          const password = o.passwordStdin ? await readStdin() : generated!;
          const u = await requestJson(await endpointFromKubeconfig(o.kubeconfig), 'POST', '/auth/v1/users', {
            name,
            password,
            roles: o.role ?? [],
          });
          if (o.output !== 'table')
            return printData({ ...u, ...(generated ? { generatedPassword: generated } : {}) }, o.output);
          console.log(
            `user ${u.name} created (uid ${u.uid}, roles: ${(u.roles as string[]).join(', ') || 'none'})`,
          );
          if (generated) console.log(`password (shown only now): ${generated}`);
        } catch (e) {
          process.exitCode = reportError(e);
        }
      },
    );

  kube(user.command('list'))
    .description('List local users.')
    .addOption(outputOption())
    .action(async (o: { kubeconfig: string; output: string }) => {
      try {
        const list = await requestJson(await endpointFromKubeconfig(o.kubeconfig), 'GET', '/auth/v1/users');
        if (o.output !== 'table') return printData(list, o.output);
        printTable([
          ['NAME', 'ROLES', 'DISABLED', 'CREATED'],
          ...(list.items as { name: string; roles: string[]; disabled: boolean; createdAt: string }[]).map(
            (u) => [u.name, u.roles.join(',') || '<none>', String(u.disabled), u.createdAt],
          ),
        ]);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });

  kube(user.command('set'))
    .description("Change a user's roles, password or state; every live token of the user is revoked.")
    .argument('<name>')
    .option('--role <role>', 'replace the roles with these; repeatable', roles)
    .option('--no-roles', 'remove every role')
    .option('--password-stdin', 'read a new password from stdin')
    .option('--disable', 'refuse the user from now on')
    .option('--enable', 'allow a disabled user again')
    .action(
      async (
        name: string,
        o: {
          kubeconfig: string;
          role?: string[];
          roles?: boolean;
          passwordStdin?: boolean;
          disable?: boolean;
          enable?: boolean;
        },
      ) => {
        try {
          if (o.disable && o.enable) throw new ApiError(0, '--disable and --enable: pick one');
          const body: Record<string, unknown> = {};
          if (o.role) body.roles = o.role;
          else if (o.roles === false) body.roles = [];
          if (o.passwordStdin) body.password = await readStdin();
          if (o.disable) body.disabled = true;
          if (o.enable) body.disabled = false;
          if (!Object.keys(body).length)
            throw new ApiError(
              0,
              'nothing to change: pass --role, --no-roles, --password-stdin, --disable or --enable',
            );
          const u = await requestJson(
            await endpointFromKubeconfig(o.kubeconfig),
            'PATCH',
            `/auth/v1/users/${encodeURIComponent(name)}`,
            body,
          );
          console.log(
            `user ${name} updated (roles: ${(u.roles as string[]).join(', ') || 'none'}, disabled: ${u.disabled}); ${u.revokedTokens} token(s) revoked`,
          );
        } catch (e) {
          process.exitCode = reportError(e);
        }
      },
    );

  kube(user.command('delete'))
    .description('Delete a local user and revoke their tokens.')
    .argument('<name>')
    .action(async (name: string, o: { kubeconfig: string }) => {
      try {
        const r = await requestJson(
          await endpointFromKubeconfig(o.kubeconfig),
          'DELETE',
          `/auth/v1/users/${encodeURIComponent(name)}`,
        );
        console.log(`user ${name} deleted; ${r.revokedTokens} token(s) revoked`);
      } catch (e) {
        process.exitCode = reportError(e);
      }
    });
  return user;
}
