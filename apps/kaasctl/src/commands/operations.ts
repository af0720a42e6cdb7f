// kaasctl's day-2 operations: cluster validate, cluster update, nodes add|remove|replace,
// services deploy, versions, provider preconfigure. Each writes what it wants to the Cluster
// (spec, or a request annotation) and waits for the controllers to report it done: the logic
// lives in @kaas/clusters (rolling.ts, drain.ts, validate.ts), never here.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command } from 'commander';
import * as k8s from '@kubernetes/client-node';
import {
  checkKubernetesVersion,
  formatProblem,
  kubernetesVersions,
  managedServiceKeys,
  managedServices,
  parseBootstrap,
  withDefaults,
} from '@kaas/api';
import { MemoryStore } from '@kaas/apiserver';
import {
  defaultVersion,
  kubeletVersion,
  operationAnnotations,
  serviceReleases,
  versionSkewProblem,
  type RollStatus,
  type ServicesReport,
  type ValidationReport,
} from '@kaas/clusters';
import { LocalCloud, LocalCloudProvider } from '@kaas/providers/local';
import { ApiError, defaultKubeconfig, exitCodes, reportError } from '../client.ts';
import { loadKubeconfig, parseTimeout, toApiError } from './lifecycle.ts';
import { outputOption, printData } from '../output.ts';
import { confirm } from '../prompt.ts';

const group = 'kaas.dev';
const version = 'v1alpha1';
const plural = 'clusters';
const kaasVersion = '0.1.0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Obj = {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: any;
  status?: any;
};

interface Common {
  namespace: string;
  kubeconfig: string;
  timeout: string;
}

class Api {
  readonly kc: k8s.KubeConfig;
  readonly co: k8s.CustomObjectsApi;
  readonly ns: string;
  constructor(o: Common) {
    this.kc = loadKubeconfig(o.kubeconfig);
    this.co = this.kc.makeApiClient(k8s.CustomObjectsApi);
    this.ns = o.namespace;
  }
  async get(name: string): Promise<Obj> {
    try {
      return (await this.co.getNamespacedCustomObject({
        group,
        version,
        namespace: this.ns,
        plural,
        name,
      })) as Obj;
    } catch (e) {
      if ((e as { code?: number }).code === 404)
        throw new ApiError(
          404,
          `cluster ${this.ns}/${name} not found (see kaasctl get clusters; -n for another namespace)`,
        );
      throw toApiError(e);
    }
  }
  /** Read, change, replace; again on a conflict. */
  async mutate(name: string, change: (c: Obj) => void): Promise<Obj> {
    for (let i = 0; ; i++) {
      const c = await this.get(name);
      change(c);
      try {
        return (await this.co.replaceNamespacedCustomObject({
          group,
          version,
          namespace: this.ns,
          plural,
          name,
          body: c,
        })) as Obj;
      } catch (e) {
        if ((e as { code?: number }).code !== 409 || i >= 5) throw toApiError(e);
      }
    }
  }
  /** The cluster's own Kubernetes API with the same credentials. */
  core(c: Obj): k8s.CoreV1Api {
    const endpoint = c.status?.endpoint as string | undefined;
    if (!endpoint)
      throw new ApiError(0, `cluster ${this.ns}/${c.metadata.name} has no Kubernetes API yet`, {
        exitCode: exitCodes.failed,
      });
    const cur = this.kc.getCurrentCluster()!;
    const user = this.kc.getCurrentUser()!;
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ ...cur, name: 't', server: endpoint }],
      users: [user],
      contexts: [{ name: 't', cluster: 't', user: user.name }],
      currentContext: 't',
    });
    return kc.makeApiClient(k8s.CoreV1Api);
  }
}

const cond = (c: Obj, type: string) =>
  ((c.status?.conditions ?? []) as { type: string; status: string; reason: string; message: string }[]).find(
    (x) => x.type === type,
  );
