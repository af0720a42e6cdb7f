// Shared helpers for the benchmarks: a server in its own process, HTTPS requests with keep-alive,
// histogram quantiles from the server's own /metrics, and process RSS.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchServer {
  url: string;
  port: number;
  pid: number;
  token: string;
  dataDir: string;
  ca: string;
  agent: https.Agent;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(
  opts: {
    storage?: 'sqlite' | 'etcd';
    endpoints?: string;
    dataDir?: string;
    token?: string;
    port?: number;
  } = {},
): Promise<BenchServer> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'kaas-bench-')));
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      join(root, 'bench/server.ts'),
      dataDir,
      opts.storage ?? 'sqlite',
      opts.endpoints ?? '',
    ],
    {
      env: { ...process.env, KAAS_BENCH_TOKEN: token, KAAS_BENCH_PORT: String(opts.port ?? 0) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (c) => reject(new Error(`bench server exited with ${c}`)));
  });
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  const ca = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 256 });
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    pid,
    token,
    dataDir,
    ca,
    agent,
    child,
    stop: async () => {
      await new Promise<void>((resolve) => {
        agent.destroy();
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Resp {
  status: number;
  body: string;
}

export function request(
  s: BenchServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = https.request(
      `${s.url}${path}`,
      {
        method,
        agent: s.agent,
        headers: {
          Authorization: `Bearer ${s.token}`,
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export type Buckets = Map<string, Map<number, number>>;

/** The request-duration histogram per verb (and resource), as cumulative bucket counts. */
export async function histogram(s: BenchServer): Promise<Buckets> {
  const text = (await request(s, 'GET', '/metrics')).body;
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_duration_seconds_bucket{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)![1]!;
    const le = /le="([^"]+)"/.exec(line)![1]!;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    const bound = le === '+Inf' ? Infinity : Number(le);
    let m = out.get(verb);
    if (!m) out.set(verb, (m = new Map()));
    m.set(bound, (m.get(bound) ?? 0) + v);
  }
  return out;
}

/** Quantile (bucket upper bound, seconds) of the requests observed between two snapshots. */
export function quantileBetween(
  before: Buckets,
  after: Buckets,
  verbs: string[],
  q: number,
): { seconds: number; count: number } {
  const diff = new Map<number, number>();
  for (const verb of verbs) {
    for (const [bound, c] of after.get(verb) ?? [])
      diff.set(bound, (diff.get(bound) ?? 0) + c - (before.get(verb)?.get(bound) ?? 0));
  }
  const sorted = [...diff.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  for (const [bound, c] of sorted) if (total > 0 && c >= q * total) return { seconds: bound, count: total };
  return { seconds: NaN, count: total };
}

export function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  return (Number(stat[11]) + Number(stat[12])) / ticks;
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, ${process.platform}`;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
