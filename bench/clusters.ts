// `npm run bench -- clusters`: the cluster lifecycle end to end. (1) `npm start` on a fresh data
// dir until the demo cluster is usable (its kubeconfig works with the real kubectl, every node
// Ready, ServicesReady and Ready True), then again on the same data dir (resume). (2) Many local
// clusters of 1 control plane + 3 workers created through the management API at a fixed
// concurrency against one `kaasctl server` process: time-to-Ready per cluster against the critical
// path of the resource graph, server RSS and CPU, KV size, KV writes while idle, destroy to an
// empty local cloud. Every process started here is stopped by its pid (npm start: its own process
// group). Knobs for a quick try: KAAS_BENCH_CLUSTERS=100,1000 (sizes; empty: none),
// KAAS_BENCH_CLUSTERS_IDLE_S=60, KAAS_BENCH_CLUSTERS_SKIP=start.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import * as k8s from '@kubernetes/client-node';
import { withDefaults, type ClusterInput } from '@kaas/api';
import { openStore } from '@kaas/apiserver';
import { criticalPath } from '@kaas/providers';
import { LocalCloud, planLocalCluster } from '@kaas/providers/local';
import { cpuSeconds, percentile, root, rssKiB, sleep } from './lib.ts';

type Say = (line: string) => void;

const kaasctlBin = join(root, 'apps/kaasctl/bin/kaasctl');
const group = 'kaas.dev';
const version = 'v1alpha1';
const plural = 'clusters';
const namespace = 'default';
const partTypes = ['InfrastructureReady', 'ControlPlaneReady', 'NodesReady', 'ServicesReady', 'Ready'];

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface ClusterObj {
  metadata: { name: string; resourceVersion?: string; uid?: string };
  status?: { conditions?: Condition[]; resources?: unknown[] };
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);
/** Other work shares this 2-core machine: the 1-minute load average goes with every figure. */
const load = () => `load average ${loadavg()[0]!.toFixed(1)}`;
const mib = (kib: number) => (kib / 1024).toFixed(0);
const condOf = (c: ClusterObj | undefined, type: string) =>
  c?.status?.conditions?.find((x) => x.type === type);
const isTrue = (c: ClusterObj | undefined, type: string) => condOf(c, type)?.status === 'True';
/** A condition that is neither progress nor done: a coded failure (the engine may still retry it). */
const failure = (c: ClusterObj | undefined) =>
  c?.status?.conditions?.find(
    (x) => x.status !== 'True' && !['Provisioning', 'Waiting', 'Deleting'].includes(x.reason),
  );

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout }),
    );
  });
}

/** The spec every benchmark cluster gets: examples/bootstrap.yaml's shape, 1 control plane + 3 workers. */
function clusterSpec(local: { vmBootSeconds: number; latencyScale: number }): ClusterInput['spec'] {
  return {
    provider: { type: 'local', local: { ...local, faults: { errorRate: 0, timeoutRate: 0 } } },
    kubernetesVersion: '1.33',
    controlPlane: { replicas: 1, machineType: 'medium' },
    nodePools: [{ name: 'workers', replicas: 3, machineType: 'medium', diskGiB: 50 }],
    auth: { identity: { backend: 'local' }, clusterAdminRoleIds: ['cluster-admins'] },
  };
}

/**
 * The critical path of one cluster's resource graph under the local cloud's latency model: every
 * call 50-500 ms (uniform) times latencyScale, a server's create plus vmBootSeconds times it. With
 * mean latencies, and the mean over 2,000 draws of the longest chain (what a run can expect).
 * Both include the preflight call (`GET limits`) that precedes the graph.
 */
function modelCriticalPath(local: { vmBootSeconds: number; latencyScale: number }): {
  meanMs: number;
  expectedMs: number;
  nodes: number;
  path: string;
} {
  const cluster = withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'model', namespace, uid: '00000000-0000-4000-8000-000000000000' },
    spec: clusterSpec(local),
  });
  const graph = planLocalCluster(cluster);
  const type = new Map(graph.nodes.map((n) => [n.id, n.type]));
  const boot = local.vmBootSeconds * 1000 * local.latencyScale;
  const call = (r: number) => (50 + 450 * r) * local.latencyScale;
  const weight = (r: () => number) => (id: string) => call(r()) + (type.get(id) === 'server' ? boot : 0);
  const meanMs =
    call(0.5) +
    criticalPath(
      graph.nodes,
      weight(() => 0.5),
    );
  let sum = 0;
  const draws = 2000;
  for (let i = 0; i < draws; i++) sum += call(Math.random()) + criticalPath(graph.nodes, weight(Math.random));
  // the chain itself, for the reader
  const longest = (id: string): string[] => {
    const n = graph.nodes.find((x) => x.id === id)!;
    const deps = n.dependsOn.map((d) => ({ d, len: longest(d).length }));
    const best = deps.sort((a, b) => b.len - a.len)[0];
    return best ? [...longest(best.d), id] : [id];
  };
  const last = graph.nodes.filter((n) => n.type === 'dnsRecord' && n.id.includes('control-plane'))[0]!;
  return { meanMs, expectedMs: sum / draws, nodes: graph.nodes.length, path: longest(last.id).join(' → ') };
}

