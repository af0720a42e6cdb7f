// List, then watch from the list's resourceVersion; the watch answer is chunked JSON lines read
// with a fetch stream. Dropped connections reconnect from the last version seen (with backoff);
// a 410 Gone (version compacted) or an ERROR event lists again.
import { errorOf, loginUrl, type ApiError } from './api.ts';
import type { KObject } from './types.ts';

export type { KMeta, KObject } from './types.ts';

interface KList {
  metadata: { resourceVersion?: string };
  items: KObject[];
}

export type WatchState =
  | { phase: 'loading' }
  | { phase: 'live'; items: KObject[] }
  | { phase: 'reconnecting'; items: KObject[]; error: string }
  | { phase: 'error'; error: ApiError };

export const keyOf = (o: KObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((done) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
  });

/**
 * Keeps `onChange` fed with the current items of a collection until `signal` aborts. Errors on the
 * first list (403, 404) end it with phase 'error': the caller shows them in place.
 */
export async function watchCollection(
  apiPath: string,
  onChange: (s: WatchState) => void,
  signal: AbortSignal,
): Promise<void> {
  const items = new Map<string, KObject>();
  let rv = '';
  let backoffMs = 500;
  let listed = false;
  const publish = () => onChange({ phase: 'live', items: [...items.values()] });
  // one animation frame of batching: a burst of 1,000 events is one render
  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => ((pending = false), publish()));
  };
  const sep = apiPath.includes('?') ? '&' : '?';
  while (!signal.aborted) {
    try {
      if (!rv) {
        const res = await fetch(`/console/k8s${apiPath}`, {
          signal,
          headers: { Accept: 'application/json' },
        });
        if (res.status === 401) return location.assign(loginUrl());
        if (!res.ok) {
          const e = await errorOf(res);
          if (!listed) return onChange({ phase: 'error', error: e });
          throw e;
        }
        const list = (await res.json()) as KList;
        items.clear();
        for (const o of list.items) items.set(keyOf(o), o);
        rv = list.metadata.resourceVersion ?? '';
        listed = true;
        publish();
      }
      const res = await fetch(
        `/console/k8s${apiPath}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`,
        { signal, headers: { Accept: 'application/json' } },
      );
      if (res.status === 401) return location.assign(loginUrl());
      if (res.status === 410) {
        rv = '';
        continue;
      }
      if (!res.ok || !res.body) throw await errorOf(res);
      backoffMs = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as { type: string; object: KObject & { code?: number } };
          if (ev.type === 'ERROR') {
            // 410: too old; anything else: start over too
            rv = '';
            break;
          }
          if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
          if (ev.type === 'BOOKMARK') continue;
          if (ev.type === 'DELETED') items.delete(keyOf(ev.object));
          else items.set(keyOf(ev.object), ev.object);
          schedule();
        }
        if (!rv) break;
      }
      if (!rv) await reader.cancel().catch(() => undefined);
    } catch (e) {
      if (signal.aborted) return;
      onChange({ phase: 'reconnecting', items: [...items.values()], error: (e as Error).message });
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }
}
