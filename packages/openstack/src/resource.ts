// Helpers shared by the service clients: name lookups that tolerate duplicates being reported,
// and waiting for a status.
import { CloudError } from '@kaas/providers';

/** The single item of a lookup by name; more than one is a Conflict the caller must resolve. */
export function single<T extends { id: string }>(items: readonly T[], what: string): T | undefined {
  if (items.length > 1) {
    throw new CloudError(
      'Conflict',
      `${items.length} ${what} match (${items.map((i) => i.id).join(', ')}): names must be unique`,
    );
  }
  return items[0];
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls `get` until `done` says so. `failed` ends it early with the status that says why (ERROR);
 * past the timeout, a Timeout CloudError names the last status seen.
 */
export async function waitFor<T>(
  what: string,
  get: () => Promise<T>,
  done: (v: T) => boolean,
  opts: WaitOptions & { failed?: (v: T) => string | undefined; describe?: (v: T) => string } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + timeoutMs;
  let interval = opts.intervalMs ?? 500;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    const why = opts.failed?.(v);
    if (why !== undefined) throw new CloudError('InvalidSpec', `${what}: ${why}`, { cloudMessage: why });
    if (Date.now() + interval > deadline) {
      const last = opts.describe ? opts.describe(v) : JSON.stringify(v).slice(0, 200);
      throw new CloudError('Timeout', `${what}: not ready after ${timeoutMs} ms (last: ${last})`);
    }
    await sleep(interval);
    interval = Math.min(interval * 1.5, 5_000);
  }
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;
