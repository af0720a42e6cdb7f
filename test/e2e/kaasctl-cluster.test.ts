// `kaasctl cluster deploy -f` and `kaasctl get clusters` as a user types them: an invalid file is
// rejected with every problem at file:line:column and creates nothing; a valid one is recorded in
// the management API and listed, also as JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const kaasctl = join(root, 'apps/kaasctl/bin/kaasctl');
const example = join(root, 'examples/bootstrap.yaml');
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(kaasctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) => resolve({ code, out, err }));
  });
}

test('cluster deploy validates first, then records; get clusters lists', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-cli-'));
  dirs.push(dir);
  const bad = (await readFile(example, 'utf8'))
    .replace('replicas: 3', 'replicas: -1')
    .replace('podCIDR: 10.244.0.0/16', 'podCIDR: 10.244.0.0/33');
  await writeFile(join(dir, 'bad.yaml'), bad);
  const invalid = await run([
    'cluster',
    'deploy',
    '-f',
    join(dir, 'bad.yaml'),
    '--kubeconfig',
    join(dir, 'none'),
  ]);
  assert.equal(invalid.code, 3);
  assert.match(invalid.err, /bad\.yaml:\d+:\d+: spec\.nodePools\[0\]\.replicas: must be >= 1/);
  assert.match(invalid.err, /bad\.yaml:\d+:\d+: spec\.network\.podCIDR:/);
  assert.match(invalid.err, /nothing was created/);

  const dry = await run(['cluster', 'deploy', '-f', example, '--dry-run']);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /is valid: Cluster\/demo/);

  const unreachable = await run(['get', 'clusters', '--kubeconfig', join(dir, 'missing.kubeconfig')]);
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.err, /no kubeconfig at/);

  const server = spawn(kaasctl, ['server', '--data-dir', join(dir, 'state'), '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(server);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: server.stdout }).on('line', (l) => l.includes('admin kubeconfig') && resolve());
    server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const kc = join(dir, 'state', 'admin.kubeconfig');
  const deployed = await run(['cluster', 'deploy', '-f', example, '--kubeconfig', kc]);
  assert.equal(deployed.code, 0, deployed.err);
  assert.match(deployed.out, /Cluster\/demo created/);
  const again = await run(['cluster', 'deploy', '-f', example, '--kubeconfig', kc]);
  assert.match(again.out, /Cluster\/demo updated/);
  const table = await run(['get', 'clusters', '--kubeconfig', kc]);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /default\s+demo\s+local\s+1\.33/);
  const json = JSON.parse((await run(['get', 'clusters', '-o', 'json', '--kubeconfig', kc])).out);
  assert.equal(json.items[0].metadata.name, 'demo');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
});
