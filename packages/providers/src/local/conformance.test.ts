import { randomUUID } from 'node:crypto';
import { MemoryStore } from '@kaas/apiserver';
import { runProviderConformance } from '../conformance.ts';
import { testCluster } from '../testing.ts';
import { LocalCloud } from './localCloud.ts';
import { LocalCloudProvider } from './localCloudProvider.ts';

runProviderConformance('local', async () => {
  const cloud = await LocalCloud.open({ store: new MemoryStore() });
  const cluster = testCluster({ uid: randomUUID(), local: { latencyScale: 0.001, vmBootSeconds: 1 } });
  return { provider: LocalCloudProvider.forCluster(cloud, cluster, { rootVolumes: true }), cluster };
});
