// Typed hooks over the API: the current route, a watched collection, what the user may do.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { k8s, type ServerInfo, call } from './api.ts';
import { clusterPrefix } from './kinds.ts';
import { watchCollection, type WatchState } from './watch.ts';

// ---- routing: plain paths under /console/, the History API, real <a href> links ----

const routeListeners = new Set<() => void>();
const routeNow = () => location.pathname + location.search;
addEventListener('popstate', () => routeListeners.forEach((l) => l()));

export function navigate(to: string): void {
  history.pushState(null, '', to);
  routeListeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function useRoute(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore((l) => (routeListeners.add(l), () => routeListeners.delete(l)), routeNow);
  const url = new URL(href, location.origin);
  return { path: url.pathname, query: url.searchParams };
}

// ---- data ----

/** The live items of a collection (list + watch); null path: nothing. */
export function useCollection(apiPath: string | null): WatchState {
  const [state, setState] = useState<WatchState>({ phase: 'loading' });
  useEffect(() => {
    if (!apiPath) return;
    setState({ phase: 'loading' });
    const ac = new AbortController();
    void watchCollection(apiPath, setState, ac.signal);
    return () => ac.abort();
  }, [apiPath]);
  return state;
}

/** One object, fetched once (and again when `version` changes). */
export function useObject<T>(apiPath: string | null, version = 0): { data?: T; error?: Error } {
  const [state, setState] = useState<{ data?: T; error?: Error }>({});
  useEffect(() => {
    if (!apiPath) return;
    let live = true;
    k8s<T>(apiPath).then(
      (data) => live && setState({ data }),
      (error: Error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [apiPath, version]);
  return state;
}

let infoPromise: Promise<ServerInfo> | undefined;
export function useServerInfo(): ServerInfo | undefined {
  const [info, setInfo] = useState<ServerInfo>();
  useEffect(() => {
    infoPromise ??= call<ServerInfo>('/console/api/info');
    infoPromise.then(setInfo, () => undefined);
  }, []);
  return info;
}

// ---- RBAC: SelfSubjectAccessReview, asked once per question ----

export interface Access {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface Decision {
  /** undefined while asking */
  allowed?: boolean;
  reason: string;
}

const decisions = new Map<string, Promise<Decision>>();

export function can(cluster: string, a: Access): Promise<Decision> {
  const key = JSON.stringify([cluster, a]);
  let d = decisions.get(key);
  if (!d) {
    d = k8s<{ status?: { allowed?: boolean; reason?: string; denied?: boolean } }>(
      `${clusterPrefix(cluster)}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`,
      {
        method: 'POST',
        json: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { ...a, group: a.group ?? '' } },
        },
      },
    ).then(
      (r) => {
        const allowed = r.status?.allowed === true;
        const what = `${a.verb} ${a.resource}${a.namespace ? ` in ${a.namespace}` : ''}`;
        return {
          allowed,
          reason: allowed ? '' : `You may not ${what}${r.status?.reason ? `: ${r.status.reason}` : ''}.`,
        };
      },
      (e: Error) => ({ allowed: false, reason: `Could not check access: ${e.message}` }),
    );
    decisions.set(key, d);
  }
  return d;
}

export function useCan(cluster: string, a: Access): Decision {
  const [d, setD] = useState<Decision>({ reason: 'checking access…' });
  const key = JSON.stringify([cluster, a]);
  useEffect(() => {
    let live = true;
    void can(cluster, a).then((x) => live && setD(x));
    return () => {
      live = false;
    };
  }, [key]);
  return d;
}
