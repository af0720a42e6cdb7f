// The resource-graph engine: builds a cluster's infrastructure through any Provider, as parallel as
// the dependencies allow, and tears it down in reverse. The ledger is written before and after
// every create, so a crash at any point leaves either nothing in the cloud or a ledger entry whose
// tags find the resource on the next run: nothing is ever created twice and nothing leaks.
// See docs/providers.md for the protocol and the crash cases.
import type { ErrorReason, LedgerEntry } from '@kaas/api';
import {
  CloudError,
  isCloudError,
  ownershipTags,
  reasonOf,
  resourceTypeRank,
  resourceTypes,
  tagKeys,
  type GraphNode,
  type Inputs,
  type ObservedResource,
  type Provider,
  type ResourceGraph,
  type ResourceId,
  type ResourceType,
} from './contract.ts';
import { setMaxListeners } from 'node:events';
import { checkGraph } from './graph.ts';
import type { Ledger } from './ledger.ts';
import { abortReason, sleep } from './util.ts';

export interface RetryPolicy {
  /** Attempts per cloud call, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 15_000 };
export const defaultConcurrency = 16;
export const defaultCallTimeoutMs = 120_000;

export type StepAction = 'create' | 'delete';

export interface ProgressEvent {
  id: ResourceId;
  type: ResourceType;
  action: StepAction;
  phase: 'started' | 'retrying' | 'done' | 'failed';
  /** Since the step started (done, failed, retrying). */
  durationMs?: number;
  attempt?: number;
  cloudId?: string;
  /** done: found by its tags or already recorded, not created by this step. */
  adopted?: boolean;
  error?: Error;
}

export interface EngineOptions {
  /** Most cloud steps in flight at once. */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** A cloud call that has not answered by then is abandoned and counts as a retryable Timeout. */
  callTimeoutMs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Cancels the run: calls in flight are aborted, nothing new starts, the run rejects. */
  signal?: AbortSignal;
  /** Backoff jitter, in [0, 1). */
  random?: () => number;
  now?: () => number;
}

export interface StepFailure {
  /** The graph node, or `inventory` for the listing by tags that destroy starts and ends with. */
  id: ResourceId;
  type?: ResourceType;
  reason: ErrorReason;
  error: Error;
  attempts: number;
}

export interface DeployResult {
  ok: boolean;
  /** Every node that exists now, with its outputs, by graph id. */
  resources: Record<ResourceId, ObservedResource>;
  failures: StepFailure[];
  /** Nodes not attempted because a failure stopped the run or a dependency failed. */
  blocked: ResourceId[];
  created: ResourceId[];
  /** Found by tags (a create whose record or response was lost) or already recorded. */
  adopted: ResourceId[];
  /** Ledger entries no longer in the graph, deleted (a smaller node pool). */
  pruned: ResourceId[];
}

export interface DestroyOptions extends EngineOptions {
  /** The owning Cluster's metadata.uid: leftovers carrying it are found and deleted too. */
  clusterUid: string;
  /** Rounds of "find by tags, delete what is left" after the ledger is empty. */
  sweepRounds?: number;
}

export interface DestroyResult {
  ok: boolean;
  /** Cloud resources deleted (ledger entries and leftovers found by tags). */
  deleted: number;
  failures: StepFailure[];
  /** What still carries the cluster's tag at the end: empty when ok. */
  remaining: ObservedResource[];
}

/**
 * The wait after failed attempt `attempt` (1-based): exponential from baseDelayMs, capped at
 * maxDelayMs, with "equal jitter" (half fixed, half random) so that retries of many parallel steps
 * spread out but never wait 0.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: number): number {
  const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return capped / 2 + (capped / 2) * random;
}

/** An error with the attempts it took; the engine's failures carry it. */
class StepError extends Error {
  readonly attempts: number;
  constructor(cause: Error, attempts: number) {
    super(cause.message, { cause });
    this.attempts = attempts;
  }
}

