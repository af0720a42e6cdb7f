// `npm run bench [section...]`: measures the API server on this machine and writes
// docs/benchmarks.md. Sections: creates, etcd, mixed, watch, memory, tokenreview, clusters, sso, console, openstack, catalog (default: the first seven).
// Benchmarks are not tests: they print figures, they do not pass or fail.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, writeFile, readFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchServer } from './lib.ts';
import {
  histogram,
  machine,
  percentile,
  quantileBetween,
  request,
  root,
  rssKiB,
  sleep,
  startServer,
} from './lib.ts';
import { startEtcdForBench } from './etcd.ts';
import { tokenReviewHits, tokenReviewMisses } from './auth.ts';
import { clustersBench } from './clusters.ts';
import { backupBench } from './backup.ts';
import { consoleBench, ssoBench } from './sso.ts';
import { consoleUiBench } from './console.ts';
import { openstackBench } from './openstack.ts';
import { catalogBench } from './catalog.ts';

const sections = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['creates', 'etcd', 'mixed', 'watch', 'memory', 'tokenreview', 'clusters'];
const results: { section: string; lines: string[] }[] = [];
const say = (section: string, line: string) => {
  console.log(`[${section}] ${line}`);
  let r = results.find((x) => x.section === section);
  if (!r) results.push((r = { section, lines: [] }));
  r.lines.push(line);
};

async function ensureNamespace(s: BenchServer, ns: string) {
  const r = await request(s, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns },
  });
  if (r.status !== 201 && r.status !== 409) throw new Error(`namespace ${ns}: ${r.status} ${r.body}`);
}

async function wrkCreates(
  s: BenchServer,
  seconds: number,
  connections: number,
): Promise<{ rps: number; non2xx: number; p99ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-wrk-'));
  const script = join(dir, 'create.lua');
  await writeFile(
    script,
    `local counter = 0
local tid = 0
local threads = {}
function setup(thread) tid = tid + 1; thread:set("id", tid); table.insert(threads, thread) end
function init(args) prefix = "c" .. id .. "-${Date.now()}-" end
request = function()
  counter = counter + 1
  local body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. prefix .. counter .. '","namespace":"bench"},"data":{"k":"v"}}'
  return wrk.format("POST", "/api/v1/namespaces/bench/configmaps", {["Content-Type"]="application/json", ["Authorization"]="Bearer ${s.token}"}, body)
end
`,
  );
  const out = execFileSync(
    'wrk',
    ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, s.url],
    { encoding: 'utf8' },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : NaN;
  return { rps, non2xx, p99ms };
}

async function creates() {
  const s = await startServer();
  try {
    await ensureNamespace(s, 'bench');
    await wrkCreates(s, 2, 16); // warm-up
    const r = await wrkCreates(s, 10, 16);
    say(
      'creates',
      `SQLite backend: **${Math.round(r.rps)} creates/s** over HTTPS keep-alive, 16 connections (wrk -t2 -c16 -d10s), client p99 ${r.p99ms.toFixed(1)} ms, non-2xx ${r.non2xx}; target >= 3,000`,
    );
  } finally {
    await s.stop();
  }
}

async function etcd() {
  const e = await startEtcdForBench();
  try {
    // Raw etcd puts/s: 16 concurrent put loops through the same client library the backend uses.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: e.endpoints });
    const end = Date.now() + 10_000;
    let n = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; Date.now() < end; i++) {
          await client
            .put(`/raw/${w}/${i}`)
            .value('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"v"}}');
          n++;
        }
      }),
    );
    client.close();
    const raw = n / 10;
    const s = await startServer({ storage: 'etcd', endpoints: e.endpoints.join(',') });
    try {
      await ensureNamespace(s, 'bench');
      await wrkCreates(s, 2, 16);
      const r = await wrkCreates(s, 10, 16);
      say('etcd', `raw etcd puts: **${Math.round(raw)}/s** (etcd3 client, 16 concurrent put loops, 10 s)`);
      say(
        'etcd',
        `etcd backend: **${Math.round(r.rps)} creates/s** over HTTPS (wrk -t2 -c16 -d10s), non-2xx ${r.non2xx}: **${((100 * r.rps) / raw).toFixed(0)}% of raw etcd** (target >= 50%)`,
      );
    } finally {
      await s.stop();
    }
  } finally {
    await e.stop();
  }
}

