import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { ExchangeRateLimiter, normalizeAddress, TokenBucketLimiter } from './ratelimit.ts';

test('token bucket: a burst of `capacity`, then refusals with the time until the next token', () => {
  const clock = new ManualClock();
  const l = new TokenBucketLimiter({ capacity: 3, refillPerSecond: 0.5, clock });
  assert.deepEqual(
    [1, 2, 3].map(() => l.take('k').allowed),
    [true, true, true],
  );
  assert.deepEqual(l.take('k'), { allowed: false, retryAfterMs: 2000 });
  clock.advance(1999);
  assert.equal(l.take('k').allowed, false);
  clock.advance(1);
  assert.equal(l.take('k').allowed, true);
  assert.equal(l.take('k').allowed, false);
});

test('token bucket: refill never exceeds capacity; keys are independent', () => {
  const clock = new ManualClock();
  const l = new TokenBucketLimiter({ capacity: 2, refillPerSecond: 1, clock });
  l.take('a');
  l.take('a');
  clock.advance(60_000);
  assert.deepEqual(
    [1, 2, 3].map(() => l.take('a').allowed),
    [true, true, false],
  );
  assert.equal(l.take('b').allowed, true);
});

test('token bucket: check() takes nothing', () => {
  const l = new TokenBucketLimiter({ capacity: 1, refillPerSecond: 1, clock: new ManualClock() });
  assert.equal(l.check('k').allowed, true);
  assert.equal(l.check('k').allowed, true);
  assert.equal(l.take('k').allowed, true);
  assert.equal(l.check('k').allowed, false);
});

test('token bucket: memory stays bounded by maxKeys', () => {
  const clock = new ManualClock();
  const l = new TokenBucketLimiter({ capacity: 5, refillPerSecond: 1, clock, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) l.take(`k${i}`);
  assert.ok(l.size <= 100, `size ${l.size}`);
});

test('exchange limiter: one user guessed from many addresses is limited per user', () => {
  const clock = new ManualClock();
  const l = new ExchangeRateLimiter({
    perUser: { capacity: 3, refillPerSecond: 0.1 },
    perSource: { capacity: 100, refillPerSecond: 10 },
    clock,
  });
  const results = Array.from({ length: 5 }, (_, i) => l.take({ user: 'Alice', source: `10.0.0.${i}` }));
  assert.deepEqual(
    results.map((r) => r.allowed),
    [true, true, true, false, false],
  );
  assert.equal(results[3]!.limitedBy, 'user');
  // names are case-folded
  assert.equal(l.take({ user: 'alice', source: '10.0.0.99' }).allowed, false);
  assert.equal(l.take({ user: 'bob', source: '10.0.0.99' }).allowed, true);
});

test('exchange limiter: many users from one address are limited per source, without draining the users', () => {
  const clock = new ManualClock();
  const l = new ExchangeRateLimiter({
    perUser: { capacity: 1, refillPerSecond: 0.01 },
    perSource: { capacity: 2, refillPerSecond: 0.01 },
    clock,
  });
  assert.equal(l.take({ user: 'u1', source: '192.0.2.1' }).allowed, true);
  assert.equal(l.take({ user: 'u2', source: '192.0.2.1' }).allowed, true);
  const refused = l.take({ user: 'u3', source: '192.0.2.1' });
  assert.equal(refused.allowed, false);
  assert.equal(refused.limitedBy, 'source');
  assert.ok(refused.retryAfterMs > 0);
  // u3's own bucket was not touched by the refused request
  assert.equal(l.take({ user: 'u3', source: '192.0.2.2' }).allowed, true);
});

test('exchange limiter: IPv6 counts per /64 and IPv4-mapped addresses as IPv4', () => {
  const cases: [string, string][] = [
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:0:0:9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeAddress(input), want, input);
});
