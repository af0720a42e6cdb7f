// kubernetes-auth figures for docs/benchmarks.md:
// - TokenReview cache hits: wrk (Lua) over 1,000 distinct tokens against the webhook in its own
//   process; server-side latency recorded by the server from request to response finished.
// - Cache misses against the real keystone, with keystone's own token validation (GET
//   /v3/auth/tokens) measured in the same run, alternating; and 100 concurrent reviews of one new
//   token counted in keystone validations.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import https from 'node:https';
import type { NamedRef } from '@kaas/auth';
import {
  KeystoneAdmin,
  KeystoneBackend,
  KeystoneClient,
  MemoryTokenStore,
  ServiceToken,
  TokenAuthenticator,
  TokenService,
  reviewToken,
} from '@kaas/auth';
import { keystoneForTests } from '../test/support/keystone.ts';
import { percentile, root } from './lib.ts';

type Say = (line: string) => void;

function get(port: number, ca: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, ca }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      })
      .on('error', reject);
  });
}

function wrk(url: string, script: string, seconds: number, connections: number, paceMs = 0): string {
  return execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], {
    encoding: 'utf8',
    env: { ...process.env, PACE_MS: String(paceMs) },
  });
}

export async function tokenReviewHits(say: Say): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-auth-'));
  const caller = randomBytes(24).toString('base64url');
  // the server runs with the flags bin/kaasctl gives `kaasctl server`
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--max-semi-space-size=64', join(root, 'bench/auth-server.ts'), dir, '1000'],
    {
      env: { ...process.env, KAAS_BENCH_TOKEN: caller },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (c) => reject(new Error(`auth bench server exited with ${c}`)));
    });
    const { port, tokensFile } = JSON.parse(line) as { port: number; tokensFile: string };
    const ca = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8');
    const script = join(dir, 'review.lua');
    await writeFile(
      script,
      `local tokens = {}
for t in io.lines("${tokensFile}") do table.insert(tokens, t) end
local bodies = {}
for i, t in ipairs(tokens) do
  bodies[i] = '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"' .. t .. '","audiences":["root"]}}'
end
PACE = tonumber(os.getenv("PACE_MS") or "0")
local headers = {["Content-Type"]="application/json", ["Authorization"]="Bearer ${caller}"}
local counter = 0
failed = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counter = math.random(#bodies) end
-- paced: each connection waits PACE ms between requests, so the offered rate is about
-- connections x 1000 / (PACE + latency); PACE 0 is closed loop (as fast as the server goes)
function delay() return PACE end
request = function()
  counter = counter % #bodies + 1
  return wrk.format("POST", "/apis/authentication.k8s.io/v1/tokenreviews", headers, bodies[counter])
end
response = function(status, headers, body)
  if status ~= 201 or not string.find(body, '"authenticated":true', 1, true) then failed = failed + 1 end
end
function done(summary, latency, requests)
  local f = 0
  for _, t in ipairs(threads) do f = f + t:get("failed") end
  io.write("NOT_AUTHENTICATED " .. f .. "\\n")
end
`,
    );
    const url = `https://127.0.0.1:${port}`;
    wrk(url, script, 3, 8); // warm-up: every token reviewed, so the cache holds all 1,000
    for (const [label, connections, pace] of [
      ['paced', 14, 2],
      ['closed loop', 8, 0],
    ] as const) {
      await get(port, ca, '/bench/stats');
      const out = wrk(url, script, 10, connections, pace);
      report(label, connections, pace, out, JSON.parse(await get(port, ca, '/bench/stats')));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }

  function report(
    label: string,
    connections: number,
    pace: number,
    out: string,
    stats: { count: number; p50: number; p99: number; max: number },
  ): void {
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? 'none';
    const notAuth = Number(/NOT_AUTHENTICATED (\d+)/.exec(out)?.[1] ?? NaN);
    const cp99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const clientP99 = cp99 ? Number(cp99[1]) * (cp99[2] === 'us' ? 0.001 : cp99[2] === 's' ? 1000 : 1) : NaN;
    say(
      `TokenReview cache hits, ${label}: **${Math.round(rps)} reviews/s** over 1,000 distinct tokens (wrk -t2 -c${connections} -d10s, Lua, ${pace} ms pause per connection), ` +
        `**server-side p99 ${stats.p99.toFixed(2)} ms** (p50 ${stats.p50.toFixed(2)} ms, max ${stats.max.toFixed(1)} ms, ${stats.count} reviews), ` +
        `client p99 ${clientP99.toFixed(2)} ms; errors: ${non2xx} non-2xx, ${notAuth} not authenticated, socket ${socketErrors}. Target: p99 <= 1 ms at 5,000/s`,
    );
  }
}