const annotation = <T>(c: Obj, key: string): T | undefined => {
  const v = c.metadata.annotations?.[key];
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    return undefined;
  }
};
const current = (c: Obj) => (c.status?.observedGeneration ?? -1) >= (c.metadata.generation ?? 0);
const ready = (c: Obj) => current(c) && cond(c, 'Ready')?.status === 'True';
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Polls the Cluster until `done` gives a result or the time is up. */
async function waitFor<T>(
  api: Api,
  name: string,
  timeoutMs: number,
  what: string,
  done: (c: Obj) => T | undefined,
  onEach?: (c: Obj) => void,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await api.get(name);
    onEach?.(c);
    const v = done(c);
    if (v !== undefined) return v;
    if (Date.now() > end) {
      const r = cond(c, 'Ready');
      throw new ApiError(0, `timed out waiting for ${what}${r ? ` (Ready ${r.status}: ${r.message})` : ''}`, {
        exitCode: exitCodes.failed,
      });
    }
    await sleep(250);
  }
}

function rollPrinter(): (c: Obj) => void {
  const seen = new Map<string, string>();
  const t0 = Date.now();
  return (c) => {
    const s = annotation<RollStatus>(c, operationAnnotations.upgradeStatus);
    for (const n of s?.nodes ?? []) {
      const line = `${n.step}${n.message ? ` (${n.message})` : ''} ${n.version}`;
      if (seen.get(n.name) === line) continue;
      seen.set(n.name, line);
      err(
        `[${((Date.now() - t0) / 1000).toFixed(1)}s] ${n.name} (${n.pool}): ${n.step.toLowerCase()}${n.message ? `: ${n.message}` : ''}${n.step === 'Done' ? ` on ${n.version}` : ''}`,
      );
    }
  };
}

function withCommon(cmd: Command, timeout: string): Command {
  return cmd
    .option('-n, --namespace <ns>', 'namespace of the Cluster', 'default')
    .option('--timeout <duration>', 'how long to wait (90s, 10m, 1h)', timeout)
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig);
}

function act<A extends unknown[]>(fn: (...a: A) => Promise<number | void>): (...a: A) => Promise<void> {
  return async (...a) => {
    try {
      const code = await fn(...a);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      process.exitCode = reportError(toApiError(e));
    }
  };
}

// ---- cluster validate ----

export function addValidateCommand(cluster: Command): void {
  withCommon(
    cluster
      .command('validate')
      .description(
        'Check a running cluster: nodes Ready, system and managed workloads Available, DNS records, a test volume claim, the cluster-admin binding, pod security refusing a root pod, services healthy; lists the pod-security exemptions.',
      )
      .argument('<name>', 'the cluster')
      .addOption(outputOption()),
    '2m',
  )
    .addHelpText(
      'after',
      `
Examples:
  kaasctl cluster validate demo
  kaasctl cluster validate demo -o json | jq '.checks[] | select(.passed == false)'

Exit codes: 0 every check passed, 1 a check failed (or timed out), 2 usage, 4 unreachable.`,
    )
    .action(
      act(async (name: string, o: Common & { output: string }) => {
        const timeoutMs = parseTimeout(o.timeout);
        const api = new Api(o);
        const token = `${Date.now()}-${randomBytes(4).toString('hex')}`;
        await api.mutate(name, (c) => {
          c.metadata.annotations = {
            ...c.metadata.annotations,
            [operationAnnotations.validateRequest]: token,
          };
        });
        err(`validating ${o.namespace}/${name}…`);
        const report = await waitFor(api, name, timeoutMs, `the validation of ${name}`, (c) => {
          const r = annotation<ValidationReport>(c, operationAnnotations.validation);
          return r?.token === token ? r : undefined;
        });
        if (o.output !== 'table') printData(report, o.output);
        else {
          for (const ch of report.checks)
            console.log(`${ch.passed ? 'PASS' : 'FAIL'}  ${ch.name.padEnd(17)} ${ch.message}`);
          console.log('\nPod security exemptions (set by operators; cluster users cannot change them):');
          for (const x of report.podSecurityExceptions)
            console.log(`  ${x.namespace.padEnd(20)} ${x.level.padEnd(10)} ${x.source}`);
          const failed = report.checks.filter((c) => !c.passed).length;
          console.log(
            `\n${failed ? `${failed} of ${report.checks.length} checks failed` : `all ${report.checks.length} checks passed`}`,
          );
        }
        return report.passed ? exitCodes.ok : exitCodes.failed;
      }),
    );
}

// ---- cluster update ----

async function minNodeVersion(api: Api, c: Obj): Promise<string> {
  const spec = kubeletVersion(String(c.spec.kubernetesVersion));
  try {
    const nodes = await api.core(c).listNode();
    const versions = nodes.items.map((n) => n.metadata?.annotations?.['kaas.dev/kubelet-version'] ?? spec);
    return versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))[0] ?? spec;
  } catch {
    return spec;
  }
}

