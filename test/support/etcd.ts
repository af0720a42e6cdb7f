// Real etcd processes for tests and benchmarks (Debian's etcd-server, installed by
// scripts/install-test-deps.sh), on free loopback ports, in temp dirs, killed by pid.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdMember {
  name: string;
  clientURL: string;
  pid: number;
  dir: string;
  child: ChildProcess;
}

export interface EtcdCluster {
  /** Client URLs, one per member, in member order. */
  endpoints: string[];
  members: EtcdMember[];
  /** Process ids, one per member, in member order. */
  pids: number[];
  /** Sends `signal` (default SIGKILL) to member `index`'s process. */
  kill(index: number, signal?: NodeJS.Signals): void;
  /** Index of the member the cluster currently reports as leader (maintenance status API). */
  leader(): Promise<number>;
  /** Kills every member still running, by pid, waits for them to exit, removes their data dirs. */
  stop(): Promise<void>;
}

const installHint = 'run `bash scripts/install-test-deps.sh` (installs Debian package etcd-server)';

function requireEtcd(): void {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`etcd is not installed (no \`etcd\` on PATH): ${installHint}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function memberStatus(url: string): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const r = await fetch(`${url}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    if (!r.ok) return undefined;
    const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
    if (!s.header?.member_id) return undefined;
    return { memberId: s.header.member_id, leader: s.leader ?? '0' };
  } catch {
    return undefined;
  }
}

async function healthy(url: string, timeoutMs: number, m: { exited(): string | undefined }): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true',
      () => false,
    );
    if (ok) return;
    const exited = m.exited();
    if (exited) throw new Error(`etcd at ${url} exited before becoming healthy: ${exited}`);
    if (Date.now() > end) throw new Error(`etcd at ${url} did not become healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One etcd member; see startEtcdCluster. */
export function startEtcd(): Promise<EtcdCluster> {
  return startEtcdCluster(1);
}

/**
 * Starts `size` etcd members forming one new cluster on free loopback ports and waits until
 * every member reports healthy. Fails (never skips) when etcd is not installed. Free ports are
 * found by binding port 0 and releasing it, so another process can take one before etcd binds
 * it: then it retries with new ports.
 */
export async function startEtcdCluster(size = 1): Promise<EtcdCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcdClusterOnce(size);
    } catch (e) {
      if (attempt >= 4 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startEtcdClusterOnce(size: number): Promise<EtcdCluster> {
  requireEtcd();
  const specs: { name: string; client: number; peer: number; dir: string }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i}`,
      client: await freePort(),
      peer: await freePort(),
      dir: await mkdtemp(join(tmpdir(), 'kaas-etcd-')),
    });
  }
  const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const token = `kaas-test-${process.pid}-${specs[0]!.peer}`;
  const logs = specs.map(() => [] as string[]);
  const members: EtcdMember[] = specs.map((s, i) => {
    const child = spawn(
      'etcd',
      [
        ...['--name', s.name, '--data-dir', s.dir],
        ...['--listen-client-urls', `http://127.0.0.1:${s.client}`],
        ...['--advertise-client-urls', `http://127.0.0.1:${s.client}`],
        ...['--listen-peer-urls', `http://127.0.0.1:${s.peer}`],
        ...['--initial-advertise-peer-urls', `http://127.0.0.1:${s.peer}`],
        ...['--initial-cluster', initial, '--initial-cluster-state', 'new'],
        ...['--initial-cluster-token', token],
        // Fast elections keep failover tests short; the ratio is etcd's recommended 1:10.
        ...['--heartbeat-interval', '100', '--election-timeout', '1000'],
        // Lets EtcdStore's watches report progress (bookmarks) about once a second.
        ...['--experimental-watch-progress-notify-interval', '1s'],
        ...['--logger', 'zap', '--log-level', 'warn'],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      const log = logs[i]!;
      log.push(d);
      if (log.length > 20) log.shift();
    });
    if (child.pid === undefined) throw new Error(`etcd failed to spawn: ${installHint}`);
    return { name: s.name, clientURL: `http://127.0.0.1:${s.client}`, dir: s.dir, pid: child.pid, child };
  });
  const running = (m: EtcdMember) => m.child.exitCode === null && m.child.signalCode === null;
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientURL),
    members,
    pids: members.map((m) => m.pid),
    kill(index, signal = 'SIGKILL') {
      const m = members[index];
      if (!m) throw new Error(`no etcd member ${index} (cluster of ${members.length})`);
      if (running(m)) process.kill(m.pid, signal);
    },
    async leader() {
      const statuses = await Promise.all(
        members.map((m) => (running(m) ? memberStatus(m.clientURL) : Promise.resolve(undefined))),
      );
      const leaderId = statuses.find((s) => s && s.leader !== '0')?.leader;
      const i = statuses.findIndex((s) => s?.memberId === leaderId);
      if (i < 0) throw new Error('no etcd member reports a reachable leader');
      return i;
    },
    async stop() {
      for (const m of members) if (running(m)) process.kill(m.pid, 'SIGKILL');
      await Promise.all(members.map((m) => exitOf(m.child)));
      await Promise.all(members.map((m) => rm(m.dir, { recursive: true, force: true })));
    },
  };
  try {
    await Promise.all(
      members.map((m, i) =>
        healthy(m.clientURL, 20_000, {
          exited: () =>
            running(m)
              ? undefined
              : `exit ${m.child.exitCode ?? m.child.signalCode}: ${logs[i]!.join('').slice(-2000)}`,
        }),
      ),
    );
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