// ---------------------------------------------------------------------------------------------
// (1) npm start

interface StartRun {
  listenMs?: number;
  usableLine?: string;
  kubectlOkMs?: number;
  nodesReadyMs?: number;
  conditionMs: Record<string, number>;
  output: string[];
}

async function npmStart(dataDir: string, port: number, deadlineMs: number): Promise<StartRun> {
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const child = spawn('npm', ['start', '--', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    cwd: root,
    detached: true, // its own process group: npm, sh, start.ts, the server and kaasctl, stopped together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: StartRun = { conditionMs: {}, output: [] };
  let listening = false;
  createInterface({ input: child.stdout }).on('line', (l) => {
    out.output.push(l);
    if (/listening on https:/.test(l) && out.listenMs === undefined) {
      out.listenMs = at();
      listening = true;
    }
    if (/usable .* after npm start/.test(l)) out.usableLine = l.trim();
  });
  child.stderr.on('data', () => undefined);
  const demoKubeconfig = join(dataDir, 'demo.kubeconfig');
  const adminKubeconfig = join(dataDir, 'admin.kubeconfig');
  let watchAbort: AbortController | undefined;
  try {
    while (at() < deadlineMs) {
      if (child.exitCode !== null)
        throw new Error(`npm start exited ${child.exitCode}: ${out.output.join('\n')}`);
      if (listening && !watchAbort) {
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(adminKubeconfig);
        watchAbort = await new k8s.Watch(kc).watch(
          `/apis/${group}/${version}/${plural}`,
          {},
          (_type, obj: ClusterObj) => {
            if (obj.metadata?.name !== 'demo') return;
            for (const t of partTypes) if (isTrue(obj, t)) out.conditionMs[t] ??= at();
          },
          () => undefined,
        );
      }
      if (listening && existsSync(demoKubeconfig) && out.nodesReadyMs === undefined) {
        const r = await run('kubectl', ['--kubeconfig', demoKubeconfig, 'get', 'nodes', '-o', 'json']);
        if (r.code === 0) {
          out.kubectlOkMs ??= at();
          const items = (JSON.parse(r.stdout) as { items: { status?: { conditions?: Condition[] } }[] })
            .items;
          if (
            items.length === 4 &&
            items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          )
            out.nodesReadyMs = at();
        }
      }
      if (out.nodesReadyMs !== undefined && out.conditionMs.Ready !== undefined && out.usableLine) break;
      await sleep(200);
    }
    return out;
  } finally {
    watchAbort?.abort();
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      await sleep(500); // the server finishes its own shutdown (it got the signal too)
    }
  }
}

async function startSection(say: Say): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-start-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const describe = (r: StartRun) => {
    const c = r.conditionMs;
    const f = (ms: number | undefined) => (ms === undefined ? 'not reached' : `${s1(ms)} s`);
    const usable = Math.max(
      r.kubectlOkMs ?? NaN,
      r.nodesReadyMs ?? NaN,
      c.ServicesReady ?? NaN,
      c.Ready ?? NaN,
    );
    return {
      usable,
      text: `server listening ${f(r.listenMs)}; InfrastructureReady ${f(c.InfrastructureReady)}, ControlPlaneReady ${f(c.ControlPlaneReady)}, NodesReady ${f(c.NodesReady)}, ServicesReady ${f(c.ServicesReady)}, Ready ${f(c.Ready)} (first seen True on one watch of the management API); demo kubeconfig answers kubectl ${f(r.kubectlOkMs)}; \`kubectl get nodes\` shows 4 of 4 Ready ${f(r.nodesReadyMs)}; start.ts says: "${r.usableLine ?? 'nothing'}"`,
    };
  };
  try {
    const t = performance.now();
    await run(kaasctlBin, ['--help']);
    const coldMs = performance.now() - t;
    const load0 = load();
    const fresh = await npmStart(dataDir, port, 180_000);
    const a = describe(fresh);
    say(
      `\`npm start\` on a fresh data dir (\`npm start -- --data-dir DIR --listen 127.0.0.1:PORT\`, examples/bootstrap.yaml: 1 control plane + 3 workers, vmBootSeconds 10 x latencyScale 0.1, 7 managed services) to a usable cluster: **${s1(a.usable)} s**. Milestones from spawning npm: ${a.text}. ${load0} at the start; a cold \`kaasctl --help\` (one Node process loading the TypeScript sources) takes ${s1(coldMs)} s here`,
    );
    const resumed = await npmStart(dataDir, port, 120_000);
    const b = describe(resumed);
    say(
      `\`npm start\` again on the same data dir (resume): usable after **${s1(b.usable)} s**. ${b.text}; ${load()}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (2) scale

interface KaasServer {
  child: ChildProcess;
  pid: number;
  url: string;
  dataDir: string;
  kc: k8s.KubeConfig;
  stop(): Promise<void>;
}

async function startKaasServer(dataDir: string): Promise<KaasServer> {
  const child = spawn(kaasctlBin, ['server', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    log.push(l);
    if (log.length > 200) log.shift();
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /listening on (https:\/\/\S+)/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`kaasctl server exited ${c}: ${log.join('\n')}`)));
  });
  await sleep(200); // the kubeconfig line follows "listening"
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dataDir, 'admin.kubeconfig'));
  return {
    child,
    pid: child.pid!,
    url,
    dataDir,
    kc,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One watch over every Cluster: the newest object per name, and waiters for a predicate. */
class ClusterWatch {
  readonly latest = new Map<string, ClusterObj>();
  readonly deleted = new Map<string, number>();
  readonly firstTrue = new Map<string, Record<string, number>>();
  readonly failures = new Map<string, string>();
  #abort: AbortController | undefined;
  #rv = '';
  #stopped = false;
  #waiters: { name: string; ok: (c: ClusterObj | undefined) => boolean; resolve: () => void }[] = [];
  restarts = 0;

  readonly kc: k8s.KubeConfig;

  constructor(kc: k8s.KubeConfig) {
    this.kc = kc;
  }

  async start(): Promise<void> {
    const api = this.kc.makeApiClient(k8s.CustomObjectsApi);
    const list = (await api.listNamespacedCustomObject({ group, version, namespace, plural })) as {
      metadata: { resourceVersion: string };
      items: ClusterObj[];
    };
    for (const c of list.items) this.#seen('ADDED', c);
    this.#rv = list.metadata.resourceVersion;
    await this.#open();
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    this.#abort = await new k8s.Watch(this.kc).watch(
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      { resourceVersion: this.#rv, allowWatchBookmarks: true },
      (type, obj: ClusterObj) => {
        if (obj.metadata?.resourceVersion) this.#rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') this.#seen(type, obj);
      },
      () => {
        if (this.#stopped) return;
        this.restarts++;
        setTimeout(() => void this.#open().catch(() => undefined), 100);
      },
    );
  }

  #seen(type: string, c: ClusterObj): void {
    const name = c.metadata.name;
    const now = performance.now();
    if (type === 'DELETED') {
      this.latest.delete(name);
      this.deleted.set(name, now);
    } else {
      this.latest.set(name, c);
      const ft = this.firstTrue.get(name) ?? {};
      for (const t of partTypes) if (isTrue(c, t)) ft[t] ??= now;
      this.firstTrue.set(name, ft);
      const f = failure(c);
      if (f) this.failures.set(name, `${f.type} ${f.reason}: ${f.message}`);
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (w.name !== name || !w.ok(type === 'DELETED' ? undefined : c)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once the named Cluster satisfies `ok` (undefined: deleted); false after timeoutMs. */
  until(name: string, ok: (c: ClusterObj | undefined) => boolean, timeoutMs: number): Promise<boolean> {
    if (ok(this.latest.get(name))) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { name, ok, resolve: () => (clearTimeout(timer), resolve(true)) };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

interface ScaleOptions {
  count: number;
  concurrency: number;
  local: { vmBootSeconds: number; latencyScale: number };
  /** Per cluster: give up waiting for Ready after this. */
  readyTimeoutMs: number;
  /** Stop creating clusters after this (from the first create); what was created is reported. */
  budgetMs: number;
  idleSeconds: number;
  solo: boolean;
}

function sampler(pid: number) {
  let peakRss = 0;
  const t = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssKiB(pid).rss);
    } catch {
      // the process is gone
    }
  }, 500);
  return {
    stop: () => clearInterval(t),
    peak: () => peakRss,
  };
}

function kvFiles(dataDir: string): number {
  let bytes = 0;
  for (const f of ['kaas.db', 'kaas.db-wal']) {
    try {
      bytes += statSync(join(dataDir, f)).size;
    } catch {
      // absent
    }
  }
  return bytes;
}

async function revisionOf(kc: k8s.KubeConfig): Promise<number> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group, version, namespace, plural, limit: 1 })) as {
    metadata: { resourceVersion: string };
  };
  return Number(list.metadata.resourceVersion);
}

async function scale(say: Say, o: ScaleOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-clusters-'));
  const dataDir = join(dir, 'data');
  const label = `${o.count.toLocaleString('en-US')} clusters`;
  const model = modelCriticalPath(o.local);
  const srv = await startKaasServer(dataDir);
  const load0 = load();
  const cpu0 = cpuSeconds(srv.pid);
  const rss0 = rssKiB(srv.pid).rss;
  const samples = sampler(srv.pid);
  const api = srv.kc.makeApiClient(k8s.CustomObjectsApi);
  const w = new ClusterWatch(srv.kc);
  let idleKeys: { from: number; to: number } | undefined;
  try {
    await w.start();
    const create = (name: string) =>
      api.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Cluster',
          metadata: { name, namespace },
          spec: clusterSpec(o.local),
        },
      });
    const del = (name: string) =>
      api.deleteNamespacedCustomObject({ group, version, namespace, plural, name });

    if (o.solo) {
      // one cluster alone: the floor the concurrent ones are compared with
      const t = performance.now();
      await create('bench-solo');
      const ok = await w.until('bench-solo', (c) => isTrue(c, 'Ready'), o.readyTimeoutMs);
      const ft = w.firstTrue.get('bench-solo') ?? {};
      const phase = (k: string) => (ft[k] === undefined ? 'n/a' : s1(ft[k] - t));
      const td = performance.now();
      await del('bench-solo');
      const gone = await w.until('bench-solo', (c) => c === undefined, 120_000);
      say(
        `${label}, first one cluster alone (vmBootSeconds ${o.local.vmBootSeconds}, latencyScale ${o.local.latencyScale}): ${ok ? `Ready in **${s1((ft.Ready ?? NaN) - t)} s**` : `not Ready in ${s1(o.readyTimeoutMs)} s: ${w.failures.get('bench-solo') ?? 'no failure condition'}`} (InfrastructureReady ${phase('InfrastructureReady')} s, NodesReady ${phase('NodesReady')} s, ServicesReady ${phase('ServicesReady')} s) against a modelled critical path of ${s1(model.expectedMs)} s; destroyed in ${gone ? `${s1(performance.now() - td)} s` : 'more than 120 s'}`,
      );
    }

    const names = Array.from({ length: o.count }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    const createdAt = new Map<string, number>();
    const readyMs = new Map<string, number>();
    const timedOut: string[] = [];
    const createErrors: string[] = [];
    let next = 0;
    const t0 = performance.now();
    let budgetHit = false;
    const progress = setInterval(() => {
      console.log(
        `[clusters] ${label}: ${createdAt.size} created, ${readyMs.size} Ready, ${timedOut.length} timed out, ${s1(performance.now() - t0)} s, RSS ${mib(rssKiB(srv.pid).rss)} MiB, CPU ${(cpuSeconds(srv.pid) - cpu0).toFixed(0)} s`,
      );
    }, 10_000);
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        for (;;) {
          if (performance.now() - t0 > o.budgetMs) {
            budgetHit = next < names.length;
            return;
          }
          const name = names[next++];
          if (name === undefined) return;
          const t = performance.now();
          try {
            await create(name);
          } catch (e) {
            createErrors.push(`${name}: ${(e as Error).message}`);
            continue;
          }
          createdAt.set(name, t);
          const ok = await w.until(name, (c) => isTrue(c, 'Ready'), o.readyTimeoutMs);
          if (ok) readyMs.set(name, (w.firstTrue.get(name)?.Ready ?? performance.now()) - t);
          else timedOut.push(name);
        }
      }),
    );
    clearInterval(progress);
    const wallMs = performance.now() - t0;
    const cpuCreate = cpuSeconds(srv.pid) - cpu0;
    const rssAfter = rssKiB(srv.pid);
    const times = [...readyMs.values()];
    const p50 = percentile(times, 0.5);
    const p95 = percentile(times, 0.95);
    const phases = (k: string) =>
      s1(
        percentile(
          [...createdAt]
            .map(([n, t]) => (w.firstTrue.get(n)?.[k] ?? NaN) - t)
            .filter((x) => !Number.isNaN(x)),
          0.5,
        ),
      );
    const waves = Math.ceil(createdAt.size / o.concurrency);
    say(
      `${label} of 1 control plane + 3 workers (${model.nodes} cloud resources each), vmBootSeconds ${o.local.vmBootSeconds}, latencyScale ${o.local.latencyScale}, created through the management API (client-node, admin kubeconfig) at concurrency ${o.concurrency}, one watch on Clusters, one \`kaasctl server\` process (SQLite, fresh data dir): **${readyMs.size} of ${o.count} Ready**${createdAt.size < o.count ? ` (${createdAt.size} created${budgetHit ? `, creation stopped at the ${s1(o.budgetMs)} s budget` : ''})` : ''}, ${timedOut.length} not Ready within ${s1(o.readyTimeoutMs)} s, ${createErrors.length} create errors; total wall time **${s1(wallMs)} s** (${load0} before, ${load()} after)`,
    );
    say(
      `${label}: time-to-Ready per cluster (create sent -> Ready=True seen on the watch) p50 **${s1(p50)} s**, p95 **${s1(p95)} s**, max ${s1(Math.max(...times))} s; medians of InfrastructureReady ${phases('InfrastructureReady')} s, NodesReady ${phases('NodesReady')} s, ServicesReady ${phases('ServicesReady')} s`,
    );
    say(
      `${label}: critical path of one cluster's resource graph (${model.path}, plus the preflight call), from planLocalCluster and the local cloud's latency model (each call 50-500 ms, a server + vmBootSeconds, all x latencyScale): ${s1(model.meanMs)} s with mean latencies, **${s1(model.expectedMs)} s** expected (mean of 2,000 draws); orchestration overhead = time-to-Ready / critical path: **p50 ${(p50 / model.expectedMs).toFixed(2)}x, p95 ${(p95 / model.expectedMs).toFixed(2)}x**; total wall time vs ${waves} waves of the critical path (${s1(waves * model.expectedMs)} s): ${(wallMs / (waves * model.expectedMs) || NaN).toFixed(2)}x`,
    );
    const rev = await revisionOf(srv.kc);
    say(
      `${label}: server RSS peak ${mib(Math.max(samples.peak(), rssAfter.rss))} MiB (VmHWM ${mib(rssAfter.hwm)} MiB; ${mib(rss0)} MiB at start), ${mib(rssAfter.rss)} MiB with every cluster Ready; server CPU ${cpuCreate.toFixed(1)} s over the ${s1(wallMs)} s run (${((100 * cpuCreate) / (wallMs / 1000)).toFixed(0)}% of one core; the machine has 2); KV: revision ${rev}, SQLite files ${(kvFiles(dataDir) / 2 ** 20).toFixed(1)} MiB`,
    );
    const failed = [
      ...new Set([
        ...timedOut.map((n) => w.failures.get(n) ?? condOf(w.latest.get(n), 'Ready')?.message ?? 'no status'),
        ...createErrors,
      ]),
    ];
    if (failed.length)
      say(
        `${label}: failures, verbatim (distinct, first 3): ${failed
          .slice(0, 3)
          .map((f) => `\`${f}\``)
          .join('; ')}`,
      );

    // idle: writes over idleSeconds with every cluster Ready
    if (o.idleSeconds > 0) {
      const r0 = await revisionOf(srv.kc);
      const c0 = cpuSeconds(srv.pid);
      await sleep(o.idleSeconds * 1000);
      const r1 = await revisionOf(srv.kc);
      idleKeys = { from: r0, to: r1 };
      say(
        `${label} Ready and idle for ${o.idleSeconds} s: **${r1 - r0} KV writes** (store revision ${r0} -> ${r1}), server CPU ${(cpuSeconds(srv.pid) - c0).toFixed(1)} s, RSS ${mib(rssKiB(srv.pid).rss)} MiB`,
      );
    }

    // destroy everything
    const td = performance.now();
    const existing = [...w.latest.keys()];
    const cpuD = cpuSeconds(srv.pid);
    for (let i = 0; i < existing.length; i += 50)
      await Promise.all(existing.slice(i, i + 50).map((n) => del(n).catch(() => undefined)));
    const deleted = await Promise.all(existing.map((n) => w.until(n, (c) => c === undefined, 600_000)));
    const destroyMs = performance.now() - td;
    const left = deleted.filter((d) => !d).length;
    say(
      `${label}: destroy of all ${existing.length} (DELETE each, then the finalizer runs the engine's destroy): ${left === 0 ? 'all gone' : `${left} still there`} after **${s1(destroyMs)} s**, server CPU ${(cpuSeconds(srv.pid) - cpuD).toFixed(1)} s`,
    );
  } finally {
    w.stop();
    samples.stop();
    await srv.stop();
  }
  // after the server: the local cloud's own count, and what the KV holds
  const kv = await openStore({ kind: 'sqlite', path: join(dataDir, 'kaas.db') });
  let cloudCount: number;
  let storeCount: number;
  try {
    cloudCount = (await LocalCloud.open({ store: kv })).count();
    storeCount = await kv.count('/kaas/localcloud/');
  } finally {
    await kv.close();
  }
  const db = new DatabaseSync(join(dataDir, 'kaas.db'), { readOnly: true });
  try {
    const live = db
      .prepare('SELECT count(*) AS n FROM latest JOIN log ON log.id = latest.id WHERE log.deleted = 0')
      .get() as { n: number };
    const rows = db.prepare('SELECT count(*) AS n FROM log').get() as { n: number };
    // what is left, by resource and logical cluster (/registry/GROUP/RESOURCE/CLUSTER/...)
    const leftKeys = db
      .prepare('SELECT latest.key AS key FROM latest JOIN log ON log.id = latest.id WHERE log.deleted = 0')
      .all() as { key: string }[];
    const byResource = new Map<string, Set<string>>();
    for (const { key } of leftKeys) {
      const parts = key.split('/');
      const resource = parts.slice(0, parts[1] === 'registry' ? 4 : 3).join('/');
      const cluster = parts[1] === 'registry' ? (parts[4] ?? '') : '';
      const set = byResource.get(resource) ?? new Set<string>();
      set.add(`${cluster}\u0000${key}`);
      byResource.set(resource, set);
    }
    const leftText = [...byResource]
      .sort((a, b) => b[1].size - a[1].size)
      .slice(0, 6)
      .map(([r, keys]) => {
        const clusters = new Set([...keys].map((k) => k.split('\u0000')[0]));
        return `${r} ${keys.size} (in ${clusters.size} logical clusters)`;
      })
      .join(', ');
    let idleText = '';
    if (idleKeys && idleKeys.to > idleKeys.from) {
      const keys = db
        .prepare(
          'SELECT key, count(*) AS n FROM log WHERE id > ? AND id <= ? GROUP BY key ORDER BY n DESC LIMIT 5',
        )
        .all(idleKeys.from, idleKeys.to) as { key: string; n: number }[];
      idleText = `; the idle writes were: ${keys.map((k) => `${k.key} x${k.n}`).join(', ')}`;
    }
    say(
      `${label}: after destroy the local cloud holds **${cloudCount} resources** (LocalCloud.count() on the server's store; ${storeCount} keys under /kaas/localcloud/); the store holds ${live.n} live keys (most: ${leftText}) in ${rows.n} log rows (never compacted), ${(kvFiles(dataDir) / 2 ** 20).toFixed(1)} MiB${idleText}`,
    );
  } finally {
    db.close();
  }
  await rm(dir, { recursive: true, force: true });
}

export async function clustersBench(say: Say): Promise<void> {
  const sizes = (process.env.KAAS_BENCH_CLUSTERS ?? '100,1000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const idleSeconds = Number(process.env.KAAS_BENCH_CLUSTERS_IDLE_S ?? 60);
  if (!(process.env.KAAS_BENCH_CLUSTERS_SKIP ?? '').includes('start')) await startSection(say);
  for (const count of sizes) {
    const realistic = count <= 100;
    await scale(say, {
      count,
      concurrency: 10,
      local: { vmBootSeconds: 10, latencyScale: realistic ? 1 : 0.01 },
      readyTimeoutMs: realistic ? 180_000 : 60_000,
      budgetMs: 600_000,
      idleSeconds: realistic ? idleSeconds : 0,
      solo: true,
    });
  }
}
