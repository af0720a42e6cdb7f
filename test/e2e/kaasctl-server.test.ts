// `kaasctl server` as a user runs it: first start creates the PKI and admin kubeconfig, kubectl
// works with it, SIGTERM shuts down cleanly, and a restart keeps every object.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { kubectl } from '../support/apiserver.ts';

const kaasctl = join(dirname(fileURLToPath(import.meta.url)), '../../apps/kaasctl/bin/kaasctl');
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(kaasctl, ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => {
      lines.push(l);
      const m = /listening on (https:\/\/\S+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`kaasctl server exited with ${code}: ${lines.join('\n')}`)),
    );
  });
  return { child, url, lines };
}

test('kaasctl server: PKI, admin kubeconfig, graceful shutdown, restart keeps state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-srv-'));
  try {
    const first = await startServer(dir);
    const kc = join(dir, 'admin.kubeconfig');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      first.lines.some((l) => l.includes(kc)),
      'prints where the kubeconfig is',
    );
    assert.equal(((await stat(kc)).mode & 0o777).toString(8), '600');
    assert.equal(((await stat(join(dir, 'pki', 'ca.key'))).mode & 0o777).toString(8), '600');
    const mk = await kubectl(kc, ['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, namespace: default}\ndata: {a: b}\n',
    });
    assert.equal(mk.code, 0, mk.stderr);

    // The management API is served: the example bootstrap file applies and lists with its columns.
    const apply = await kubectl(kc, [
      'apply',
      '-f',
      join(dirname(fileURLToPath(import.meta.url)), '../../examples/bootstrap.yaml'),
    ]);
    assert.equal(apply.code, 0, apply.stderr);
    const clusters = await kubectl(kc, ['get', 'clusters.kaas.dev', '-A']);
    assert.equal(clusters.code, 0, clusters.stderr);
    assert.match(clusters.stdout, /demo/);
    const bad = await kubectl(kc, ['apply', '-f', '-'], {
      input:
        'apiVersion: kaas.dev/v1alpha1\nkind: Cluster\nmetadata: {name: bad, namespace: default}\nspec: {controlPlane: {replicas: "three"}}\n',
    });
    assert.notEqual(bad.code, 0, 'the schema rejects a bad Cluster');

    const exited = new Promise<number | null>((r) => first.child.once('exit', (c) => r(c)));
    const t0 = Date.now();
    first.child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(Date.now() - t0 < 5000, 'shuts down within 5 s');

    const second = await startServer(dir);
    // The port changed (port 0), the kubeconfig was rewritten, the CA was kept.
    const got = await kubectl(kc, ['get', 'configmap', 'keep', '-n', 'default', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, 'b');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kaasctl server: bad flags are clear errors with a non-zero exit', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(kaasctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.once('exit', (code) => resolve({ code, err }));
    });
  const bad = await run(['server', '--listen', 'nonsense']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--listen "nonsense": expected HOST:PORT/);
  const dir = await mkdtemp(join(tmpdir(), 'kaas-srv-'));
  try {
    const etcd = await run(['server', '--storage', 'etcd', '--data-dir', dir]);
    assert.equal(etcd.code, 2);
    assert.match(etcd.err, /--etcd-endpoints/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const help = await run(['server', '--help']);
  assert.equal(help.code, 0);
});
