// The lifecycle half of kaasctl: waiting for a Cluster with live progress (cluster deploy),
// `cluster destroy`, `get nodes --cluster` and `kubeconfig get`. Everything goes through the
// management API (the Cluster's status is the source of truth: its conditions and its ledger);
// commands return exit codes from ../client.ts.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import * as k8s from '@kubernetes/client-node';
import { errorReasons, isErrorReason } from '@kaas/api';
import { issueCertificate, renderKubeconfig } from '@kaas/apiserver';
import { ApiError, defaultKubeconfig, exitCodes, reportError } from '../client.ts';
import { execKubeconfig } from './auth.ts';
import { outputOption, printData, printTable } from '../output.ts';
import { confirm } from '../prompt.ts';

const group = 'kaas.dev';
const version = 'v1alpha1';
const plural = 'clusters';

export const conditionTypes = [
  'InfrastructureReady',
  'ControlPlaneReady',
  'NodesReady',
  'ServicesReady',
] as const;

type Condition = { type: string; status: string; reason: string; message: string };
type LedgerEntry = { name: string; kind: string; id?: string; phase: string };
export type ClusterObject = {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    uid?: string;
    deletionTimestamp?: string;
  };
  spec: { provider?: { type?: string } };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    resources?: LedgerEntry[];
    endpoint?: string;
    nodes?: { desired: number; ready: number };
  };
};

/** 90s, 10m, 1h or plain seconds, in milliseconds. */
export function parseTimeout(s: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0)
    throw new ApiError(0, `--timeout ${JSON.stringify(s)}: a duration such as 90s, 10m or 1h`);
  return Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
}

export function loadKubeconfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new ApiError(
      0,
      `cannot read the kubeconfig ${path} (${(e as Error).message.split('\n')[0]}): start the server (npm start) or pass --kubeconfig`,
    );
  }
  return kc;
}

