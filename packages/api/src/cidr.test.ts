import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrSize, cidrsOverlap, formatCidr, hasHostBits, parseCidr, type Cidr } from './cidr.ts';

function cidr(text: string): Cidr {
  const p = parseCidr(text);
  if (!p.ok) throw new Error(`${text}: ${p.reason}`);
  return p.cidr;
}

test('parseCidr accepts valid ranges and normalises them', () => {
  const cases: { input: string; family: string; canonical: string; hostBits: boolean }[] = [
    { input: '10.0.0.0/8', family: 'IPv4', canonical: '10.0.0.0/8', hostBits: false },
    { input: '0.0.0.0/0', family: 'IPv4', canonical: '0.0.0.0/0', hostBits: false },
    { input: '192.168.1.7/32', family: 'IPv4', canonical: '192.168.1.7/32', hostBits: false },
    { input: '10.0.0.1/24', family: 'IPv4', canonical: '10.0.0.0/24', hostBits: true },
    { input: 'fd00::/8', family: 'IPv6', canonical: 'fd00::/8', hostBits: false },
    { input: '2001:db8:0:0:0:0:0:0/32', family: 'IPv6', canonical: '2001:db8::/32', hostBits: false },
    { input: '2001:db8::1/64', family: 'IPv6', canonical: '2001:db8::/64', hostBits: true },
    { input: '::ffff:10.0.0.0/120', family: 'IPv6', canonical: '::ffff:a00:0/120', hostBits: false },
    { input: '::/0', family: 'IPv6', canonical: '::/0', hostBits: false },
  ];
  for (const c of cases) {
    const parsed = cidr(c.input);
    assert.equal(parsed.family, c.family, c.input);
    assert.equal(formatCidr(parsed), c.canonical, c.input);
    assert.equal(hasHostBits(parsed), c.hostBits, c.input);
  }
});

test('parseCidr rejects malformed text with a reason', () => {
  const cases: { input: string; reason: RegExp }[] = [
    { input: '10.0.0.0', reason: /prefix length/ },
    { input: '10.0.0/8', reason: /valid IPv4 or IPv6/ },
    { input: '256.0.0.0/8', reason: /valid IPv4 or IPv6/ },
    { input: '010.0.0.0/8', reason: /valid IPv4 or IPv6/ },
    { input: '10.0.0.0/33', reason: /0 to 32/ },
    { input: '10.0.0.0/-1', reason: /0 to 32/ },
    { input: '10.0.0.0/08', reason: /0 to 32/ },
    { input: 'fd00::/129', reason: /0 to 128/ },
    { input: '1::2::3/64', reason: /valid IPv4 or IPv6/ },
    { input: '1:2:3:4:5:6:7:8:9/64', reason: /valid IPv4 or IPv6/ },
    { input: 'fffff::/64', reason: /valid IPv4 or IPv6/ },
    { input: 'cat/8', reason: /valid IPv4 or IPv6/ },
    { input: '', reason: /prefix length/ },
  ];
  for (const c of cases) {
    const p = parseCidr(c.input);
    assert.equal(p.ok, false, c.input);
    if (!p.ok) assert.match(p.reason, c.reason, c.input);
  }
});

test('cidrsOverlap and cidrSize', () => {
  const cases: { a: string; b: string; overlap: boolean }[] = [
    { a: '10.0.0.0/16', b: '10.0.255.0/24', overlap: true },
    { a: '10.0.0.0/16', b: '10.1.0.0/16', overlap: false },
    { a: '10.96.0.0/12', b: '10.100.0.0/16', overlap: true },
    { a: '10.96.0.0/12', b: '10.112.0.0/16', overlap: false },
    { a: '0.0.0.0/0', b: '192.168.0.0/16', overlap: true },
    { a: '10.0.0.0/8', b: 'fd00::/8', overlap: false },
    { a: 'fd00::/8', b: 'fd12:3456::/32', overlap: true },
  ];
  for (const c of cases) {
    assert.equal(cidrsOverlap(cidr(c.a), cidr(c.b)), c.overlap, `${c.a} ${c.b}`);
    assert.equal(cidrsOverlap(cidr(c.b), cidr(c.a)), c.overlap, `${c.b} ${c.a}`);
  }
  assert.equal(cidrSize(cidr('10.0.0.0/24')), 256n);
  assert.equal(cidrSize(cidr('fd00::/64')), 2n ** 64n);
});
