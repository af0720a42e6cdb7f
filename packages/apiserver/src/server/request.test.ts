import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest } from './request.ts';
import { StatusError } from '../errors.ts';

const q = (s = '') => new URLSearchParams(s);

test('parseRequest: resource URLs map to verbs, scope and cluster', () => {
  const cases: [string, string, string, Partial<ReturnType<typeof parseRequest>>][] = [
    ['GET', '/api/v1/pods', '', { verb: 'list', resource: 'pods', namespace: undefined, cluster: 'root' }],
    ['GET', '/api/v1/namespaces/ns1/pods', '', { verb: 'list', resource: 'pods', namespace: 'ns1' }],
    [
      'GET',
      '/api/v1/namespaces/ns1/pods',
      'watch=true',
      { verb: 'watch', resource: 'pods', namespace: 'ns1' },
    ],
    ['GET', '/api/v1/watch/namespaces/ns1/pods', '', { verb: 'watch', resource: 'pods', namespace: 'ns1' }],
    ['GET', '/api/v1/namespaces/ns1/pods/p1', '', { verb: 'get', name: 'p1', namespace: 'ns1' }],
    [
      'PUT',
      '/api/v1/namespaces/ns1/pods/p1/status',
      '',
      { verb: 'update', name: 'p1', subresource: 'status' },
    ],
    [
      'GET',
      '/api/v1/namespaces/ns1',
      '',
      { verb: 'get', resource: 'namespaces', name: 'ns1', namespace: undefined },
    ],
    [
      'PUT',
      '/api/v1/namespaces/ns1/finalize',
      '',
      { verb: 'update', resource: 'namespaces', name: 'ns1', subresource: 'finalize' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/ns1/status',
      '',
      { verb: 'update', resource: 'namespaces', name: 'ns1', subresource: 'status' },
    ],
    [
      'DELETE',
      '/apis/apps/v1/namespaces/a/deployments',
      '',
      { verb: 'deletecollection', group: 'apps', version: 'v1' },
    ],
    ['DELETE', '/apis/apps/v1/namespaces/a/deployments/d', '', { verb: 'delete', name: 'd' }],
    [
      'PATCH',
      '/clusters/c1/apis/apps/v1/namespaces/a/deployments/d/scale',
      '',
      { verb: 'patch', cluster: 'c1', subresource: 'scale' },
    ],
    ['POST', '/clusters/c1/api/v1/namespaces', '', { verb: 'create', cluster: 'c1', resource: 'namespaces' }],
  ];
  for (const [m, path, query, want] of cases) {
    const got = parseRequest(m, path, q(query));
    assert.equal(got.kind, 'resource', path);
    for (const [k, v] of Object.entries(want)) assert.equal((got as any)[k], v, `${m} ${path}: ${k}`);
  }
});

test('parseRequest: discovery and non-resource paths', () => {
  assert.equal(parseRequest('GET', '/api', q()).kind, 'discovery');
  assert.equal(parseRequest('GET', '/api/v1', q()).kind, 'discovery');
  assert.equal(parseRequest('GET', '/apis', q()).kind, 'discovery');
  assert.equal(parseRequest('GET', '/apis/apps', q()).group, 'apps');
  assert.equal(parseRequest('GET', '/clusters/x/apis/apps/v1', q()).cluster, 'x');
  assert.equal(parseRequest('GET', '/healthz', q()).kind, 'nonresource');
  assert.equal(parseRequest('GET', '/clusters/x/version', q()).path, '/version');
});

test('parseRequest: bad cluster names and methods are clear errors', () => {
  assert.throws(
    () => parseRequest('GET', '/clusters/Bad_Name/api', q()),
    (e: unknown) => e instanceof StatusError && e.code === 400,
  );
  assert.throws(
    () => parseRequest('TRACE', '/api/v1/pods', q()),
    (e: unknown) => e instanceof StatusError && e.code === 405,
  );
});
