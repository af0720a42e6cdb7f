// Small shared pieces of the local cluster's controllers: quantities, conditions, owner
// references, label selectors, hashes, events and a per-key mutex.
import { createHash, randomBytes } from 'node:crypto';
import { parseQuantity } from '@kaas/apiserver';
import type { KObject } from '@kaas/apiserver';
import type { InProcessClient, Informer, IndexFunc, Logger } from '@kaas/controllers';
import { isAlreadyExists } from '@kaas/controllers';

export type Log = Logger;

/** CPU in cores ("250m" = 0.25), memory and the rest in units; NaN when unreadable. */
export function quantity(q: unknown): number {
  return parseQuantity(q);
}

export const nowISO = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Deep equality for JSON-shaped values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastHeartbeatTime?: string;
  lastProbeTime?: string | null;
}

/**
 * The condition list with `c` set. Times of an unchanged condition are kept, so writing the same
 * state twice writes nothing new; `stamp` names the time fields to set on a change.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  c: Condition,
  stamp: readonly ('lastTransitionTime' | 'lastUpdateTime' | 'lastHeartbeatTime')[] = ['lastTransitionTime'],
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const now = nowISO();
  const next: Condition = { ...c };
  for (const f of stamp) {
    const statusSame = old?.status === c.status;
    const allSame = statusSame && old?.reason === c.reason && old?.message === c.message;
    const keep = f === 'lastTransitionTime' ? statusSame : allSame;
    next[f] = keep && old?.[f] ? old[f] : now;
  }
  if (old && 'lastProbeTime' in old && !('lastProbeTime' in c)) next.lastProbeTime = old.lastProbeTime;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(obj: KObject | undefined, type: string): Condition | undefined {
  return (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export const isPodReady = (pod: KObject): boolean => getCondition(pod, 'Ready')?.status === 'True';
export const isNodeReady = (node: KObject): boolean => getCondition(node, 'Ready')?.status === 'True';

/** Not being deleted and not finished: a pod that counts towards its controller's replicas. */
export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export function controllerRef(obj: KObject): { kind: string; name: string; uid: string } | undefined {
  const r = obj.metadata.ownerReferences?.find((o) => o.controller);
  return r ? { kind: r.kind, name: r.name, uid: r.uid } : undefined;
}

export function ownerReference(owner: KObject): Record<string, unknown> {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Index: `<cluster>/<namespace>/<controller uid>` for objects with a controller owner. */
export const byControllerUid: IndexFunc = (obj, cluster) => {
  const r = controllerRef(obj);
  return r ? [`${cluster}/${obj.metadata.namespace ?? ''}/${r.uid}`] : [];
};

/** Index: the object's cluster. */
export const byCluster: IndexFunc = (_obj, cluster) => [cluster];

/** Index: `<cluster>/<namespace>`. */
export const byNamespace: IndexFunc = (obj, cluster) =>
  obj.metadata.namespace ? [`${cluster}/${obj.metadata.namespace}`] : [];

/** Adds an index unless the shared informer already has one by that name. */
export function ensureIndex(inf: Informer, name: string, fn: IndexFunc): void {
  try {
    inf.addIndexer(name, fn);
  } catch (e) {
    if (!(e instanceof Error && e.message.includes('already exists'))) throw e;
  }
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** metav1.LabelSelector semantics; an empty selector matches everything, a missing one nothing. */
export function selectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> = {}) {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(v!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(v!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A map selector (Service, nodeSelector): every pair must be present. */
export function mapMatches(sel: Record<string, string> | undefined, labels: Record<string, string> = {}) {
  return Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);
}

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** A short hash in the alphabet upstream uses for pod-template-hash (no vowels, no 0/1/3). */
export function shortHash(value: unknown, length = 10): string {
  const digest = createHash('sha256').update(stableStringify(value)).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += safeAlphabet[digest[i]! % safeAlphabet.length];
  return out;
}

export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

/** Parses an int-or-percent ("25%", 1) against a total; percentages round as `roundUp` says. */
export function intOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** Runs functions one at a time per key (IP and CIDR allocation within a node or cluster). */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * Records core/v1 Events, remembering the last one per object so a reconcile that reaches the
 * same verdict again records nothing (an idle cluster writes nothing).
 */
export class EventRecorder {
  readonly #client: InProcessClient;
  readonly #component: string;
  readonly #last = new Map<string, string>();
  readonly #log: Log | undefined;

  constructor(client: InProcessClient, component: string, log?: Log) {
    this.#client = client;
    this.#component = component;
    this.#log = log;
  }

  /** Forgets what was recorded for an object (it was deleted). */
  forget(cluster: string, obj: KObject): void {
    this.#last.delete(`${cluster}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
  }

  async record(
    cluster: string,
    obj: KObject,
    e: { type: 'Normal' | 'Warning'; reason: string; message: string },
    o: { dedupe?: boolean } = {},
  ): Promise<void> {
    const id = `${cluster}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const sig = `${e.type}/${e.reason}/${e.message}`;
    if (o.dedupe !== false && this.#last.get(id) === sig) return;
    this.#last.set(id, sig);
    if (this.#last.size > 50_000) this.#last.delete(this.#last.keys().next().value!);
    const now = nowISO();
    const namespace = obj.metadata.namespace || 'default';
    const ev: KObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${obj.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`,
        namespace,
      },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type: e.type,
      reason: e.reason,
      message: e.message,
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#component,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      count: 1,
    };
    try {
      await this.#client.create(cluster, ev);
    } catch (err) {
      if (isAlreadyExists(err)) return;
      // An event is best effort: a namespace being deleted must not fail the reconcile.
      this.#log?.('warn', 'event not recorded', {
        cluster,
        reason: e.reason,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

/** Sum of container requests, the larger of that and any init container (upstream's rule). */
export function podRequests(pod: KObject, nonZero = false): { cpu: number; memory: number } {
  const one = (c: any) => {
    const r = c?.resources?.requests ?? {};
    let cpu = quantity(r.cpu);
    let memory = quantity(r.memory);
    if (!Number.isFinite(cpu)) cpu = nonZero ? 0.1 : 0;
    if (!Number.isFinite(memory)) memory = nonZero ? 200 * 2 ** 20 : 0;
    return { cpu, memory };
  };
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = one(c);
    cpu += r.cpu;
    memory += r.memory;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = one(c);
    cpu = Math.max(cpu, r.cpu);
    memory = Math.max(memory, r.memory);
  }
  return { cpu, memory };
}
