// The reconcile harness: informer events become keys in a work queue, workers take keys and call
// reconcile(key). The queue holds keys, never objects, so every pass re-reads the current state
// (level-triggered): ten changes to one object while it waits are one reconcile.
import type { KObject } from '@kaas/apiserver';
import type { Informer, InformerEvent, Logger } from './informer.ts';
import { formatKey } from './keys.ts';
import type { WorkQueueOptions } from './queue.ts';
import { WorkQueue } from './queue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this delay even if nothing changes (polling, waiting). */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

/** Maps an informer event to the keys to reconcile (none, one or several). */
export type KeyFunc = (e: InformerEvent) => string | readonly string[] | undefined;

export interface WatchSpec {
  informer: Informer;
  /** Default: the changed object's own key. */
  keys?: KeyFunc;
}

export interface ControllerOptions {
  name: string;
  watches: readonly WatchSpec[];
  reconcile: Reconcile;
  /** Keys reconciled at once (default 1); one key is never reconciled by two workers at once. */
  workers?: number;
  queue?: WorkQueueOptions;
  log?: Logger;
}

export interface ControllerMetrics {
  name: string;
  running: boolean;
  /** Reconcile calls finished, successful or not. */
  reconciles: number;
  errors: number;
  /** Successful reconciles that asked to run again later. */
  requeuesAfter: number;
  /** Keys waiting for a worker, in flight and waiting out a delay. */
  queueDepth: number;
  inFlight: number;
  delayed: number;
  reconcileDurationMs: { count: number; sum: number; max: number; last: number };
}

/** The key of the changed object itself: the default key function. */
export const ownKey: KeyFunc = (e) => e.key;

/**
 * Keys of the controller owners of a changed object (ownerReferences with controller: true) of
 * the given kind, as in controller-runtime's EnqueueRequestForOwner. On update both the old and
 * the new owner are enqueued, so an owner that lost a dependent hears about it too.
 */
export function ownerKeys(owner: { apiVersion?: string; kind: string; namespaced?: boolean }): KeyFunc {
  const group = (v: string) => (v.includes('/') ? v.slice(0, v.indexOf('/')) : '');
  const keysOf = (obj: KObject | undefined, cluster: string): string[] => {
    const out: string[] = [];
    for (const r of obj?.metadata.ownerReferences ?? []) {
      if (!r.controller || r.kind !== owner.kind) continue;
      if (owner.apiVersion !== undefined && group(r.apiVersion) !== group(owner.apiVersion)) continue;
      const namespace = owner.namespaced === false ? undefined : obj?.metadata.namespace;
      out.push(formatKey({ cluster, namespace, name: r.name }));
    }
    return out;
  };
  return (e) => {
    const keys = keysOf(e.obj, e.cluster);
    for (const k of keysOf(e.oldObj, e.cluster)) if (!keys.includes(k)) keys.push(k);
    return keys;
  };
}

export class Controller {
  readonly name: string;
  readonly #o: ControllerOptions;
  #queue: WorkQueue | undefined;
  #workers: Promise<void>[] = [];
  #unsubscribe: (() => void)[] = [];
  readonly #m = {
    reconciles: 0,
    errors: 0,
    requeuesAfter: 0,
    durations: { count: 0, sum: 0, max: 0, last: 0 },
  };

  constructor(o: ControllerOptions) {
    if (!o.name) throw new Error('a controller needs a name');
    if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 1))
      throw new Error(`controller ${o.name}: workers must be an integer >= 1`);
    this.name = o.name;
    this.#o = o;
  }

  get running(): boolean {
    return this.#queue !== undefined && !this.#queue.shuttingDown;
  }

  /** The informers this controller reads (for a manager to start and share). */
  informers(): Informer[] {
    return [...new Set(this.#o.watches.map((w) => w.informer))];
  }

  /** Adds a key by hand (e.g. from a timer or another source); ignored while stopped. */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  /**
   * Subscribes to the informers (already cached objects are enqueued at once), waits until they
   * have synced, then starts the workers. Informers are started by their owner (the Manager).
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.running) return;
    const queue = new WorkQueue(this.#o.queue);
    this.#queue = queue;
    for (const w of this.#o.watches) {
      const keys = w.keys ?? ownKey;
      this.#unsubscribe.push(
        w.informer.addHandler((e) => {
          const k = keys(e);
          if (k === undefined) return;
          if (typeof k === 'string') queue.add(k);
          else for (const x of k) queue.add(x);
        }),
      );
    }
    await Promise.all(this.informers().map((i) => i.waitForSync(signal)));
    if (queue !== this.#queue || queue.shuttingDown) return;
    const n = this.#o.workers ?? 1;
    for (let i = 0; i < n; i++) this.#workers.push(this.#work(queue));
    this.#o.log?.('info', 'controller started', { controller: this.name, workers: n });
  }

  /** Stops taking keys and waits for reconciles in flight to finish. */
  async stop(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    const q = this.#queue;
    if (!q) return;
    await q.shutdown({ waitForInFlight: true });
    await Promise.all(this.#workers);
    this.#workers = [];
    this.#o.log?.('info', 'controller stopped', { controller: this.name });
  }

  metrics(): ControllerMetrics {
    const q = this.#queue;
    const live = q && !q.shuttingDown;
    const inFlight = live ? q.inFlight() : 0;
    const delayed = live ? q.delayed() : 0;
    return {
      name: this.name,
      running: this.running,
      reconciles: this.#m.reconciles,
      errors: this.#m.errors,
      requeuesAfter: this.#m.requeuesAfter,
      queueDepth: (live ? q.len() : 0) + inFlight + delayed,
      inFlight,
      delayed,
      reconcileDurationMs: { ...this.#m.durations },
    };
  }

  async #work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const r = await this.#o.reconcile(key);
        queue.forget(key);
        if (r?.requeueAfterMs !== undefined && r.requeueAfterMs >= 0) {
          this.#m.requeuesAfter++;
          queue.addAfter(key, r.requeueAfterMs);
        }
      } catch (e) {
        this.#m.errors++;
        queue.addRateLimited(key);
        this.#o.log?.('warn', 'reconcile failed; retrying with backoff', {
          controller: this.name,
          key,
          retries: queue.numRequeues(key),
          error: e instanceof Error ? e.message : String(e),
        });
      } finally {
        const ms = performance.now() - started;
        const d = this.#m.durations;
        d.count++;
        d.sum += ms;
        d.last = ms;
        d.max = Math.max(d.max, ms);
        this.#m.reconciles++;
        queue.done(key);
      }
    }
  }
}
