import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkKubernetesVersion,
  defaultKubernetesVersion,
  kubernetesVersions,
} from './kubernetesVersions.ts';

test('checkKubernetesVersion: format, supported range and resolution', () => {
  const cases: { input: string; resolved?: string; reason?: RegExp }[] = [
    { input: '1.33', resolved: '1.33.2' },
    { input: '1.33.0', resolved: '1.33.0' },
    { input: 'v1.32.6', resolved: '1.32.6' },
    { input: '1.30', resolved: '1.30.14' },
    { input: '1.33.3', reason: /newer than the newest supported 1\.33\.2/ },
    { input: '1.29', reason: /1\.29 is not supported; supported: 1\.30 to 1\.33\.2/ },
    { input: '1.34.0', reason: /not supported/ },
    { input: '2.0', reason: /not supported/ },
    { input: '1', reason: /MAJOR\.MINOR/ },
    { input: '1.33.2.1', reason: /MAJOR\.MINOR/ },
    { input: '01.33', reason: /MAJOR\.MINOR/ },
    { input: 'latest', reason: /MAJOR\.MINOR/ },
  ];
  for (const c of cases) {
    const r = checkKubernetesVersion(c.input);
    if (c.resolved) {
      assert.ok(r.supported, c.input);
      if (r.supported) assert.equal(r.resolved, c.resolved, c.input);
    } else {
      assert.ok(!r.supported, c.input);
      if (!r.supported) assert.match(r.reason, c.reason ?? /./, c.input);
    }
  }
});

test('the version table has exactly one default, and it is supported', () => {
  assert.equal(kubernetesVersions.filter((v) => v.default).length, 1);
  assert.ok(checkKubernetesVersion(defaultKubernetesVersion).supported);
  for (const v of kubernetesVersions) assert.ok(v.latestPatch.startsWith(`${v.minor}.`), v.minor);
});
