import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, REDACTED, redactString } from './redact.ts';

const TOKEN = 'kaas_' + 'A'.repeat(42) + 'E';
const FERNET = 'gAAAAABh' + 'x'.repeat(120);

test('redact: values under secret-looking keys are replaced, at any depth', () => {
  const out = redact({
    auth: {
      identity: { password: { user: { name: 'alice', password: 'hunter2' } } },
      application_credential: { id: 'ac1', secret: 's3cret' },
    },
    headers: { 'X-Auth-Token': FERNET, authorization: 'Bearer abc', accept: 'application/json' },
    spec: { token: TOKEN },
    passwordHash: 'scrypt$...',
    passwords: ['first-pw', 'second-pw'],
  });
  const json = JSON.stringify(out);
  for (const secret of ['hunter2', 's3cret', FERNET, 'abc', TOKEN, 'scrypt$', 'first-pw', 'second-pw'])
    assert.ok(!json.includes(secret), `${secret} leaked: ${json}`);
  assert.ok(json.includes('alice'));
  assert.ok(json.includes('application/json'));
  assert.equal((out as { spec: { token: string } }).spec.token, REDACTED);
});

test('redact: secrets inside free text are masked', () => {
  const s = redactString(
    `failed with Authorization: Bearer ${TOKEN} and subject ${FERNET} (Basic dXNlcjpwYXNz)`,
  );
  assert.ok(!s.includes(TOKEN.slice(5)));
  assert.ok(!s.includes(FERNET));
  assert.ok(!s.includes('dXNlcjpwYXNz'));
  assert.match(s, /Bearer \[REDACTED\]/);
});

test('redact: Headers, Maps, Errors, cycles and buffers are safe to log', () => {
  const h = new Headers({ 'x-subject-token': 'tok', 'content-type': 'application/json' });
  const cyclic: Record<string, unknown> = { name: 'x' };
  cyclic.self = cyclic;
  const out = redact({
    h,
    m: new Map([['cookie', 'c=1']]),
    e: new Error(`bad token ${TOKEN}`),
    cyclic,
    b: Buffer.from('secret bytes'),
  }) as Record<string, any>;
  assert.deepEqual(out.h, { 'content-type': 'application/json', 'x-subject-token': REDACTED });
  assert.deepEqual(out.m, { cookie: REDACTED });
  assert.equal(out.e.name, 'Error');
  assert.ok(!out.e.message.includes(TOKEN));
  assert.equal(out.cyclic.self, '[Circular]');
  assert.equal(out.b, '[12 bytes]');
});

test('redact: the input is not modified', () => {
  const input = { password: 'p' };
  redact(input);
  assert.equal(input.password, 'p');
});
