import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryOidcStore } from './oidc-adapter.ts';

function setup() {
  let nowMs = 1_000_000;
  const store = new MemoryOidcStore({ now: () => nowMs });
  const adapter = store.factory();
  return { store, adapter, advance: (ms: number) => (nowMs += ms) };
}

test('records expire after expiresIn seconds; records without it stay', async () => {
  const { adapter, advance } = setup();
  const codes = adapter('AuthorizationCode');
  await codes.upsert('c1', { grantId: 'g1' }, 60);
  await codes.upsert('c2', { grantId: 'g1' });
  advance(59_000);
  assert.deepEqual(await codes.find('c1'), { grantId: 'g1' });
  advance(1_000);
  assert.equal(await codes.find('c1'), undefined);
  assert.deepEqual(await codes.find('c2'), { grantId: 'g1' });
});

test('models are kept apart; stored payloads are copies', async () => {
  const { adapter } = setup();
  const payload = { accountId: 'a' };
  await adapter('AccessToken').upsert('x', payload, 10);
  payload.accountId = 'changed';
  assert.equal(await adapter('RefreshToken').find('x'), undefined);
  assert.deepEqual(await adapter('AccessToken').find('x'), { accountId: 'a' });
});

test('sessions by uid, device codes by user code; destroy drops the indexes', async () => {
  const { adapter } = setup();
  const sessions = adapter('Session');
  await sessions.upsert('cookie-1', { uid: 'u1', accountId: 'a' }, 100);
  assert.deepEqual(await sessions.findByUid('u1'), { uid: 'u1', accountId: 'a' });
  await sessions.destroy('cookie-1');
  assert.equal(await sessions.findByUid('u1'), undefined);
  const devices = adapter('DeviceCode');
  await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 100);
  assert.deepEqual(await devices.findByUserCode('ABCD-EFGH'), { userCode: 'ABCD-EFGH' });
});

test('consume marks a record; revokeByGrantId drops every token of the grant and nothing else', async () => {
  const { adapter, store } = setup();
  const codes = adapter('AuthorizationCode');
  const refresh = adapter('RefreshToken');
  await codes.upsert('c', { grantId: 'g' }, 60);
  await refresh.upsert('r', { grantId: 'g' }, 3600);
  await refresh.upsert('other', { grantId: 'h' }, 3600);
  await codes.consume('c');
  assert.equal(typeof (await codes.find('c'))?.consumed, 'number');
  await refresh.revokeByGrantId('g');
  assert.equal(await codes.find('c'), undefined);
  assert.equal(await refresh.find('r'), undefined);
  assert.deepEqual(await refresh.find('other'), { grantId: 'h' });
  assert.equal(store.size, 1);
});

test('sweep drops expired records', async () => {
  const { adapter, store, advance } = setup();
  for (let i = 0; i < 5; i++) await adapter('Interaction').upsert(`i${i}`, {}, 10);
  await adapter('Grant').upsert('g', {}, 1000);
  advance(11_000);
  store.sweep();
  assert.equal(store.size, 1);
});
