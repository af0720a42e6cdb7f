import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleflightCache } from './cache.ts';
import { ManualClock } from './clock.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('cache: 100 concurrent gets of a missing key run the loader once and share its value', async () => {
  const cache = new SingleflightCache<string>({ clock: new ManualClock() });
  const d = deferred<void>();
  let loads = 0;
  const all = Array.from({ length: 100 }, () =>
    cache.get('k', async () => {
      loads++;
      await d.promise;
      return { value: 'v', ttlMs: 1000 };
    }),
  );
  d.resolve();
  assert.deepEqual(new Set(await Promise.all(all)), new Set(['v']));
  assert.equal(loads, 1);
  assert.equal(cache.stats.joined, 99);
});

test('cache: a value is served until its TTL, then loaded again', async () => {
  const clock = new ManualClock();
  const cache = new SingleflightCache<number>({ clock });
  let loads = 0;
  const load = async () => ({ value: ++loads, ttlMs: 1000 });
  assert.equal(await cache.get('k', load), 1);
  clock.advance(999);
  assert.equal(await cache.get('k', load), 1);
  clock.advance(1);
  assert.equal(await cache.get('k', load), 2);
});

test('cache: a failed load reaches every waiter, is not cached, and the next get loads again', async () => {
  const cache = new SingleflightCache<string>({ clock: new ManualClock() });
  const d = deferred<{ value: string; ttlMs: number }>();
  let loads = 0;
  const failing = () => {
    loads++;
    return d.promise;
  };
  const waiters = Array.from({ length: 5 }, () => cache.get('k', failing));
  d.reject(new Error('upstream down'));
  for (const w of waiters) await assert.rejects(w, /upstream down/);
  assert.equal(loads, 1);
  assert.equal(cache.size, 0);
  assert.equal(await cache.get('k', async () => ({ value: 'ok', ttlMs: 1000 })), 'ok');
});

test('cache: a loader that throws synchronously does not leave a stuck flight', async () => {
  const cache = new SingleflightCache<string>();
  await assert.rejects(
    cache.get('k', () => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(await cache.get('k', async () => ({ value: 'ok', ttlMs: 10 })), 'ok');
});

test('cache: ttlMs <= 0 is returned but not kept', async () => {
  const cache = new SingleflightCache<string>({ clock: new ManualClock() });
  let loads = 0;
  const load = async () => ({ value: `v${++loads}`, ttlMs: 0 });
  assert.equal(await cache.get('k', load), 'v1');
  assert.equal(await cache.get('k', load), 'v2');
  assert.equal(cache.size, 0);
});

test('cache: delete during a load: waiters get the result, it is not cached, new callers load afresh', async () => {
  const cache = new SingleflightCache<string>({ clock: new ManualClock() });
  const d = deferred<void>();
  const first = cache.get('k', async () => {
    await d.promise;
    return { value: 'old', ttlMs: 1000 };
  });
  await Promise.resolve();
  cache.delete('k');
  const second = cache.get('k', async () => ({ value: 'new', ttlMs: 1000 }));
  d.resolve();
  assert.equal(await first, 'old');
  assert.equal(await second, 'new');
  assert.equal(cache.peek('k'), 'new');
});

test('cache: beyond maxEntries the oldest entries go', async () => {
  const cache = new SingleflightCache<number>({ clock: new ManualClock(), maxEntries: 3 });
  for (let i = 0; i < 5; i++) await cache.get(`k${i}`, async () => ({ value: i, ttlMs: 1000 }));
  assert.equal(cache.size, 3);
  assert.equal(cache.peek('k0'), undefined);
  assert.equal(cache.peek('k1'), undefined);
  assert.equal(cache.peek('k4'), 4);
  assert.equal(cache.stats.evictions, 2);
});

test('cache: deleteWhere drops the matching keys only', async () => {
  const cache = new SingleflightCache<number>({ clock: new ManualClock() });
  for (const k of ['a|1', 'a|2', 'b|1']) await cache.get(k, async () => ({ value: 1, ttlMs: 1000 }));
  cache.deleteWhere((k) => k.startsWith('a|'));
  assert.deepEqual(
    ['a|1', 'a|2', 'b|1'].map((k) => cache.peek(k)),
    [undefined, undefined, 1],
  );
});
