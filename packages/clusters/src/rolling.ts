// Rolling node operations, decided from what is observed (level-triggered, crash-safe): a node is
// due for replacement when its kubelet version differs from spec.kubernetesVersion or when
// `kaas.dev/replace-nodes` names its current uid. One node at a time, control plane first:
// cordon, drain, delete its server (and DNS record) through the engine and the ledger, delete the
// Node; the Cluster reconciler's next deploy creates the new server, whose Node registers with
// the new version, schedulable. A node is only started while every node is Ready, so a pool of N
// workers never has fewer than N-1 Ready. Scale-down drains the nodes the plan drops before the
// engine prunes their servers. Nothing is remembered between passes but the cordon on the node.
import { kubernetesVersions, parseKubernetesVersion, type Cluster, type LedgerEntry } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import { isNotFound, type InProcessClient, type Informer } from '@kaas/controllers';
import { deploy, type Ledger, type Provider, type ResourceGraph, type EngineOptions } from '@kaas/providers';
import type { LocalCloud } from '@kaas/providers/local';
import { drainNode, isPodReady, setUnschedulable } from './drain.ts';
import { kubeletVersion, kubeletVersionAnnotation, nodeLabels } from './nodes.ts';
import { stable } from './stable.ts';

/** Annotations on the Cluster through which kaasctl asks for operations and reads their progress. */
export const operationAnnotations = {
  /** JSON {nodeName: uid}: replace the node while it still has that uid (written by kaasctl nodes replace). */
  replaceNodes: 'kaas.dev/replace-nodes',
  /** JSON RollStatus: per-node progress of a rolling update or replacement (written by the controller). */
  upgradeStatus: 'kaas.dev/upgrade-status',
  /** A token: run `cluster validate` (written by kaasctl). */
  validateRequest: 'kaas.dev/validate-request',
  /** JSON ValidationReport for the last token (written by the validation controller). */
  validation: 'kaas.dev/validation',
  /** A token: re-apply the managed services (written by kaasctl services deploy). */
  servicesRequest: 'kaas.dev/services-deploy',
  /** JSON ServicesReport: every service's version and health, with the token it answers. */
  servicesReport: 'kaas.dev/services-report',
} as const;

export type NodeStep = 'Pending' | 'Cordoned' | 'Draining' | 'Replacing' | 'Done';

export interface RollNode {
  name: string;
  pool: string;
  role: 'controlPlane' | 'worker';
  version: string;
  step: NodeStep;
  message?: string;
}

export interface RollStatus {
  targetVersion: string;
  phase: 'RollingUpdate' | 'Complete' | 'Blocked';
  message: string;
  nodes: RollNode[];
}

export interface ObservedNode {
  name: string;
  /** Graph id of its server, e.g. server/workers-0. */
  serverId: string;
  pool: string;
  role: 'controlPlane' | 'worker';
  /** Whether the server has a Created ledger entry. */
  serverCreated: boolean;
  node?: { uid: string; version: string; ready: boolean; unschedulable: boolean };
}

export type RollDecision =
  | { action: 'none' }
  | { action: 'blocked'; message: string }
  | { action: 'wait'; message: string }
  | { action: 'cleanup'; node: string; message: string }
  | { action: 'drain'; node: string; serverId: string; message: string };

const minorOf = (v: string) => {
  const p = parseKubernetesVersion(v.replace(/^v/, ''));
  return p ? p.major * 1000 + p.minor : 0;
};
const compareVersions = (a: string, b: string) => {
  const pa = parseKubernetesVersion(a.replace(/^v/, ''));
  const pb = parseKubernetesVersion(b.replace(/^v/, ''));
  if (!pa || !pb) return 0;
  return pa.major - pb.major || pa.minor - pb.minor || (pa.patch ?? 0) - (pb.patch ?? 0);
};

/**
 * Version skew: a step of at most one minor version, never down. Returns the problem, or
 * undefined when `from` may move to `to`. Used by the controller and by kaasctl before it changes
 * anything.
 */
