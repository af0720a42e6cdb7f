// A single real etcd for the etcd benchmark, on free loopback ports, in a temp dir.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export async function startEtcdForBench(): Promise<{ endpoints: string[]; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const child = spawn(
    'etcd',
    [
      '--name',
      'bench',
      '--data-dir',
      dir,
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `bench=http://127.0.0.1:${peer}`,
    ],
    { stdio: 'ignore' },
  );
  const endpoint = `http://127.0.0.1:${client}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${endpoint}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoints: [endpoint],
    stop: async () => {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
