import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorReasons, isErrorReason } from '@kaas/api';
import {
  CloudError,
  cloudErrorCodes,
  ownershipTags,
  quotaError,
  reasonOf,
  resourceTypeRank,
  resourceTypes,
  tagsMatch,
  type GraphNode,
} from './contract.ts';
import { checkGraph, criticalPath, topologicalOrder } from './graph.ts';

test('every CloudError code is a Cluster condition reason, user-fixability taken from it', () => {
  for (const code of cloudErrorCodes) {
    assert.ok(isErrorReason(code), code);
    const err = new CloudError(code, 'x');
    assert.equal(err.reason, code);
    assert.equal(err.userFixable, errorReasons[code].userFixable, code);
  }
  const table = Object.fromEntries(cloudErrorCodes.map((c) => [c, new CloudError(c, 'x').retryable]));
  assert.deepEqual(table, {
    QuotaExceeded: false,
    AuthFailed: false,
    CloudUnavailable: true,
    Timeout: true,
    InvalidSpec: false,
    NotFound: false,
    Conflict: true,
  });
  assert.equal(new CloudError('NotFound', 'x', { retryable: true }).retryable, true, 'overridable');
  assert.equal(reasonOf(new TypeError('bug')), 'Internal');
  assert.equal(reasonOf(new CloudError('AuthFailed', 'x')), 'AuthFailed');
});

test('quotaError names the quota and the shortfall and keeps the cloud message', () => {
  const err = quotaError({ quota: 'vcpus', limit: 20, used: 16, requested: 8, shortBy: 4 }, 'server/w-0');
  assert.equal(err.code, 'QuotaExceeded');
  assert.equal(err.resource, 'server/w-0');
  assert.match(err.message, /quota vcpus exceeded: limit 20, in use 16, requested 8 \(short by 4\)/);
  assert.ok(err.cloudMessage);
});

test('ownership tags and matching', () => {
  assert.deepEqual(ownershipTags('u1', 'server/a-0'), {
    'kaas.dev/cluster-uid': 'u1',
    'kaas.dev/resource-id': 'server/a-0',
  });
  assert.ok(tagsMatch({ ...ownershipTags('u1', 'x'), other: 'y' }, ownershipTags('u1')));
  assert.ok(!tagsMatch(ownershipTags('u2', 'x'), ownershipTags('u1')));
  for (const t of resourceTypes) assert.equal(typeof resourceTypeRank[t], 'number');
});

const n = (id: string, deps: string[] = []): GraphNode => ({
  id: `network/${id}`,
  type: 'network',
  dependsOn: deps.map((d) => `network/${d}`),
  spec: { name: id },
});
const g = (nodes: GraphNode[]) => ({ provider: 'local' as const, clusterUid: 'u', nodes });

test('checkGraph: duplicates, unknown dependencies, wrong id prefix, cycles, all reported', () => {
  assert.deepEqual(checkGraph(g([n('a'), n('b', ['a'])])), []);
  assert.deepEqual(checkGraph(g([n('a'), n('a')])), ['network/a: duplicate id']);
  assert.deepEqual(checkGraph(g([n('a', ['x'])])), [
    'network/a: depends on network/x, which is not in the graph',
  ]);
  assert.deepEqual(checkGraph(g([n('a', ['b']), n('b', ['a'])])), ['the graph has a cycle']);
  assert.deepEqual(checkGraph(g([{ ...n('a'), id: 'subnet/a' }])), ['subnet/a: id must start with network/']);
});

test('topologicalOrder and criticalPath', () => {
  const nodes = [n('d', ['b', 'c']), n('b', ['a']), n('c', ['a']), n('a')];
  const order = topologicalOrder(nodes)?.map((x) => x.id) ?? [];
  assert.ok(order.indexOf('network/a') < order.indexOf('network/b'));
  assert.ok(order.indexOf('network/c') < order.indexOf('network/d'));
  const weights: Record<string, number> = { 'network/a': 1, 'network/b': 5, 'network/c': 2, 'network/d': 1 };
  assert.equal(
    criticalPath(nodes, (id) => weights[id] ?? 0),
    7,
  );
  assert.equal(topologicalOrder([n('a', ['a'])]), undefined);
});
