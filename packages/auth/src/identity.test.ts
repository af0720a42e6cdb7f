import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CredentialsFormatError,
  ensureBootstrapAdmin,
  hashPassword,
  LocalUserError,
  LocalUsersBackend,
  MemoryUserStore,
  parseCredentials,
  verifyPassword,
} from './identity.ts';
import { InvalidCredentialsError } from './errors.ts';

// cheap parameters for speed; the default ones are checked once below
const FAST = { logN: 10, r: 8, p: 1 };

function local() {
  return new LocalUsersBackend({ store: new MemoryUserStore(), scrypt: FAST });
}

test('scrypt: default parameters, a salt per hash, constant-time verify', async () => {
  const h1 = await hashPassword('correct horse battery');
  const h2 = await hashPassword('correct horse battery');
  assert.match(h1, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(h1, h2);
  assert.equal(await verifyPassword('correct horse battery', h1), true);
  assert.equal(await verifyPassword('correct horse batterY', h1), false);
  for (const bad of ['', 'scrypt$15$8$1$x', 'bcrypt$...', h1.replace('$15$', '$40$'), h1.slice(0, -2)])
    assert.equal(await verifyPassword('correct horse battery', bad), false, bad);
});

test('local users: sign in, identity, wrong password and unknown user look the same', async () => {
  const b = local();
  const u = await b.createUser({ name: 'alice', password: 'alice-password-1', roles: ['dev', 'ops'] });
  assert.equal(JSON.stringify(await b.store.list()).includes('alice-password-1'), false);
  const a = await b.authenticate({ type: 'password', username: 'alice', password: 'alice-password-1' });
  assert.deepEqual(a.identity, {
    backend: 'local',
    username: 'local:alice',
    uid: u.uid,
    groups: ['dev', 'ops'],
    extra: {},
  });
  const wrong = await b
    .authenticate({ type: 'password', username: 'alice', password: 'nope' })
    .catch((e: unknown) => e);
  const unknown = await b
    .authenticate({ type: 'password', username: 'mallory', password: 'nope' })
    .catch((e: unknown) => e);
  assert.ok(wrong instanceof InvalidCredentialsError);
  assert.ok(unknown instanceof InvalidCredentialsError);
  assert.equal(wrong.message, unknown.message);
});

test('local users: revalidate follows disable, password change, role change and deletion', async () => {
  const b = local();
  await b.createUser({ name: 'alice', password: 'alice-password-1', roles: ['dev'] });
  const { session } = await b.authenticate({
    type: 'password',
    username: 'alice',
    password: 'alice-password-1',
  });
  await b.setRoles('alice', ['ops']);
  const again = await b.revalidate(session);
  assert.notEqual(again, 'revoked');
  assert.deepEqual(again !== 'revoked' && again.groups, ['ops']);

  await b.setDisabled('alice', true);
  assert.equal(await b.revalidate(session), 'revoked');
  await assert.rejects(
    b.authenticate({ type: 'password', username: 'alice', password: 'alice-password-1' }),
    InvalidCredentialsError,
  );
  await b.setDisabled('alice', false);
  assert.notEqual(await b.revalidate(session), 'revoked');

  await b.setPassword('alice', 'alice-password-2');
  assert.equal(await b.revalidate(session), 'revoked');

  const s2 = (await b.authenticate({ type: 'password', username: 'alice', password: 'alice-password-2' }))
    .session;
  await b.deleteUser('alice');
  await b.createUser({ name: 'alice', password: 'alice-password-2' });
  // same name, new user: the old session is not theirs
  assert.equal(await b.revalidate(s2), 'revoked');
});

test('local users: names, short passwords and reserved role prefixes are refused', async () => {
  const b = local();
  await assert.rejects(b.createUser({ name: 'Alice!', password: 'long-enough-pw' }), LocalUserError);
  await assert.rejects(b.createUser({ name: 'alice', password: 'short' }), LocalUserError);
  for (const role of ['system:masters', 'keystone:project:x', 'oidc:admins', 'has space'])
    await assert.rejects(
      b.createUser({ name: 'alice', password: 'long-enough-pw', roles: [role] }),
      LocalUserError,
      role,
    );
  await b.createUser({ name: 'alice', password: 'long-enough-pw' });
  await assert.rejects(b.createUser({ name: 'alice', password: 'long-enough-pw' }), /already exists/);
});

test('bootstrap admin: a generated password is returned once, a given one is used, never twice', async () => {
  const b = local();
  const first = await ensureBootstrapAdmin(b);
  assert.equal(first.created, true);
  const pw = first.created ? first.generatedPassword : undefined;
  assert.ok(pw && pw.length >= 32);
  const a = await b.authenticate({ type: 'password', username: 'admin', password: pw });
  assert.deepEqual(a.identity.groups, ['admin']);
  assert.deepEqual(await ensureBootstrapAdmin(b, { password: 'another-password' }), { created: false });

  const b2 = local();
  const given = await ensureBootstrapAdmin(b2, { password: 'from-KAAS_ADMIN_PASSWORD' });
  assert.equal(given.created && given.generatedPassword, undefined);
  await b2.authenticate({ type: 'password', username: 'admin', password: 'from-KAAS_ADMIN_PASSWORD' });
});

test('parseCredentials: accepts the two shapes and reports every problem without echoing secrets', () => {
  assert.deepEqual(parseCredentials({ type: 'password', username: 'a', password: 'p', project: 'x' }), {
    type: 'password',
    username: 'a',
    password: 'p',
    project: 'x',
  });
  assert.deepEqual(parseCredentials({ type: 'application-credential', id: 'i', secret: 's' }), {
    type: 'application-credential',
    id: 'i',
    secret: 's',
  });
  const cases: [unknown, RegExp][] = [
    [null, /body: must be an object/],
    [{ type: 'kerberos' }, /type: must be/],
    [{ type: 'password', password: 'hunter2' }, /username or userId: exactly one/],
    [{ type: 'password', username: 'a', userId: 'b', password: 'hunter2' }, /exactly one/],
    [{ type: 'password', username: 'a', password: 'hunter2', extra: 1 }, /extra: unknown field/],
    [{ type: 'password', username: 'a', password: 7 }, /password: must be a non-empty string/],
    [{ type: 'password', username: 'x'.repeat(2000), password: 'hunter2' }, /username: longer than/],
    [{ type: 'application-credential', name: 'n', secret: 'hunter2' }, /needs username or userId/],
    [{ type: 'application-credential', id: 'i' }, /secret: required/],
  ];
  for (const [body, re] of cases) {
    const e = (() => {
      try {
        parseCredentials(body);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.ok(e instanceof CredentialsFormatError, JSON.stringify(body));
    assert.match(e.message, re);
    assert.ok(!e.message.includes('hunter2'));
  }
  const multi = (() => {
    try {
      parseCredentials({ type: 'password', bogus: 1 });
    } catch (err) {
      return err as CredentialsFormatError;
    }
    return undefined;
  })();
  assert.ok(multi && multi.problems.length >= 3, multi?.message);
});
