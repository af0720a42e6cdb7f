import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCustomResource, pruneCustomResource, validateCustomResource } from './structural.ts';
import type { JSONSchemaProps } from './types.ts';

const schema: JSONSchemaProps = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', format: 'int32', minimum: 1, maximum: 10 },
        ratio: { type: 'number', exclusiveMaximum: true, maximum: 1 },
        name: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
        mode: { type: 'string', enum: ['fast', 'slow'] },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', maxItems: 2, minItems: 1, uniqueItems: true, items: { type: 'string' } },
        limits: { type: 'object', additionalProperties: { type: 'integer' }, maxProperties: 2 },
        note: { type: 'string', nullable: true },
        when: { type: 'string', format: 'date-time' },
        raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        items: {
          type: 'array',
          items: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        },
      },
    },
  },
};

const cr = (spec: Record<string, unknown>) => ({
  apiVersion: 'x.io/v1',
  kind: 'X',
  metadata: { name: 'a' },
  spec,
});

test('validateCustomResource: each rule and its upstream message', () => {
  type Case = [string, Record<string, unknown>, [string, string, string][]];
  const cases: Case[] = [
    ['valid', { size: 3, port: 'http', when: '2024-01-02T03:04:05Z', note: null, raw: { any: [1] } }, []],
    ['missing required', {}, [['FieldValueRequired', 'spec.size', 'Required value']]],
    [
      'type',
      { size: '3' },
      [
        [
          'FieldValueTypeInvalid',
          'spec.size',
          'Invalid value: "string": spec.size in body must be of type integer: "string"',
        ],
      ],
    ],
    [
      'maximum',
      { size: 11 },
      [
        [
          'FieldValueInvalid',
          'spec.size',
          'Invalid value: 11: spec.size in body should be less than or equal to 10',
        ],
      ],
    ],
    [
      'minimum',
      { size: 0 },
      [
        [
          'FieldValueInvalid',
          'spec.size',
          'Invalid value: 0: spec.size in body should be greater than or equal to 1',
        ],
      ],
    ],
    [
      'exclusive maximum',
      { size: 1, ratio: 1 },
      [['FieldValueInvalid', 'spec.ratio', 'Invalid value: 1: spec.ratio in body should be less than 1']],
    ],
    [
      'int32 format',
      { size: 2 ** 33 },
      [
        [
          'FieldValueInvalid',
          'spec.size',
          `Invalid value: ${2 ** 33}: spec.size in body must be of type int32`,
        ],
        [
          'FieldValueInvalid',
          'spec.size',
          `Invalid value: ${2 ** 33}: spec.size in body should be less than or equal to 10`,
        ],
      ],
    ],
    [
      'maxLength',
      { size: 1, name: 'abcdef' },
      [['FieldValueTooLong', 'spec.name', 'Too long: may not be more than 5 bytes']],
    ],
    [
      'minLength',
      { size: 1, name: 'a' },
      [
        [
          'FieldValueInvalid',
          'spec.name',
          'Invalid value: "a": spec.name in body should be at least 2 chars long',
        ],
      ],
    ],
    [
      'pattern',
      { size: 1, name: 'AB' },
      [
        [
          'FieldValueInvalid',
          'spec.name',
          'Invalid value: "AB": spec.name in body should match \'^[a-z]+$\'',
        ],
      ],
    ],
    [
      'enum',
      { size: 1, mode: 'medium' },
      [
        [
          'FieldValueNotSupported',
          'spec.mode',
          'Unsupported value: "medium": supported values: "fast", "slow"',
        ],
      ],
    ],
    [
      'int-or-string',
      { size: 1, port: true },
      [
        [
          'FieldValueTypeInvalid',
          'spec.port',
          'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
        ],
      ],
    ],
    [
      'maxItems',
      { size: 1, tags: ['a', 'b', 'c'] },
      [['FieldValueTooMany', 'spec.tags', 'Too many: 3: must have at most 2 items']],
    ],
    [
      'minItems',
      { size: 1, tags: [] },
      [
        [
          'FieldValueInvalid',
          'spec.tags',
          'Invalid value: 0: spec.tags in body should have at least 1 items',
        ],
      ],
    ],
    [
      'uniqueItems',
      { size: 1, tags: ['a', 'a'] },
      [['FieldValueDuplicate', 'spec.tags[1]', 'Duplicate value: "a"']],
    ],
    [
      'additionalProperties schema',
      { size: 1, limits: { cpu: 'x' } },
      [
        [
          'FieldValueTypeInvalid',
          'spec.limits.cpu',
          'Invalid value: "string": spec.limits.cpu in body must be of type integer: "string"',
        ],
      ],
    ],
    [
      'maxProperties',
      { size: 1, limits: { a: 1, b: 2, c: 3 } },
      [['FieldValueTooMany', 'spec.limits', 'Too many: 3: must have at most 2 items']],
    ],
    [
      'null where not nullable',
      { size: null },
      [
        [
          'FieldValueTypeInvalid',
          'spec.size',
          'Invalid value: "null": spec.size in body must be of type integer: "null"',
        ],
      ],
    ],
    [
      'date-time',
      { size: 1, when: 'yesterday' },
      [
        [
          'FieldValueInvalid',
          'spec.when',
          'Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
        ],
      ],
    ],
    [
      'anyOf',
      { size: 1, either: true },
      [
        [
          'FieldValueInvalid',
          'spec.either',
          'Invalid value: true: spec.either in body must validate at least one schema (anyOf)',
        ],
      ],
    ],
    [
      'array items',
      { size: 1, items: [{ id: 'a' }, {}] },
      [['FieldValueRequired', 'spec.items[1].id', 'Required value']],
    ],
  ];
  for (const [name, spec, want] of cases) {
    const got = validateCustomResource(schema, cr(spec)).map((c) => [c.reason, c.field, c.message]);
    assert.deepEqual(got, want, name);
  }
});

