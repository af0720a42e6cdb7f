// The node bootstrap token refresh (bootstrapToken.ts) on a fake clock, with the Secret in a real
// API server, and the registrar writing kubeadm's token Secret into a real API server over HTTPS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { createCA } from '@kaas/apiserver';
import { InProcessClient } from '@kaas/controllers';
import type { Cluster } from '@kaas/api';
import { startTestServer } from '../../../../test/support/apiserver.ts';
import { installManagementAPI } from './management.ts';
import { ensureNodeBootstrapSecret, nodeBootstrapSecretName } from './nodeBootstrap.ts';
import {
  BOOTSTRAP_TOKEN_REFRESH_BEFORE_MS as BEFORE,
  BOOTSTRAP_TOKEN_TTL_MS as TTL,
  refreshBootstrapToken,
  tokenKeys,
  workloadTokenRegistrar,
  type TokenRegistrar,
} from './bootstrapToken.ts';
import { openStackClusterObject } from './testing.ts';

const H = 3600_000;
const clusterObject = openStackClusterObject('demo');

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const s = await startTestServer();
  t.after(() => s.stop());
  await installManagementAPI(s.server);
  const client = new InProcessClient(s.server);
  const cluster = (await client.create('root', clusterObject as never)) as unknown as Cluster;
  const made = await ensureNodeBootstrapSecret(client, cluster, await createCA('kaas-test-ca'));
  const ref = {
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: 'default',
    name: nodeBootstrapSecretName(cluster),
  };
  const secret = await client.get(ref);
  const created = Date.parse(secret.metadata.creationTimestamp!);
  const data = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      Object.entries(((await client.get(ref)) as unknown as { data: Record<string, string> }).data).map(
        ([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')],
      ),
    );
  return { s, client, cluster, first: made.secrets.bootstrapToken, created, data };
}

/** A registrar that remembers what it put in place (the cluster side, for the clock tests). */
function recorder() {
  const placed = new Map<string, Date>();
  let failWith: Error | undefined;
  const register: TokenRegistrar = async (token, expiresAt) => {
    if (failWith) throw failWith;
    placed.set(token, expiresAt);
  };
  return {
    placed,
    register,
    fail: (e: Error | undefined) => {
      failWith = e;
    },
  };
}