async function servicesReport(
  api: Api,
  name: string,
  timeoutMs: number,
  accept: (r: ServicesReport, c: Obj) => boolean,
) {
  return waitFor(api, name, timeoutMs, `the managed services of ${name}`, (c) => {
    const r = annotation<ServicesReport>(c, operationAnnotations.servicesReport);
    return r && accept(r, c) ? r : undefined;
  });
}

export function addUpdateCommand(cluster: Command): void {
  withCommon(
    cluster
      .command('update')
      .description(
        'Rolling update to a Kubernetes version, one node at a time (control plane first; cordon, drain, replace, uncordon), keeping N-1 workers Ready; with --services, move managed services to the catalog versions one by one.',
      )
      .argument('<name>', 'the cluster')
      .option('--kubernetes-version <X.Y[.Z]>', 'the version to roll to: the same or the next minor version')
      .option('--services', "move every managed service to this release's catalog version, one at a time")
      .option('--no-wait', 'return once the change is recorded'),
    '30m',
  )
    .addHelpText(
      'after',
      `
Examples:
  kaasctl cluster update demo --kubernetes-version 1.33
  kaasctl cluster update demo --services
  kaasctl versions            # which versions this release supports

Exit codes: 0 done, 1 failed or timed out (a service that did not become healthy is named),
2 usage, 3 the version is not allowed (unsupported, a downgrade, or more than one minor step; nothing changed), 4 unreachable.`,
    )
    .action(
      act(
        async (
          name: string,
          o: Common & { kubernetesVersion?: string; services?: boolean; wait: boolean },
        ) => {
          const timeoutMs = parseTimeout(o.timeout);
          if (!o.kubernetesVersion && !o.services)
            throw new ApiError(0, 'nothing to update: pass --kubernetes-version X.Y and/or --services');
          const api = new Api(o);
          let c = await api.get(name);
          if (o.kubernetesVersion) {
            const support = checkKubernetesVersion(o.kubernetesVersion);
            if (!support.supported)
              throw new ApiError(
                0,
                `--kubernetes-version ${o.kubernetesVersion}: ${support.reason}; nothing changed`,
                {
                  exitCode: exitCodes.invalid,
                },
              );
            const from = await minNodeVersion(api, c);
            const problem = versionSkewProblem(from, o.kubernetesVersion);
            if (problem)
              throw new ApiError(
                0,
                `--kubernetes-version ${o.kubernetesVersion}: ${problem}; nothing changed`,
                {
                  exitCode: exitCodes.invalid,
                },
              );
            const target = kubeletVersion(o.kubernetesVersion);
            c = await api.mutate(name, (x) => {
              x.spec.kubernetesVersion = o.kubernetesVersion;
            });
            err(`cluster ${o.namespace}/${name}: rolling update from ${from} to ${target}`);
            if (!o.wait) return exitCodes.ok;
            const show = rollPrinter();
            const final = await waitFor(
              api,
              name,
              timeoutMs,
              `the rolling update of ${name} to ${target}`,
              (x) => {
                const s = annotation<RollStatus>(x, operationAnnotations.upgradeStatus);
                if (s?.targetVersion === target && s.phase === 'Blocked')
                  throw new ApiError(0, `rolling update blocked: ${s.message}`, {
                    exitCode: exitCodes.failed,
                  });
                const nodesDone = s ? s.targetVersion === target && s.phase === 'Complete' : from === target;
                return nodesDone && ready(x) ? x : undefined;
              },
              show,
            );
            console.log(
              `cluster ${o.namespace}/${name}: ${final.status?.nodes?.upToDate ?? '?'} nodes on ${target}`,
            );
          }
          if (o.services) {
            const pinned = managedServiceKeys.filter(
              (k) => c.spec.services?.[k]?.enabled !== false && c.spec.services?.[k]?.version !== undefined,
            );
            for (const key of pinned) {
              const want = defaultVersion(key);
              const svcName = managedServices[key].name;
              err(`${svcName}: ${c.spec.services[key].version} -> ${want}`);
              const updated = await api.mutate(name, (x) => {
                delete x.spec.services[key].version;
              });
              const gen = updated.metadata.generation ?? 0;
              try {
                await servicesReport(
                  api,
                  name,
                  timeoutMs,
                  (r) =>
                    r.observedGeneration >= gen &&
                    r.services.some((s) => s.name === svcName && s.version === want && s.healthy),
                );
              } catch (e) {
                const r = annotation<ServicesReport>(
                  await api.get(name),
                  operationAnnotations.servicesReport,
                );
                const s = r?.services.find((x) => x.name === svcName);
                const after = pinned.slice(pinned.indexOf(key) + 1).map((k) => managedServices[k].name);
                throw new ApiError(
                  0,
                  `${svcName} did not become healthy at ${want}: ${s?.message ?? (e as Error).message}; ${after.length ? `not touched: ${after.join(', ')}` : 'it was the last to move'}`,
                  {
                    exitCode: exitCodes.failed,
                  },
                );
              }
              console.log(`✓ ${svcName} ${want} healthy`);
            }
            const gen = (await api.get(name)).metadata.generation ?? 0;
            const r = await servicesReport(api, name, timeoutMs, (x) => x.observedGeneration >= gen);
            for (const s of r.services)
              console.log(`${s.healthy ? '✓' : '✗'} ${s.name} ${s.version}: ${s.message}`);
            if (r.services.some((s) => !s.healthy)) return exitCodes.failed;
          }
          return exitCodes.ok;
        },
      ),
    );
}

