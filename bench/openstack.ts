// `npm run bench -- openstack`: the infrastructure of a 3 control plane + 3 worker cluster built by
// the OpenStack provider against the local services (scripts/openstack/, or OS_CLOUD): wall time,
// and its ratio to the critical path of the resource graph computed from the same run's step
// durations (each step = the cloud calls of one node: create, tag, wait for ACTIVE). Every API
// call is logged by the session, so the figures also say which service the time went to. Then
// destroy, proving 0 tagged objects left. The fake compute driver boots nothing: servers go ACTIVE
// without a guest, so this measures the control path, not VM boot.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { withDefaults } from '@kaas/api';
import { OpenStack, type RequestLog } from '@kaas/openstack';
import { OpenStackProvider } from '@kaas/openstack/provider';
import { MemoryLedger, criticalPath, deploy, destroy, ownershipTags, type Provider } from '@kaas/providers';
import { openStackForTests } from '../test/support/openstack.ts';
import { percentile } from './lib.ts';

type Say = (line: string) => void;

export async function openstackBench(say: Say): Promise<void> {
  const os = await openStackForTests([
    'glance',
    'placement',
    'neutron',
    'nova',
    'octavia',
    'designate',
    'cinder',
  ]);
  const calls: RequestLog[] = [];
  // each API call is charged to the graph node whose ensure made it
  const node = new AsyncLocalStorage<string>();
  const callMs = new Map<string, number>();
  const admin = OpenStack.fromCloud(os.admin, { timeoutMs: 120_000 });
  const member = OpenStack.fromCloud(os.member, {
    timeoutMs: 120_000,
    log: (e) => {
      calls.push(e);
      const id = node.getStore();
      if (id !== undefined) callMs.set(id, (callMs.get(id) ?? 0) + e.durationMs);
    },
  });
  const zoneName = `kaas-bench-${randomBytes(3).toString('hex')}.example.`;
  try {
    if (os.source === 'local') {
      await admin.nova.ensureFlavor({
        name: os.fixtures.flavor,
        id: os.fixtures.flavor,
        vcpus: 1,
        ramMb: 512,
        diskGb: 1,
      });
      await admin.glance.ensureImage({
        name: os.fixtures.image,
        visibility: 'public',
        data: new Uint8Array(1 << 20),
      });
      const ext = await admin.neutron.ensureNetwork({
        name: os.fixtures.externalNetwork,
        external: true,
        shared: false,
        provider: { networkType: 'flat', physicalNetwork: 'public' },
      });
      await admin.neutron.ensureSubnet({
        name: `${os.fixtures.externalNetwork}-subnet`,
        networkId: ext.id,
        cidr: '203.0.113.0/24',
        enableDhcp: false,
      });
    }
    const zone = await member.designate.ensureZone({ name: zoneName, email: 'ops@example.org' });
    const cluster = withDefaults({
      apiVersion: 'kaas.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'bench', namespace: 'default' },
      spec: {
        provider: {
          type: 'openstack',
          openstack: {
            region: os.member.region ?? 'RegionOne',
            externalNetwork: os.fixtures.externalNetwork,
            image: os.fixtures.image,
            flavors: { controlPlane: os.fixtures.flavor, workers: os.fixtures.flavor },
            dnsZone: zoneName,
          },
        },
        controlPlane: { replicas: 3 },
        nodePools: [{ name: 'workers', replicas: 3, diskGiB: 10 }],
        auth: { clusterAdminRoleIds: ['admin'] },
        credentialsRef: { name: 'os' },
      },
    } as never);
    cluster.metadata.uid = randomUUID();
    // one hypervisor on the local cloud: hard anti-affinity would place one control plane node only
    const provider = OpenStackProvider.forCluster(member, cluster, {
      controlPlaneAffinity: os.source === 'local' ? 'soft-anti-affinity' : 'anti-affinity',
      pollMs: 300,
    });
    const graph = provider.plan(cluster);
    const charged = new Proxy(provider, {
      get(target, prop, receiver) {
        if (prop !== 'ensure') {
          const v = Reflect.get(target, prop, receiver) as unknown;
          // private fields: methods run on the provider itself, not on the proxy
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (...args: Parameters<Provider['ensure']>) =>
          node.run(args[0].id, () => target.ensure(...args));
      },
    });
    const load = (): string => loadavg()[0]!.toFixed(1);
    say(
      `cluster: 3 control plane + 3 workers, ${graph.nodes.length} graph nodes; cloud: ${os.source}; load average at start ${load()}`,
    );

    let t0 = Date.now();
    const report = await provider.preconfigure(graph);
    say(
      `preconfigure: ${((Date.now() - t0) / 1000).toFixed(1)} s, ok=${report.ok}${report.ok ? '' : `: ${report.problems.map((p) => p.message).join('; ')}`}`,
    );
    const step = new Map<string, number>();
    const ledger = new MemoryLedger();
    calls.length = 0;
    t0 = Date.now();
    const r = await deploy(graph, charged, ledger, {
      callTimeoutMs: 900_000,
      onProgress: (e) => {
        if (e.action === 'create' && e.phase === 'done' && e.durationMs !== undefined)
          step.set(e.id, e.durationMs);
      },
    });
    const wallMs = Date.now() - t0;
    if (!r.ok) say(`deploy failed: ${r.failures.map((f) => `${f.id}: ${f.error.message}`).join('; ')}`);
    const cpCalls = criticalPath(graph.nodes, (id) => callMs.get(id) ?? 0);
    const cpSteps = criticalPath(graph.nodes, (id) => step.get(id) ?? 0);
    say(
      `provision: ${(wallMs / 1000).toFixed(1)} s wall for ${graph.nodes.length} resources (ok=${r.ok}); critical path of the graph with each node weighted by the latencies of its own API calls ${(cpCalls / 1000).toFixed(1)} s: ratio ${(wallMs / cpCalls).toFixed(2)} (the rest is polling for ACTIVE between calls); weighted by whole step durations ${(cpSteps / 1000).toFixed(1)} s: ratio ${(wallMs / cpSteps).toFixed(2)} (the engine's own scheduling); load average at the end ${load()}`,
    );
    const longest = [...step.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4);
    say(`longest steps: ${longest.map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    const byService = new Map<string, number[]>();
    for (const c of calls) byService.set(c.service, [...(byService.get(c.service) ?? []), c.durationMs]);
    say(
      `${calls.length} API calls during the deploy; per call p50/p95 ms: ${[...byService.entries()]
        .map(
          ([s, v]) => `${s} ${v.length}× ${percentile(v, 0.5).toFixed(0)}/${percentile(v, 0.95).toFixed(0)}`,
        )
        .join(', ')}`,
    );

    t0 = Date.now();
    const d = await destroy(ledger, provider, { clusterUid: cluster.metadata.uid, callTimeoutMs: 900_000 });
    const left = await provider.findByTags(ownershipTags(cluster.metadata.uid));
    say(
      `destroy: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${d.deleted} deleted, ok=${d.ok}; objects still carrying the cluster's tag in neutron, nova, octavia, designate, cinder: ${left.length}`,
    );
    await member.designate.deleteZone(zone.id);
  } finally {
    await member.close();
    await admin.close();
    await os.release();
  }
}
