// Watch: list-then-watch semantics on top of the store's revisioned watch, with selector
// transitions (an object leaving the selector is DELETED for this watcher), bookmarks and
// 410 Gone for compacted revisions, as kube-apiserver does.
import type { KVStore, KeyValue, WatchEvent, WatchHandle } from '../storage/kv.ts';
import { CompactedError } from '../storage/kv.ts';
import type { KObject } from './objects.ts';
import { decodeStored, withResourceVersion } from './objects.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEmitter {
  /** `json` is the object's JSON (resourceVersion included); `obj` is parsed when available. */
  event(type: WatchEventType, json: string, obj?: KObject): void;
  end(): void;
}

export interface WatchRequest {
  prefix: string;
  /** undefined or '0' -> start with the current state as ADDED events. */
  resourceVersion?: string;
  sendInitialEvents?: boolean;
  allowBookmarks: boolean;
  filter?: (obj: KObject) => boolean;
  apiVersion: string;
  kind: string;
  timeoutMs: number;
  /** Upstream sends bookmarks about once a minute; we send them when idle, at most this often. */
  bookmarkIntervalMs?: number;
}

export function statusJSON(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

export function startWatch(kv: KVStore, req: WatchRequest, out: WatchEmitter): { stop(): void } {
  let handle: WatchHandle | undefined;
  let stopped = false;
  let lastRev = 0;
  let lastBookmarkAt = Date.now();
  const bookmarkEvery = req.bookmarkIntervalMs ?? 5_000;
  const timer = setTimeout(() => stop(), req.timeoutMs);
  timer.unref?.();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    handle?.close();
    out.end();
  };

  const bookmark = (rev: number, initialEnd = false) => {
    const meta: Record<string, unknown> = { resourceVersion: String(rev) };
    if (initialEnd) meta.annotations = { 'k8s.io/initial-events-end': 'true' };
    out.event('BOOKMARK', JSON.stringify({ kind: req.kind, apiVersion: req.apiVersion, metadata: meta }));
    lastBookmarkAt = Date.now();
  };

  const matches = (kvv: KeyValue): [boolean, KObject | undefined] => {
    if (!req.filter) return [true, undefined];
    const o = decodeStored(kvv);
    return [req.filter(o), o];
  };

  const onEvents = (events: WatchEvent[]) => {
    if (stopped) return;
    for (const e of events) {
      lastRev = e.kv.modRevision;
      if (e.type === 'delete') {
        const [m, o] = matches(e.kv);
        if (m) out.event('DELETED', withResourceVersion(e.kv), o);
        continue;
      }
      const [now, o] = matches(e.kv);
      if (e.created || !e.prevKv) {
        if (now) out.event('ADDED', withResourceVersion(e.kv), o);
        continue;
      }
      const [before] = req.filter ? matches(e.prevKv) : [true];
      if (now && before) out.event('MODIFIED', withResourceVersion(e.kv), o);
      else if (now) out.event('ADDED', withResourceVersion(e.kv), o);
      else if (before) out.event('DELETED', withResourceVersion(e.kv), o);
    }
  };

  const subscribe = (after: number) => {
    lastRev = after;
    handle = kv.watch(req.prefix, {
      afterRevision: after,
      onEvents,
      onError: (err) => {
        if (stopped) return;
        if (err instanceof CompactedError) {
          out.event(
            'ERROR',
            statusJSON(410, 'Expired', `too old resource version: ${err.requested} (${err.compacted + 1})`),
          );
        } else {
          out.event('ERROR', statusJSON(500, 'InternalError', `watch failed: ${err.message}`));
        }
        stop();
      },
      onProgress: (rev) => {
        if (stopped || !req.allowBookmarks) return;
        if (Date.now() - lastBookmarkAt >= bookmarkEvery) bookmark(Math.max(rev, lastRev));
      },
    });
  };

  const rv = req.resourceVersion;
  const initial = req.sendInitialEvents ?? (rv === undefined || rv === '' || rv === '0');
  if (!initial) {
    const n = Number(rv);
    if (!Number.isSafeInteger(n) || n < 0) {
      out.event('ERROR', statusJSON(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rv)}`));
      stop();
    } else {
      subscribe(n);
    }
    return { stop };
  }
  void (async () => {
    try {
      let startAfter: string | undefined;
      let revision: number | undefined;
      for (;;) {
        const r = await kv.range(req.prefix, { limit: 1000, startAfter, revision });
        revision = r.revision;
        for (const item of r.items) {
          if (stopped) return;
          const [m, o] = matches(item);
          if (m) out.event('ADDED', withResourceVersion(item), o);
        }
        if (!r.more || !r.items.length) break;
        startAfter = r.items[r.items.length - 1]!.key;
      }
      if (stopped) return;
      if (req.sendInitialEvents) bookmark(revision, true);
      subscribe(revision);
    } catch (e) {
      out.event('ERROR', statusJSON(500, 'InternalError', `watch failed: ${(e as Error).message}`));
      stop();
    }
  })();
  return { stop };
}