// ---- services deploy ----

export function servicesCommand(): Command {
  const services = new Command('services').description('Managed services of a cluster.');
  withCommon(
    services
      .command('deploy')
      .description("(Re)apply a cluster's managed services now and wait until every one is healthy.")
      .argument('<name>', 'the cluster')
      .addOption(outputOption()),
    '10m',
  )
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl services deploy demo\n  kaasctl services deploy demo -o json\n\nExit codes: 0 all healthy, 1 a service is not healthy (named) or timed out, 4 unreachable.',
    )
    .action(
      act(async (name: string, o: Common & { output: string }) => {
        const timeoutMs = parseTimeout(o.timeout);
        const api = new Api(o);
        const token = `${Date.now()}-${randomBytes(4).toString('hex')}`;
        await api.mutate(name, (c) => {
          c.metadata.annotations = {
            ...c.metadata.annotations,
            [operationAnnotations.servicesRequest]: token,
          };
        });
        err(`applying the managed services of ${o.namespace}/${name}…`);
        let last: ServicesReport | undefined;
        try {
          last = await servicesReport(
            api,
            name,
            timeoutMs,
            (r) => r.token === token && r.services.every((s) => s.healthy),
          );
        } catch (e) {
          last = annotation<ServicesReport>(await api.get(name), operationAnnotations.servicesReport);
          for (const s of last?.services ?? []) if (!s.healthy) err(`✗ ${s.name} ${s.version}: ${s.message}`);
          throw e;
        }
        if (o.output !== 'table') printData(last, o.output);
        else
          for (const s of last.services)
            console.log(`✓ ${s.name.padEnd(16)} ${s.version.padEnd(10)} ${s.message}`);
        return exitCodes.ok;
      }),
    );
  return services;
}

// ---- nodes add|remove|replace ----

type NodesOpts = Common & { cluster: string; pool: string; count: string; yes?: boolean; wait: boolean };

function poolIndex(c: Obj, pool: string): number {
  const i = ((c.spec.nodePools ?? []) as { name: string }[]).findIndex((p) => p.name === pool);
  if (i < 0)
    throw new ApiError(
      0,
      `--pool ${pool}: cluster ${c.metadata.namespace}/${c.metadata.name} has no such node pool (pools: ${(c.spec.nodePools as { name: string }[]).map((p) => p.name).join(', ')})`,
    );
  return i;
}

async function waitPool(api: Api, name: string, pool: string, want: number, timeoutMs: number) {
  return waitFor(
    api,
    name,
    timeoutMs,
    `pool ${pool} to have ${want} Ready nodes`,
    (c) => {
      const p = (c.status?.nodePools as { name: string; ready: number }[] | undefined)?.find(
        (x) => x.name === pool,
      );
      return ready(c) && p?.ready === want ? c : undefined;
    },
    rollPrinter(),
  );
}

