import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyType, negotiate, negotiateDiscovery } from './negotiate.ts';
import { StatusError } from '../errors.ts';

test('negotiate: what kubectl and Go clients send', () => {
  const table = negotiate(
    'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    true,
  );
  assert.equal(table.shape, 'table');
  assert.equal(negotiate('application/vnd.kubernetes.protobuf,application/json', true).encoding, 'protobuf');
  // Custom resources have no protobuf: fall through to JSON.
  assert.equal(negotiate('application/vnd.kubernetes.protobuf,application/json', false).encoding, 'json');
  assert.equal(negotiate(undefined, true).encoding, 'json');
  assert.equal(negotiate('*/*', true).encoding, 'json');
  assert.equal(negotiate('application/yaml', true).encoding, 'yaml');
  assert.equal(
    negotiate('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', true).shape,
    'metadata',
  );
  assert.throws(
    () => negotiate('text/html', true),
    (e: unknown) => e instanceof StatusError && e.code === 406,
  );
});

test('negotiateDiscovery: aggregated discovery on request', () => {
  const f = negotiateDiscovery(
    'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
  );
  assert.equal(f.aggregated, 'v2');
  assert.match(f.contentType, /as=APIGroupDiscoveryList/);
  assert.equal(negotiateDiscovery('application/json').aggregated, undefined);
});

test('bodyType: missing Content-Type is JSON; unknown types are 415', () => {
  assert.equal(bodyType(undefined), 'json');
  assert.equal(bodyType('application/json; charset=utf-8'), 'json');
  assert.equal(bodyType('application/vnd.kubernetes.protobuf'), 'protobuf');
  assert.equal(bodyType('application/yaml'), 'yaml');
  assert.throws(
    () => bodyType('application/xml'),
    (e: unknown) => e instanceof StatusError && e.code === 415,
  );
});
