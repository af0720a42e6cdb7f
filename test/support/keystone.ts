// A real keystone for tests.
//
// - OS_CLOUD (clouds.yaml) or OS_AUTH_URL (OS_* variables) set: that keystone, as the user
//   configured it. The credentials must be allowed to create projects, users and roles.
// - Otherwise the local one from Debian's package (scripts/openstack/): installed if it is not,
//   started if it is not answering. release() (call it in `after`) stops it again only if this
//   run started it, once no other test process holds a lease on it (scripts/openstack/lease.sh).
//
// Never skips: when no keystone can be had, it throws and says why.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { KeystoneCredentials, KeystoneRef, KeystoneScope } from '@kaas/auth';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LEASE = join(ROOT, 'scripts/openstack/lease.sh');
const LOCAL_CLOUD = 'kaas-local';

export interface KeystoneForTests {
  authUrl: string;
  adminCredentials: KeystoneCredentials;
  adminScope: KeystoneScope | undefined;
  region: string | undefined;
  caBundle: string | undefined;
  insecure: boolean;
  /** where it came from: the local keystone, a clouds.yaml cloud, or OS_* variables */
  source: 'local' | 'clouds.yaml' | 'env';
  /** stops the local keystone if this process started it and no other test process uses it */
  release(): Promise<void>;
}