async function poolNodes(api: Api, c: Obj, pool: string): Promise<k8s.V1Node[]> {
  const list = await api
    .core(c)
    .listNode({ labelSelector: `kaas.dev/nodepool=${pool}` })
    .catch((e: unknown) => {
      throw toApiError(e);
    });
  const entries = (c.status?.resources ?? []) as { name: string }[];
  void entries;
  return list.items;
}

export function nodesCommand(): Command {
  const nodes = new Command('nodes').description(
    "Add, remove or replace a pool's nodes (the pool's replicas in the spec are the source of truth).",
  );
  const common = (cmd: Command) =>
    withCommon(
      cmd
        .requiredOption('--cluster <name>', 'the cluster')
        .requiredOption('--pool <pool>', 'the node pool')
        .option('-y, --yes', 'do not ask for confirmation')
        .option('--no-wait', 'return once the change is recorded'),
      '15m',
    );
  common(nodes.command('add').description('Add nodes to a pool and wait until they are Ready.'))
    .option('--count <n>', 'how many', '1')
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl nodes add --cluster demo --pool workers --count 2\n\nExit codes: 0 Ready, 1 failed or timed out, 2 usage, 4 unreachable.',
    )
    .action(
      act(async (o: NodesOpts) => {
        const n = Number(o.count);
        if (!Number.isInteger(n) || n < 1) throw new ApiError(0, `--count ${o.count}: a whole number >= 1`);
        const api = new Api(o);
        let want = 0;
        await api.mutate(o.cluster, (c) => {
          const i = poolIndex(c, o.pool);
          want = c.spec.nodePools[i].replicas + n;
          c.spec.nodePools[i].replicas = want;
        });
        err(`pool ${o.pool}: ${want - n} -> ${want} nodes`);
        if (!o.wait) return;
        await waitPool(api, o.cluster, o.pool, want, parseTimeout(o.timeout));
        console.log(`pool ${o.pool} of ${o.namespace}/${o.cluster}: ${want} nodes Ready`);
      }),
    );
  common(
    nodes
      .command('remove')
      .description(
        "Remove nodes from a pool: the highest-numbered ones (or NODE, if it is the pool's last); each is drained first.",
      )
      .argument('[node]', 'the node to remove (must be the pool’s highest-numbered node)'),
  )
    .option('--count <n>', 'how many', '1')
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl nodes remove --cluster demo --pool workers --yes\n  kaasctl nodes remove --cluster demo --pool workers --count 2\n\nExit codes: 0 removed, 1 failed or timed out, 2 usage or not confirmed, 4 unreachable.',
    )
    .action(
      act(async (node: string | undefined, o: NodesOpts) => {
        const n = node ? 1 : Number(o.count);
        if (!Number.isInteger(n) || n < 1) throw new ApiError(0, `--count ${o.count}: a whole number >= 1`);
        const api = new Api(o);
        const c = await api.get(o.cluster);
        const i = poolIndex(c, o.pool);
        const have = c.spec.nodePools[i].replicas as number;
        if (have - n < 1)
          throw new ApiError(
            0,
            `pool ${o.pool} has ${have} nodes: a pool keeps at least 1 (remove the pool from the bootstrap file instead)`,
          );
        // the servers go from the highest index down: name them
        const byIndex = ((c.status?.resources ?? []) as { name: string }[])
          .filter((e) => e.name.startsWith(`server/${o.pool}-`))
          .map((e) => Number(e.name.slice(`server/${o.pool}-`.length)));
        void byIndex;
        const names = (await poolNodes(api, c, o.pool)).map((x) => x.metadata?.name ?? '');
        const last = await lastNodes(api, c, o.pool, n);
        if (node && !last.includes(node))
          throw new ApiError(
            0,
            `${node}: ${names.includes(node) ? `not the highest-numbered node of pool ${o.pool} (that is ${last.join(', ')}); the local cloud's pools shrink from the top: use \`kaasctl nodes replace\` to renew ${node}` : `no node of pool ${o.pool} has that name (nodes: ${names.join(', ')})`}`,
          );
        err(`pool ${o.pool}: ${have} -> ${have - n} nodes; ${last.join(', ')} will be drained and deleted`);
        if (!o.yes && !(await confirm(`Remove ${last.join(', ')}? [y/N] `))) {
          err('not confirmed: nothing changed (pass --yes to skip the question)');
          return exitCodes.usage;
        }
        await api.mutate(o.cluster, (x) => {
          x.spec.nodePools[poolIndex(x, o.pool)].replicas = have - n;
        });
        if (!o.wait) return;
        await waitPool(api, o.cluster, o.pool, have - n, parseTimeout(o.timeout));
        console.log(
          `pool ${o.pool} of ${o.namespace}/${o.cluster}: ${have - n} nodes Ready; removed ${last.join(', ')}`,
        );
      }),
    );
  common(
    nodes
      .command('replace')
      .description(
        'Replace a node: cordon, drain, delete its server, boot a new one under the same name, keeping the count.',
      )
      .argument('<node>', 'the node to replace'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  kaasctl nodes replace --cluster demo --pool workers demo-workers-x7k2p --yes\n\nExit codes: 0 replaced, 1 failed or timed out, 2 usage or not confirmed, 4 unreachable.',
    )
    .action(
      act(async (node: string, o: NodesOpts) => {
        const api = new Api(o);
        const c = await api.get(o.cluster);
        poolIndex(c, o.pool);
        const nodes = await poolNodes(api, c, o.pool);
        const target = nodes.find((x) => x.metadata?.name === node);
        if (!target)
          throw new ApiError(
            0,
            `${node}: no node of pool ${o.pool} has that name (nodes: ${nodes.map((x) => x.metadata?.name).join(', ')})`,
          );
        if (
          !o.yes &&
          !(await confirm(`Replace ${node} (drain, delete its server, boot a new one)? [y/N] `))
        ) {
          err('not confirmed: nothing changed (pass --yes to skip the question)');
          return exitCodes.usage;
        }
        const uid = target.metadata!.uid!;
        await api.mutate(o.cluster, (x) => {
          const prior = annotation<Record<string, string>>(x, operationAnnotations.replaceNodes) ?? {};
          x.metadata.annotations = {
            ...x.metadata.annotations,
            [operationAnnotations.replaceNodes]: JSON.stringify({ ...prior, [node]: uid }),
          };
        });
        if (!o.wait) return;
        const core = api.core(c);
        const show = rollPrinter();
        await waitFor(
          api,
          o.cluster,
          parseTimeout(o.timeout),
          `the replacement of ${node}`,
          (x) => (ready(x) ? x : undefined),
          show,
        );
        const end = Date.now() + parseTimeout(o.timeout);
        for (;;) {
          const n = await core.readNode({ name: node }).catch(() => undefined);
          const ok =
            n &&
            n.metadata?.uid !== uid &&
            n.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True');
          const x = await api.get(o.cluster);
          if (ok && ready(x)) break;
          show(x);
          if (Date.now() > end)
            throw new ApiError(0, `timed out waiting for ${node} to be replaced`, {
              exitCode: exitCodes.failed,
            });
          await sleep(250);
        }
        console.log(`${node} replaced: a new server, registered and Ready`);
      }),
    );
  return nodes;
}

