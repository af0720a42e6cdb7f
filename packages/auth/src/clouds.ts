// clouds.yaml and OS_* variables, the OpenStack convention for naming a cloud and its
// credentials (OS_CLOUD picks an entry; OS_CLIENT_CONFIG_FILE overrides where the file is).
// Used by the server's keystone backend, the OpenStack provider and the tests.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KeystoneCredentials, KeystoneRef, KeystoneScope } from './keystone.ts';

export type Env = Record<string, string | undefined>;

/** A cloud as configured: where keystone is and who to sign in as. */
export interface CloudConfig {
  authUrl: string;
  credentials: KeystoneCredentials;
  scope: KeystoneScope | undefined;
  region: string | undefined;
  /** PEM text of the CA bundle (clouds.yaml `cacert`, OS_CACERT) */
  caBundle: string | undefined;
  insecure: boolean;
  /** interface for catalog lookups (clouds.yaml `interface`, OS_INTERFACE); default public */
  interface: 'public' | 'internal' | 'admin';
}

function domainOf(name: string | undefined, id: string | undefined): { id: string } | { name: string } {
  if (id) return { id };
  return { name: name ?? 'Default' };
}

export interface CloudAuth {
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

export interface Cloud {
  auth?: CloudAuth;
  region_name?: string;
  cacert?: string;
  verify?: boolean;
  interface?: string;
}

/** clouds.yaml auth block (or the same from OS_* variables) -> what keystoneForTests returns. */
export function fromCloud(cloud: Cloud, where: string): CloudConfig {
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
  let credentials: KeystoneCredentials;
  let scope: KeystoneScope | undefined;
  if (a.application_credential_secret) {
    if (a.application_credential_id)
      credentials = {
        type: 'application_credential',
        id: a.application_credential_id,
        secret: a.application_credential_secret,
      };
    else if (a.application_credential_name && user)
      credentials = {
        type: 'application_credential',
        name: a.application_credential_name,
        user,
        secret: a.application_credential_secret,
      };
    else throw new Error(`${where}: application_credential_id, or _name with a user, is needed`);
  } else {
    if (!user || !a.password) throw new Error(`${where}: username (or user_id) and password are needed`);
    credentials = { type: 'password', user, password: a.password };
    if (a.project_id) scope = { project: { id: a.project_id } };
    else if (a.project_name) scope = { project: { name: a.project_name, domain: projectDomain } };
  }
  const caBundle = cloud.cacert ? readFileSync(cloud.cacert, 'utf8') : undefined;
  return {
    authUrl: a.auth_url,
    credentials,
    scope,
    region: cloud.region_name,
    caBundle,
    insecure: cloud.verify === false,
    interface: cloud.interface === 'internal' || cloud.interface === 'admin' ? cloud.interface : 'public',
  };
}

export function cloudsYamlPaths(env: Env): string[] {
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

export function cloudFromEnv(env: Env): Cloud {
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
    ...(env.OS_INTERFACE ? { interface: env.OS_INTERFACE } : {}),
    ...(verify !== undefined ? { verify } : {}),
  };
}

/**
 * The cloud the environment names: OS_CLOUD (an entry of clouds.yaml) or OS_AUTH_URL and the
 * other OS_* variables; undefined when neither is set.
 */
export function cloudFromEnvironment(env: Env = process.env): CloudConfig | undefined {
  if (env.OS_CLOUD) {
    const path = cloudsYamlPaths(env).find((p) => existsSync(p));
    if (!path)
      throw new Error(`OS_CLOUD=${env.OS_CLOUD} but no clouds.yaml in ${cloudsYamlPaths(env).join(', ')}`);
    return fromCloud(cloudFromYaml(path, env.OS_CLOUD), `${path} cloud ${env.OS_CLOUD}`);
  }
  if (env.OS_AUTH_URL) return fromCloud(cloudFromEnv(env), 'OS_* environment');
  return undefined;
}