interface DeleteItem {
  name: ResourceId;
  kind: ResourceType;
  cloudIds: Set<string>;
  dependsOn: ResourceId[];
  /** Has a ledger entry (recorded Deleting, then removed); otherwise a leftover found by tags. */
  inLedger: boolean;
  /** Look its tags up before deleting: its create may have landed without a recorded id. */
  lookUp: boolean;
}

function isResourceType(kind: string): kind is ResourceType {
  return (resourceTypes as readonly string[]).includes(kind);
}

/** One run of the engine: the ledger in memory and its serialized saves, retries, timeouts. */
class Run {
  readonly provider: Provider;
  readonly ledger: Ledger;
  readonly clusterUid: string;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly callTimeoutMs: number;
  readonly onProgress: (event: ProgressEvent) => void;
  readonly random: () => number;
  readonly now: () => number;
  /** Aborted when the ledger cannot be saved or the caller cancels: the run is over. */
  readonly halt = new AbortController();
  entries = new Map<ResourceId, LedgerEntry>();
  private pending: PromiseWithResolvers<void> | undefined;
  private saveRunning = false;
  private fatal: Error | undefined;

  constructor(provider: Provider, ledger: Ledger, clusterUid: string, opts: EngineOptions) {
    this.provider = provider;
    this.ledger = ledger;
    this.clusterUid = clusterUid;
    this.concurrency = Math.max(1, opts.concurrency ?? defaultConcurrency);
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.callTimeoutMs = opts.callTimeoutMs ?? defaultCallTimeoutMs;
    this.onProgress = opts.onProgress ?? (() => undefined);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    // One listener per call in flight: as many as the concurrency allows, by design.
    setMaxListeners(0, this.halt.signal);
    const outer = opts.signal;
    if (outer !== undefined) {
      if (outer.aborted) this.stop(abortReason(outer));
      else {
        const onOuter = (): void => this.stop(abortReason(outer));
        outer.addEventListener('abort', onOuter, { once: true });
        this.dispose = () => outer.removeEventListener('abort', onOuter);
      }
    }
  }

  /** Detaches from the caller's signal (which may outlive many runs). */
  dispose: () => void = () => undefined;

  async load(): Promise<void> {
    for (const e of await this.ledger.load()) this.entries.set(e.name, e);
  }

  stop(err: Error): void {
    this.fatal ??= err;
    if (!this.halt.signal.aborted) this.halt.abort(err);
  }

  /** The error that ended the run (ledger save failed, cancelled), if any. */
  fatalError(): Error | undefined {
    return this.fatal;
  }

  /**
   * Applies a change to the ledger and resolves once a save that includes it has finished. Saves
   * run one at a time; changes made while one runs share the next (group commit), so a wide graph
   * does not queue one status write per step.
   */
  commit(change: (entries: Map<ResourceId, LedgerEntry>) => void): Promise<void> {
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    change(this.entries);
    let batch = this.pending;
    if (batch === undefined) {
      batch = Promise.withResolvers<void>();
      batch.promise.catch(() => undefined); // callers get it; never unhandled
      this.pending = batch;
      if (!this.saveRunning) void this.saveNext();
    }
    return batch.promise;
  }

  /** Changes waiting for the next save (a method: the field changes across awaits). */
  private queued(): PromiseWithResolvers<void> | undefined {
    return this.pending;
  }

  private async saveNext(): Promise<void> {
    const batch = this.pending;
    if (batch === undefined) return;
    this.pending = undefined;
    this.saveRunning = true;
    try {
      if (this.fatal !== undefined) throw this.fatal;
      await this.ledger.save(structuredClone([...this.entries.values()]));
      batch.resolve();
    } catch (err) {
      // The record of what exists is lost past this point: act as a crashed process would.
      this.stop(err as Error);
      batch.reject(err);
      this.queued()?.reject(err);
      this.pending = undefined;
    } finally {
      this.saveRunning = false;
    }
    if (this.queued() !== undefined) await this.saveNext();
  }

