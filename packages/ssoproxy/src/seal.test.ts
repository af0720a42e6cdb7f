import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Sealer } from './seal.ts';

const A = 'a'.repeat(32);
const B = 'b'.repeat(40);

describe('Sealer', () => {
  test('round-trips, and every seal differs (random IV)', () => {
    const s = new Sealer([A]);
    const one = s.seal('c', 'hello');
    const two = s.seal('c', 'hello');
    assert.notEqual(one, two);
    assert.equal(s.open('c', one), 'hello');
    assert.ok(!one.includes('hello'));
    assert.match(one, /^v1\.[A-Za-z0-9_-]+$/);
  });

  test('refuses tampering, another name, another key and garbage', () => {
    const s = new Sealer([A]);
    const sealed = s.seal('c', '{"admin":false}');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[20] = raw[20]! ^ 1;
    for (const bad of [
      `v1.${raw.toString('base64url')}`,
      sealed.slice(0, -2),
      'v1.',
      'v0.abc',
      '',
      'v1.!!!!',
    ])
      assert.equal(s.open('c', bad), undefined, bad);
    assert.equal(s.open('other', sealed), undefined, 'bound to the cookie name');
    assert.equal(new Sealer([B]).open('c', sealed), undefined, 'another key');
  });

  test('rotation: the first secret seals, all open', () => {
    const old = new Sealer([A]).seal('c', 'x');
    const rotated = new Sealer([B, A]);
    assert.equal(rotated.open('c', old), 'x');
    assert.equal(new Sealer([A]).open('c', rotated.seal('c', 'y')), undefined);
  });

  test('short or missing secrets are refused', () => {
    assert.throws(() => new Sealer([]), /at least one/);
    assert.throws(() => new Sealer(['short']), /secrets\[0\]: must be at least 32/);
  });
});
