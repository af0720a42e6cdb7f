import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSONPathError, evaluateJSONPath, jsonPathText, parseJSONPath } from './jsonpath.ts';

const obj = {
  metadata: { name: 'a', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: { replicas: 3, items: [{ name: 'x' }, { name: 'y' }] },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', count: 2 },
      { type: 'Synced', status: 'False', count: 5 },
    ],
  },
};

test('evaluateJSONPath: the forms CRD printer columns use', () => {
  const cases: [string, unknown[]][] = [
    ['.spec.replicas', [3]],
    ['{.spec.replicas}', [3]],
    ['.spec.missing', []],
    ['.spec.items[0].name', ['x']],
    ['.spec.items[-1].name', ['y']],
    ['.spec.items[*].name', ['x', 'y']],
    ['.spec.items[5].name', []],
    [".metadata.labels['app.kubernetes.io/name']", ['web']],
    ['.metadata.labels.app\\.kubernetes\\.io/name', ['web']],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    [".status.conditions[?(@.type!='Ready')].type", ['Synced']],
    ['.status.conditions[?(@.count>3)].type', ['Synced']],
    ['.status.conditions[?(@.missing)].type', []],
    ['.metadata.*', ['a', { 'app.kubernetes.io/name': 'web' }]],
  ];
  for (const [path, want] of cases) assert.deepEqual(evaluateJSONPath(parseJSONPath(path), obj), want, path);
});

test('parseJSONPath rejects what it cannot evaluate', () => {
  for (const bad of ['.spec[', '.spec[?(@.a =~ /x/)]', '.spec..x']) {
    assert.throws(() => parseJSONPath(bad), JSONPathError, bad);
  }
});

test('jsonPathText renders like Go fmt.Sprint of decoded JSON', () => {
  const cases: [unknown, string][] = [
    ['s', 's'],
    [3, '3'],
    [true, 'true'],
    [['a', 1], '[a 1]'],
    [{ b: 1, a: 'x' }, 'map[a:x b:1]'],
    [null, '<nil>'],
  ];
  for (const [v, want] of cases) assert.equal(jsonPathText(v), want);
});
