// What the workload controllers share: pods from templates, and "expectations" — creations and
// deletions a controller has made that the cache does not show yet, so a second pass before the
// events arrive neither creates twice nor deletes twice (upstream's ControllerExpectations).
import type { KObject } from '@kaas/apiserver';
import { isPodActive, isPodReady, ownerReference } from './util.ts';

export function podFromTemplate(
  owner: KObject,
  template: KObject | Record<string, any>,
  o: { name?: string; generateName?: string; labels?: Record<string, string> } = {},
): KObject {
  const meta = template.metadata ?? {};
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...(o.labels ?? {}) },
      ownerReferences: [ownerReference(owner) as any],
    },
    spec: structuredClone(template.spec ?? {}),
  };
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (o.name) pod.metadata.name = o.name;
  else pod.metadata.generateName = o.generateName ?? `${owner.metadata.name}-`;
  return pod;
}

/** When the pod has been Ready for minReadySeconds (0: as soon as it is Ready). */
export function isPodAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodActive(pod) || !isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const c = (pod.status?.conditions as any[]).find((x) => x.type === 'Ready');
  const since = Date.parse(c?.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

const expiryMs = 30_000;

export class Expectations {
  readonly #m = new Map<
    string,
    { adds: Map<string, { at: number; tag: string }>; dels: Map<string, number> }
  >();

  #of(owner: string) {
    let e = this.#m.get(owner);
    if (!e) this.#m.set(owner, (e = { adds: new Map(), dels: new Map() }));
    return e;
  }

  /** `tag` says what the pod is for (a DaemonSet's node), returned by pending(). */
  created(owner: string, podKey: string, tag = ''): void {
    this.#of(owner).adds.set(podKey, { at: Date.now(), tag });
  }

  deleted(owner: string, podKey: string): void {
    this.#of(owner).dels.set(podKey, Date.now());
  }

  forget(owner: string): void {
    this.#m.delete(owner);
  }

  /**
   * What the cache does not show yet: created pods not seen, and deleted pods still seen.
   * Entries the cache caught up with (or that are too old to trust) are dropped.
   */
  pending(
    owner: string,
    inCache: (podKey: string) => boolean,
  ): { adds: string[]; addTags: string[]; dels: Set<string> } {
    const e = this.#m.get(owner);
    if (!e) return { adds: [], addTags: [], dels: new Set() };
    const now = Date.now();
    for (const [k, a] of e.adds) if (inCache(k) || now - a.at > expiryMs) e.adds.delete(k);
    for (const [k, at] of e.dels) if (!inCache(k) || now - at > expiryMs) e.dels.delete(k);
    if (!e.adds.size && !e.dels.size) this.#m.delete(owner);
    return {
      adds: [...e.adds.keys()],
      addTags: [...e.adds.values()].map((a) => a.tag),
      dels: new Set(e.dels.keys()),
    };
  }
}

/** Upstream's order for choosing pods to delete: unscheduled, pending, not ready, newest first. */
export function deletionOrder(a: KObject, b: KObject): number {
  const rank = (p: KObject) => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Running' ? 1 : 0,
    isPodReady(p) ? 1 : 0,
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? ''));
}