type Env = Record<string, string | undefined>;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const tail = `${stderr}`.trim().split('\n').slice(-25).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]})\n${tail}`));
      } else resolvePromise({ stdout, stderr });
    });
  });
}

function domainOf(name: string | undefined, id: string | undefined): { id: string } | { name: string } {
  if (id) return { id };
  return { name: name ?? 'Default' };
}

interface CloudAuth {
  auth_url?: string;
  username?: string;
  user_id?: string;
  password?: string;
  user_domain_name?: string;
  user_domain_id?: string;
  project_name?: string;
  project_id?: string;
  project_domain_name?: string;
  project_domain_id?: string;
  domain_name?: string;
  domain_id?: string;
  application_credential_id?: string;
  application_credential_name?: string;
  application_credential_secret?: string;
}

interface Cloud {
  auth?: CloudAuth;
  region_name?: string;
  cacert?: string;
  verify?: boolean;
}

/** clouds.yaml auth block (or the same from OS_* variables) -> what keystoneForTests returns. */
export function fromCloud(cloud: Cloud, where: string): Omit<KeystoneForTests, 'source' | 'release'> {
  const a = cloud.auth ?? {};
  if (!a.auth_url) throw new Error(`${where}: auth.auth_url is missing`);
  // clouds.yaml's domain_name/domain_id is the default for both user and project domains
  const userDomain = domainOf(a.user_domain_name ?? a.domain_name, a.user_domain_id ?? a.domain_id);
  const projectDomain = domainOf(a.project_domain_name ?? a.domain_name, a.project_domain_id ?? a.domain_id);
  const user: KeystoneRef | undefined = a.user_id
    ? { id: a.user_id }
    : a.username
      ? { name: a.username, domain: userDomain }
      : undefined;
  let adminCredentials: KeystoneCredentials;
  let adminScope: KeystoneScope | undefined;
  if (a.application_credential_secret) {
    if (a.application_credential_id)
      adminCredentials = {
        type: 'application_credential',
        id: a.application_credential_id,
        secret: a.application_credential_secret,
      };
    else if (a.application_credential_name && user)
      adminCredentials = {
        type: 'application_credential',
        name: a.application_credential_name,
        user,
        secret: a.application_credential_secret,
      };
    else throw new Error(`${where}: application_credential_id, or _name with a user, is needed`);
  } else {
    if (!user || !a.password) throw new Error(`${where}: username (or user_id) and password are needed`);
    adminCredentials = { type: 'password', user, password: a.password };
    if (a.project_id) adminScope = { project: { id: a.project_id } };
    else if (a.project_name) adminScope = { project: { name: a.project_name, domain: projectDomain } };
  }
  const caBundle = cloud.cacert ? readFileSync(cloud.cacert, 'utf8') : undefined;
  return {
    authUrl: a.auth_url,
    adminCredentials,
    adminScope,
    region: cloud.region_name,
    caBundle,
    insecure: cloud.verify === false,
  };
}

function cloudsYamlPaths(env: Env): string[] {
  if (env.OS_CLIENT_CONFIG_FILE) return [env.OS_CLIENT_CONFIG_FILE];
  return [
    join(process.cwd(), 'clouds.yaml'),
    join(homedir(), '.config/openstack/clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ];
}

export function cloudFromYaml(path: string, name: string): Cloud {
  const doc = parseYaml(readFileSync(path, 'utf8')) as { clouds?: Record<string, Cloud> } | null;
  const cloud = doc?.clouds?.[name];
  if (!cloud) throw new Error(`${path}: no cloud named "${name}"`);
  return cloud;
}

function cloudFromEnv(env: Env): Cloud {
  const verify = env.OS_INSECURE === undefined ? undefined : !/^(1|true|yes)$/i.test(env.OS_INSECURE);
  const auth: CloudAuth = {};
  const map: [keyof CloudAuth, string][] = [
    ['auth_url', 'OS_AUTH_URL'],
    ['username', 'OS_USERNAME'],
    ['user_id', 'OS_USER_ID'],
    ['password', 'OS_PASSWORD'],
    ['user_domain_name', 'OS_USER_DOMAIN_NAME'],
    ['user_domain_id', 'OS_USER_DOMAIN_ID'],
    ['project_name', 'OS_PROJECT_NAME'],
    ['project_id', 'OS_PROJECT_ID'],
    ['project_domain_name', 'OS_PROJECT_DOMAIN_NAME'],
    ['project_domain_id', 'OS_PROJECT_DOMAIN_ID'],
    ['domain_name', 'OS_DOMAIN_NAME'],
    ['domain_id', 'OS_DOMAIN_ID'],
    ['application_credential_id', 'OS_APPLICATION_CREDENTIAL_ID'],
    ['application_credential_name', 'OS_APPLICATION_CREDENTIAL_NAME'],
    ['application_credential_secret', 'OS_APPLICATION_CREDENTIAL_SECRET'],
  ];
  for (const [k, v] of map) if (env[v]) auth[k] = env[v];
  // the legacy names, still common in openrc files
  auth.project_name ??= env.OS_TENANT_NAME;
  auth.project_id ??= env.OS_TENANT_ID;
  return {
    auth,
    ...(env.OS_REGION_NAME ? { region_name: env.OS_REGION_NAME } : {}),
    ...(env.OS_CACERT ? { cacert: env.OS_CACERT } : {}),
    ...(verify !== undefined ? { verify } : {}),
  };
}

export async function keystoneForTests(env: Env = process.env): Promise<KeystoneForTests> {
  const noop = async (): Promise<void> => {};
  if (env.OS_CLOUD) {
    const path = cloudsYamlPaths(env).find((p) => existsSync(p));
    if (!path)
      throw new Error(`OS_CLOUD=${env.OS_CLOUD} but no clouds.yaml in ${cloudsYamlPaths(env).join(', ')}`);
    return {
      ...fromCloud(cloudFromYaml(path, env.OS_CLOUD), `${path} cloud ${env.OS_CLOUD}`),
      source: 'clouds.yaml',
      release: noop,
    };
  }
  if (env.OS_AUTH_URL)
    return { ...fromCloud(cloudFromEnv(env), 'OS_* environment'), source: 'env', release: noop };

  if (process.getuid?.() !== 0) {
    throw new Error(
      'keystoneForTests: the local keystone (scripts/openstack/) needs root to install and start; ' +
        'run the tests as root, or point OS_CLOUD or OS_AUTH_URL at a keystone',
    );
  }
  const pid = String(process.pid);
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [LEASE, 'acquire', pid], 45 * 60_000));
  } catch (e) {
    throw new Error(
      `keystoneForTests: could not install/start the local keystone with scripts/openstack/: ${(e as Error).message}\n` +
        'Logs: /var/lib/kaas-openstack/logs (or $KAAS_OPENSTACK_STATE_DIR/logs). ' +
        'To use another keystone, set OS_CLOUD or OS_AUTH_URL.',
    );
  }
  const path = stdout.trim().split('\n').pop() ?? '';
  const release = async (): Promise<void> => {
    await run('bash', [LEASE, 'release', pid], 5 * 60_000);
  };
  try {
    return { ...fromCloud(cloudFromYaml(path, LOCAL_CLOUD), path), source: 'local', release };
  } catch (e) {
    await release();
    throw e;
  }
}
