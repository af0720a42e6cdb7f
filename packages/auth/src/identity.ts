// Identity backends: who a user is, proven once with their credentials (authenticate), and
// re-checked later from what the token service kept (revalidate). The token service and the
// TokenReview handler only see this interface, so a new upstream (OIDC) is one more class.
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidCredentialsError, UpstreamError } from './errors.ts';
import {
  KeystoneHttpError,
  KeystoneUnauthorizedError,
  KeystoneUpstreamError,
  ServiceToken,
} from './keystone.ts';
import type {
  DomainRef,
  KeystoneClient,
  KeystoneCredentials,
  KeystoneRef,
  KeystoneToken,
} from './keystone.ts';

/** What Kubernetes gets for a user (TokenReview status.user). */
export interface Identity {
  /** the backend that vouched for it: 'keystone', 'local', later 'oidc' */
  backend: string;
  username: string;
  uid: string;
  /** for keystone: role IDs plus keystone:project:<id> */
  groups: string[];
  extra: Record<string, string[]>;
  /** a hard limit set by the upstream (keystone's token expiry); our token never outlives it */
  expiresAt?: Date;
}

/**
 * What the token service keeps to re-check an identity later. `secret` is stored only encrypted
 * with a key derived from our bearer token (tokens.ts), so the token store alone never yields it.
 */
export interface UpstreamSession {
  /** keystone: user id; local: uid */
  subject: string;
  /** keystone: project id; local: user name */
  scope?: string;
  /** local: the user's credential generation (a password change ends every session) */
  version?: string;
  /** keystone: the keystone token */
  secret?: string;
}

export interface Authenticated {
  identity: Identity;
  session: UpstreamSession;
}

/** Credentials as a user sends them to the exchange endpoint (see parseCredentials). */
export type Credentials =
  | {
      type: 'password';
      username?: string;
      userId?: string;
      /** user domain name (default "Default") or id */
      userDomain?: string;
      userDomainId?: string;
      password: string;
      project?: string;
      projectId?: string;
      /** project domain name (default: the user's domain) or id */
      projectDomain?: string;
      projectDomainId?: string;
    }
  | {
      type: 'application-credential';
      id?: string;
      name?: string;
      username?: string;
      userId?: string;
      userDomain?: string;
      userDomainId?: string;
      secret: string;
    };

export interface IdentityBackend {
  readonly name: string;
  /** InvalidCredentialsError for a definite no; UpstreamError when the upstream cannot answer. */
  authenticate(credentials: Credentials): Promise<Authenticated>;
  /** The identity as of now, or 'revoked' for a definite no; UpstreamError when unsure. */
  revalidate(session: UpstreamSession): Promise<Identity | 'revoked'>;
}

// ---------------------------------------------------------------- credentials parsing

const CREDENTIAL_FIELDS = {
  password: [
    'username',
    'userId',
    'userDomain',
    'userDomainId',
    'password',
    'project',
    'projectId',
    'projectDomain',
    'projectDomainId',
  ],
  'application-credential': ['id', 'name', 'username', 'userId', 'userDomain', 'userDomainId', 'secret'],
} as const;

const MAX_FIELD_LENGTH = 1024;