test('bootstrap token: kept until 8 h before expiry, then a new one put in place first and made current; the old one never removed', async (t) => {
  const { client, cluster, first, created, data } = await setup(t);
  const r = recorder();
  let now = created + 1 * H;
  const pass = () => refreshBootstrapToken({ client, cluster, register: r.register, now: () => now });

  // fresh: nothing to do; look again when the refresh is due (created + 24 h - 8 h)
  let res = await pass();
  assert.equal(res.refreshed, false);
  assert.equal(res.token, first);
  assert.equal(res.expiresAt.getTime(), created + TTL); // no recorded expiry: creation + TTL
  assert.equal(res.requeueAfterMs, TTL - BEFORE - 1 * H);
  assert.equal(r.placed.size, 0);

  // due: the cluster cannot be reached. The next token is recorded, the current one stays
  now = created + TTL - BEFORE + 1;
  r.fail(new Error('connect ECONNREFUSED 203.0.113.10:6443'));
  res = await pass();
  assert.equal(res.refreshed, false);
  assert.equal(res.token, first, 'new servers keep the current token');
  assert.equal(res.requeueAfterMs, 60_000);
  assert.match(res.error ?? '', /could not be put in place.*ECONNREFUSED.*keep the current one/);
  const pending = (await data())[tokenKeys.next];
  assert.match(pending!, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.equal((await data())[tokenKeys.current], first);

  // a minute later it answers: the same recorded token is put in place, then made current
  now += 60_000;
  r.fail(undefined);
  res = await pass();
  assert.equal(res.refreshed, true);
  assert.equal(res.token, pending);
  assert.deepEqual([...r.placed.keys()], [pending]);
  // valid for the TTL from when it was recorded
  const recordedAt = now - 60_000;
  assert.equal(res.expiresAt.getTime(), recordedAt + TTL);
  assert.equal(r.placed.get(pending!)!.getTime(), recordedAt + TTL);
  assert.equal(res.requeueAfterMs, TTL - BEFORE - 60_000);
  const d = await data();
  assert.equal(d[tokenKeys.current], pending);
  assert.equal(d[tokenKeys.currentExpires], new Date(recordedAt + TTL).toISOString());
  assert.equal(d[tokenKeys.next], undefined);
  assert.equal(d[tokenKeys.nextExpires], undefined);
  // the rest of the Secret is untouched (the CA above all)
  assert.ok(d['ca.key']?.includes('PRIVATE KEY'));

  // the next refresh fails for so long that its recorded token would not last 8 h: a new one
  now = recordedAt + TTL - BEFORE;
  r.fail(new Error('no route to host'));
  await pass();
  const stale = (await data())[tokenKeys.next];
  now += TTL - BEFORE + 1; // 16 h of failures
  r.fail(undefined);
  res = await pass();
  assert.equal(res.refreshed, true);
  assert.notEqual(res.token, stale);
  assert.equal(res.expiresAt.getTime(), now + TTL);
  assert.ok(!r.placed.has(stale!), 'the stale token was never put in place');
});

test('bootstrap token: over 5 days of passes at the requeue times, every token handed out is valid for 8 h more and in place', async (t) => {
  const { client, cluster, created } = await setup(t);
  const r = recorder();
  let now = created;
  const end = created + 5 * 24 * H;
  let refreshes = 0;
  let passes = 0;
  while (now < end) {
    const res = await refreshBootstrapToken({ client, cluster, register: r.register, now: () => now });
    passes++;
    if (res.refreshed) refreshes++;
    // what a node added right now would get
    assert.ok(
      res.expiresAt.getTime() - now >= BEFORE,
      `at +${(now - created) / H} h the token has < 8 h left`,
    );
    if (refreshes > 0)
      assert.ok(r.placed.has(res.token), 'a refreshed token is handed out only once in place');
    assert.ok(res.requeueAfterMs > 0);
    now += res.requeueAfterMs;
  }
  // 24 h TTL, refreshed 8 h early: every 16 h -> 7 refreshes in 5 days (at 16, 32, ... 112 h)
  assert.equal(refreshes, 7);
  assert.equal(passes, 8);
});

test('bootstrap token: two passes at once make one next token, registered and current', async (t) => {
  const { client, cluster, created, data } = await setup(t);
  const r = recorder();
  const now = created + TTL - BEFORE + 1;
  const [a, b] = await Promise.all([
    refreshBootstrapToken({ client, cluster, register: r.register, now: () => now }),
    refreshBootstrapToken({ client, cluster, register: r.register, now: () => now }),
  ]);
  assert.equal(a.token, b.token);
  assert.equal(r.placed.size, 1);
  assert.equal((await data())[tokenKeys.current], a.token);
});

test("workloadTokenRegistrar writes kubeadm's bootstrap token Secret over HTTPS; the same token again is fine", async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const kc = parse(await readFile(s.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const dec = (v: string): string => Buffer.from(v, 'base64').toString('utf8');
  const register = workloadTokenRegistrar({
    url: s.url,
    caPem: dec(kc.clusters[0]!.cluster['certificate-authority-data']),
    clientCertPem: dec(kc.users[0]!.user['client-certificate-data']),
    clientKeyPem: dec(kc.users[0]!.user['client-key-data']),
  });
  const expires = new Date('2026-12-08T10:00:00.000Z');
  await register('abcdef.0123456789abcdef', expires);
  await register('abcdef.0123456789abcdef', expires); // 409: in place already
  const client = new InProcessClient(s.server);
  const got = (await client.get({
    cluster: 'root',
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: 'kube-system',
    name: 'bootstrap-token-abcdef',
  })) as unknown as { type: string; data: Record<string, string> };
  assert.equal(got.type, 'bootstrap.kubernetes.io/token');
  const d = Object.fromEntries(Object.entries(got.data).map(([k, v]) => [k, dec(v)]));
  assert.equal(d['token-id'], 'abcdef');
  assert.equal(d['token-secret'], '0123456789abcdef');
  assert.equal(d.expiration, '2026-12-08T10:00:00Z');
  assert.equal(d['usage-bootstrap-authentication'], 'true');
  assert.equal(d['auth-extra-groups'], 'system:bootstrappers:kubeadm:default-node-token');
  // an API that refuses is an error with its answer, not a silent pass
  const refused = workloadTokenRegistrar({ url: s.url, clientCertPem: 'x', clientKeyPem: 'y' });
  await assert.rejects(refused('abcdef.0123456789abcdef', expires));
});
