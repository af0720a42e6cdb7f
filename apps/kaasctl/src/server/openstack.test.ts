// What kaasctl server's flags lack for openstack Clusters' nodes: each problem names the flag and the
// fix (they reach every Cluster's preflight report through OpenStackProviderOptions.bootstrapCheck).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverFlagProblems } from './openstack.ts';

test('a missing --openstack-ccm-cloud and a loopback KaaS URL are each named with their fix', () => {
  const p = serverFlagProblems({ ccm: undefined, kaasUrl: 'https://127.0.0.1:6443' });
  assert.equal(p.length, 2, p.join('\n'));
  assert.match(p[0]!, /no --openstack-ccm-cloud NAME: .*restart the server with the flag/);
  assert.match(
    p[1]!,
    /listen address; no --kaas-url\) https:\/\/127\.0\.0\.1:6443 is loopback: .*--kaas-url https:\/\/HOST:PORT/,
  );
  for (const url of ['https://localhost:6443', 'https://[::1]:6443', 'https://0.0.0.0:6443'])
    assert.equal(serverFlagProblems({ ccm: {}, kaasUrl: url, kaasUrlFromFlag: true }).length, 1, url);
  assert.match(serverFlagProblems({ ccm: {}, kaasUrl: 'http://kaas.example.com' })[0]!, /must be https/);
  assert.match(serverFlagProblems({ ccm: {}, kaasUrl: 'kaas:6443' })[0]!, /--kaas-url kaas:6443/);
  assert.deepEqual(
    serverFlagProblems({ ccm: {}, kaasUrl: 'https://kaas.example.com:6443', kaasUrlFromFlag: true }),
    [],
  );
});
