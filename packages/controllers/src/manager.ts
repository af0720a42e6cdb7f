// Runs a set of controllers and the informers they share, only while this process holds a
// coordination.k8s.io Lease (root cluster, kube-system), so several processes on one store can
// stand by and exactly one reconciles. Leading: start informers, wait for their first list, start
// controllers. Losing the lease: stop controllers (reconciles in flight finish), stop informers.
import { randomUUID } from 'node:crypto';
import { LeaseElector } from '@kaas/apiserver';
import type { KVStore } from '@kaas/apiserver';
import type { ServerHandle } from './client.ts';
import { InProcessClient } from './client.ts';
import type { ControllerMetrics, ControllerOptions } from './controller.ts';
import { Controller } from './controller.ts';
import type { Logger, ResourceSelector } from './informer.ts';
import { Informer } from './informer.ts';

export interface ManagerOptions {
  server: ServerHandle;
  /** The store the server runs on: informers list and watch it directly. */
  kv: KVStore;
  /** Lease name in root/kube-system (default kaas-controllers). */
  leaseName?: string;
  identity?: string;
  /** Default 15 s; a standby takes over at most this long after the leader stops renewing. */
  leaseDurationMs?: number;
  /** How often the lease is renewed or tried (default 2 s). */
  retryPeriodMs?: number;
  /** False runs the controllers without a lease (one process only; tests). Default true. */
  leaderElection?: boolean;
  log?: Logger;
}

export interface ManagerMetrics {
  identity: string;
  leading: boolean;
  running: boolean;
  controllers: ControllerMetrics[];
  informers: { id: string; objects: number; synced: boolean; relists: number; revision: number }[];
}

export class Manager {
  readonly client: InProcessClient;
  readonly identity: string;
  readonly #o: ManagerOptions;
  readonly #informers = new Map<string, Informer>();
  readonly #controllers: Controller[] = [];
  #elector: LeaseElector | undefined;
  #leading = false;
  #running = false;
  #abort: AbortController | undefined;
  /** Start and stop transitions run one after another, in the order leadership changed. */
  #chain: Promise<void> = Promise.resolve();
  #started = false;

  constructor(o: ManagerOptions) {
    this.#o = o;
    this.client = new InProcessClient(o.server);
    this.identity = o.identity ?? `kaas-controllers-${randomUUID()}`;
  }

  /** True while this manager holds the lease (or runs without leader election). */
  get leading(): boolean {
    return this.#leading;
  }

  /** True while the controllers run: leading, informers synced, controllers started. */
  get running(): boolean {
    return this.#running;
  }

  /** The shared informer of a resource: one per resource (and cluster), whoever asks. */
  informer(resource: ResourceSelector, o: { cluster?: string } = {}): Informer {
    const id = Informer.idOf(resource, o.cluster);
    let inf = this.#informers.get(id);
    if (!inf) {
      inf = new Informer({
        kv: this.#o.kv,
        resource,
        cluster: o.cluster,
        clusters: this.#o.server.clusters,
        log: this.#o.log,
      });
      this.#informers.set(id, inf);
    }
    return inf;
  }

  /** Registers a controller (before start). Its informers need not come from informer(). */
  add(c: Controller | ControllerOptions): Controller {
    if (this.#started) throw new Error('add controllers before Manager.start()');
    const ctrl = c instanceof Controller ? c : new Controller({ log: this.#o.log, ...c });
    if (this.#controllers.some((x) => x.name === ctrl.name))
      throw new Error(`a controller named ${ctrl.name} is already registered`);
    this.#controllers.push(ctrl);
    return ctrl;
  }

  /** Starts campaigning for the lease; resolves after the first attempt. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#o.leaderElection === false) {
      this.#onStartedLeading();
      return;
    }
    const root = await this.#o.server.clusters.get('root');
    const info = root.resourceByPlural('coordination.k8s.io', 'leases');
    if (!info) throw new Error('the server does not serve coordination.k8s.io leases');
    this.#elector = new LeaseElector({
      rest: this.#o.server.rest,
      scope: { cluster: 'root', info, namespace: 'kube-system' },
      name: this.#o.leaseName ?? 'kaas-controllers',
      identity: this.identity,
      leaseDurationMs: this.#o.leaseDurationMs,
      retryPeriodMs: this.#o.retryPeriodMs,
      onStartedLeading: () => this.#onStartedLeading(),
      onStoppedLeading: () => this.#onStoppedLeading(),
    });
    await this.#elector.start();
  }

  /** Stops the controllers and informers and releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#elector) await this.#elector.stop();
    this.#elector = undefined;
    if (this.#leading) this.#onStoppedLeading();
    await this.#chain;
  }

  /** Resolves once the controllers run (after leadership and sync). For tests and start-up. */
  async waitUntilRunning(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.#running) {
      if (Date.now() > end) throw new Error(`manager ${this.identity} did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  metrics(): ManagerMetrics {
    return {
      identity: this.identity,
      leading: this.#leading,
      running: this.#running,
      controllers: this.#controllers.map((c) => c.metrics()),
      informers: this.#allInformers().map((i) => ({
        id: i.id,
        objects: i.size(),
        synced: i.hasSynced(),
        relists: i.relists,
        revision: i.revision,
      })),
    };
  }

  #allInformers(): Informer[] {
    return [...new Set([...this.#informers.values(), ...this.#controllers.flatMap((c) => c.informers())])];
  }

  #onStartedLeading(): void {
    this.#leading = true;
    const ac = new AbortController();
    this.#abort = ac;
    this.#o.log?.('info', 'controllers: leading', { identity: this.identity });
    this.#chain = this.#chain.then(() => this.#startAll(ac.signal)).catch((e: unknown) => this.#failed(e));
  }

  #onStoppedLeading(): void {
    this.#leading = false;
    this.#abort?.abort(new Error('stopped leading'));
    this.#o.log?.('info', 'controllers: stopped leading', { identity: this.identity });
    this.#chain = this.#chain.then(() => this.#stopAll()).catch((e: unknown) => this.#failed(e));
  }

  #failed(e: unknown): void {
    if (this.#abort?.signal.aborted) return;
    this.#o.log?.('error', 'controllers: start failed', {
      error: e instanceof Error ? e.message : String(e),
    });
  }

  async #startAll(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    const informers = this.#allInformers();
    await Promise.race([Promise.all(informers.map((i) => i.start())), aborted]);
    if (signal.aborted) return;
    await Promise.all(this.#controllers.map((c) => c.start(signal)));
    if (signal.aborted) return;
    this.#running = true;
    this.#o.log?.('info', 'controllers: running', {
      identity: this.identity,
      controllers: this.#controllers.length,
      informers: informers.length,
    });
  }

  async #stopAll(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#controllers.map((c) => c.stop()));
    for (const i of this.#allInformers()) i.stop();
  }
}