export class CredentialsFormatError extends Error {
  override readonly name = 'CredentialsFormatError';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/** Validates an exchange request body; reports every problem, never echoes a secret. */
export function parseCredentials(body: unknown): Credentials {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new CredentialsFormatError(['body: must be an object']);
  const b = body as Record<string, unknown>;
  const type = b.type;
  if (type !== 'password' && type !== 'application-credential')
    throw new CredentialsFormatError(['type: must be "password" or "application-credential"']);
  const allowed: readonly string[] = CREDENTIAL_FIELDS[type];
  const problems: string[] = [];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(b)) {
    if (k === 'type') continue;
    if (!allowed.includes(k)) problems.push(`${k}: unknown field for type ${type}`);
    else if (typeof v !== 'string' || v.length === 0) problems.push(`${k}: must be a non-empty string`);
    else if (v.length > MAX_FIELD_LENGTH) problems.push(`${k}: longer than ${MAX_FIELD_LENGTH} characters`);
    else out[k] = v;
  }
  if (type === 'password') {
    if (out.password === undefined) problems.push('password: required');
    if ((out.username === undefined) === (out.userId === undefined))
      problems.push('username or userId: exactly one');
    if (out.project !== undefined && out.projectId !== undefined)
      problems.push('project, projectId: at most one');
  } else {
    if (out.secret === undefined) problems.push('secret: required');
    if ((out.id === undefined) === (out.name === undefined)) problems.push('id or name: exactly one');
    if (out.name !== undefined && out.username === undefined && out.userId === undefined)
      problems.push('name: needs username or userId');
  }
  if (problems.length > 0) throw new CredentialsFormatError(problems);
  return { type, ...out } as Credentials;
}

// ---------------------------------------------------------------- keystone

export interface KeystoneBackendOptions {
  client: KeystoneClient;
  /** the operator's credentials; its token validates user tokens (keystone policy identity:validate_token) */
  serviceCredentials: KeystoneCredentials;
  serviceScope?: { project: KeystoneRef };
  /** used when a request names a user by name without a domain (default "Default") */
  defaultDomain?: string;
  now?: () => number;
}

/** Kubernetes usernames are the RBAC subject: qualified so that two domains' "alice" differ. */
export function keystoneUsername(t: Pick<KeystoneToken, 'user'>): string {
  return `keystone:${t.user.domain.id}:${t.user.name}`;
}

export function keystoneProjectGroup(projectId: string): string {
  return `keystone:project:${projectId}`;
}

/** Identity from a project-scoped keystone token: groups are role IDs (names change) + project. */
export function identityFromKeystoneToken(t: KeystoneToken): Identity {
  if (!t.project) throw new InvalidCredentialsError('keystone token is not project-scoped');
  const roleIds = [...new Set(t.roles.map((r) => r.id))].sort();
  const extra: Record<string, string[]> = {
    'keystone/role-names': [...new Set(t.roles.map((r) => r.name))].sort(),
    'keystone/project-id': [t.project.id],
    'keystone/project-name': [t.project.name],
    'keystone/project-domain-id': [t.project.domain.id],
    'keystone/project-domain-name': [t.project.domain.name],
    'keystone/user-domain-id': [t.user.domain.id],
    'keystone/user-domain-name': [t.user.domain.name],
  };
  if (t.applicationCredential) extra['keystone/application-credential-id'] = [t.applicationCredential.id];
  return {
    backend: 'keystone',
    username: keystoneUsername(t),
    uid: t.user.id,
    groups: [...roleIds, keystoneProjectGroup(t.project.id)],
    extra,
    expiresAt: t.expiresAt,
  };
}

function domainRef(name: string | undefined, id: string | undefined, fallbackName: string): DomainRef {
  if (id !== undefined) return { id };
  return { name: name ?? fallbackName };
}

/**
 * Keystone v3. authenticate: a project-scoped token from the user's password or application
 * credential. revalidate: GET /v3/auth/tokens of the kept keystone token with the service token;
 * keystone re-derives the token's roles from its current assignments at every validation, so a
 * removed role, a disabled user or project, a deleted application credential or a password
 * change all make it fail (404) and revoke ours at the next check.
 */
export class KeystoneBackend implements IdentityBackend {
  readonly name = 'keystone';
  readonly client: KeystoneClient;
  readonly serviceToken: ServiceToken;
  readonly #defaultDomain: string;

