// Leader election for the controllers that run inside the API server (garbage collector,
// namespace lifecycle, CRD cleanup): several servers may share one etcd, and only the holder of a
// coordination.k8s.io Lease runs them. Optimistic concurrency on the Lease's resourceVersion is
// the lock, as in client-go's leaderelection.
import { randomUUID } from 'node:crypto';
import { StatusError } from '../errors.ts';
import type { KObject } from './objects.ts';
import type { RestStorage, Scope } from './rest.ts';

export interface LeaseOptions {
  rest: RestStorage;
  scope: Scope;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  retryPeriodMs?: number;
  clock?: () => number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaseElector {
  readonly identity: string;
  readonly #o: LeaseOptions;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastRenewOk = 0;

  constructor(o: LeaseOptions) {
    this.#o = o;
    this.identity = o.identity ?? `kaas-apiserver-${randomUUID()}`;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Starts campaigning; resolves after the first attempt (so a lone server leads at once). */
  start(): Promise<void> {
    this.#stopped = false;
    return this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#leading) {
      this.#setLeading(false);
      // Release so another server takes over at once instead of after the lease expires.
      await this.#o.rest
        .guaranteedUpdate(this.#o.scope, this.#o.name, (cur) => {
          if (cur.spec?.holderIdentity === this.identity)
            cur.spec = { ...cur.spec, holderIdentity: undefined, leaseDurationSeconds: 1 };
          return cur;
        })
        .catch(() => undefined);
    }
  }

  #setLeading(v: boolean): void {
    if (v === this.#leading) return;
    this.#leading = v;
    if (v) void this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  async #tick(): Promise<void> {
    const now = (this.#o.clock ?? Date.now)();
    const durationMs = this.#o.leaseDurationMs ?? 15_000;
    try {
      const acquired = await this.#tryAcquireOrRenew(now, durationMs);
      if (acquired) this.#lastRenewOk = now;
      // Lose leadership when renewals have failed for a whole lease duration.
      this.#setLeading(acquired || (this.#leading && now - this.#lastRenewOk < durationMs * 0.75));
    } catch {
      if (this.#leading && now - this.#lastRenewOk >= durationMs * 0.75) this.#setLeading(false);
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(() => void this.#tick(), this.#o.retryPeriodMs ?? 2_000);
      this.#timer.unref?.();
    }
  }

  async #tryAcquireOrRenew(now: number, durationMs: number): Promise<boolean> {
    const { rest, scope, name } = this.#o;
    const spec = (transitions: number) => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(durationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    });
    let current: KObject | undefined;
    try {
      current = await rest.get(scope, name);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
    if (!current) {
      await rest.create(scope, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name },
        spec: spec(0),
      });
      return true;
    }
    const s = current.spec ?? {};
    const renewed = Date.parse(s.renewTime ?? s.acquireTime ?? '') || 0;
    const expired = renewed + (s.leaseDurationSeconds ?? 15) * 1000 < now;
    const mine = s.holderIdentity === this.identity;
    if (!mine && s.holderIdentity && !expired) return false;
    const next = structuredClone(current);
    next.spec = mine
      ? { ...s, renewTime: microTime(now), leaseDurationSeconds: Math.ceil(durationMs / 1000) }
      : spec((s.leaseTransitions ?? 0) + 1);
    // A conditional update: if another server wrote first, the resourceVersion no longer matches.
    await rest.update(scope, name, next);
    return true;
  }
}
