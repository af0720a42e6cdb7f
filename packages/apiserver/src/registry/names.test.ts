import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPathSegmentName,
  validateName,
} from './names.ts';

test('name rules accept and reject what apimachinery does', () => {
  const cases: [string, (s: string) => string[], string, boolean][] = [
    ['label', isDNS1123Label, 'my-name', true],
    ['label', isDNS1123Label, '123-abc', true],
    ['label', isDNS1123Label, 'a.b', false],
    ['label', isDNS1123Label, 'A', false],
    ['label', isDNS1123Label, 'a'.repeat(63), true],
    ['label', isDNS1123Label, 'a'.repeat(64), false],
    ['subdomain', isDNS1123Subdomain, 'example.com', true],
    ['subdomain', isDNS1123Subdomain, '-example.com', false],
    [
      'subdomain',
      isDNS1123Subdomain,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
      true,
    ],
    [
      'subdomain',
      isDNS1123Subdomain,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`,
      false,
    ],
    ['dns1035', isDNS1035Label, 'web', true],
    ['dns1035', isDNS1035Label, '1web', false],
    ['qualified', isQualifiedName, 'app.kubernetes.io/name', true],
    ['qualified', isQualifiedName, 'MyName', true],
    ['qualified', isQualifiedName, 'a/b/c', false],
    ['qualified', isQualifiedName, '/name', false],
    ['qualified', isQualifiedName, 'Example.com/name', false],
    ['qualified', isQualifiedName, 'bad key', false],
    ['labelValue', isValidLabelValue, '', true],
    ['labelValue', isValidLabelValue, 'my_value', true],
    ['labelValue', isValidLabelValue, '-x', false],
    ['path', isValidPathSegmentName, 'system:controller:foo', true],
    ['path', isValidPathSegmentName, '..', false],
    ['path', isValidPathSegmentName, 'a/b', false],
  ];
  for (const [rule, fn, value, ok] of cases) {
    assert.equal(fn(value).length === 0, ok, `${rule}(${JSON.stringify(value)}): ${fn(value).join('; ')}`);
  }
});

test('messages are upstream wording', () => {
  assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
  assert.deepEqual(isDNS1123Label('A'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(isDNS1123Subdomain('x'.repeat(254)).slice(0, 1), ['must be no more than 253 characters']);
  assert.deepEqual(isQualifiedName('/name'), ['prefix part must be non-empty']);
  assert.deepEqual(isValidPathSegmentName('a%b'), ["may not contain '%'"]);
});

test('generateName prefixes may end in a dash', () => {
  assert.deepEqual(validateName('subdomain', 'web-', true), []);
  assert.notDeepEqual(validateName('subdomain', 'web-', false), []);
  assert.deepEqual(validateName('label', 'ns-', true), []);
  assert.deepEqual(validateName('none', 'Anything At All', false), []);
});