export async function tokenReviewMisses(say: Say): Promise<void> {
  const ks = await keystoneForTests();
  let validations = 0;
  const client = new KeystoneClient({
    authUrl: ks.authUrl,
    ...(ks.caBundle ? { caBundle: ks.caBundle } : {}),
    insecure: ks.insecure,
    log: (e) => {
      if (e.method === 'GET' && e.url.includes('/auth/tokens')) validations++;
    },
  });
  const service = new ServiceToken({
    client,
    credentials: ks.adminCredentials,
    ...(ks.adminScope ? { scope: ks.adminScope } : {}),
  });
  const admin = new KeystoneAdmin(client, () => service.token());
  const suffix = randomBytes(4).toString('hex');
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const project: NamedRef = await admin.createProject({ name: `kaas-bench-${suffix}` });
    cleanup.push(() => admin.deleteProject(project.id));
    const role = await admin.createRole({ name: `kaas-bench-${suffix}` });
    cleanup.push(() => admin.deleteRole(role.id));
    const user = await admin.createUser({ name: `kaas-bench-${suffix}`, password });
    cleanup.push(() => admin.deleteUser(user.id));
    await admin.assignRole({ projectId: project.id, userId: user.id, roleId: role.id });

    const backend = new KeystoneBackend({
      client,
      serviceCredentials: ks.adminCredentials,
      ...(ks.adminScope ? { serviceScope: ks.adminScope } : {}),
    });
    const tokens = new TokenService({ store: new MemoryTokenStore(), backends: [backend] });
    const authenticator = new TokenAuthenticator({ tokens });
    const creds = { type: 'password' as const, userId: user.id, password, projectId: project.id };
    const body = (token: string) => ({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const n = 200;
    const ours: number[] = [];
    const theirs: number[] = [];
    const serviceToken = await service.token();
    for (let i = 0; i < n; i++) {
      // a new token of ours (a cache miss) and a new keystone token, reviewed alternately
      const t = await tokens.exchange(creds, { backend: 'keystone', audience: 'root' });
      const k = await client.authenticate(
        { type: 'password', user: { id: user.id }, password },
        { scope: { project: { id: project.id } }, nocatalog: true },
      );
      let t0 = process.hrtime.bigint();
      const r = await reviewToken(body(t.token), { audience: 'root', authenticator });
      ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!r.status.authenticated) throw new Error(`review ${i} not authenticated: ${r.status.error ?? ''}`);
      t0 = process.hrtime.bigint();
      const v = await client.validateToken(serviceToken, k.token, { nocatalog: true });
      theirs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!v.valid) throw new Error('keystone refused its own token');
    }
    const p99o = percentile(ours, 0.99);
    const p99k = percentile(theirs, 0.99);
    say(
      `TokenReview cache misses against keystone (${ks.source}): p50 ${percentile(ours, 0.5).toFixed(1)} ms, **p99 ${p99o.toFixed(1)} ms** ` +
        `vs keystone's own GET /v3/auth/tokens?nocatalog p50 ${percentile(theirs, 0.5).toFixed(1)} ms, p99 ${p99k.toFixed(1)} ms ` +
        `in the same run (${n} each, alternating): **ratio ${(p99o / p99k).toFixed(2)}x** at p99 (one keystone call per miss)`,
    );

    const fresh = await tokens.exchange(creds, { backend: 'keystone', audience: 'root' });
    const before = validations;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => reviewToken(body(fresh.token), { audience: 'root', authenticator })),
    );
    const ok = results.filter((r) => r.status.authenticated).length;
    say(
      `100 concurrent reviews of one new token: **${validations - before} keystone validation(s)**, ${ok}/100 authenticated (target: exactly 1)`,
    );
    authenticator.close();
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await client.close();
    await ks.release();
  }
}
