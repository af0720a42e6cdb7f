// A real OpenStack for tests.
//
// - OS_CLOUD (clouds.yaml) or OS_AUTH_URL (OS_* variables) set: that cloud, as the user configured
//   it. Tests that need admin-only fixtures (flavors, an external network) say so, and find them
//   by name instead when the credentials are not an admin's (KAAS_OS_TEST_* below).
// - Otherwise the local one from Debian's packages (scripts/openstack/): the services the test
//   names (and what they need) are installed if they are not, started if they are not running.
//   release() (call it in `after`) stops what this run started, once no other test process holds
//   a lease on it (scripts/openstack/lease.sh).
//
// Never skips: when no cloud can be had, it throws and says why.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudConfig } from '@kaas/auth';
import { cloudFromEnv, cloudFromYaml, cloudsYamlPaths, fromCloud } from '@kaas/auth';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LEASE = join(ROOT, 'scripts/openstack/lease.sh');

export type OpenStackService =
  'glance' | 'placement' | 'neutron' | 'nova' | 'octavia' | 'designate' | 'cinder';

export interface OpenStackForTests {
  /** admin (local cloud) or the configured credentials */
  admin: CloudConfig;
  /** a member of a project of its own (local cloud: demo/demo), or the configured credentials */
  member: CloudConfig;
  source: 'local' | 'clouds.yaml' | 'env';
  /** fixtures: names of what the tests use; on the local cloud the tests create them as admin */
  fixtures: { image: string; flavor: string; externalNetwork: string; dnsZone: string };
  release(): Promise<void>;
}

type Env = Record<string, string | undefined>;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const tail = `${stderr}`.trim().split('\n').slice(-30).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]})\n${tail}`));
      } else resolvePromise({ stdout, stderr });
    });
  });
}

function fixtures(env: Env): OpenStackForTests['fixtures'] {
  return {
    image: env.KAAS_OS_TEST_IMAGE ?? 'kaas-test-image',
    flavor: env.KAAS_OS_TEST_FLAVOR ?? 'kaas.test',
    externalNetwork: env.KAAS_OS_TEST_EXTERNAL_NETWORK ?? 'public',
    dnsZone: env.KAAS_OS_TEST_DNS_ZONE ?? 'kaas-test.example.',
  };
}

/**
 * `services`: what the test needs besides keystone (e.g. ['neutron', 'nova']). Against a cloud
 * of the user's, the catalog decides; the test checks it.
 */
export async function openStackForTests(
  services: readonly OpenStackService[],
  env: Env = process.env,
): Promise<OpenStackForTests> {
  const noop = async (): Promise<void> => {};
  if (env.OS_CLOUD) {
    const path = cloudsYamlPaths(env).find((p) => existsSync(p));
    if (!path)
      throw new Error(`OS_CLOUD=${env.OS_CLOUD} but no clouds.yaml in ${cloudsYamlPaths(env).join(', ')}`);
    const cloud = fromCloud(cloudFromYaml(path, env.OS_CLOUD), `${path} cloud ${env.OS_CLOUD}`);
    // KAAS_OS_TEST_MEMBER_CLOUD: a second, non-admin entry of the same clouds.yaml
    const member = env.KAAS_OS_TEST_MEMBER_CLOUD
      ? fromCloud(
          cloudFromYaml(path, env.KAAS_OS_TEST_MEMBER_CLOUD),
          `${path} cloud ${env.KAAS_OS_TEST_MEMBER_CLOUD}`,
        )
      : cloud;
    return { admin: cloud, member, source: 'clouds.yaml', fixtures: fixtures(env), release: noop };
  }
  if (env.OS_AUTH_URL) {
    const cloud = fromCloud(cloudFromEnv(env), 'OS_* environment');
    return { admin: cloud, member: cloud, source: 'env', fixtures: fixtures(env), release: noop };
  }

  if (process.getuid?.() !== 0) {
    throw new Error(
      'openStackForTests: the local OpenStack (scripts/openstack/) needs root to install and start; ' +
        'run the tests as root, or point OS_CLOUD or OS_AUTH_URL at a cloud',
    );
  }
  const pid = String(process.pid);
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [LEASE, 'acquire', pid, ...services], 60 * 60_000));
  } catch (e) {
    throw new Error(
      `openStackForTests: could not install/start the local OpenStack (${services.join(' ')}) with scripts/openstack/: ${(e as Error).message}\n` +
        'Logs: /var/lib/kaas-openstack/logs (or $KAAS_OPENSTACK_STATE_DIR/logs). ' +
        'To use another cloud, set OS_CLOUD or OS_AUTH_URL.',
    );
  }
  const path = stdout.trim().split('\n').pop() ?? '';
  const release = async (): Promise<void> => {
    await run('bash', [LEASE, 'release', pid], 5 * 60_000);
  };
  try {
    return {
      admin: fromCloud(cloudFromYaml(path, 'kaas-local'), path),
      member: fromCloud(cloudFromYaml(path, 'kaas-local-demo'), path),
      source: 'local',
      fixtures: fixtures(env),
      release,
    };
  } catch (e) {
    await release();
    throw e;
  }
}