/** The pool's `n` highest-numbered nodes (the ones a smaller replica count drops). */
async function lastNodes(api: Api, c: Obj, pool: string, n: number): Promise<string[]> {
  const nodes = await poolNodes(api, c, pool);
  // node names carry no index: map them through the ledger's server entries (server/<pool>-<i>) and the node's providerID
  const entries = ((c.status?.resources ?? []) as { name: string; id?: string }[]).filter((e) =>
    e.name.startsWith(`server/${pool}-`),
  );
  const indexOfNode = (x: k8s.V1Node) => {
    const id = (x.spec?.providerID ?? '').replace('kaas-local:///', '');
    const e = entries.find((en) => en.id === id);
    return e ? Number(e.name.slice(`server/${pool}-`.length)) : -1;
  };
  return [...nodes]
    .sort((a, b) => indexOfNode(b) - indexOfNode(a))
    .slice(0, n)
    .map((x) => x.metadata?.name ?? '');
}

// ---- versions ----

export function versionsCommand(): Command {
  return new Command('versions')
    .description(
      'This KaaS release: its version, the Kubernetes versions it deploys, and every managed service with its pinned image.',
    )
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  kaasctl versions\n  kaasctl versions -o json | jq .kubernetes')
    .action((o: { output: string }) => {
      const data = {
        kaas: kaasVersion,
        kubernetes: kubernetesVersions.map((r) => ({
          version: r.minor,
          latestPatch: r.latestPatch,
          default: r.default,
        })),
        services: managedServiceKeys.map((k) => ({
          key: k,
          name: managedServices[k].name,
          version: defaultVersion(k),
          /** The main component's image (the first of components). */
          image: serviceReleases[k][0]!.components[0]?.image ?? '(runs in the KaaS management plane)',
          components: serviceReleases[k][0]!.components.map((c) => ({ name: c.name, image: c.image })),
          /** Older versions a cluster may still be pinned to; `cluster update --services` moves it. */
          alsoRenders: serviceReleases[k].slice(1).map((r) => r.version),
        })),
      };
      if (o.output !== 'table') return printData(data, o.output);
      console.log(`KaaS ${data.kaas}\n\nKubernetes:`);
      for (const r of data.kubernetes)
        console.log(`  ${r.version.padEnd(6)} ${r.latestPatch.padEnd(9)}${r.default ? ' (default)' : ''}`);
      console.log('\nManaged services:');
      for (const s of data.services) {
        const older = s.alsoRenders.length ? ` (also renders ${s.alsoRenders.join(', ')})` : '';
        console.log(`  ${s.name.padEnd(16)} ${s.version}${older}`);
        if (!s.components.length) console.log('    (runs in the KaaS management plane)');
        for (const c of s.components) console.log(`    ${c.name.padEnd(22)} ${c.image}`);
      }
    });
}