  /** One cloud call with the per-call timeout; also aborted when the run halts. */
  async once<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.fatal !== undefined) throw this.fatal;
    const ctl = new AbortController();
    const timer = setTimeout(
      () => ctl.abort(new CloudError('Timeout', `no answer from the cloud in ${this.callTimeoutMs} ms`)),
      this.callTimeoutMs,
    );
    const onHalt = (): void => ctl.abort(abortReason(this.halt.signal));
    this.halt.signal.addEventListener('abort', onHalt, { once: true });
    let rejectAbort: (err: Error) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      rejectAbort = reject;
    });
    const onAbort = (): void => rejectAbort(abortReason(ctl.signal));
    ctl.signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Race: a provider that ignores the signal must not hold the run past the timeout.
      return await Promise.race([fn(ctl.signal), aborted]);
    } finally {
      clearTimeout(timer);
      ctl.signal.removeEventListener('abort', onAbort);
      this.halt.signal.removeEventListener('abort', onHalt);
    }
  }

  backoffMs(attempt: number): number {
    return backoffDelayMs(attempt, this.retry, this.random());
  }

  retryable(err: unknown): boolean {
    return this.fatal === undefined && isCloudError(err) && err.retryable;
  }

  /** A call retried with backoff while its errors are retryable. */
  async retrying<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    onRetry?: (attempt: number, err: Error) => void,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(fn);
      } catch (err) {
        if (!this.retryable(err) || attempt >= this.retry.maxAttempts)
          throw new StepError(err as Error, attempt);
        onRetry?.(attempt, err as Error);
        await sleep(this.backoffMs(attempt), this.halt.signal);
      }
    }
  }

  tags(id: ResourceId): Record<string, string> {
    return ownershipTags(this.clusterUid, id);
  }

  failure(id: ResourceId, type: ResourceType | undefined, err: unknown): StepFailure {
    const error = err instanceof StepError ? (err.cause as Error) : (err as Error);
    const attempts = err instanceof StepError ? err.attempts : 1;
    return { id, ...(type === undefined ? {} : { type }), reason: reasonOf(error), error, attempts };
  }

  // ---- create ----

  /** Makes one node exist and records it; returns what the cloud reports and how it got there. */
  async create(node: GraphNode, inputs: Inputs): Promise<{ resource: ObservedResource; adopted: boolean }> {
    const tags = this.tags(node.id);
    const entry = this.entries.get(node.id);
    if (entry?.phase === 'Created' && entry.id !== undefined) {
      const cloudId = entry.id;
      const seen = await this.retrying((signal) => this.provider.observe(node.type, cloudId, { signal }));
      if (seen !== undefined) return { resource: seen, adopted: true };
      // Gone behind our back (deleted by hand): make it again.
    }
    // Any earlier entry means an earlier run may have made it without recording the id.
    let lookUp = entry !== undefined;
    await this.commit((m) =>
      m.set(node.id, {
        kind: node.type,
        name: node.id,
        provider: this.provider.type,
        phase: 'Creating',
        dependsOn: node.dependsOn,
        createdAt: entry?.createdAt ?? new Date(this.now()).toISOString(),
      }),
    );
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      try {
        let resource: ObservedResource | undefined;
        let adopted = false;
        if (lookUp) {
          resource = await this.adoptByTags(node);
          adopted = resource !== undefined;
        }
        if (resource === undefined) {
          const made = await this.once((signal) => this.provider.ensure(node, inputs, tags, { signal }));
          resource = {
            type: node.type,
            cloudId: made.cloudId,
            tags,
            outputs: made.outputs,
          } as ObservedResource;
          adopted = made.adopted === true;
        }
        const cloudId = resource.cloudId;
        await this.commit((m) => {
          const e = m.get(node.id);
          if (e !== undefined) m.set(node.id, { ...e, id: cloudId, phase: 'Created' });
        });
        return { resource, adopted };
      } catch (err) {
        if (!this.retryable(err) || attempt >= this.retry.maxAttempts) {
          throw err instanceof StepError ? err : new StepError(err as Error, attempt);
        }
        // The call may have made the resource and lost the answer: look before trying again.
        lookUp = true;
        this.onProgress({
          id: node.id,
          type: node.type,
          action: 'create',
          phase: 'retrying',
          attempt,
          durationMs: this.now() - started,
          error: err as Error,
        });
        await sleep(this.backoffMs(attempt), this.halt.signal);
      }
    }
  }

  /** The node's resource if its tags find one; duplicates (never expected) are deleted. */
  private async adoptByTags(node: GraphNode): Promise<ObservedResource | undefined> {
    const tags = this.tags(node.id);
    const found = (await this.retrying((signal) => this.provider.findByTags(tags, { signal }))).filter(
      (r) => r.type === node.type,
    );
    const [keep, ...extra] = found;
    for (const dup of extra) {
      await this.retrying((signal) => this.provider.delete(dup.type, dup.cloudId, { signal }));
    }
    return keep;
  }

  // ---- delete ----

  async remove(item: DeleteItem): Promise<number> {
    const entry = this.entries.get(item.name);
    if (item.inLedger && entry !== undefined) {
      await this.commit((m) => m.set(item.name, { ...entry, phase: 'Deleting' }));
    }
    const ids = new Set(item.cloudIds);
    if (item.lookUp) {
      const tags = this.tags(item.name);
      const found = await this.retrying((signal) => this.provider.findByTags(tags, { signal }));
      for (const r of found) if (r.type === item.kind) ids.add(r.cloudId);
    }
    for (const cloudId of ids) {
      await this.retrying(async (signal) => {
        try {
          await this.provider.delete(item.kind, cloudId, { signal });
        } catch (err) {
          if (!(isCloudError(err) && err.code === 'NotFound')) throw err; // 404 = done
        }
      });
    }
    if (item.inLedger) await this.commit((m) => m.delete(item.name));
    return ids.size;
  }

  /**
   * Deletes items so that nothing is deleted while something recorded as depending on it still
   * exists; leftovers without a ledger entry go by type rank (servers before subnets...).
   */
  async removeAll(items: DeleteItem[]): Promise<{ deleted: number; failures: StepFailure[] }> {
    const present = new Map(items.map((i) => [i.name, i]));
    const ledgerDependents = new Map<ResourceId, number>();
    for (const i of items) {
      for (const d of i.dependsOn) {
        if (present.has(d)) ledgerDependents.set(d, (ledgerDependents.get(d) ?? 0) + 1);
      }
    }
    const ranks = Math.max(...Object.values(resourceTypeRank)) + 1;
    const byRank = Array<number>(ranks).fill(0);
    const leftoverByRank = Array<number>(ranks).fill(0);
    for (const i of items) {
      byRank[resourceTypeRank[i.kind]]! += 1;
      if (!i.inLedger) leftoverByRank[resourceTypeRank[i.kind]]! += 1;
    }
    const above = (counts: number[], rank: number): number =>
      counts.slice(rank + 1).reduce((a, b) => a + b, 0);
    // Set when the two orders (recorded dependencies, type rank) contradict each other and nothing
    // can start: from then on only recorded dependencies count, and Conflict retries do the rest.
    let rankOrderOff = false;
    const blocked = (i: DeleteItem): boolean => {
      if ((ledgerDependents.get(i.name) ?? 0) > 0) return true;
      if (rankOrderOff) return false;
      const rank = resourceTypeRank[i.kind];
      return i.inLedger ? above(leftoverByRank, rank) > 0 : above(byRank, rank) > 0;
    };

    let deleted = 0;
    const failures: StepFailure[] = [];
    const running = new Set<ResourceId>();
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        if (failures.length === 0 && this.fatal === undefined) {
          for (const item of present.values()) {
            if (running.size >= this.concurrency) break;
            if (running.has(item.name) || blocked(item)) continue;
            start(item);
          }
          if (running.size === 0 && present.size > 0 && !rankOrderOff) {
            rankOrderOff = true;
            pump();
            return;
          }
        }
        if (running.size === 0) resolve();
      };
      const start = (item: DeleteItem): void => {
        running.add(item.name);
        const started = this.now();
        this.onProgress({ id: item.name, type: item.kind, action: 'delete', phase: 'started' });
        this.remove(item).then(
          (n) => {
            deleted += n;
            present.delete(item.name);
            for (const d of item.dependsOn) {
              if (ledgerDependents.has(d)) ledgerDependents.set(d, (ledgerDependents.get(d) ?? 1) - 1);
            }
            byRank[resourceTypeRank[item.kind]]! -= 1;
            if (!item.inLedger) leftoverByRank[resourceTypeRank[item.kind]]! -= 1;
            this.onProgress({
              id: item.name,
              type: item.kind,
              action: 'delete',
              phase: 'done',
              durationMs: this.now() - started,
            });
            running.delete(item.name);
            pump();
          },
          (err: unknown) => {
            const failure = this.failure(item.name, item.kind, err);
            failures.push(failure);
            this.onProgress({
              id: item.name,
              type: item.kind,
              action: 'delete',
              phase: 'failed',
              durationMs: this.now() - started,
              attempt: failure.attempts,
              error: failure.error,
            });
            running.delete(item.name);
            pump();
          },
        );
      };
      pump();
    });
    return { deleted, failures };
  }

  /** Delete items for ledger entries, in the ledger's own terms. */
  ledgerItems(names: ResourceId[]): DeleteItem[] {
    const items: DeleteItem[] = [];
    for (const name of names) {
      const e = this.entries.get(name);
      if (e === undefined || !isResourceType(e.kind)) continue;
      items.push({
        name,
        kind: e.kind,
        cloudIds: new Set(e.id === undefined ? [] : [e.id]),
        dependsOn: (e.dependsOn ?? []).filter((d) => names.includes(d)),
        inLedger: true,
        lookUp: e.phase !== 'Created' || e.id === undefined,
      });
    }
    return items;
  }
}