/** An error of client-node or the network as an ApiError with the exit code scripts act on. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { code?: number | string; body?: unknown; message?: string };
  const text = `${String(err.code ?? '')} ${err.message ?? ''}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(text))
    return new ApiError(0, 'cannot reach the management API: is `kaasctl server` (npm start) running?', {
      exitCode: exitCodes.unreachable,
    });
  const status = typeof err.code === 'number' ? err.code : 0;
  let message = err.message ?? String(e);
  try {
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    if (body && typeof body === 'object' && 'message' in body) message = String(body.message);
  } catch {
    // not JSON: keep the client's message
  }
  return new ApiError(status, message, status === 0 ? { exitCode: exitCodes.failed } : {});
}

export async function readCluster(
  api: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<ClusterObject | undefined> {
  try {
    return (await api.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name,
    })) as ClusterObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw toApiError(e);
  }
}

const cond = (c: ClusterObject | undefined, type: string) =>
  c?.status?.conditions?.find((x) => x.type === type);

/** A condition the user has to act on (quota, credentials, spec): waiting will not help. */
export function userFixableFailure(c: ClusterObject): Condition | undefined {
  for (const type of [...conditionTypes, 'Ready']) {
    const x = cond(c, type);
    if (x && x.status === 'False' && isErrorReason(x.reason) && errorReasons[x.reason].userFixable) return x;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

/** Prints what changed since the last look: ledger steps, then condition messages. */
export class ProgressPrinter {
  readonly #seen = new Map<string, string>();
  readonly #t0 = Date.now();
  readonly #out: (line: string) => void;

  constructor(out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
    this.#out = out;
  }

  update(c: ClusterObject): void {
    if (this.#seen.size === 0 && !c.metadata.deletionTimestamp) {
      const current = (c.status?.observedGeneration ?? -1) >= (c.metadata.generation ?? 0);
      if (current && cond(c, 'Ready')?.status === 'True') {
        // nothing to follow: say what is there instead of replaying the ledger
        for (const e of c.status?.resources ?? []) this.#seen.set(`ledger:${e.name}`, e.phase);
        const n = c.status?.nodes;
        this.#out(
          `already Ready: ${c.status?.resources?.length ?? 0} cloud resources${n ? `, ${n.ready} of ${n.desired} nodes Ready` : ''}`,
        );
      }
    }
    for (const e of c.status?.resources ?? []) {
      const was = this.#seen.get(`ledger:${e.name}`);
      if (was === e.phase) continue;
      this.#seen.set(`ledger:${e.name}`, e.phase);
      if (e.phase === 'Created')
        this.#out(`  [${elapsed(this.#t0)}] created ${e.name}${e.id ? ` (${e.id})` : ''}`);
      else if (e.phase === 'Deleting') this.#out(`  [${elapsed(this.#t0)}] deleting ${e.name}`);
    }
    for (const [name, phase] of this.#seen) {
      if (!name.startsWith('ledger:') || phase === 'Gone') continue;
      const entry = name.slice('ledger:'.length);
      if (!(c.status?.resources ?? []).some((e) => e.name === entry)) {
        this.#seen.set(name, 'Gone');
        if (phase === 'Deleting' || c.metadata.deletionTimestamp)
          this.#out(`  [${elapsed(this.#t0)}] deleted ${entry}`);
      }
    }
    for (const type of [...conditionTypes, 'Ready']) {
      const x = cond(c, type);
      if (!x) continue;
      const line = `${x.status === 'True' ? '✓' : '…'} ${type}: ${x.message}${x.status === 'True' || x.reason === 'Provisioning' || x.reason === 'Waiting' ? '' : ` [${x.reason}]`}`;
      if (this.#seen.get(`cond:${type}`) === line) continue;
      this.#seen.set(`cond:${type}`, line);
      if (type === 'Ready' && x.status !== 'True' && x.reason !== 'Deleting') continue; // says the same as a part
      this.#out(`[${elapsed(this.#t0)}] ${line}`);
    }
  }
}

export interface WaitResult {
  code: number;
  cluster?: ClusterObject;
  message: string;
}

/** Waits until the Cluster is Ready for its current generation, fails on a user-fixable condition. */
export async function waitForReady(
  api: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
  o: { timeoutMs: number; progress?: ProgressPrinter; pollMs?: number },
): Promise<WaitResult> {
  const end = Date.now() + o.timeoutMs;
  let last: ClusterObject | undefined;
  for (;;) {
    const c = await readCluster(api, namespace, name);
    if (!c)
      return { code: exitCodes.failed, message: `cluster ${namespace}/${name} does not exist (deleted?)` };
    last = c;
    o.progress?.update(c);
    const current = (c.status?.observedGeneration ?? -1) >= (c.metadata.generation ?? 0);
    if (current && cond(c, 'Ready')?.status === 'True')
      return { code: exitCodes.ok, cluster: c, message: `cluster ${namespace}/${name} is Ready` };
    const bad = current ? userFixableFailure(c) : undefined;
    if (bad)
      return {
        code: exitCodes.failed,
        cluster: c,
        message: `cluster ${namespace}/${name}: ${bad.type} ${bad.reason}: ${bad.message}`,
      };
    if (Date.now() > end) {
      const ready = cond(last, 'Ready');
      return {
        code: exitCodes.failed,
        cluster: c,
        message: `timed out waiting for ${namespace}/${name} to be Ready${ready ? ` (${ready.reason}: ${ready.message})` : ''}`,
      };
    }
    await sleep(o.pollMs ?? 250);
  }
}

/** Waits until the Cluster is gone (its finalizer removed once the ledger is empty). */
export async function waitForGone(
  api: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
  o: { timeoutMs: number; progress?: ProgressPrinter; pollMs?: number },
): Promise<WaitResult> {
  const end = Date.now() + o.timeoutMs;
  for (;;) {
    const c = await readCluster(api, namespace, name);
    if (!c) return { code: exitCodes.ok, message: 'ledger empty: 0 resources left' };
    o.progress?.update(c);
    if (Date.now() > end) {
      const left = c.status?.resources?.length ?? 0;
      const ready = cond(c, 'Ready');
      return {
        code: exitCodes.failed,
        cluster: c,
        message: `timed out waiting for ${namespace}/${name} to be destroyed: ${left} resources left${ready ? ` (${ready.reason}: ${ready.message})` : ''}`,
      };
    }
    await sleep(o.pollMs ?? 250);
  }
}

export function addDestroyCommand(cluster: Command): void {
  cluster
    .command('destroy')
    .description(
      'Show what a cluster holds in the cloud (its ledger), then delete it all and wait until the ledger is empty.',
    )
    .argument('<name>', 'the cluster')
    .option('-n, --namespace <ns>', 'namespace of the Cluster', 'default')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--no-wait', 'return once the deletion is requested')
    .option('--timeout <duration>', 'how long to wait (90s, 10m, 1h)', '15m')
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig)
    .addHelpText(
      'after',
      `
Examples:
  # See what would be deleted and confirm:
  kaasctl cluster destroy demo

  # In a script: no question, wait at most 10 minutes:
  kaasctl cluster destroy demo --yes --timeout 10m

Exit codes: 0 destroyed (ledger empty), 1 failed or timed out, 2 usage (or not confirmed), 4 unreachable.`,
    )
    .action(
      async (
        name: string,
        o: { namespace: string; yes?: boolean; wait: boolean; timeout: string; kubeconfig: string },
      ) => {
        try {
          const timeoutMs = parseTimeout(o.timeout);
          const api = loadKubeconfig(o.kubeconfig).makeApiClient(k8s.CustomObjectsApi);
          const c = await readCluster(api, o.namespace, name);
          if (!c) throw new ApiError(404, `cluster ${o.namespace}/${name} not found`);
          const entries = c.status?.resources ?? [];
          console.error(
            `Cluster ${o.namespace}/${name} (${c.spec.provider?.type ?? 'local'})${c.status?.endpoint ? ` and its Kubernetes API ${c.status.endpoint}` : ''} will be deleted, with ${entries.length} cloud resources${entries.length ? ':' : '.'}`,
          );
          for (const e of entries)
            console.error(`  ${e.name.padEnd(32)} ${e.id ?? '(no id yet)'}  ${e.phase}`);
          if (!o.yes && !(await confirm(`Delete cluster ${name}? [y/N] `))) {
            console.error('not confirmed: nothing deleted (pass --yes to skip the question)');
            process.exitCode = exitCodes.usage;
            return;
          }
          if (!c.metadata.deletionTimestamp) {
            await api
              .deleteNamespacedCustomObject({ group, version, namespace: o.namespace, plural, name })
              .catch((e: unknown) => {
                if ((e as { code?: number }).code !== 404) throw toApiError(e);
              });
          }
          if (!o.wait) {
            console.log(`cluster ${o.namespace}/${name}: deletion requested`);
            return;
          }
          const r = await waitForGone(api, o.namespace, name, { timeoutMs, progress: new ProgressPrinter() });
          if (r.code === exitCodes.ok) {
            console.log(`cluster ${o.namespace}/${name} destroyed`);
            console.log(r.message);
          } else console.error(`error: ${r.message}`);
          process.exitCode = r.code;
        } catch (e) {
          process.exitCode = reportError(toApiError(e));
        }
      },
    );
}

/** The management kubeconfig pointed at a cluster's logical cluster, with the same credentials. */
function clusterKubeconfig(management: k8s.KubeConfig, endpoint: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const current = management.getCurrentCluster();
  const user = management.getCurrentUser();
  if (!current || !user) throw new ApiError(0, 'the kubeconfig has no current cluster or user');
  kc.loadFromOptions({
    clusters: [{ ...current, name: 'target', server: endpoint }],
    users: [user],
    contexts: [{ name: 'target', cluster: 'target', user: user.name }],
    currentContext: 'target',
  });
  return kc;
}

export function addGetNodesCommand(get: Command): void {
  get
    .command('nodes')
    .description(
      "List a cluster's nodes: name, status, roles, pool, version and address (on EKS-like clusters, workers only).",
    )
    .requiredOption('--cluster <name>', 'the cluster')
    .option('-n, --namespace <ns>', 'namespace of the Cluster', 'default')
    .addOption(outputOption())
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig)
    .addHelpText(
      'after',
      "\nExamples:\n  kaasctl get nodes --cluster demo\n  kaasctl get nodes --cluster demo -o json | jq '.items[].metadata.name'",
    )
    .action(async (o: { cluster: string; namespace: string; output: string; kubeconfig: string }) => {
      try {
        const management = loadKubeconfig(o.kubeconfig);
        const c = await readCluster(management.makeApiClient(k8s.CustomObjectsApi), o.namespace, o.cluster);
        if (!c) throw new ApiError(404, `cluster ${o.namespace}/${o.cluster} not found`);
        if (!c.status?.endpoint)
          throw new ApiError(0, `cluster ${o.namespace}/${o.cluster} has no Kubernetes API yet`, {
            exitCode: exitCodes.failed,
          });
        const core = clusterKubeconfig(management, c.status.endpoint).makeApiClient(k8s.CoreV1Api);
        const list = await core.listNode().catch((e: unknown) => {
          throw toApiError(e);
        });
        // the seed: on EKS only workers are shown (Amazon runs the control plane)
        if (c.spec.provider?.type === 'eks')
          list.items = list.items.filter(
            (n) => n.metadata?.labels?.['node-role.kubernetes.io/control-plane'] === undefined,
          );
        if (o.output !== 'table') return printData(JSON.parse(JSON.stringify(list)), o.output);
        const rows = [['NAME', 'STATUS', 'ROLES', 'POOL', 'VERSION', 'INTERNAL-IP']];
        for (const n of list.items) {
          const ready = n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
          const labels = n.metadata?.labels ?? {};
          const roles = Object.keys(labels)
            .filter((k) => k.startsWith('node-role.kubernetes.io/'))
            .map((k) => k.slice('node-role.kubernetes.io/'.length));
          rows.push([
            n.metadata?.name ?? '',
            ready ? 'Ready' : 'NotReady',
            roles.join(',') || '<none>',
            labels['kaas.dev/nodepool'] ?? '',
            n.status?.nodeInfo?.kubeletVersion ?? '',
            n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
          ]);
        }
        printTable(rows);
      } catch (e) {
        process.exitCode = reportError(toApiError(e));
      }
    });
}

