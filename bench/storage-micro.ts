// Single-process throughput of the KVStore backends, without the API server:
//   node bench/storage-micro.ts [sqlite|etcd ...]   (default: both)
// Creates ~1 KiB JSON values from 1, 16, 64 and 256 concurrent loops (each awaits its own write
// before the next, like API requests; each loop has its own key prefix). Prints figures; it does
// not pass or fail. Figures go to docs/contracts/storage.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KVStore } from '@kaas/apiserver';
import { EtcdStore, SqliteStore } from '@kaas/apiserver';
import { startEtcd } from '../test/support/etcd.ts';

const value = JSON.stringify({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'x', namespace: 'default', uid: '00000000-0000-0000-0000-000000000000' },
  data: { payload: 'x'.repeat(900) },
});

async function creates(
  store: KVStore,
  opts: { label: string; writers: number; seconds: number },
): Promise<number> {
  let n = 0;
  const until = Date.now() + opts.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: opts.writers }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) {
        await store.create(`/bench/${opts.label}/w${w}/k${i}`, value);
        n++;
      }
    }),
  );
  const perS = Math.round(n / ((performance.now() - t0) / 1000));
  console.log(
    `${store.name}: ${opts.label}: ${perS} creates/s (${n} in ${opts.seconds} s, ${opts.writers} writers)`,
  );
  return perS;
}

const writerCounts = [1, 16, 64, 256];

async function sqlite(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-sqlite-'));
  const store = SqliteStore.open(join(dir, 'kv.db'));
  try {
    for (const writers of writerCounts)
      await creates(store, { label: `c${writers}`, writers, seconds: writers === 1 ? 3 : 5 });
    const t0 = performance.now();
    const r = await store.range('/bench/c256/', { limit: 500 });
    console.log(`sqlite: first page of 500: ${(performance.now() - t0).toFixed(1)} ms (more: ${r.more})`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function etcd(): Promise<void> {
  const member = await startEtcd();
  try {
    const store = await EtcdStore.connect({ endpoints: member.endpoints, prefix: '/kaas' });
    try {
      for (const writers of writerCounts)
        await creates(store, { label: `c${writers}`, writers, seconds: writers === 1 ? 3 : 5 });
    } finally {
      await store.close();
    }
  } finally {
    await member.stop();
  }
}

const which = process.argv.slice(2).length ? process.argv.slice(2) : ['sqlite', 'etcd'];
console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, data in ${tmpdir()}`);
for (const b of which) {
  if (b === 'sqlite') await sqlite();
  else if (b === 'etcd') await etcd();
  else console.error(`unknown backend ${b}: sqlite or etcd`);
}