async function mixed() {
  const s = await startServer();
  try {
    await ensureNamespace(s, 'mix');
    await ensureNamespace(s, 'big');
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          request(s, 'POST', '/api/v1/namespaces/big/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `o-${i + j}` },
            data: { v: 'x'.repeat(200) },
          }),
        ),
      );
    }
    const live: string[] = [];
    for (let i = 0; i < 200; i++) {
      await request(s, 'POST', '/api/v1/namespaces/mix/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `m-${i}` },
        data: { n: '0' },
      });
      live.push(`m-${i}`);
    }
    const before = await histogram(s);
    const seconds = 30;
    let seq = 1000;
    let errors = 0;
    const ops: Promise<unknown>[] = [];
    const start = Date.now();
    for (let t = 0; t < seconds * 100; t++) {
      const due = start + t * 10;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const r = Math.random();
      const check = (p: Promise<{ status: number }>) =>
        ops.push(
          p.then(
            (x) => x.status >= 400 && errors++,
            () => errors++,
          ),
        );
      if (r < 0.2) {
        const name = `m-${seq++}`;
        live.push(name);
        check(
          request(s, 'POST', '/api/v1/namespaces/mix/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name },
            data: { n: '0' },
          }),
        );
      } else if (r < 0.7 && live.length) {
        const name = live[Math.floor(Math.random() * live.length)]!;
        check(
          request(
            s,
            'PATCH',
            `/api/v1/namespaces/mix/configmaps/${name}`,
            { data: { n: String(t) } },
            'application/merge-patch+json',
          ).then((x) => (x.status === 404 ? { status: 200 } : x)),
        );
      } else if (r < 0.9 && live.length > 50) {
        const name = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
        check(request(s, 'DELETE', `/api/v1/namespaces/mix/configmaps/${name}`));
      } else {
        check(request(s, 'GET', '/api/v1/namespaces/big/configmaps?limit=500'));
      }
      if (t % 2 === 0 && live.length)
        check(
          request(s, 'GET', `/api/v1/namespaces/mix/configmaps/${live[t % live.length]}`).then((x) =>
            x.status === 404 ? { status: 200 } : x,
          ),
        );
    }
    await Promise.all(ops);
    const after = await histogram(s);
    const mut = quantileBetween(before, after, ['POST', 'PUT', 'PATCH', 'DELETE'], 0.99);
    const get = quantileBetween(before, after, ['GET'], 0.99);
    const list = quantileBetween(before, after, ['LIST'], 0.99);
    const fmt = (x: { seconds: number; count: number }) =>
      `<= ${(x.seconds * 1000).toFixed(1)} ms (${x.count} requests)`;
    say(
      'mixed',
      `100 mutations/s for ${seconds} s (20% create, 50% update, 20% delete, 10% LIST of 1,000 objects with limit=500) plus 50 GET/s, ${errors} errors`,
    );
    say(
      'mixed',
      `server-side p99 (apiserver_request_duration_seconds bucket bound): mutating ${fmt(mut)} (target 50 ms), GET ${fmt(get)} (target 20 ms), LIST ${fmt(list)} (target 200 ms)`,
    );
  } finally {
    await s.stop();
  }
}

interface Watcher {
  events: { type: string; rv: number; name: string; at: number }[];
  lastRV: string;
  close(): void;
}

