import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, rfc3339, since } from './duration.ts';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('humanDuration matches apimachinery HumanDuration', () => {
  const cases: [number, string][] = [
    [-3 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 2 * s, '3m2s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [4 * h + 5 * m, '4h5m'],
    [8 * h + 30 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 3 * h, '2d3h'],
    [8 * d, '8d'],
    [12 * d + 5 * h, '12d'],
    [729 * d, '729d'],
    [2 * 365 * d + 10 * d, '2y10d'],
    [3 * 365 * d, '3y'],
    [9 * 365 * d + 40 * d, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('since and rfc3339 handle missing timestamps like upstream', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.equal(since('2024-05-01T11:57:00Z', now), '3m');
  assert.equal(since(undefined, now), '<unknown>');
  assert.equal(since('not a time', now), '<unknown>');
  assert.equal(rfc3339('2024-05-01T11:57:00.123456Z'), '2024-05-01T11:57:00Z');
  assert.equal(rfc3339(null), '0001-01-01T00:00:00Z');
});
