// The real `kaasctl` binary for end-to-end tests: a server process on port 0 and one-shot
// commands. Servers are killed by pid when the test file ends.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const kaasctlBin = join(dirname(fileURLToPath(import.meta.url)), '../../apps/kaasctl/bin/kaasctl');

const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface KaasServer {
  child: ChildProcess;
  url: string;
  /** stdout lines so far */
  lines: string[];
  /** stderr (the JSON log) so far */
  log: () => string;
  stop(): Promise<number | null>;
}

export async function startKaasServer(
  dataDir: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<KaasServer> {
  const child = spawn(kaasctlBin, ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  started.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => {
      lines.push(l);
      const m = /listening on (https:\/\/\S+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`kaasctl server exited with ${code}: ${lines.join('\n')}\n${stderr}`)),
    );
  });
  // the lines printed right after "listening" (kubeconfig, admin password) follow at once
  await new Promise((r) => setTimeout(r, 100));
  return {
    child,
    url,
    lines,
    log: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      }),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runKaasctl(
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      kaasctlBin,
      args,
      { timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}
