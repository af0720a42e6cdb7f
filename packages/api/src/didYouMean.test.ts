import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didYouMean, editDistance } from './didYouMean.ts';

test('editDistance', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['abc', '', 3],
    ['nodepools', 'nodePools', 0],
    ['lables', 'labels', 1], // transposition
    ['replica', 'replicas', 1],
    ['kitten', 'sitting', 3],
  ];
  for (const [a, b, d] of cases) assert.equal(editDistance(a, b), d, `${a} ${b}`);
});

test('didYouMean suggests close names only', () => {
  const fields = ['name', 'replicas', 'machineType', 'diskGiB', 'labels', 'taints'];
  const cases: [string, string | undefined][] = [
    ['nme', 'name'],
    ['replica', 'replicas'],
    ['machinetype', 'machineType'],
    ['lables', 'labels'],
    ['zones', undefined],
    ['x', undefined],
    ['a'.repeat(1000), undefined],
  ];
  for (const [input, expected] of cases) assert.equal(didYouMean(input, fields), expected, input);
});
