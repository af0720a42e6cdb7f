// What kaasctl server's flags lack for openstack Clusters' nodes: each problem names the flag and the
// fix (they reach every Cluster's preflight report through OpenStackProviderOptions.bootstrapCheck).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverFlagProblems } from './openstack.ts';

test('a loopback, non-https or malformed KaaS URL is named with its fix; --openstack-ccm-cloud is optional', () => {
  // no --openstack-ccm-cloud is no problem: each Cluster then gets its own credential
  const p = serverFlagProblems({ kaasUrl: 'https://127.0.0.1:6443' });
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(
    p[0]!,
    /listen address; no --kaas-url\) https:\/\/127\.0\.0\.1:6443 is loopback: .*--kaas-url https:\/\/HOST:PORT/,
  );
  for (const url of ['https://localhost:6443', 'https://[::1]:6443', 'https://0.0.0.0:6443'])
    assert.equal(serverFlagProblems({ kaasUrl: url, kaasUrlFromFlag: true }).length, 1, url);
  assert.match(serverFlagProblems({ kaasUrl: 'http://kaas.example.com' })[0]!, /must be https/);
  assert.match(serverFlagProblems({ kaasUrl: 'kaas:6443' })[0]!, /--kaas-url kaas:6443/);
  assert.deepEqual(
    serverFlagProblems({ kaasUrl: 'https://kaas.example.com:6443', kaasUrlFromFlag: true }),
    [],
  );
});
