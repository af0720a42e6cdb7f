// scripts/openstack's pid files after the machine's processes were ended without stop.sh (a session
// or CI run that stops): the pid in a file may belong to an unrelated process by the next run. It
// must not be taken for the service (launch would skip it) nor signalled (stop_one would kill it).
// Real processes and the real shell helpers, on a state dir of the test's own; no OpenStack.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let state: string;
const children: ChildProcess[] = [];

/** Runs `fn` in bash with services.sh sourced on the test's state dir; its stdout. */
function helpers(fn: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'bash',
      ['-c', `. scripts/openstack/services.sh; ${fn}`],
      { cwd: ROOT, env: { ...process.env, KAAS_OPENSTACK_STATE_DIR: state }, timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${fn}: ${err.message}\n${stderr}`)) : resolvePromise(stdout),
    );
  });
}

/** A process that is not a service: it stands for whatever got a stale file's pid. */
function bystander(): ChildProcess {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  state = await mkdtemp(join(tmpdir(), 'kaas-pidfiles-'));
  await mkdir(join(state, 'pids'));
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(state, { recursive: true, force: true });
});

describe('openstack pid files', () => {
  test('a pid file from before (no start time, or another one) is stale: not alive, and stop_one leaves the process alone', async () => {
    const other = bystander();
    const pids = join(state, 'pids');
    // the layout before start times were recorded: a bare pid
    await writeFile(join(pids, 'octavia-api.pid'), `${other.pid}\n`);
    assert.equal(await helpers('pid_alive octavia-api && echo yes || echo no'), 'no\n');
    // a start time that is not this process's
    await writeFile(join(pids, 'octavia-api.start'), '1\n');
    assert.equal(await helpers('pid_alive octavia-api && echo yes || echo no'), 'no\n');
    await helpers('stop_one octavia-api');
    assert.ok(alive(other.pid!), 'the unrelated process was not signalled');
    await assert.rejects(readFile(join(pids, 'octavia-api.pid')), /ENOENT/, 'the stale files are gone');
    await assert.rejects(readFile(join(pids, 'octavia-api.start')), /ENOENT/);
  });

  test('launch records pid and start time: alive, and stop_one ends it', async () => {
    await helpers('launch kaas-test-sleeper sleep 300');
    const pid = Number((await readFile(join(state, 'pids', 'kaas-test-sleeper.pid'), 'utf8')).trim());
    assert.ok(pid > 0 && alive(pid));
    assert.equal(await helpers('pid_alive kaas-test-sleeper && echo yes || echo no'), 'yes\n');
    // a second launch sees it running and starts nothing
    assert.match(await helpers('launch kaas-test-sleeper sleep 300'), /already running \(pid \d+\)/);
    await helpers('stop_one kaas-test-sleeper');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'stopped');
    assert.equal(await helpers('pid_alive kaas-test-sleeper && echo yes || echo no'), 'no\n');
  });
});
