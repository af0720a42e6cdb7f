// One nova request at a time per client. Why: Debian's nova-api (Zed) under uwsgi with threads and
// eventlet patching off (scripts/openstack/services/nova.sh) deadlocks when requests overlap
// ("greenlet.error: cannot switch to a different thread", then every thread hangs and the listen
// queue fills): three parallel server creates were enough. A cluster makes few nova calls, and the
// waits for ACTIVE still overlap (each poll is one call), so on a healthy cloud this costs little.
import type { Nova } from '../nova.ts';

const serialized = new WeakMap<Nova, Nova>();

/** `nova` with its calls queued one after another; the wait* helpers poll through the queue. */
export function serialNova(nova: Nova): Nova {
  const have = serialized.get(nova);
  if (have) return have;
  let tail: Promise<unknown> = Promise.resolve();
  const proxy: Nova = new Proxy(nova, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      // waits are loops of calls: unqueued themselves, each poll goes through the proxy
      if (typeof prop === 'string' && prop.startsWith('wait')) return fn.bind(proxy);
      return (...args: unknown[]) => {
        const run = tail.then(() => fn.apply(target, args));
        tail = run.catch(() => undefined);
        return run;
      };
    },
  });
  serialized.set(nova, proxy);
  return proxy;
}
