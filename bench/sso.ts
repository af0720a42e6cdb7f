// `npm run bench -- sso`: what the SSO proxy adds in front of an upstream, with a valid session.
//
// One upstream (an nginx process answering `return 200` on a loopback port, one worker) is
// measured three ways in the same run: directly, through the SSO proxy (its own Node process,
// plain HTTP, a session cookie sealed here with the proxy's secret, a route open to any signed-in
// user), and through nginx as a reverse proxy (a second nginx process, one worker, upstream
// keep-alive). Both proxies reach the upstream across processes, as a proxy in front of
// Prometheus or Grafana does; an nginx that proxied to a `server` block of its own process would
// skip that hop and look faster than it is.
//
// Load: Debian's wrk (a C load generator on 2 threads). wrk has no rate option (that is wrk2), so
// a Lua `delay()` spaces each connection's requests: 50 connections, each waiting a random
// 0-100 ms (mean 50 ms) before each request, ~1,000 req/s with arrivals spread in time as
// independent clients make them. A fixed 50 ms delay is measured too: wrk starts the 50
// connections together and they stay in step, so that is 50-request bursts every 50 ms, a
// different load (the burst queues behind itself). Both are closed loops with think time, not an
// open schedule: a stall delays the next requests instead of queueing them (coordinated omission),
// so p99 here is per-request service time, which is what "added latency" asks. Throughput: wrk
// flat out, 50 connections.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, root } from './lib.ts';

/** the 1-minute load average: this machine is shared, and the figures move with it */
const load = () => loadavg()[0]!.toFixed(1);

/**
 * CPU seconds (user + system, all threads) a process has used: /proc/PID/stat fields 14 and 15,
 * in clock ticks (100 a second on Linux). Less sensitive to other jobs than latency or req/s.
 */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const SECRET = 'bench-cookie-secret-'.padEnd(48, 'x');
const RATE = 1000;
const CONNECTIONS = 50;
const LATENCY_SECONDS = 20;
const THROUGHPUT_SECONDS = 10;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

function ms(v: string | undefined, unit: string | undefined): number {
  if (v === undefined) return NaN;
  return Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
}

