// Per-cluster CCM application credentials (packages/openstack/src/applicationCredentials.ts)
// against the real keystone (test/support/openstack.ts): one per cluster, restricted to the CCM's
// roles, it signs in; made again, the earlier one (a crash's leftover) is gone; a process killed -9
// between the create and recording it leaks nothing once the sweep by name has run. (kaasctl
// server's use of them: apps/kaasctl/src/server/ccmCredential.test.ts.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudError } from '@kaas/providers';
import {
  CCM_ROLES,
  ccmCredentialName,
  createClusterCredential,
  deleteClusterCredentials,
  findApplicationCredentials,
  OpenStack,
  Session,
} from '@kaas/openstack';
import { openStackForTests, type OpenStackForTests } from '../support/openstack.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let os: OpenStackForTests;
let operator: OpenStack;
const uids: string[] = [];

before(async () => {
  os = await openStackForTests(['neutron']);
  operator = OpenStack.fromCloud(os.member);
});
after(async () => {
  if (operator) {
    for (const u of uids) await deleteClusterCredentials(operator.session, u).catch(() => undefined);
    await operator.close();
  }
  await os?.release();
});

const signIn = async (id: string, secret: string) => {
  const s = new Session({
    authUrl: os.member.authUrl,
    credentials: { type: 'application_credential', id, secret },
    ...(os.member.region ? { region: os.member.region } : {}),
  });
  try {
    return { token: await s.token(), session: s };
  } catch (e) {
    await s.close();
    throw e;
  }
};

test('one credential per cluster, with the CCM roles only, restricted; it signs in; deleted, it no longer does', async () => {
  const uid = randomUUID();
  uids.push(uid);
  const me = await operator.session.token();
  const ac = await createClusterCredential(operator.session, uid, { clusterName: 'demo' });
  assert.equal(ac.name, `kaas-ccm-${uid}`);
  assert.equal(ac.projectId, me.project?.id, "the operator's project");
  const found = await findApplicationCredentials(operator.session, ccmCredentialName(uid));
  assert.deepEqual(
    found.map((c) => c.id),
    [ac.id],
  );
  assert.ok(ac.roles.includes('member'), ac.roles.join(','));
  for (const r of ac.roles)
    assert.ok((CCM_ROLES as readonly string[]).includes(r), `role ${r} not asked for`);
  // what the operator has of CCM_ROLES, the credential has: no more (admin, reader... are left out)
  assert.deepEqual(ac.roles, CCM_ROLES.filter((r) => me.roles.some((x) => x.name === r)).sort());

  const { token, session } = await signIn(ac.id, ac.secret);
  try {
    assert.equal(token.project?.id, me.project?.id);
    assert.deepEqual(token.roles.map((r) => r.name).sort(), ac.roles);
    assert.equal(token.applicationCredential?.restricted, true);
    // restricted: it cannot make credentials of its own
    await assert.rejects(createClusterCredential(session, randomUUID()), (e) => {
      assert.ok(e instanceof CloudError && e.code === 'AuthFailed', String(e));
      return true;
    });
    // it reaches the services the CCM uses
    await new OpenStack(session).neutron.listNetworks({ limit: 1 });
  } finally {
    await session.close();
  }

  assert.deepEqual(await deleteClusterCredentials(operator.session, uid), [ac.id]);
  assert.deepEqual(await findApplicationCredentials(operator.session, ccmCredentialName(uid)), []);
  await assert.rejects(signIn(ac.id, ac.secret), (e) => {
    assert.ok(e instanceof CloudError && e.code === 'AuthFailed', String(e));
    return true;
  });
});

test('killed -9 between making the credential and recording it: the next make deletes the leftover, the sweep deletes the rest', async () => {
  const uid = randomUUID();
  uids.push(uid);
  // a child process makes the credential, prints its id, then hangs before it could record it
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { OpenStack, createClusterCredential } from '@kaas/openstack';
       const os = new OpenStack(new (await import('@kaas/openstack')).Session(JSON.parse(process.env.KAAS_T_SESSION)));
       const ac = await createClusterCredential(os.session, process.env.KAAS_T_UID);
       process.stdout.write(ac.id + '\\n');
       setInterval(() => {}, 1000);`,
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        KAAS_T_UID: uid,
        KAAS_T_SESSION: JSON.stringify({
          authUrl: os.member.authUrl,
          credentials: os.member.credentials,
          ...(os.member.scope ? { scope: os.member.scope } : {}),
          ...(os.member.region ? { region: os.member.region } : {}),
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const leftover = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) res(out.trim());
    });
    child.on('exit', (code) => rej(new Error(`child exited ${code} before printing the id`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // it exists, and nobody holds its secret
  assert.deepEqual(
    (await findApplicationCredentials(operator.session, ccmCredentialName(uid))).map((c) => c.id),
    [leftover],
  );
  // the reconciler's next try makes a new one: the leftover goes first
  const again = await createClusterCredential(operator.session, uid);
  assert.notEqual(again.id, leftover);
  assert.deepEqual(
    (await findApplicationCredentials(operator.session, ccmCredentialName(uid))).map((c) => c.id),
    [again.id],
  );
  // or the destroy's sweep by name: nothing of the cluster's left
  assert.deepEqual(await deleteClusterCredentials(operator.session, uid), [again.id]);
  assert.deepEqual(await findApplicationCredentials(operator.session, ccmCredentialName(uid)), []);
});
