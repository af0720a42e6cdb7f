// Services: EndpointSlices (discovery.k8s.io/v1) for Services with a selector, from the pods it
// selects that have an IP (ready ones as ready endpoints, as upstream), and addresses for
// Services of type LoadBalancer.
import { createHash } from 'node:crypto';
import type { KObject } from '@kaas/apiserver';
import { formatKey, isAlreadyExists, isConflict, isNotFound, parseObjectKey } from '@kaas/controllers';
import type { Ctx } from './context.ts';
import { idx, keyOf } from './context.ts';
import { isPodReady, jsonEqual, mapMatches, ownerReference } from './util.ts';

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
const managedBy = 'endpointslice-controller.k8s.io';

/** A Service port's target on a pod: a number, or a named container port. */
function targetPort(port: any, pod: KObject | undefined): number | undefined {
  const t = port.targetPort ?? port.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  for (const c of (pod?.spec?.containers ?? []) as any[])
    for (const p of c.ports ?? [])
      if (p.name === t && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP')) return p.containerPort;
  return undefined;
}

/** The EndpointSlice the Service should have (metadata without resourceVersion). */
export function desiredSlice(svc: KObject, pods: readonly KObject[]): KObject {
  const selected = pods
    .filter(
      (p) =>
        p.status?.podIP &&
        !p.metadata.deletionTimestamp &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    )
    .sort((a, b) => String(a.metadata.name).localeCompare(b.metadata.name!));
  const ports = ((svc.spec?.ports ?? []) as any[])
    .map((p) => ({ name: p.name ?? '', port: targetPort(p, selected[0]), protocol: p.protocol ?? 'TCP' }))
    .filter((p) => p.port !== undefined);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svc.metadata.name}-${createHash('sha256').update(String(svc.metadata.uid)).digest('hex').slice(0, 5)}`,
      namespace: svc.metadata.namespace,
      labels: { [serviceNameLabel]: svc.metadata.name!, [managedByLabel]: managedBy },
      ownerReferences: [ownerReference(svc) as any],
    },
    addressType: 'IPv4',
    endpoints: selected.map((p) => {
      const ready = isPodReady(p);
      return {
        addresses: [p.status.podIP],
        conditions: { ready, serving: ready, terminating: false },
        ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
        targetRef: {
          kind: 'Pod',
          namespace: p.metadata.namespace,
          name: p.metadata.name,
          uid: p.metadata.uid,
        },
      };
    }),
    ports,
  };
}

/** The core/v1 Endpoints the Service should have (ready and not-ready addresses). */
export function desiredEndpoints(svc: KObject, slice: KObject): KObject {
  const addr = (e: any) => ({
    ip: e.addresses[0],
    ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    targetRef: e.targetRef,
  });
  const ready = (slice.endpoints as any[]).filter((e) => e.conditions.ready).map(addr);
  const notReady = (slice.endpoints as any[]).filter((e) => !e.conditions.ready).map(addr);
  const subsets =
    ready.length || notReady.length
      ? [
          {
            ...(ready.length ? { addresses: ready } : {}),
            ...(notReady.length ? { notReadyAddresses: notReady } : {}),
            ports: slice.ports,
          },
        ]
      : [];
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: svc.metadata.name,
      namespace: svc.metadata.namespace,
      labels: { ...(svc.metadata.labels ?? {}) },
    },
    subsets,
  };
}

/** 172.31.0.0/16 without .0.0 and .255.255: the host part from a hash, probing past `used`. */
export function pickAddress(seed: string, used: ReadonlySet<string>): string | undefined {
  const h = createHash('sha256').update(seed).digest().readUInt32BE(0);
  const size = 65534;
  for (let i = 0; i < size; i++) {
    const n = ((h + i) % size) + 1;
    const ip = `172.31.${n >> 8}.${n & 255}`;
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

export function addServiceControllers(ctx: Ctx): void {
  const { inf, client } = ctx;

  const servicesSelecting = (cluster: string, pod: KObject): string[] =>
    inf.services
      .byIndex(idx.namespace, `${cluster}/${pod.metadata.namespace}`)
      .filter((s) => s.spec?.selector && mapMatches(s.spec.selector, pod.metadata.labels))
      .map((s) => keyOf(cluster, s));

  ctx.manager.add({
    name: 'localcluster-endpointslices',
    workers: 4,
    watches: [
      { informer: inf.services },
      {
        informer: inf.pods,
        keys: (e) => {
          const keys = servicesSelecting(e.cluster, e.obj);
          if (e.oldObj)
            for (const k of servicesSelecting(e.cluster, e.oldObj)) if (!keys.includes(k)) keys.push(k);
          return keys;
        },
      },
      {
        informer: inf.endpointslices,
        keys: (e) => {
          const svc = e.obj.metadata.labels?.[serviceNameLabel];
          return svc && e.obj.metadata.labels?.[managedByLabel] === managedBy
            ? `${e.cluster}/${e.obj.metadata.namespace}/${svc}`
            : undefined;
        },
      },
    ],
    async reconcile(key) {
      const { cluster, namespace } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const svc = inf.services.get(key);
      if (!svc) {
        // Slices are owned and go with the GC; Endpoints are not, as upstream: delete them.
        const { name } = parseObjectKey(key);
        await client
          .delete({ cluster, apiVersion: 'v1', kind: 'Endpoints', namespace, name })
          .catch((e: unknown) => {
            if (!isNotFound(e)) throw e;
          });
        return;
      }
      if (svc.metadata.deletionTimestamp || !svc.spec?.selector) return;
      const pods = inf.pods
        .byIndex(idx.namespace, `${cluster}/${namespace}`)
        .filter((p) => mapMatches(svc.spec.selector, p.metadata.labels));
      const want = desiredSlice(svc, pods);
      const mine = inf.endpointslices
        .byIndex(idx.owner, `${cluster}/${namespace}/${svc.metadata.uid}`)
        .filter((s) => s.metadata.labels?.[managedByLabel] === managedBy);
      try {
        await syncEndpoints(cluster, svc, want);
        for (const s of mine.filter((s) => s.metadata.name !== want.metadata.name))
          await client.delete({
            cluster,
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            namespace,
            name: s.metadata.name!,
          });
        const have = mine.find((s) => s.metadata.name === want.metadata.name);
        if (!have) {
          await client.create(cluster, want).catch((e: unknown) => {
            if (!isAlreadyExists(e)) throw e;
          });
          return;
        }
        const same =
          jsonEqual(have.endpoints ?? [], want.endpoints) &&
          jsonEqual(have.ports ?? [], want.ports) &&
          jsonEqual(have.metadata.labels, want.metadata.labels);
        if (same) return;
        await client.update(cluster, {
          ...want,
          metadata: { ...have.metadata, labels: want.metadata.labels },
        });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });

  /** Endpoints v1 next to the slice, as upstream's endpoints controller keeps them. */
  async function syncEndpoints(cluster: string, svc: KObject, slice: KObject): Promise<void> {
    const want = desiredEndpoints(svc, slice);
    const ref = {
      cluster,
      apiVersion: 'v1',
      kind: 'Endpoints',
      namespace: svc.metadata.namespace,
      name: svc.metadata.name!,
    };
    const have = await client.get(ref).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!have) {
      await client.create(cluster, want).catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
      return;
    }
    if (
      jsonEqual(have.subsets ?? [], want.subsets) &&
      jsonEqual(have.metadata.labels ?? {}, want.metadata.labels)
    )
      return;
    await client.update(cluster, { ...want, metadata: { ...have.metadata, labels: want.metadata.labels } });
  }

  // LoadBalancer addresses. One worker, so two Services of a cluster never get one address. With
  // a cloud (opts.loadBalancers), each such Service owns a load balancer there: made when the
  // Service becomes type LoadBalancer, deleted when it stops being one or goes.
  const assigned = new Map<string, string>();
  const lbs = ctx.opts.loadBalancers;
  let orphansChecked = false;
  const controller = ctx.manager.add({
    name: 'localcluster-loadbalancers',
    workers: 1,
    watches: [{ informer: inf.services }],
    async reconcile(key) {
      if (lbs && !orphansChecked) {
        // Services deleted while no server ran left their load balancer: reconcile those keys
        // too (the informers have synced before the first reconcile)
        orphansChecked = true;
        for (const ref of lbs.list()) {
          const k = formatKey(ref);
          if (!inf.services.get(k)) controller.enqueue(k);
        }
      }
      const { cluster, namespace, name } = parseObjectKey(key);
      if (!ctx.isLocal(cluster)) return;
      const svc = inf.services.get(key);
      const isLB = svc?.spec?.type === 'LoadBalancer' && !svc.metadata.deletionTimestamp;
      if (!isLB) {
        assigned.delete(key);
        if (lbs) await lbs.release({ cluster, namespace: namespace ?? '', name });
        if (!svc) return;
      }
      const ingress = (svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[];
      let want: { ip: string; ipMode: string }[] = [];
      if (isLB) {
        const ref = { cluster, namespace: namespace ?? '', name };
        const ports = ((svc.spec?.ports ?? []) as { port?: number }[]).flatMap((p) =>
          p.port ? [p.port] : [],
        );
        // the cloud's record is the truth when there is a cloud: a restored status is not
        let ip = lbs ? await lbs.ensure(ref, ports) : (ingress[0]?.ip ?? assigned.get(key));
        if (!ip) {
          const used = new Set<string>();
          for (const s of inf.services.byIndex(idx.cluster, cluster)) {
            if (s === svc) continue;
            for (const i of (s.status?.loadBalancer?.ingress ?? []) as { ip?: string }[])
              if (i.ip) used.add(i.ip);
          }
          for (const [k, a] of assigned) if (k !== key && k.startsWith(`${cluster}/`)) used.add(a);
          ip = pickAddress(`${cluster}/${namespace}/${name}`, used);
        }
        if (!ip) throw new Error(`no LoadBalancer address left for ${key}`);
        assigned.set(key, ip);
        want = [{ ip, ipMode: 'VIP' }];
      }
      if (jsonEqual(ingress, want) || (!isLB && ingress.length === 0)) {
        if (isLB && ingress.length) assigned.delete(key); // the cache shows it now
        return;
      }
      try {
        await client.updateStatus(cluster, {
          ...structuredClone(svc),
          status: { ...(svc.status ?? {}), loadBalancer: want.length ? { ingress: want } : {} },
        });
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) return;
        throw e;
      }
    },
  });
}