export function kubeconfigCommand(): Command {
  const kubeconfig = new Command('kubeconfig').description('Kubeconfigs for clusters.');
  kubeconfig
    .command('get')
    .description(
      "Print a kubeconfig for a cluster's Kubernetes API: an exec plugin (`kaasctl auth token`) by default, or with --admin a client certificate from the server's CA.",
    )
    .argument('<name>', 'the cluster')
    .option('-n, --namespace <ns>', 'namespace of the Cluster', 'default')
    .option(
      '--admin',
      "a cluster-admin client certificate signed by the server's CA (needs the data dir's pki): works without signing in",
    )
    .option('-u, --username <name>', 'user the exec plugin signs in as (default: asks)')
    .option(
      '--data-dir <dir>',
      "the server's data directory, whose pki/ holds the CA (default: the --kubeconfig's directory, where kaasctl server writes admin.kubeconfig)",
    )
    .option('--output-file <path>', 'write the kubeconfig here (mode 0600) instead of printing it')
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig)
    .addHelpText(
      'after',
      `
Examples:
  # For users: sign in through the exec plugin when kubectl needs a token:
  kaasctl kubeconfig get demo -u alice > demo.kubeconfig
  kubectl --kubeconfig demo.kubeconfig get nodes

  # For the operator on the management host: a certificate, no sign-in:
  kaasctl kubeconfig get demo --admin --output-file .kaas/demo.kubeconfig`,
    )
    .action(
      async (
        name: string,
        o: {
          namespace: string;
          admin?: boolean;
          username?: string;
          dataDir?: string;
          outputFile?: string;
          kubeconfig: string;
        },
      ) => {
        try {
          const management = loadKubeconfig(o.kubeconfig);
          const c = await readCluster(management.makeApiClient(k8s.CustomObjectsApi), o.namespace, name);
          if (!c) throw new ApiError(404, `cluster ${o.namespace}/${name} not found`);
          const endpoint = c.status?.endpoint;
          if (!endpoint)
            throw new ApiError(
              0,
              `cluster ${o.namespace}/${name} has no Kubernetes API yet (see kaasctl get clusters)`,
              {
                exitCode: exitCodes.failed,
              },
            );
          const current = management.getCurrentCluster()!;
          const caPem =
            current.caData !== undefined
              ? Buffer.from(current.caData, 'base64').toString('utf8')
              : current.caFile
                ? await readFile(current.caFile, 'utf8')
                : '';
          const logical = endpoint.replace(/^.*\/clusters\//, '').replace(/\/$/, '');
          const server = endpoint.replace(/\/clusters\/[^/]+\/?$/, '');
          let text: string;
          if (o.admin) {
            const pki = join(o.dataDir ?? dirname(resolve(o.kubeconfig)), 'pki');
            const [certPem, keyPem] = await Promise.all([
              readFile(join(pki, 'ca.crt'), 'utf8'),
              readFile(join(pki, 'ca.key'), 'utf8'),
            ]).catch((e: unknown) => {
              throw new ApiError(
                0,
                `--admin needs the server's CA in ${pki} (${(e as Error).message}); run on the management host or pass --data-dir`,
              );
            });
            const client = await issueCertificate(
              { certPem, keyPem },
              {
                commonName: `kaas-admin:${logical}`,
                organizations: ['system:masters'],
                usage: 'client',
                validDays: 365,
              },
            );
            text = renderKubeconfig({
              server: endpoint,
              caPem,
              clusterName: `kaas-${logical}`,
              userName: `kaas-${logical}-admin`,
              client,
            });
          } else {
            const caFile = join(dirname(resolve(o.kubeconfig)), 'pki', 'ca.crt');
            text = execKubeconfig({
              server,
              caPem,
              ...(existsSync(caFile) ? { caFile } : {}),
              cluster: logical,
              creds: o.username ? { username: o.username } : {},
            });
          }
          if (o.outputFile) {
            await mkdir(dirname(resolve(o.outputFile)), { recursive: true });
            await writeFile(o.outputFile, text, { mode: 0o600 });
            console.error(`kubeconfig for ${o.namespace}/${name} written to ${o.outputFile}`);
          } else process.stdout.write(text);
        } catch (e) {
          process.exitCode = reportError(toApiError(e));
        }
      },
    );
  return kubeconfig;
}
