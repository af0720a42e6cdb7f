// Fakes for tests of code that uses an identity backend (the token service, TokenReview, and
// later the API server's authentication chain). Not mocks: a small backend with real behaviour
// whose answers the test controls.
import { InvalidCredentialsError, UpstreamError } from './errors.ts';
import type { Authenticated, Credentials, Identity, IdentityBackend, UpstreamSession } from './identity.ts';

export interface FakeUser {
  password: string;
  identity: Identity;
  /** revalidate answers 'revoked' */
  revoked?: boolean;
  /** revalidate throws this (an unreachable upstream) */
  failWith?: Error;
}

export class FakeBackend implements IdentityBackend {
  readonly name: string;
  readonly users = new Map<string, FakeUser>();
  authenticateCalls = 0;
  revalidateCalls = 0;
  /** every revalidate waits for this first (tests hold lookups in flight with it) */
  gate: Promise<void> = Promise.resolve();

  constructor(name = 'fake') {
    this.name = name;
  }

  addUser(username: string, password: string, opts: { groups?: string[]; expiresAt?: Date } = {}): FakeUser {
    const user: FakeUser = {
      password,
      identity: {
        backend: this.name,
        username: `${this.name}:${username}`,
        uid: `uid-${username}`,
        groups: opts.groups ?? [],
        extra: {},
        ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
      },
    };
    this.users.set(username, user);
    return user;
  }

  async authenticate(c: Credentials): Promise<Authenticated> {
    this.authenticateCalls++;
    const u = c.type === 'password' && c.username !== undefined ? this.users.get(c.username) : undefined;
    if (!u || c.type !== 'password' || c.password !== u.password)
      throw new InvalidCredentialsError('invalid credentials');
    return {
      identity: structuredClone(u.identity),
      session: { subject: u.identity.uid, scope: c.username, secret: `upstream-secret-of-${c.username}` },
    };
  }

  async revalidate(session: UpstreamSession): Promise<Identity | 'revoked'> {
    this.revalidateCalls++;
    await this.gate;
    const u = session.scope === undefined ? undefined : this.users.get(session.scope);
    if (u?.failWith) throw u.failWith;
    if (!u || u.revoked || session.secret !== `upstream-secret-of-${session.scope}`) return 'revoked';
    return structuredClone(u.identity);
  }
}

export function upstreamDown(): UpstreamError {
  return new UpstreamError('upstream unreachable (fake)');
}