export function versionSkewProblem(from: string, to: string): string | undefined {
  const target = kubeletVersion(to);
  const supported = kubernetesVersions.map((r) => r.minor).join(', ');
  if (!kubernetesVersions.some((r) => minorOf(r.minor) === minorOf(target)))
    return `${to} is not a supported Kubernetes version (supported: ${supported})`;
  if (compareVersions(target, from) < 0)
    return `${target} is older than ${from}: downgrades are not supported (roll forward, or restore from a backup)`;
  if (minorOf(target) - minorOf(from) > 1)
    return `${from} to ${target} skips a minor version: update one minor version at a time (next: ${Math.floor(minorOf(from) / 1000)}.${(minorOf(from) % 1000) + 1})`;
  return undefined;
}

/** Which node is due, and what to do with it now. Pure. Nodes in rollout order (control plane first). */
export function planRoll(
  nodes: readonly ObservedNode[],
  target: string,
  replace: Readonly<Record<string, string>>,
): { decision: RollDecision; due: Set<string> } {
  const due = new Set<string>();
  for (const n of nodes) {
    if (!n.node) continue;
    if (n.node.version !== target || replace[n.name] === n.node.uid) due.add(n.name);
  }
  // a replaced node whose server is already gone but whose Node is still registered: remove the Node
  const orphan = nodes.find((n) => !n.serverCreated && n.node && n.node.unschedulable && due.has(n.name));
  if (orphan)
    return { decision: { action: 'cleanup', node: orphan.name, message: `removing ${orphan.name}` }, due };
  if (due.size === 0) return { decision: { action: 'none' }, due };
  for (const n of nodes) {
    if (!due.has(n.name) || n.node!.version === target) continue;
    const problem = versionSkewProblem(n.node!.version, target);
    if (problem) return { decision: { action: 'blocked', message: `node ${n.name}: ${problem}` }, due };
  }
  const inProgress = nodes.find((n) => due.has(n.name) && n.node!.unschedulable);
  if (inProgress)
    return {
      decision: { action: 'drain', node: inProgress.name, serverId: inProgress.serverId, message: '' },
      due,
    };
  const notReady = nodes.filter((n) => !n.serverCreated || !n.node || !n.node.ready);
  if (notReady.length)
    return {
      decision: {
        action: 'wait',
        message: `waiting for ${notReady.map((n) => n.name).join(', ')} to be Ready before the next node`,
      },
      due,
    };
  const next = nodes.find((n) => due.has(n.name))!;
  return { decision: { action: 'drain', node: next.name, serverId: next.serverId, message: '' }, due };
}

export interface PrepareContext {
  cluster: Cluster;
  live: KObject;
  lname: string;
  graph: ResourceGraph;
  provider: Provider;
  ledger: (total: number) => Ledger;
  engine: EngineOptions;
}

export interface PrepareResult {
  /** Stop this pass here (infrastructure is changing): the text goes to InfrastructureReady. */
  hold?: string;
  /** A rolling operation is under way: the text goes to NodesReady (reason Upgrading). */
  message?: string;
}

export interface RollingUpdaterOptions {
  client: InProcessClient;
  cloud: LocalCloud;
  nodes: Informer;
}

