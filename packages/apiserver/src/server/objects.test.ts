import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeStored,
  encodeStored,
  jsonDepthExceeds,
  objectKey,
  parseKey,
  withResourceVersion,
} from './objects.ts';
import type { ResourceInfo } from '../registry/types.ts';

const pods = { group: '', plural: 'pods', namespaced: true } as ResourceInfo;
const nodes = { group: '', plural: 'nodes', namespaced: false } as ResourceInfo;

test('keys round-trip and isolate clusters', () => {
  const k = objectKey(pods, 'c1', 'ns', 'p');
  assert.equal(k, '/registry/core/pods/c1/ns/p');
  assert.deepEqual(parseKey(k), { group: '', plural: 'pods', cluster: 'c1', namespace: 'ns', name: 'p' });
  assert.deepEqual(parseKey(objectKey(nodes, 'root', undefined, 'n1')), {
    group: '',
    plural: 'nodes',
    cluster: 'root',
    name: 'n1',
  });
});

test('stored form splices resourceVersion without a parse', () => {
  const stored = encodeStored({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', resourceVersion: '9' },
    data: { x: '1' },
  });
  assert.ok(!stored.includes('resourceVersion'));
  const kv = { key: 'k', value: stored, createRevision: 3, modRevision: 7 };
  const spliced = JSON.parse(withResourceVersion(kv));
  assert.equal(spliced.metadata.resourceVersion, '7');
  assert.equal(spliced.metadata.name, 'a');
  assert.deepEqual(spliced, decodeStored(kv));
  const empty = encodeStored({ apiVersion: 'v1', kind: 'X', metadata: {} });
  assert.equal(JSON.parse(withResourceVersion({ ...kv, value: empty })).metadata.resourceVersion, '7');
});

test('jsonDepthExceeds is iterative and exact', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(jsonDepthExceeds(deep, 1000), true);
  assert.equal(jsonDepthExceeds({ a: { b: { c: 1 } } }, 3), false);
  assert.equal(jsonDepthExceeds({ a: { b: { c: {} } } }, 3), true);
});