function parseWrk(out: string): WrkResult {
  const p = (q: string) => new RegExp(`\\b${q}%\\s+([\\d.]+)(us|ms|s)\\b`).exec(out);
  const p50 = p('50');
  const p99 = p('99');
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50ms: ms(p50?.[1], p50?.[2]),
    p99ms: ms(p99?.[1], p99?.[2]),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

async function wrk(
  url: string,
  script: string,
  o: { connections: number; seconds: number },
): Promise<WrkResult> {
  const out = await run(
    'wrk',
    ['-t2', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '-s', script, url],
    (o.seconds + 60) * 1000,
  );
  return parseWrk(out);
}

/** The SSO proxy in a process of its own (`node bench/sso.ts --serve UPSTREAM`), as in production. */
async function serveProxy(upstream: string): Promise<void> {
  const { startSsoProxy } = await import('@kaas/ssoproxy');
  const proxy = await startSsoProxy({
    listen: '127.0.0.1:0',
    cookie: { secrets: [SECRET], secure: false },
    // never contacted: the session is valid for hours, so no refresh happens
    oidc: { issuer: 'http://127.0.0.1:1/oidc', clientSecret: 's'.repeat(20) },
    routes: [{ name: 'bench', pathPrefix: '/', upstream, allowedGroups: ['*'] }],
  });
  console.log(`listening ${proxy.url}`);
  process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
}

async function sessionCookie(): Promise<string> {
  const { MemorySessionStore, SessionCodec, Sealer, newSessionId } = await import('@kaas/ssoproxy');
  const codec = new SessionCodec({
    sealer: new Sealer([SECRET]),
    store: new MemorySessionStore(),
    cookieName: '_kaas_sso',
    cookie: { path: '/', secure: false },
    storage: 'cookie',
    maxCookieBytes: 4096,
    now: Date.now,
  });
  const t = Date.now();
  const { setCookie } = await codec.encode({
    id: newSessionId(),
    sub: 'bench',
    user: 'local:bench',
    groups: ['ops'],
    accessToken: 'at',
    accessExpiresAtMs: t + 6 * 3600_000,
    idTokenExpiresAtMs: t + 6 * 3600_000,
    createdAtMs: t,
    expiresAtMs: t + 6 * 3600_000,
  });
  return setCookie.slice(0, setCookie.indexOf(';'));
}

function startChild(
  cmd: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

export async function ssoBench(say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-sso-'));
  const loadStart = load();
  let nginx: ChildProcess | undefined;
  let upstreamNginx: ChildProcess | undefined;
  let proxy: ChildProcess | undefined;
  try {
    const upPort = await freePort();
    const ngPort = await freePort();
    const nginxBin = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
    /** one nginx process (no master: its pid is the one spawned, whose CPU time the bench reads) */
    const startNginx = async (name: string, server: string): Promise<ChildProcess> => {
      const d = join(dir, name);
      await mkdir(d);
      await writeFile(
        join(d, 'nginx.conf'),
        `daemon off;
worker_processes 1;
master_process off;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  ${server}
}
`,
      );
      return spawn(nginxBin, ['-c', join(d, 'nginx.conf'), '-p', d, '-e', join(d, 'error.log')], {
        stdio: 'ignore',
      });
    };
    // the upstream: a fixed small answer; like Go's net/http (Prometheus, Grafana) it keeps a
    // client connection open for any number of requests (nginx's own default closes it after 1,000)
    upstreamNginx = await startNginx(
      'upstream',
      `server { listen 127.0.0.1:${upPort}; keepalive_requests 1000000; keepalive_timeout 300s; location / { default_type text/plain; return 200 "ok\\n"; } }`,
    );
    // nginx as the reference reverse proxy in front of it
    nginx = await startNginx(
      'proxy',
      `upstream app { server 127.0.0.1:${upPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${ngPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    );
    const upstream = `http://127.0.0.1:${upPort}`;
    for (let i = 0; i < 50; i++) {
      if (
        await fetch(`${upstream}/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = await startChild(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        '--max-semi-space-size=64',
        fileURLToPath(import.meta.url),
        '--serve',
        upstream,
      ],
      /listening (http:\/\/\S+)/,
    );
    proxy = started.child;
    const proxyUrl = started.match[1]!;
    const cookie = await sessionCookie();
    const check = await fetch(`${proxyUrl}/x`, { headers: { cookie } });
    if (check.status !== 200) throw new Error(`the proxy answered ${check.status} with the bench session`);

    const delayMs = (CONNECTIONS * 1000) / RATE;
    const header = `wrk.headers["Cookie"] = "${cookie}"\n`;
    // each wrk thread has its own Lua state, seeded apart so that the two threads' delays differ
    const spread = join(dir, 'spread.lua');
    await writeFile(
      spread,
      `${header}local n = 0
function setup(thread) n = n + 1; thread:set("id", n) end
function init(args) math.randomseed(os.time() * 100 + id) end
function delay() return math.random(0, ${2 * delayMs}) end
`,
    );
    const burst = join(dir, 'burst.lua');
    await writeFile(burst, `${header}function delay() return ${delayMs} end\n`);
    const flat = join(dir, 'flat.lua');
    await writeFile(flat, header);

    const targets = [
      { name: 'upstream directly', url: `${upstream}/` },
      { name: 'through the SSO proxy', url: `${proxyUrl}/`, pid: proxy.pid },
      { name: 'through nginx', url: `http://127.0.0.1:${ngPort}/`, pid: nginx.pid },
    ];
    /** wrk against a target, with the CPU µs per request of the process that proxied it */
    const measure = async (
      t: (typeof targets)[number],
      script: string,
      connections: number,
      seconds: number,
    ) => {
      const before = t.pid ? await cpuSeconds(t.pid) : 0;
      const r = await wrk(t.url, script, { connections, seconds });
      const cpuUs = t.pid ? (((await cpuSeconds(t.pid)) - before) * 1e6) / (r.rps * seconds) : NaN;
      return { ...r, cpuUs };
    };
    // warm up each (JIT, keep-alive pools)
    for (const t of targets) await wrk(t.url, flat, { connections: CONNECTIONS, seconds: 3 });
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    /** rounds interleaved, so that a burst of load from elsewhere hits every target alike */
    const paced = async (label: string, script: string, rounds: number, headline: boolean) => {
      // a paced warm-up of each target, not counted: the first paced round after the flat-out
      // warm-up was the slowest for the proxy in every run (a mark-compact of what flat out grew)
      for (const t of targets) await wrk(t.url, script, { connections: CONNECTIONS, seconds: 5 });
      const lat = new Map<string, (WrkResult & { cpuUs: number })[]>();
      for (let round = 0; round < rounds; round++)
        for (const t of targets) {
          const r = await measure(t, script, CONNECTIONS, LATENCY_SECONDS / 2);
          lat.set(t.name, [...(lat.get(t.name) ?? []), r]);
        }
      const runs = (name: string) => lat.get(name)!;
      for (const t of targets)
        say(
          `~${RATE} req/s, ${label}, ${t.name}: ${runs(t.name)
            .map(
              (r) =>
                `${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms${Number.isNaN(r.cpuUs) ? '' : `, ${r.cpuUs.toFixed(0)} µs CPU/request`}`,
            )
            .join('; ')}`,
        );
      const added = (name: string) => runs(name).map((r, i) => r.p99ms - runs('upstream directly')[i]!.p99ms);
      const sso = added('through the SSO proxy');
      const ng = added('through nginx');
      const figure = `SSO proxy added p99 ${label}: median ${median(sso).toFixed(2)} ms`;
      say(
        `${headline ? `**${figure}**` : figure} (rounds: ${sso.map((x) => x.toFixed(2)).join(' / ')} ms${headline ? '; target <= 2 ms' : ''}); nginx added median ${median(ng).toFixed(2)} ms (${ng.map((x) => x.toFixed(2)).join(' / ')}). Direct p99 ${runs(
          'upstream directly',
        )
          .map((r) => r.p99ms.toFixed(2))
          .join(' / ')} ms`,
      );
      const slowest = Math.min(...[...lat.values()].flat().map((r) => r.rps));
      if (slowest < RATE * 0.9)
        say(
          `${label}: the paced rate was not reached in every run (lowest ${slowest.toFixed(0)} req/s): requests waited for CPU, so these p99s measure the machine's load as much as the proxies`,
        );
      const bad = [...lat.values()].flat().reduce((x, r) => x + r.non2xx + r.errors, 0);
      if (bad) say(`${label}: non-2xx or socket errors: ${bad}`);
    };
    await paced(`${CONNECTIONS} connections with random 0-${2 * delayMs} ms think time`, spread, 3, true);
    await paced(`in ${CONNECTIONS}-request bursts every ${delayMs} ms (fixed think time)`, burst, 2, false);

    const tp: Record<string, WrkResult & { cpuUs: number }> = {};
    for (const t of targets.slice(1)) tp[t.name] = await measure(t, flat, 50, THROUGHPUT_SECONDS);
    const sso = tp['through the SSO proxy']!;
    const ng = tp['through nginx']!;
    say(
      `flat out (wrk, 2 threads, 50 connections, ${THROUGHPUT_SECONDS} s): SSO proxy ${sso.rps.toFixed(0)} req/s (p99 ${sso.p99ms.toFixed(1)} ms), nginx ${ng.rps.toFixed(0)} req/s (p99 ${ng.p99ms.toFixed(1)} ms): **SSO proxy throughput = ${(sso.rps / ng.rps).toFixed(2)} x nginx's** (one Node process vs one nginx worker, same upstream, same run)`,
    );
    say(
      `CPU per request flat out (user + system of the proxying process from /proc, all threads): **SSO proxy ${sso.cpuUs.toFixed(0)} µs**, nginx ${ng.cpuUs.toFixed(0)} µs (${(sso.cpuUs / ng.cpuUs).toFixed(1)} x); at the paced rate each request costs more (above: no batching of events, a wakeup per request)`,
    );
    say(
      `machine: ${machine()}; load average ${loadStart} at the start, ${load()} at the end; wrk, nginx and the proxy share its cores, and other jobs ran beside them: figures are indicative`,
    );
  } finally {
    await stop(proxy);
    await stop(nginx);
    await stop(upstreamNginx);
    await rm(dir, { recursive: true, force: true });
  }
}

/** A browser's part of the console sign-in: redirects with a cookie jar, the issuer's form. */
async function consoleCookie(url: string, ca: string, password: string): Promise<string> {
  const { Agent, fetch: f } = await import('undici');
  const dispatcher = new Agent({ connect: { ca } });
  const jar = new Map<string, string>();
  const go = async (target: string, form?: Record<string, string>) => {
    const u = new URL(target, url);
    const res = await f(u, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      dispatcher,
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: u.origin } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const h of res.headers.getSetCookie()) {
      const [pair = ''] = h.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { res, body: await res.text(), u };
  };
  let r = await go('/console/login');
  for (let hop = 0; hop < 12 && !jar.get('kaas_console'); hop++) {
    const loc = r.res.headers.get('location');
    if (loc) r = await go(new URL(loc, r.u).href);
    else {
      const action = /<form method="post" action="([^"]+)"/.exec(r.body)?.[1]?.replace(/&amp;/g, '&');
      if (!action) throw new Error(`console sign-in stuck at ${r.u.href}: ${r.res.status}`);
      r = await go(new URL(action, r.u).href, { backend: 'local', username: 'admin', password });
    }
  }
  await dispatcher.close();
  const id = jar.get('kaas_console');
  if (!id) throw new Error('console sign-in did not set a session cookie');
  return `kaas_console=${id}`;
}

/**
 * `npm run bench -- console`: /console/k8s/ (session lookup in the store, the user's token, the
 * API server's own handler in the same process) against the same GET sent to the API directly
 * with a bearer token, over HTTPS to a real `kaasctl server`.
 */
export async function consoleBench(say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-console-'));
  const loadStart = load();
  const password = 'bench-console-password-1';
  const bin = join(root, 'apps/kaasctl/bin/kaasctl');
  let server: ChildProcess | undefined;
  let closeHop: () => Promise<void> = async () => {};
  try {
    const started = await startChild(
      bin,
      ['server', '--data-dir', dir, '--listen', '127.0.0.1:0'],
      /listening on (https:\/\/\S+)/,
      { KAAS_ADMIN_PASSWORD: password },
    );
    server = started.child;
    const url = started.match[1]!;
    const ca = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8');
    const cookie = await consoleCookie(url, ca, password);
    const { Agent, fetch: f } = await import('undici');
    const dispatcher = new Agent({ connect: { ca } });
    const t = await f(`${url}/auth/v1/tokens`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        cluster: 'root',
        credentials: { type: 'password', username: 'admin', password },
      }),
    });
    const token = ((await t.json()) as { token: string }).token;
    await dispatcher.close();
    const path = '/api/v1/namespaces/default';
    const direct = join(dir, 'direct.lua');
    await writeFile(direct, `wrk.headers["Authorization"] = "Bearer ${token}"\n`);
    const viaConsole = join(dir, 'console.lua');
    await writeFile(viaConsole, `wrk.headers["Cookie"] = "${cookie}"\n`);
    // what the rejected design would add: a loopback HTTPS hop to the API server's own listener
    // (here a minimal Node forwarder in this process with a keep-alive agent, no session work)
    const upstreamAgent = new HttpsAgent({ keepAlive: true, ca });
    const apiPort = Number(new URL(url).port);
    const hop = createHttpsServer(
      {
        cert: await readFile(join(dir, 'pki', 'serving.crt'), 'utf8'),
        key: await readFile(join(dir, 'pki', 'serving.key'), 'utf8'),
      },
      (req, res) => {
        const up = httpsRequest(
          {
            host: '127.0.0.1',
            port: apiPort,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: `127.0.0.1:${apiPort}` },
            agent: upstreamAgent,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      },
    );
    await new Promise<void>((r) => hop.listen(0, '127.0.0.1', r));
    closeHop = async () => {
      hop.closeAllConnections();
      await new Promise((r) => hop.close(r));
      upstreamAgent.destroy();
    };
    const hopUrl = `https://127.0.0.1:${(hop.address() as AddressInfo).port}`;
    const targets = [
      { name: 'the API directly (bearer token)', url: `${url}${path}`, script: direct },
      { name: '/console/k8s (session cookie)', url: `${url}/console/k8s${path}`, script: viaConsole },
      { name: 'a loopback HTTPS forwarder (bearer token)', url: `${hopUrl}${path}`, script: direct },
    ];
    for (const x of targets) {
      const w = await wrk(x.url, x.script, { connections: 4, seconds: 3 });
      if (w.non2xx || !(w.rps > 0)) throw new Error(`${x.name}: ${w.non2xx} non-2xx answers`);
    }
    const got = new Map<string, WrkResult[]>();
    for (let round = 0; round < 2; round++)
      for (const x of targets)
        got.set(x.name, [
          ...(got.get(x.name) ?? []),
          await wrk(x.url, x.script, { connections: 4, seconds: 8 }),
        ]);
    for (const x of targets)
      say(
        `GET ${path} through ${x.name}, wrk 2 threads, 4 connections, 2 x 8 s over HTTPS: ${got
          .get(x.name)!
          .map((r) => `${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms`)
          .join('; ')}`,
      );
    say(
      `machine: ${machine()}; load average ${loadStart} at the start, ${load()} at the end; the server and wrk share its cores, and other jobs ran beside them: figures are indicative`,
    );
  } finally {
    await closeHop();
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serveProxy(process.argv[3]!);
