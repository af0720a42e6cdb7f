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
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeystoneCredentials, KeystoneScope } from '@kaas/auth';
import { cloudFromEnv, cloudFromYaml, cloudsYamlPaths, fromCloud } from '@kaas/auth';

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

function forTests(c: ReturnType<typeof fromCloud>): Omit<KeystoneForTests, 'source' | 'release'> {
  return {
    authUrl: c.authUrl,
    adminCredentials: c.credentials,
    adminScope: c.scope,
    region: c.region,
    caBundle: c.caBundle,
    insecure: c.insecure,
  };
}

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

export async function keystoneForTests(env: Env = process.env): Promise<KeystoneForTests> {
  const noop = async (): Promise<void> => {};
  if (env.OS_CLOUD) {
    const path = cloudsYamlPaths(env).find((p) => existsSync(p));
    if (!path)
      throw new Error(`OS_CLOUD=${env.OS_CLOUD} but no clouds.yaml in ${cloudsYamlPaths(env).join(', ')}`);
    return {
      ...forTests(fromCloud(cloudFromYaml(path, env.OS_CLOUD), `${path} cloud ${env.OS_CLOUD}`)),
      source: 'clouds.yaml',
      release: noop,
    };
  }
  if (env.OS_AUTH_URL)
    return { ...forTests(fromCloud(cloudFromEnv(env), 'OS_* environment')), source: 'env', release: noop };

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
    return { ...forTests(fromCloud(cloudFromYaml(path, LOCAL_CLOUD), path)), source: 'local', release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** A clouds.yaml for this keystone with its admin credentials, for processes that read OS_CLOUD. */
export function cloudsYamlFor(ks: KeystoneForTests, cloud = 'kaas-test'): string {
  const c = ks.adminCredentials;
  const auth: Record<string, string> = { auth_url: ks.authUrl };
  const ref = (prefix: string, r: { id: string } | { name: string }) => {
    if ('id' in r) auth[`${prefix}_id`] = r.id;
    else auth[`${prefix}_name`] = r.name;
  };
  if (c.type === 'password') {
    if ('id' in c.user) auth.user_id = c.user.id;
    else {
      auth.username = c.user.name;
      ref('user_domain', c.user.domain);
    }
    auth.password = c.password;
  } else {
    if ('id' in c) auth.application_credential_id = c.id;
    else {
      auth.application_credential_name = c.name;
      if ('id' in c.user) auth.user_id = c.user.id;
      else {
        auth.username = c.user.name;
        ref('user_domain', c.user.domain);
      }
    }
    auth.application_credential_secret = c.secret;
  }
  const p = ks.adminScope?.project;
  if (p) {
    if ('id' in p) auth.project_id = p.id;
    else {
      auth.project_name = p.name;
      ref('project_domain', p.domain);
    }
  }
  const entry: Record<string, unknown> = { auth };
  if (ks.region) entry.region_name = ks.region;
  if (ks.insecure) entry.verify = false;
  return JSON.stringify({ clouds: { [cloud]: entry } }, null, 2);
}