/**
 * Creates (or adopts) every node of the graph, each after its dependencies, up to `concurrency`
 * at once; then deletes ledger entries that are no longer in the graph. Resolves with what was
 * done and what failed; rejects only when the ledger cannot be saved or the run is cancelled.
 */
export async function deploy(
  graph: ResourceGraph,
  provider: Provider,
  ledger: Ledger,
  opts: EngineOptions = {},
): Promise<DeployResult> {
  const problems = checkGraph(graph);
  if (graph.provider !== provider.type)
    problems.push(`a ${graph.provider} graph given to the ${provider.type} provider`);
  if (problems.length > 0)
    throw new CloudError('InvalidSpec', `invalid resource graph: ${problems.join('; ')}`);
  const run = new Run(provider, ledger, graph.clusterUid, opts);
  try {
    return await deployRun(run, graph, opts);
  } finally {
    run.dispose();
  }
}

async function deployRun(run: Run, graph: ResourceGraph, opts: EngineOptions): Promise<DeployResult> {
  await run.load();

  const result: DeployResult = {
    ok: false,
    resources: {},
    failures: [],
    blocked: [],
    created: [],
    adopted: [],
    pruned: [],
  };
  const waiting = new Map(graph.nodes.map((n) => [n.id, n.dependsOn.length]));
  const dependents = new Map<ResourceId, GraphNode[]>();
  for (const n of graph.nodes)
    for (const d of n.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  const ready: GraphNode[] = graph.nodes.filter((n) => n.dependsOn.length === 0);
  let running = 0;

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (result.failures.length === 0 && run.fatalError() === undefined && running < run.concurrency) {
        const node = ready.shift();
        if (node === undefined) break;
        start(node);
      }
      if (running === 0) resolve();
    };
    const start = (node: GraphNode): void => {
      running++;
      const started = run.now();
      opts.onProgress?.({ id: node.id, type: node.type, action: 'create', phase: 'started' });
      const inputs: Inputs = {};
      for (const d of node.dependsOn) {
        const r = result.resources[d];
        if (r !== undefined) inputs[d] = r;
      }
      run.create(node, inputs).then(
        ({ resource, adopted }) => {
          running--;
          result.resources[node.id] = resource;
          (adopted ? result.adopted : result.created).push(node.id);
          opts.onProgress?.({
            id: node.id,
            type: node.type,
            action: 'create',
            phase: 'done',
            durationMs: run.now() - started,
            cloudId: resource.cloudId,
            adopted,
          });
          for (const d of dependents.get(node.id) ?? []) {
            const left = (waiting.get(d.id) ?? 0) - 1;
            waiting.set(d.id, left);
            if (left === 0) ready.push(d);
          }
          pump();
        },
        (err: unknown) => {
          running--;
          const failure = run.failure(node.id, node.type, err);
          if (run.fatalError() === undefined) result.failures.push(failure);
          opts.onProgress?.({
            id: node.id,
            type: node.type,
            action: 'create',
            phase: 'failed',
            durationMs: run.now() - started,
            attempt: failure.attempts,
            error: failure.error,
          });
          pump();
        },
      );
    };
    pump();
  });
  if (run.fatalError() !== undefined) throw run.fatalError() as Error;

  result.blocked = graph.nodes.map((n) => n.id).filter((id) => result.resources[id] === undefined);
  result.blocked = result.blocked.filter((id) => !result.failures.some((f) => f.id === id));
  if (result.failures.length === 0) {
    const inGraph = new Set(graph.nodes.map((n) => n.id));
    const stale = [...run.entries.keys()].filter((name) => !inGraph.has(name));
    if (stale.length > 0) {
      const pruned = await run.removeAll(run.ledgerItems(stale));
      if (run.fatalError() !== undefined) throw run.fatalError() as Error;
      result.failures.push(...pruned.failures);
      result.pruned = stale.filter((name) => !run.entries.has(name));
    }
  }
  result.ok = result.failures.length === 0 && result.blocked.length === 0;
  return result;
}