// ---- provider preconfigure ----

export function providerCommand(): Command {
  const provider = new Command('provider').description('The cloud a bootstrap file deploys to.');
  provider
    .command('preconfigure')
    .description(
      "Run the provider's preflight for a bootstrap file (quotas against the plan, machine types, networks) and report; nothing is created.",
    )
    .requiredOption('-f, --file <bootstrap.yaml>', 'the bootstrap file')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  kaasctl provider preconfigure -f examples/bootstrap.yaml
  kaasctl provider preconfigure -f bootstrap.yaml -o json

On the local cloud the quotas are the file's spec.provider.local.quotas, checked against a new
cluster's plan. Exit codes: 0 ready to deploy, 1 something is missing (each piece named), 2 usage,
3 the file is invalid.`,
    )
    .action(
      act(async (o: { file: string; output: string }) => {
        let text: string;
        try {
          text = await readFile(o.file, 'utf8');
        } catch (e) {
          throw new ApiError(0, `cannot read ${o.file}: ${(e as Error).message}`);
        }
        const { objects, problems } = parseBootstrap(text, basename(o.file));
        if (problems.length) {
          for (const p of problems) err(formatProblem(p));
          return exitCodes.invalid;
        }
        const cloud = await LocalCloud.open({ store: new MemoryStore() });
        const reports = [];
        for (const obj of objects.filter((x) => x.kind === 'Cluster')) {
          const cluster = withDefaults(structuredClone(obj));
          cluster.metadata.uid = 'preflight';
          const type = cluster.spec.provider.type;
          if (type !== 'local') {
            reports.push({
              cluster: cluster.metadata.name,
              provider: type,
              ok: false,
              requested: {},
              problems: [
                {
                  code: 'InvalidSpec',
                  message: `spec.provider.type: provider ${type} is not available in this build (only local is)`,
                },
              ],
            });
            continue;
          }
          const p = LocalCloudProvider.forCluster(cloud, cluster);
          const plan = p.plan(cluster);
          const r = await p.preconfigure(plan);
          const quotas = (cluster.spec.provider.local?.quotas ?? {}) as Record<string, number | undefined>;
          reports.push({
            cluster: cluster.metadata.name,
            provider: type,
            resources: plan.nodes.length,
            quotas,
            ...r,
          });
        }
        if (o.output !== 'table') printData(reports, o.output);
        else
          for (const r of reports) {
            console.log(
              `${r.ok ? '✓' : '✗'} cluster ${r.cluster} on ${r.provider}${'resources' in r ? `: ${r.resources} cloud resources planned` : ''}`,
            );
            for (const [q, n] of Object.entries(r.requested)) {
              const limit = 'quotas' in r ? r.quotas[q] : undefined;
              console.log(
                `    ${q.padEnd(14)} needs ${String(n).padEnd(4)} ${limit === undefined ? 'no limit' : `limit ${limit}`}`,
              );
            }
            for (const p of r.problems) console.log(`  ✗ ${p.code}: ${p.message}`);
          }
        return reports.every((r) => r.ok) ? exitCodes.ok : exitCodes.failed;
      }),
    );
  return provider;
}
