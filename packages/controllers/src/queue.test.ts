import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Timers } from './queue.ts';
import { WorkQueue, backoffDelayMs } from './queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key is queued at most once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  await q.shutdown();
});

test('a key added while in flight is queued again after done, not handed out twice', async () => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while in flight');
  q.done('a');
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.len(), 0);
  await q.shutdown();
});

test('get waits for an add; shutdown releases waiting getters with undefined', async () => {
  const q = new WorkQueue();
  const first = q.get();
  q.add('x');
  assert.equal(await first, 'x');
  const waiting = q.get();
  await q.shutdown();
  assert.equal(await waiting, undefined);
  assert.equal(await q.get(), undefined);
  q.add('y');
  assert.equal(q.len(), 0, 'adds after shutdown are ignored');
});

test('shutdown can wait for keys in flight', async () => {
  const q = new WorkQueue();
  q.add('a');
  await q.get();
  let finished = false;
  const s = q.shutdown({ waitForInFlight: true }).then(() => (finished = true));
  await sleep(10);
  assert.equal(finished, false);
  q.done('a');
  await s;
  assert.equal(finished, true);
});

test('addAfter delays; the earliest of several delays wins', async () => {
  const q = new WorkQueue();
  q.addAfter('a', 200);
  q.addAfter('a', 20);
  q.addAfter('a', 500);
  assert.equal(q.len(), 0);
  assert.equal(q.delayed(), 1);
  const t0 = Date.now();
  assert.equal(await q.get(), 'a');
  const waited = Date.now() - t0;
  assert.ok(waited >= 15 && waited < 180, `waited ${waited} ms`);
  assert.equal(q.delayed(), 0);
  await q.shutdown();
});

test('shutdown clears pending delays so the process can exit', async () => {
  const q = new WorkQueue();
  q.addAfter('a', 60_000);
  q.addRateLimited('b');
  await q.shutdown();
  assert.equal(q.delayed(), 0);
});

test('backoff doubles per failure, is capped, jitter only shortens it', () => {
  const o = { baseDelayMs: 5, maxDelayMs: 1000, jitter: 0.2 };
  const table: [number, number, number][] = [
    // failures, random, expected
    [0, 0, 5],
    [1, 0, 10],
    [4, 0, 80],
    [4, 0.5, 72],
    [8, 0, 1000],
    [20, 0, 1000],
    [20, 0.999999, 800.0002],
    [10_000, 0, 1000],
  ];
  for (const [n, r, want] of table) {
    const got = backoffDelayMs(n, o, () => r);
    assert.ok(Math.abs(got - want) < 1e-3, `failures=${n} random=${r}: ${got} != ${want}`);
  }
});

test('addRateLimited counts requeues and forget resets them', async () => {
  const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 4, random: () => 0 });
  for (let i = 0; i < 5; i++) {
    q.addRateLimited('k');
    assert.equal(await q.get(), 'k');
    q.done('k');
  }
  assert.equal(q.numRequeues('k'), 5);
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  await q.shutdown();
});

test('rate limited delays grow with failures', async () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 10_000, jitter: 0 });
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now();
    q.addRateLimited('k');
    await q.get();
    q.done('k');
    times.push(Date.now() - t0);
  }
  // 10, 20, 40, 80 ms (timers never fire early; allow scheduling slack above)
  assert.ok(times[3]! >= 75, `${times.join(',')}`);
  assert.ok(times[0]! < times[3]!, `${times.join(',')}`);
  await q.shutdown();
});

/** A manual clock: advance(ms) fires due timers in time order. */
class FakeTimers implements Timers {
  #now = 0;
  #next = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

test('with injected timers: the exact backoff schedule, capped, and no timer after shutdown', () => {
  const timers = new FakeTimers();
  const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 0.5, timers });
  const readyAfter: number[] = [];
  for (let i = 0; i < 6; i++) {
    q.addRateLimited('k');
    let waited = 0;
    while (q.len() === 0) {
      timers.advance(1);
      waited++;
    }
    readyAfter.push(waited);
    // Take it and finish it, as a worker would.
    void q.get();
    q.done('k');
  }
  // 100·2^n · (1 − 0.5·0.5), capped at 1000 before jitter: 75, 150, 300, 600, 750, 750
  assert.deepEqual(readyAfter, [75, 150, 300, 600, 750, 750]);
  q.addAfter('later', 10_000);
  assert.equal(timers.pending, 1);
  void q.shutdown();
  assert.equal(timers.pending, 0);
});