  constructor(opts: KeystoneBackendOptions) {
    this.client = opts.client;
    this.#defaultDomain = opts.defaultDomain ?? 'Default';
    this.serviceToken = new ServiceToken({
      client: opts.client,
      credentials: opts.serviceCredentials,
      ...(opts.serviceScope ? { scope: opts.serviceScope } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  #keystoneCredentials(c: Credentials): { credentials: KeystoneCredentials; project?: KeystoneRef } {
    const userDomain = domainRef(c.userDomain, c.userDomainId, this.#defaultDomain);
    const user: KeystoneRef | undefined =
      c.userId !== undefined
        ? { id: c.userId }
        : c.username !== undefined
          ? { name: c.username, domain: userDomain }
          : undefined;
    if (c.type === 'password') {
      if (!user) throw new InvalidCredentialsError('username or userId is required');
      let project: KeystoneRef | undefined;
      if (c.projectId !== undefined) project = { id: c.projectId };
      else if (c.project !== undefined) {
        const pd =
          c.projectDomainId !== undefined || c.projectDomain !== undefined
            ? domainRef(c.projectDomain, c.projectDomainId, this.#defaultDomain)
            : userDomain;
        project = { name: c.project, domain: pd };
      }
      return {
        credentials: { type: 'password', user, password: c.password },
        ...(project ? { project } : {}),
      };
    }
    if (c.id !== undefined)
      return { credentials: { type: 'application_credential', id: c.id, secret: c.secret } };
    if (c.name === undefined || !user)
      throw new InvalidCredentialsError('application credential id, or name and user, is required');
    return { credentials: { type: 'application_credential', name: c.name, user, secret: c.secret } };
  }

  async authenticate(c: Credentials): Promise<Authenticated> {
    const { credentials, project } = this.#keystoneCredentials(c);
    let token: KeystoneToken;
    try {
      // the catalog is not needed here; without it the response is a fraction of the size
      token = await this.client.authenticate(credentials, {
        ...(project ? { scope: { project } } : {}),
        nocatalog: true,
      });
    } catch (e) {
      throw mapKeystoneError(e, 'authenticate');
    }
    if (!token.project) {
      throw new InvalidCredentialsError(
        'keystone issued an unscoped token: name a project (the user has no default project)',
      );
    }
    return {
      identity: identityFromKeystoneToken(token),
      session: { subject: token.user.id, scope: token.project.id, secret: token.token },
    };
  }

  async revalidate(session: UpstreamSession): Promise<Identity | 'revoked'> {
    if (session.secret === undefined) return 'revoked';
    let result;
    try {
      result = await this.#validate(session.secret);
    } catch (e) {
      throw mapKeystoneError(e, 'validate');
    }
    if (!result.valid) return 'revoked';
    const t = result.token;
    // defence in depth: the kept token must still be the same user on the same project
    if (t.user.id !== session.subject || t.project?.id !== session.scope) return 'revoked';
    return identityFromKeystoneToken(t);
  }

  async #validate(subject: string): Promise<Awaited<ReturnType<KeystoneClient['validateToken']>>> {
    const service = await this.serviceToken.token();
    try {
      return await this.client.validateToken(service, subject, { nocatalog: true });
    } catch (e) {
      if (!(e instanceof KeystoneUnauthorizedError)) throw e;
      // keystone refused our service token (expired early, revoked, password changed):
      // get a new one and ask once more. A second 401 is an operator problem, not the user's.
      this.serviceToken.invalidate(service);
      const fresh = await this.serviceToken.token();
      try {
        return await this.client.validateToken(fresh, subject, { nocatalog: true });
      } catch (e2) {
        if (e2 instanceof KeystoneUnauthorizedError) {
          throw new UpstreamError('keystone refuses the service credentials used to validate tokens', {
            cause: e2,
          });
        }
        throw e2;
      }
    }
  }
}

function mapKeystoneError(e: unknown, what: 'authenticate' | 'validate'): Error {
  if (e instanceof KeystoneUpstreamError || e instanceof UpstreamError) return e;
  if (what === 'authenticate' && e instanceof KeystoneUnauthorizedError)
    return new InvalidCredentialsError('keystone: the request you have made requires authentication', {
      cause: e,
    });
  if (what === 'authenticate' && e instanceof KeystoneHttpError && e.status < 500)
    return new InvalidCredentialsError(`keystone refused the credentials (HTTP ${e.status})`, { cause: e });
  if (e instanceof KeystoneUnauthorizedError) return new UpstreamError(e.message, { cause: e });
  // a 403 on validation is the service account lacking identity:validate_token: not the user's fault
  if (e instanceof KeystoneHttpError) return new UpstreamError(e.message, { cause: e });
  return e instanceof Error ? e : new UpstreamError(String(e));
}

// ---------------------------------------------------------------- local users

export interface LocalUser {
  name: string;
  uid: string;
  /** scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url> */
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  /** bumped by every password change; sessions of an older generation are revoked */
  generation: number;
  createdAt: string;
}

/** Storage for local users; in memory now, objects in the API server when it lands. */
export interface UserStore {
  get(name: string): Promise<LocalUser | undefined>;
  /** create or replace */
  put(user: LocalUser): Promise<void>;
  delete(name: string): Promise<boolean>;
  list(): Promise<LocalUser[]>;
}

export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, LocalUser>();

  async get(name: string): Promise<LocalUser | undefined> {
    const u = this.#users.get(name);
    return u ? structuredClone(u) : undefined;
  }

  async put(user: LocalUser): Promise<void> {
    this.#users.set(user.name, structuredClone(user));
  }

  async delete(name: string): Promise<boolean> {
    return this.#users.delete(name);
  }

  async list(): Promise<LocalUser[]> {
    return [...this.#users.values()].map((u) => structuredClone(u));
  }
}

export interface ScryptParams {
  /** log2 of the CPU/memory cost N */
  logN: number;
  r: number;
  p: number;
}

/**
 * N = 2^15, r = 8, p = 1: 32 MiB and ~100-190 ms per hash on the 2-core dev VM. Below OWASP's
 * 2^17 because that costs 128 MiB per concurrent login; the exchange rate limiter bounds online
 * guessing. The parameters live in each hash, so they can be raised without a migration.
 */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 1 };

const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return [
    'scrypt',
    params.logN,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/** Constant-time comparison of the derived key. A malformed hash never verifies. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const key = await scryptAsync(password, salt, { logN, r, p });
  return timingSafeEqual(key, expected);
}

const USER_NAME = /^[a-z0-9]([a-z0-9._@-]{0,251}[a-z0-9])?$/;
const ROLE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._:@-]{0,251}[A-Za-z0-9])?$/;
/** groups with these prefixes mean something to Kubernetes or to another backend */
const RESERVED_ROLE_PREFIXES = ['system:', 'keystone:', 'oidc:'];
export const MIN_PASSWORD_LENGTH = 12;

export class LocalUserError extends Error {
  override readonly name = 'LocalUserError';
}

function checkRoles(roles: readonly string[]): string[] {
  for (const r of roles) {
    if (!ROLE_NAME.test(r)) throw new LocalUserError(`role "${r}": must match ${ROLE_NAME.source}`);
    if (RESERVED_ROLE_PREFIXES.some((p) => r.startsWith(p)))
      throw new LocalUserError(`role "${r}": the prefixes ${RESERVED_ROLE_PREFIXES.join(', ')} are reserved`);
  }
  return [...new Set(roles)].sort();
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new LocalUserError(`password: at least ${MIN_PASSWORD_LENGTH} characters`);
}

export interface LocalUsersBackendOptions {
  store: UserStore;
  scrypt?: ScryptParams;
  now?: () => number;
}

/**
 * Users kept by KaaS itself (the embedded default). Username local:<name>, uid a UUID, groups =
 * the user's roles. A session is the uid and the credential generation.
 */
export class LocalUsersBackend implements IdentityBackend {
  readonly name = 'local';
  readonly store: UserStore;
  readonly #scrypt: ScryptParams;
  readonly #now: () => number;
  // verified against when the user does not exist, so that both cases cost one scrypt
  #dummyHash: Promise<string> | undefined;

  constructor(opts: LocalUsersBackendOptions) {
    this.store = opts.store;
    this.#scrypt = opts.scrypt ?? DEFAULT_SCRYPT;
    this.#now = opts.now ?? Date.now;
  }

  async createUser(u: { name: string; password: string; roles?: string[] }): Promise<LocalUser> {
    if (!USER_NAME.test(u.name)) throw new LocalUserError(`name "${u.name}": must match ${USER_NAME.source}`);
    checkPassword(u.password);
    const roles = checkRoles(u.roles ?? []);
    if (await this.store.get(u.name)) throw new LocalUserError(`user "${u.name}" already exists`);
    const user: LocalUser = {
      name: u.name,
      uid: randomUUID(),
      passwordHash: await hashPassword(u.password, this.#scrypt),
      roles,
      disabled: false,
      generation: 1,
      createdAt: new Date(this.#now()).toISOString(),
    };
    await this.store.put(user);
    return user;
  }

  async #mustGet(name: string): Promise<LocalUser> {
    const u = await this.store.get(name);
    if (!u) throw new LocalUserError(`user "${name}" not found`);
    return u;
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const u = await this.#mustGet(name);
    await this.store.put({
      ...u,
      passwordHash: await hashPassword(password, this.#scrypt),
      generation: u.generation + 1,
    });
  }

  async setRoles(name: string, roles: string[]): Promise<void> {
    const u = await this.#mustGet(name);
    await this.store.put({ ...u, roles: checkRoles(roles) });
  }

  async setDisabled(name: string, disabled: boolean): Promise<void> {
    const u = await this.#mustGet(name);
    await this.store.put({ ...u, disabled });
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.store.delete(name);
  }

  identityOf(u: LocalUser): Identity {
    return { backend: 'local', username: `local:${u.name}`, uid: u.uid, groups: [...u.roles], extra: {} };
  }

  async authenticate(c: Credentials): Promise<Authenticated> {
    if (c.type !== 'password' || c.username === undefined)
      throw new InvalidCredentialsError('local users sign in with username and password');
    const u = await this.store.get(c.username);
    this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.#scrypt);
    const ok = await verifyPassword(c.password, u ? u.passwordHash : await this.#dummyHash);
    // one message for every failure: no user enumeration
    if (!u || !ok || u.disabled) throw new InvalidCredentialsError('invalid username or password');
    return {
      identity: this.identityOf(u),
      session: { subject: u.uid, scope: u.name, version: String(u.generation) },
    };
  }

  async revalidate(session: UpstreamSession): Promise<Identity | 'revoked'> {
    if (session.scope === undefined) return 'revoked';
    const u = await this.store.get(session.scope);
    if (!u || u.uid !== session.subject || u.disabled || String(u.generation) !== session.version)
      return 'revoked';
    return this.identityOf(u);
  }
}

/**
 * The bootstrap user `admin`, created once. The password is the given one (KAAS_ADMIN_PASSWORD,
 * read by the caller) or generated; a generated password is returned exactly once, here.
 */
export async function ensureBootstrapAdmin(
  backend: LocalUsersBackend,
  opts: { password?: string; roles?: string[] } = {},
): Promise<{ created: false } | { created: true; user: LocalUser; generatedPassword: string | undefined }> {
  if (await backend.store.get('admin')) return { created: false };
  const generatedPassword = opts.password === undefined ? randomBytes(24).toString('base64url') : undefined;
  const user = await backend.createUser({
    name: 'admin',
    password: opts.password ?? generatedPassword!,
    roles: opts.roles ?? ['admin'],
  });
  return { created: true, user, generatedPassword };
}