test('validateCustomResource: root checks skip apiVersion, kind and metadata', () => {
  const s: JSONSchemaProps = {
    type: 'object',
    required: ['metadata'],
    properties: { metadata: { type: 'string' } },
  };
  assert.deepEqual(validateCustomResource(s, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a' } }), []);
  assert.deepEqual(validateCustomResource(undefined, { anything: 1 }), []);
  assert.equal(validateCustomResource(s, 'nope')[0]?.reason, 'FieldValueTypeInvalid');
});

test('pruneCustomResource drops undeclared fields and keeps preserved ones', () => {
  const obj: Record<string, any> = {
    apiVersion: 'x.io/v1',
    kind: 'X',
    metadata: { name: 'a', whatever: 1 },
    spec: {
      size: 1,
      bogus: true,
      raw: { kept: { deep: 1 } },
      limits: { cpu: 1 },
      items: [{ id: 'a', extra: 1 }],
    },
    status: { phase: 'x' },
  };
  const dropped = pruneCustomResource(schema, obj);
  assert.deepEqual(dropped, ['spec.bogus', 'spec.items[0].extra', 'status']);
  assert.deepEqual(obj.spec, {
    size: 1,
    raw: { kept: { deep: 1 } },
    limits: { cpu: 1 },
    items: [{ id: 'a' }],
  });
  assert.equal(obj.status, undefined);
  assert.deepEqual(obj.metadata, { name: 'a', whatever: 1 }, 'metadata is left to the caller');

  const legacy: Record<string, any> = { spec: { anything: 1 } };
  assert.deepEqual(pruneCustomResource(schema, legacy, { preserveUnknownFields: true }), []);
  assert.deepEqual(legacy, { spec: { anything: 1 } });

  const embedded: JSONSchemaProps = {
    type: 'object',
    properties: { template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: {} } },
  };
  const e: Record<string, any> = { template: { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: {} } };
  assert.deepEqual(pruneCustomResource(embedded, e), ['template.spec']);
  assert.deepEqual(e.template, { apiVersion: 'v1', kind: 'Pod', metadata: {} });
});

test('defaultCustomResource fills absent fields, recursing into objects, arrays and maps', () => {
  const s: JSONSchemaProps = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        default: {},
        properties: {
          replicas: { type: 'integer', default: 1 },
          mode: { type: 'string', default: 'fast' },
          note: { type: 'string', nullable: true, default: 'n' },
          ports: {
            type: 'array',
            items: { type: 'object', properties: { protocol: { type: 'string', default: 'TCP' } } },
          },
          limits: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { unit: { type: 'string', default: 'm' } } },
          },
        },
      },
    },
  };
  const cases: [Record<string, any>, Record<string, any>][] = [
    [{}, { spec: { replicas: 1, mode: 'fast', note: 'n' } }],
    [{ spec: { replicas: 3, mode: null, note: null } }, { spec: { replicas: 3, mode: 'fast', note: null } }],
    [
      { spec: { ports: [{}, { protocol: 'UDP' }], limits: { cpu: {} } } },
      {
        spec: {
          replicas: 1,
          mode: 'fast',
          note: 'n',
          ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }],
          limits: { cpu: { unit: 'm' } },
        },
      },
    ],
  ];
  for (const [obj, want] of cases) {
    defaultCustomResource(s, obj);
    assert.deepEqual(obj, want);
  }
  const shared = { spec: {} };
  defaultCustomResource(s, shared);
  assert.notEqual(shared.spec, s.properties!.spec!.default, 'defaults are copied, not shared');
});