/**
 * Deletes everything the ledger records, dependents first, then anything else that still carries
 * the cluster's uid tag. Ends, when ok, with an empty ledger and no tagged resource in the cloud.
 */
export async function destroy(
  ledger: Ledger,
  provider: Provider,
  opts: DestroyOptions,
): Promise<DestroyResult> {
  const run = new Run(provider, ledger, opts.clusterUid, opts);
  try {
    return await destroyRun(run, provider, opts);
  } finally {
    run.dispose();
  }
}

async function destroyRun(run: Run, provider: Provider, opts: DestroyOptions): Promise<DestroyResult> {
  await run.load();
  const clusterTags = ownershipTags(opts.clusterUid);
  const result: DestroyResult = { ok: false, deleted: 0, failures: [], remaining: [] };
  const inventory = (): Promise<ObservedResource[]> =>
    run.retrying((signal) => provider.findByTags(clusterTags, { signal }));

  try {
    let found = await inventory();
    const items = run.ledgerItems([...run.entries.keys()]);
    const byName = new Map(items.map((i) => [i.name, i]));
    const leftovers = (resources: ObservedResource[]): DeleteItem[] => {
      const out: DeleteItem[] = [];
      for (const r of resources) {
        const name = r.tags[tagKeys.resourceId] ?? `${r.type}/${r.cloudId}`;
        const owner = byName.get(name);
        if (owner !== undefined && owner.kind === r.type) {
          owner.cloudIds.add(r.cloudId);
          continue;
        }
        const key = owner === undefined ? name : `${name}#${r.cloudId}`;
        out.push({
          name: key,
          kind: r.type,
          cloudIds: new Set([r.cloudId]),
          dependsOn: [],
          inLedger: false,
          lookUp: false,
        });
      }
      return out;
    };
    const first = await run.removeAll([...items, ...leftovers(found)]);
    result.deleted += first.deleted;
    result.failures.push(...first.failures);
    for (let round = 0; round < (opts.sweepRounds ?? 3) && result.failures.length === 0; round++) {
      found = await inventory();
      if (found.length === 0) break;
      byName.clear();
      const sweep = await run.removeAll(leftovers(found));
      result.deleted += sweep.deleted;
      result.failures.push(...sweep.failures);
    }
    result.remaining = result.failures.length === 0 ? await inventory() : found;
  } catch (err) {
    if (run.fatalError() !== undefined) throw run.fatalError() as Error;
    result.failures.push(run.failure('inventory', undefined, err));
  }
  if (run.fatalError() !== undefined) throw run.fatalError() as Error;
  result.ok = result.failures.length === 0 && result.remaining.length === 0 && run.entries.size === 0;
  return result;
}
