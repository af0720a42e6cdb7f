// Real etcd processes for tests and benchmarks (Debian's etcd-server, installed by
// scripts/install-test-deps.sh), on free loopback ports, in temp dirs, killed by pid.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export interface EtcdMember {
  name: string;
  clientURL: string;
  child: ChildProcess;
  dir: string;
}

export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  kill(index: number, signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

function requireEtcd(): void {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'etcd is not installed: run `bash scripts/install-test-deps.sh` (Debian package etcd-server)',
    );
  }
}

async function healthy(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/health`).then(
      async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true',
      () => false,
    );
    if (ok) return;
    if (Date.now() > end) throw new Error(`etcd at ${url} did not become healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startEtcdCluster(size = 1): Promise<EtcdCluster> {
  requireEtcd();
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i}`,
      client: await freePort(),
      peer: await freePort(),
      dir: await mkdtemp(join(tmpdir(), 'kaas-etcd-')),
    });
  }
  const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const members: EtcdMember[] = specs.map((s) => ({
    name: s.name,
    clientURL: `http://127.0.0.1:${s.client}`,
    dir: s.dir,
    child: spawn(
      'etcd',
      [
        '--name',
        s.name,
        '--data-dir',
        s.dir,
        '--listen-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ],
      { stdio: 'ignore' },
    ),
  }));
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientURL),
    members,
    kill(index, signal = 'SIGKILL') {
      members[index]?.child.kill(signal);
    },
    async stop() {
      for (const m of members)
        if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
      await Promise.all(members.map((m) => rm(m.dir, { recursive: true, force: true })));
    },
  };
  try {
    await Promise.all(members.map((m) => healthy(m.clientURL, 20_000)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