function watchFrom(s: BenchServer, rv: string): Watcher {
  const w: Watcher = { events: [], lastRV: rv, close: () => undefined };
  const req = https.request(
    `${s.url}/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
    { agent: false, ca: s.ca, headers: { Authorization: `Bearer ${s.token}` } },
    (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line) continue;
          const e = JSON.parse(line) as {
            type: string;
            object: { metadata: { resourceVersion: string; name: string } };
          };
          w.lastRV = e.object.metadata.resourceVersion;
          if (e.type !== 'BOOKMARK')
            w.events.push({
              type: e.type,
              rv: Number(w.lastRV),
              name: e.object.metadata.name,
              at: performance.now(),
            });
        }
      });
      res.on('error', () => undefined);
    },
  );
  req.on('error', () => undefined);
  req.end();
  w.close = () => req.destroy();
  return w;
}

async function watch() {
  const dataDir = await mkdtemp(join(tmpdir(), 'kaas-bench-watch-'));
  let s = await startServer({ dataDir });
  const token = s.token;
  const port = s.port;
  try {
    await ensureNamespace(s, 'w');
    const startRV = JSON.parse((await request(s, 'GET', '/api/v1/namespaces/w/configmaps?limit=1')).body)
      .metadata.resourceVersion as string;
    const watchers = Array.from({ length: 100 }, () => watchFrom(s, startRV));
    await sleep(500);
    const log: { rv: number; at: number }[] = [];
    const writeFor = async (seconds: number, offset: number) => {
      const start = Date.now();
      const pending: Promise<void>[] = [];
      for (let t = 0; t < seconds * 100; t++) {
        const wait = start + t * 10 - Date.now();
        if (wait > 0) await sleep(wait);
        const i = offset + t;
        const sentAt = performance.now();
        pending.push(
          request(s, 'POST', '/api/v1/namespaces/w/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `e-${i}` },
          }).then((r) => {
            if (r.status !== 201) throw new Error(`write ${i}: ${r.status}`);
            log.push({ rv: Number(JSON.parse(r.body).metadata.resourceVersion), at: sentAt });
          }),
        );
      }
      await Promise.all(pending);
    };
    await writeFor(20, 0);
    await sleep(1000);
    const latencies: number[] = [];
    const check = (phase: string) => {
      const want = log.map((l) => l.rv).sort((a, b) => a - b);
      let lost = 0;
      let dup = 0;
      let reordered = 0;
      for (const w of watchers) {
        const got = w.events.map((e) => e.rv);
        const seen = new Set<number>();
        for (let i = 0; i < got.length; i++) {
          if (seen.has(got[i]!)) dup++;
          seen.add(got[i]!);
          if (i && got[i]! < got[i - 1]!) reordered++;
        }
        for (const rv of want) if (!seen.has(rv)) lost++;
      }
      say(
        'watch',
        `${phase}: ${watchers.length} watchers x ${want.length} writes: lost ${lost}, duplicated ${dup}, reordered ${reordered}`,
      );
    };
    const at = new Map(log.map((l) => [l.rv, l.at]));
    for (const w of watchers)
      for (const e of w.events) if (at.has(e.rv)) latencies.push(Math.max(0, e.at - at.get(e.rv)!));
    say(
      'watch',
      `100 watchers, 100 writes/s for 20 s: commit-to-delivery p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 **${percentile(latencies, 0.99).toFixed(1)} ms** (target 100 ms; measured from sending the write to the event's arrival, an upper bound of commit-to-delivery)`,
    );
    check('before restart');
    // Restart the server on the same data; every watcher resumes from its last resourceVersion.
    for (const w of watchers) w.close();
    await s.stop();
    s = await startServer({ dataDir, token, port });
    const resumed = watchers.map((w) => {
      const n = watchFrom(s, w.lastRV);
      n.events = w.events;
      return n;
    });
    watchers.splice(0, watchers.length, ...resumed);
    await sleep(500);
    await writeFor(5, 100_000);
    await sleep(1000);
    check("after a server restart, resumed from each watcher's last resourceVersion");
    for (const w of watchers) w.close();
  } finally {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function memory() {
  const s = await startServer();
  try {
    await ensureNamespace(s, 'mem');
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          request(s, 'POST', '/api/v1/namespaces/mem/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `o-${i + j}`, labels: { app: 'x' } },
            data: { v: 'x'.repeat(300) },
          }),
        ),
      );
    }
    const idle = rssKiB(s.pid);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(s.pid).rss)), 20);
    const t0 = performance.now();
    const lists = await Promise.all(
      Array.from({ length: 50 }, () => request(s, 'GET', '/api/v1/namespaces/mem/configmaps')),
    );
    const ms = performance.now() - t0;
    clearInterval(sampler);
    const sizes = lists.map((l) => l.body.length);
    say(
      'memory',
      `10,000 ConfigMaps (~0.5 KiB each): server RSS idle ${(idle.rss / 1024).toFixed(0)} MiB; during 50 concurrent full LISTs peak **${(peak / 1024).toFixed(0)} MiB** (VmHWM ${(rssKiB(s.pid).hwm / 1024).toFixed(0)} MiB); all 50 done in ${ms.toFixed(0)} ms, ${(sizes[0]! / 2 ** 20).toFixed(1)} MiB each`,
    );
  } finally {
    await s.stop();
  }
}

import https from 'node:https';

async function tokenreview() {
  await tokenReviewHits((l) => say('tokenreview', l));
  await tokenReviewMisses((l) => say('tokenreview', l));
}

const clusters = () => clustersBench((l) => say('clusters', l));
const sso = () => ssoBench((l) => say('sso', l));
const consoleSection = async () => {
  await consoleBench((l) => say('console', l));
  await consoleUiBench((l) => say('console', l));
};
const all: Record<string, () => Promise<void>> = {
  creates,
  etcd,
  mixed,
  watch,
  memory,
  tokenreview,
  clusters,
  backup: () => backupBench((l) => say('backup', l)),
  sso,
  console: consoleSection,
  openstack: () => openstackBench((l) => say('openstack', l)),
  catalog: () => catalogBench((l) => say('catalog', l)),
};
for (const sct of sections) {
  const f = all[sct];
  if (!f) throw new Error(`unknown section ${sct}; known: ${Object.keys(all).join(', ')}`);
  await f();
}

const doc = join(root, 'docs/benchmarks.md');
const existing = await readFile(doc, 'utf8').catch(() => '');
const stamp = new Date().toISOString().slice(0, 10);
let text =
  existing ||
  '# Benchmarks\n\nFigures from `npm run bench` (bench/run.ts). Benchmarks are not tests. Server and load generator run side by side on the same machine.\n';
for (const r of results) {
  const header = `## ${r.section}`;
  const body = `${header}\n\nMachine: ${machine()}. Date: ${stamp}. Command: \`npm run bench -- ${r.section}\`.\n\n${r.lines.map((l) => `- ${l}`).join('\n')}\n`;
  const re = new RegExp(`## ${r.section}\\n[\\s\\S]*?(?=\\n## |$)`);
  text = re.test(text) ? text.replace(re, body) : `${text.trimEnd()}\n\n${body}`;
}
await mkdir(join(root, 'docs'), { recursive: true });
await writeFile(doc, text.trimEnd() + '\n');
console.log(`wrote ${doc}`);
void spawn;
