import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.ts';
import { labelSelectorFromObject, labelSelectorString, matches, parseLabelSelector } from './labels.ts';

test('parseLabelSelector + matches: every operator', () => {
  const labels = { app: 'web', tier: 'frontend', version: '3' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['app notin (db)', true],
    ['missing notin (db)', true],
    ['app notin (web)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    [' app = web , tier in ( frontend ) ', true],
    ['version>2', true],
    ['version<2', false],
    ['missing>1', false],
    ['app=', false],
    ['empty=', true],
    ['in in (in)', false],
  ];
  for (const [sel, want] of cases) {
    const ls = sel === 'empty=' ? { ...labels, empty: '' } : labels;
    assert.equal(matches(parseLabelSelector(sel), ls), want, sel);
  }
});

test('parseLabelSelector: sorted requirements, sorted values, canonical string', () => {
  const s = parseLabelSelector('z in (b,a),a=1,!m');
  assert.deepEqual(
    s.requirements.map((r) => r.key),
    ['a', 'm', 'z'],
  );
  assert.deepEqual(s.requirements[2]!.values, ['a', 'b']);
  assert.equal(labelSelectorString(s), 'a=1,!m,z in (a,b)');
});

test('parseLabelSelector: errors are 400 with upstream wording', () => {
  const cases: [string, string][] = [
    ['app in (web', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    [
      'a>b',
      "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    ['bad key=x', "unable to parse requirement: found 'key', expected: in, notin, =, ==, !=, gt, lt"],
    [
      'a=-x',
      "unable to parse requirement: values[0][a]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
  ];
  for (const [sel, message] of cases) {
    assert.throws(
      () => parseLabelSelector(sel),
      (e: unknown) =>
        e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === message,
      sel,
    );
  }
});

test('labelSelectorFromObject: matchLabels and matchExpressions', () => {
  const sel = labelSelectorFromObject({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['a', 'b'] },
      { key: 'env', operator: 'NotIn', values: ['prod'] },
      { key: 'team', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  });
  const cases: [Record<string, string>, boolean][] = [
    [{ app: 'web', tier: 'a', team: 'x' }, true],
    [{ app: 'web', tier: 'c', team: 'x' }, false],
    [{ app: 'web', tier: 'a', team: 'x', env: 'prod' }, false],
    [{ app: 'web', tier: 'a' }, false],
    [{ app: 'web', tier: 'a', team: 'x', legacy: '' }, false],
  ];
  for (const [labels, want] of cases) assert.equal(matches(sel, labels), want, JSON.stringify(labels));
  assert.equal(labelSelectorString(sel), 'app=web,env notin (prod),!legacy,team,tier in (a,b)');

  assert.equal(matches(labelSelectorFromObject(null), {}), false, 'nil selects nothing');
  assert.equal(matches(labelSelectorFromObject({}), { any: 'thing' }), true, 'empty selects everything');
  assert.throws(
    () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }),
    (e: unknown) =>
      e instanceof StatusError && e.message === '"Equals" is not a valid label selector operator',
  );
  assert.throws(
    () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
    (e: unknown) => e instanceof StatusError && /values set can't be empty/.test(e.message),
  );
});
