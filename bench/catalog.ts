// `npm run bench -- catalog`: what the managed services cost the Cluster reconciler. One process as
// `kaasctl server` runs it (sqlite store, restricted Pod Security, the local cloud at latencyScale 0):
// the time from a Cluster's creation to ServicesReady with all seven services, how many objects
// the catalog renders, the CPU time of one render, and one idle apply pass (a Ready cluster whose
// rendering did not change: a read per object and the check that its apply changes nothing;
// nothing written).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDefaults, type ClusterInput } from '@kaas/api';
import { openStore } from '@kaas/apiserver';
import { defaultCatalog } from '@kaas/catalog';
import { applyServices } from '@kaas/clusters';
import { clusterObject, condition, startProcess, until } from '@kaas/clusters/testing';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function catalogBench(say: (line: string) => void): Promise<void> {
  const loadAvgAtStart = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bench-catalog-'));
  const kv = await openStore({ kind: 'sqlite', path: join(dir, 'kaas.db') });
  const p = await startProcess(kv, { asServer: true, dataDir: dir });
  try {
    const client = p.manager.client;
    const t0 = performance.now();
    await client.create('root', clusterObject('bench', { local: { latencyScale: 0 } }));
    const ref = {
      cluster: 'root',
      apiVersion: 'kaas.dev/v1alpha1',
      kind: 'Cluster',
      namespace: 'default',
      name: 'bench',
    };
    const ready = await until(
      async () => {
        const c = await client.get(ref);
        return condition(c, 'ServicesReady')?.status === 'True' ? c : undefined;
      },
      'ServicesReady',
      300_000,
    );
    say(
      `create to ServicesReady (7 services, 3 workers, latencyScale 0): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const cluster = withDefaults(structuredClone(ready) as ClusterInput);
    cluster.status = { endpoint: ready.status?.endpoint };
    const renders: number[] = [];
    let objects = 0;
    for (let i = 0; i < 30; i++) {
      const s = performance.now();
      objects = defaultCatalog.render(cluster).reduce((n, svc) => n + svc.objects.length, 0);
      renders.push(performance.now() - s);
    }
    say(`render: ${objects} objects, median ${median(renders).toFixed(1)} ms (30 renders)`);
    const rendered = defaultCatalog.render(cluster);
    const passes: number[] = [];
    let written = 0;
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      written += (await applyServices(client, 'bench', rendered)).written;
      passes.push(performance.now() - s);
    }
    say(
      `idle apply pass (a get of every object and the check that applying it would change nothing, readiness checks, prune lists): median ${median(passes).toFixed(1)} ms, max ${Math.max(...passes).toFixed(1)} ms over 20; objects written: ${written}`,
    );
    say(
      `load average ${loadAvgAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; other jobs share the 2 cores: figures are indicative`,
    );
  } finally {
    await p.stop();
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}