const parseJson = <T>(text: string | undefined, fallback: T): T => {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

/** The controller half: one call per reconcile pass, before the infrastructure step. */
export class RollingUpdater {
  readonly #o: RollingUpdaterOptions;

  constructor(o: RollingUpdaterOptions) {
    this.#o = o;
  }

  #observe(ctx: PrepareContext): ObservedNode[] {
    const entries = (ctx.live.status?.resources ?? []) as LedgerEntry[];
    const created = new Set(entries.filter((e) => e.phase === 'Created' && e.id).map((e) => e.name));
    const out: ObservedNode[] = [];
    for (const g of ctx.graph.nodes) {
      if (g.type !== 'server') continue;
      const have = this.#o.nodes.get(`${ctx.lname}/${g.spec.name}`);
      out.push({
        name: g.spec.name,
        serverId: g.id,
        pool: g.spec.pool,
        role: g.spec.role,
        serverCreated: created.has(g.id),
        ...(have
          ? {
              node: {
                uid: have.metadata.uid ?? '',
                version: have.metadata.annotations?.[kubeletVersionAnnotation] ?? '',
                ready:
                  !have.metadata.deletionTimestamp &&
                  ((have.status?.conditions ?? []) as { type: string; status: string }[]).some(
                    (c) => c.type === 'Ready' && c.status === 'True',
                  ),
                unschedulable: Boolean(have.spec?.unschedulable),
              },
            }
          : {}),
      });
    }
    // control plane first, then pools in spec order, by index (the graph's order already is)
    return out.sort((a, b) => (a.role === b.role ? 0 : a.role === 'controlPlane' ? -1 : 1));
  }

  async prepare(ctx: PrepareContext): Promise<PrepareResult> {
    const { client } = this.#o;
    const scaleDown = await this.#drainRemoved(ctx);
    if (scaleDown) return { hold: scaleDown };
    const target = kubeletVersion(ctx.cluster.spec.kubernetesVersion);
    const replace = parseJson<Record<string, string>>(
      ctx.live.metadata.annotations?.[operationAnnotations.replaceNodes],
      {},
    );
    const observed = this.#observe(ctx);
    const { decision, due } = planRoll(observed, target, replace);
    const previous = parseJson<RollStatus | undefined>(
      ctx.live.metadata.annotations?.[operationAnnotations.upgradeStatus],
      undefined,
    );
    let result: PrepareResult = {};
    let current: { node: string; step: NodeStep; message?: string } | undefined;
    switch (decision.action) {
      case 'none':
        break;
      case 'blocked':
        result = { message: `rolling update blocked: ${decision.message}` };
        break;
      case 'wait':
        result = { message: `rolling update to ${target}: ${decision.message}` };
        break;
      case 'cleanup': {
        await this.#deleteNode(ctx.lname, decision.node);
        current = { node: decision.node, step: 'Replacing', message: 'old Node removed' };
        result = { hold: `replacing ${decision.node}: removing its old Node` };
        break;
      }
      case 'drain': {
        const node = this.#o.nodes.get(`${ctx.lname}/${decision.node}`)!;
        await setUnschedulable(client, ctx.lname, node, true);
        const drained = await drainNode(client, ctx.lname, decision.node);
        if (!drained.done) {
          const why = drained.blocked.length ? `; blocked by ${drained.blocked.join(', ')}` : '';
          current = {
            node: decision.node,
            step: 'Draining',
            message: `${drained.remaining} pods to move${why}`,
          };
          result = { message: `rolling update to ${target}: draining ${decision.node} (${current.message})` };
          break;
        }
        // drained: delete the server (and what depends on it) through the engine and the ledger
        const drop = new Set(
          ctx.graph.nodes
            .filter((n) => n.id === decision.serverId || n.dependsOn.includes(decision.serverId))
            .map((n) => n.id),
        );
        const kept = ctx.graph.nodes.filter((n) => !drop.has(n.id));
        const res = await deploy(
          { ...ctx.graph, nodes: kept },
          ctx.provider,
          ctx.ledger(kept.length),
          ctx.engine,
        );
        if (!res.ok) {
          const f = res.failures[0];
          throw new Error(
            `replacing ${decision.node}: ${f ? `${f.id}: ${f.error.message}` : 'the engine did not finish'}`,
          );
        }
        await this.#deleteNode(ctx.lname, decision.node);
        current = {
          node: decision.node,
          step: 'Replacing',
          message: 'old server deleted; new server booting',
        };
        result = { hold: `replacing ${decision.node}: old server deleted, creating its replacement` };
        break;
      }
    }
    await this.#writeStatus(ctx, observed, target, due, decision, current, previous);
    return result;
  }

  async #deleteNode(cluster: string, name: string): Promise<void> {
    await this.#o.client.delete({ cluster, apiVersion: 'v1', kind: 'Node', name }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** Scale-down: cordon and drain the nodes of servers the plan no longer has; the hold message while any is not drained. */
  async #drainRemoved(ctx: PrepareContext): Promise<string | undefined> {
    const planned = new Set(ctx.graph.nodes.map((n) => n.id));
    const entries = (ctx.live.status?.resources ?? []) as LedgerEntry[];
    const pending: string[] = [];
    for (const e of entries) {
      if (e.kind !== 'server' || planned.has(e.name) || !e.id) continue;
      const rec = this.#o.cloud.get('server', e.id);
      const name = (rec?.outputs as { nodeName?: string } | undefined)?.nodeName;
      if (!name) continue;
      const node = this.#o.nodes.get(`${ctx.lname}/${name}`);
      if (!node || node.metadata.deletionTimestamp) continue;
      await setUnschedulable(this.#o.client, ctx.lname, node, true);
      const r = await drainNode(this.#o.client, ctx.lname, name);
      if (!r.done)
        pending.push(
          `${name} (${r.remaining} pods${r.blocked.length ? `; blocked by ${r.blocked.join(', ')}` : ''})`,
        );
    }
    return pending.length ? `draining nodes before removing them: ${pending.join('; ')}` : undefined;
  }

  async #writeStatus(
    ctx: PrepareContext,
    observed: readonly ObservedNode[],
    target: string,
    due: ReadonlySet<string>,
    decision: RollDecision,
    current: { node: string; step: NodeStep; message?: string } | undefined,
    previous: RollStatus | undefined,
  ): Promise<void> {
    if (!previous && decision.action === 'none') return; // nothing ever rolled: write nothing
    const nodes: RollNode[] = observed.map((n) => {
      const step: NodeStep =
        current?.node === n.name
          ? current.step
          : due.has(n.name)
            ? n.node?.unschedulable
              ? 'Cordoned'
              : 'Pending'
            : n.node
              ? 'Done'
              : 'Replacing';
      return {
        name: n.name,
        pool: n.pool,
        role: n.role,
        version: n.node?.version ?? '',
        step,
        ...(current?.node === n.name && current.message ? { message: current.message } : {}),
      };
    });
    const done = nodes.filter((n) => n.step === 'Done').length;
    const status: RollStatus = {
      targetVersion: target,
      phase:
        decision.action === 'none' ? 'Complete' : decision.action === 'blocked' ? 'Blocked' : 'RollingUpdate',
      message:
        decision.action === 'none'
          ? `${nodes.length} of ${nodes.length} nodes on ${target}`
          : decision.action === 'blocked' || decision.action === 'wait'
            ? decision.message
            : `${done} of ${nodes.length} nodes done; ${current?.node ?? ''} ${current?.step.toLowerCase() ?? ''}`.trim(),
      nodes,
    };
    if (previous && stable(previous) === stable(status)) return;
    const annotations: Record<string, string | null> = {
      [operationAnnotations.upgradeStatus]: JSON.stringify(status),
    };
    // replacement requests that are done (the node has another uid now) are dropped
    const replace = parseJson<Record<string, string>>(
      ctx.live.metadata.annotations?.[operationAnnotations.replaceNodes],
      {},
    );
    if (decision.action === 'none' && Object.keys(replace).length)
      annotations[operationAnnotations.replaceNodes] = null;
    await this.#o.client.patch(
      {
        cluster: 'root',
        apiVersion: 'kaas.dev/v1alpha1',
        kind: 'Cluster',
        namespace: ctx.live.metadata.namespace!,
        name: ctx.live.metadata.name!,
      },
      { metadata: { annotations } },
    );
  }
}

export { isPodReady, nodeLabels };
